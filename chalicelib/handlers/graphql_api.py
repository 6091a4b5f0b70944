"""POST /graphql: the Strawberry read side, with the caller's identity (if any) in the context.

The request is decoded here, so a body that is not one JSON object with a query (null, a number, a batch, bytes
that are not UTF-8, nesting deeper than JSON parsing goes) is a 400 `validation_error` before Strawberry runs.
"""

from __future__ import annotations

from chalice import Blueprint, Response  # type: ignore[attr-defined]
from strawberry.exceptions import MissingQueryError
from strawberry.http import process_result
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from chalicelib.bootstrap import services
from chalicelib.domain.errors import ValidationError
from chalicelib.handlers.http_support import optional_actor
from chalicelib.readside import request as graphql_request
from chalicelib.readside.schema import schema

bp = Blueprint(__name__)


# The body is read as JSON whatever its label says, so a mislabelled request gets validation_error, not a bare 415.
@bp.route("/graphql", methods=["GET", "POST"], content_types=["*/*"])
def graphql() -> Response:
    actor = optional_actor(bp)  # a bad token is a 401 before any query runs
    http = bp.current_request
    if http.method == "GET":
        decoded = graphql_request.from_query_string(http.query_params)
    else:
        decoded = graphql_request.from_body(http.raw_body)
    try:
        result = schema.execute_sync(
            decoded.query,
            variable_values=decoded.variables,
            context_value={"actor": actor, "queries": services().queries},
            operation_name=decoded.operation_name,
            allowed_operation_types={OperationType.QUERY},
        )
    except CannotGetOperationTypeError as error:
        raise ValidationError(error.as_http_error_reason()) from None
    except (MissingQueryError, InvalidOperationTypeError):
        raise ValidationError("only queries are served") from None
    return Response(body=process_result(result), status_code=200, headers={"Content-Type": "application/json"})
