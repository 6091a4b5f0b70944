"""IoT Core custom authorizer Lambda: the same JWT as the HTTP API, answered with a topic-scoped policy.

Lambda imports this module, not app.py (Chalice's handler string for a blueprint's function names the blueprint's
module), so what it imports is the authorizer's whole cold start: keep it to chalicelib.verification.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.verification import iot_authorizer

bp = Blueprint(__name__)


@bp.lambda_function(name="iot_authorizer")
def authorize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    account_id = context.invoked_function_arn.split(":")[4]
    return iot_authorizer(account_id).authorize(event)
