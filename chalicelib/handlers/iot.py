"""IoT Core custom authorizer Lambda: the same JWT as the HTTP API, answered with a topic-scoped policy."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.bootstrap import iot_authorizer

bp = Blueprint(__name__)


@bp.lambda_function(name="iot_authorizer")
def authorize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    account_id = context.invoked_function_arn.split(":")[4]
    return iot_authorizer(account_id).authorize(event)
