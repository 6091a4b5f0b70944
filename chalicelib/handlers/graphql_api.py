"""POST /graphql: the Strawberry read side, with the caller's identity (if any) in the context."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response  # type: ignore[attr-defined]
from strawberry.chalice.views import GraphQLView

from chalicelib.bootstrap import services
from chalicelib.handlers.http_support import optional_actor
from chalicelib.readside.schema import schema

bp = Blueprint(__name__)


class _View(GraphQLView):
    def get_context(self, request: Any, response: Any) -> dict[str, Any]:  # type: ignore[override]
        return {"actor": optional_actor(bp), "queries": services().queries}


_view = _View(schema=schema, graphql_ide=None)


@bp.route("/graphql", methods=["GET", "POST"], content_types=["application/json"])
def graphql() -> Response:
    optional_actor(bp)  # a bad token is a 401 before any query runs
    return _view.execute_request(bp.current_request)
