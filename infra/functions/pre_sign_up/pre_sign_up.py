"""Cognito pre-sign-up trigger: a new phone number is confirmed and its phone verified at once.

Every sign-in proves the phone with a one-time code, so a separate confirmation SMS would double the messages and the
steps for nothing (docs/decisions.md, "Sign-up confirms at once"); the local sign-in endpoint does the same.
"""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response = event.setdefault("response", {})
    response["autoConfirmUser"] = True
    # Cognito refuses autoVerifyPhone for a sign-up without a phone number.
    if event.get("request", {}).get("userAttributes", {}).get("phone_number"):
        response["autoVerifyPhone"] = True
    return event
