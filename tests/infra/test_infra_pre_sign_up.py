"""The Cognito pre-sign-up trigger: every sign-up is confirmed at once and its phone verified, as locally."""

from __future__ import annotations

from typing import Any

from infra.functions.pre_sign_up.pre_sign_up import handler


def _event(attributes: dict[str, str]) -> dict[str, Any]:
    return {
        "triggerSource": "PreSignUp_SignUp",
        "request": {"userAttributes": attributes},
        "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    }


def test_a_phone_sign_up_is_confirmed_and_its_phone_verified() -> None:
    response = handler(_event({"phone_number": "+34600000001"}), None)["response"]
    assert (response["autoConfirmUser"], response["autoVerifyPhone"], response["autoVerifyEmail"]) == (
        True,
        True,
        False,
    )


def test_a_sign_up_without_a_phone_is_confirmed_without_verifying_a_phone() -> None:
    response = handler(_event({"email": "barista@example.com"}), None)["response"]
    assert (response["autoConfirmUser"], response["autoVerifyPhone"]) == (True, False)
