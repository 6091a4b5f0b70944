"""Cognito's JSON protocol, in process: targets, shapes, error names and headers, and the wire format."""

from __future__ import annotations

import json
from typing import Any

import pytest
from signin_testkit import Codes

from serverlesspresso.identity import AUDIENCE
from serverlesspresso.server import LocalRequest
from serverlesspresso.signin.protocol import CognitoEndpoint, cognito_route
from serverlesspresso.signin.service import SignInService

PHONE = "+14155550123"


@pytest.fixture
def endpoint(signin: SignInService) -> CognitoEndpoint:
    return CognitoEndpoint(signin, AUDIENCE)


def call(endpoint: CognitoEndpoint, operation: str | None, body: Any, method: str = "POST") -> tuple[int, dict, dict]:
    headers = {"content-type": "application/x-amz-json-1.1"}
    if operation is not None:
        headers["x-amz-target"] = f"AWSCognitoIdentityProviderService.{operation}"
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = endpoint.handle(LocalRequest(method, "/cognito", "", headers, raw, "127.0.0.1"))
    return response.status, json.loads(response.body or b"{}"), dict(response.headers)


def error_of(result: tuple[int, dict, dict]) -> str:
    status, body, headers = result
    assert status == 400, body
    assert headers["x-amzn-ErrorType"] == body["__type"]
    assert body["message"]
    return str(body["__type"])


def test_the_route_takes_post_and_preflight_at_cognito_only(signin: SignInService) -> None:
    route = cognito_route(signin, AUDIENCE)
    assert route.matches("POST", "/cognito") and route.matches("POST", "/cognito/")
    assert route.matches("OPTIONS", "/cognito")
    assert not route.matches("GET", "/cognito") and not route.matches("POST", "/cognito/x")


def test_a_whole_sign_in_over_the_protocol(endpoint: CognitoEndpoint, codes: Codes) -> None:
    status, body, headers = call(endpoint, "SignUp", {"ClientId": AUDIENCE, "Username": PHONE})
    assert status == 200 and body["UserConfirmed"] is True and len(body["UserSub"]) == 36
    assert headers["Content-Type"] == "application/x-amz-json-1.1" and headers["x-amzn-RequestId"]
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, body, _ = call(
        endpoint,
        "InitiateAuth",
        {
            "ClientId": AUDIENCE,
            "AuthFlow": "USER_AUTH",
            "AuthParameters": {"USERNAME": PHONE, "PREFERRED_CHALLENGE": "SMS_OTP"},
        },
    )
    assert status == 200 and body["ChallengeName"] == "SMS_OTP"
    assert body["ChallengeParameters"] == {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        "CODE_DELIVERY_DESTINATION": "+*******0123",
    }
    answer = {
        "ClientId": AUDIENCE,
        "ChallengeName": "SMS_OTP",
        "Session": body["Session"],
        "ChallengeResponses": {"USERNAME": PHONE, "SMS_OTP_CODE": codes.wrong()},
    }
    assert error_of(call(endpoint, "RespondToAuthChallenge", answer)) == "CodeMismatchException"
    answer["ChallengeResponses"]["SMS_OTP_CODE"] = codes.last
    status, body, _ = call(endpoint, "RespondToAuthChallenge", answer)
    assert status == 200 and body["ChallengeParameters"] == {}
    result = body["AuthenticationResult"]
    assert set(result) == {"AccessToken", "IdToken", "RefreshToken", "ExpiresIn", "TokenType"}
    assert result["ExpiresIn"] == 3600 and result["TokenType"] == "Bearer"

    refresh = {"ClientId": AUDIENCE, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {}}
    for flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
        refresh.update(AuthFlow=flow, AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]})
        status, body, _ = call(endpoint, "InitiateAuth", refresh)
        assert status == 200 and set(body["AuthenticationResult"]) == {
            "AccessToken",
            "IdToken",
            "ExpiresIn",
            "TokenType",
        }
    status, body, _ = call(
        endpoint, "GetTokensFromRefreshToken", {"ClientId": AUDIENCE, "RefreshToken": result["RefreshToken"]}
    )
    assert status == 200 and "IdToken" in body["AuthenticationResult"] and "ChallengeParameters" not in body

    status, body, _ = call(endpoint, "GetUser", {"AccessToken": result["AccessToken"]})
    assert status == 200 and {"Name": "phone_number", "Value": PHONE} in body["UserAttributes"]
    assert call(endpoint, "RevokeToken", {"ClientId": AUDIENCE, "Token": result["RefreshToken"]})[:2] == (200, {})
    refused = call(
        endpoint, "GetTokensFromRefreshToken", {"ClientId": AUDIENCE, "RefreshToken": result["RefreshToken"]}
    )
    assert error_of(refused) == "NotAuthorizedException"
    assert error_of(call(endpoint, "GlobalSignOut", {"AccessToken": result["AccessToken"]})) == "NotAuthorizedException"


def test_select_challenge_over_the_protocol(endpoint: CognitoEndpoint, codes: Codes) -> None:
    call(
        endpoint,
        "SignUp",
        {"ClientId": AUDIENCE, "Username": PHONE, "UserAttributes": [{"Name": "phone_number", "Value": PHONE}]},
    )
    start = {"ClientId": AUDIENCE, "AuthFlow": "USER_AUTH", "AuthParameters": {"USERNAME": PHONE}}
    status, body, _ = call(endpoint, "InitiateAuth", start)
    assert status == 200 and body["ChallengeName"] == "SELECT_CHALLENGE" and body["AvailableChallenges"] == ["SMS_OTP"]
    select = {
        "ClientId": AUDIENCE,
        "ChallengeName": "SELECT_CHALLENGE",
        "Session": body["Session"],
        "ChallengeResponses": {"USERNAME": PHONE, "ANSWER": "EMAIL_OTP"},
    }
    status, error, _ = call(endpoint, "RespondToAuthChallenge", select)
    assert error["__type"] == "InvalidParameterException" and "EMAIL_OTP is not available" in error["message"]
    select["ChallengeResponses"]["ANSWER"] = "SMS_OTP"
    status, body, _ = call(endpoint, "RespondToAuthChallenge", select)
    assert status == 200 and body["ChallengeName"] == "SMS_OTP"
    answer = {
        "ClientId": AUDIENCE,
        "ChallengeName": "SMS_OTP",
        "Session": body["Session"],
        "ChallengeResponses": {"USERNAME": PHONE, "SMS_OTP_CODE": codes.last},
    }
    assert "AuthenticationResult" in call(endpoint, "RespondToAuthChallenge", answer)[1]


@pytest.mark.parametrize(
    "operation, body, expected",
    [
        (None, {}, "UnknownOperationException"),
        ("AdminCreateUser", {}, "UnknownOperationException"),
        ("SignUp", b"{not json", "InvalidParameterException"),
        ("SignUp", b"[1, 2]", "InvalidParameterException"),
        ("SignUp", {"ClientId": AUDIENCE}, "InvalidParameterException"),
        ("SignUp", {"ClientId": AUDIENCE, "Username": 5}, "InvalidParameterException"),
        ("SignUp", {"ClientId": "someone-else", "Username": PHONE}, "ResourceNotFoundException"),
        ("SignUp", {"ClientId": AUDIENCE, "Username": "+1 415 555 0123"}, "InvalidParameterException"),
        (
            "SignUp",
            {"ClientId": AUDIENCE, "Username": PHONE, "UserAttributes": [{"Name": "email", "Value": "a@b"}]},
            "InvalidParameterException",
        ),
        (
            "SignUp",
            {
                "ClientId": AUDIENCE,
                "Username": PHONE,
                "UserAttributes": [{"Name": "phone_number", "Value": "+12025550199"}],
            },
            "InvalidParameterException",
        ),
        (
            "InitiateAuth",
            {"ClientId": AUDIENCE, "AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {}},
            "InvalidParameterException",
        ),
        (
            "InitiateAuth",
            {"ClientId": AUDIENCE, "AuthFlow": "USER_AUTH", "AuthParameters": {}},
            "InvalidParameterException",
        ),
        (
            "InitiateAuth",
            {"ClientId": AUDIENCE, "AuthFlow": "USER_AUTH", "AuthParameters": {"USERNAME": PHONE}},
            "UserNotFoundException",
        ),
        (
            "InitiateAuth",
            {"ClientId": AUDIENCE, "AuthFlow": "USER_AUTH", "AuthParameters": "x"},
            "InvalidParameterException",
        ),
        (
            "InitiateAuth",
            {"ClientId": AUDIENCE, "AuthFlow": "REFRESH_TOKEN_AUTH", "AuthParameters": {"REFRESH_TOKEN": "nope"}},
            "NotAuthorizedException",
        ),
        (
            "RespondToAuthChallenge",
            {
                "ClientId": AUDIENCE,
                "ChallengeName": "SMS_OTP",
                "Session": "s",
                "ChallengeResponses": {"USERNAME": PHONE},
            },
            "InvalidParameterException",
        ),
        (
            "RespondToAuthChallenge",
            {
                "ClientId": AUDIENCE,
                "ChallengeName": "CUSTOM_CHALLENGE",
                "Session": "s",
                "ChallengeResponses": {"USERNAME": PHONE},
            },
            "InvalidParameterException",
        ),
        ("GetUser", {"AccessToken": "nope"}, "NotAuthorizedException"),
        ("RevokeToken", {"ClientId": "other", "Token": "t"}, "ResourceNotFoundException"),
    ],
)
def test_errors_use_cognito_names(endpoint: CognitoEndpoint, operation: str | None, body: Any, expected: str) -> None:
    assert error_of(call(endpoint, operation, body)) == expected


def test_email_otp_is_refused_with_a_clear_message(endpoint: CognitoEndpoint) -> None:
    call(endpoint, "SignUp", {"ClientId": AUDIENCE, "Username": PHONE})
    start = {
        "ClientId": AUDIENCE,
        "AuthFlow": "USER_AUTH",
        "AuthParameters": {"USERNAME": PHONE, "PREFERRED_CHALLENGE": "EMAIL_OTP"},
    }
    status, body, _ = call(endpoint, "InitiateAuth", start)
    assert body["__type"] == "InvalidParameterException"
    assert "EMAIL_OTP is not available on the local user pool" in body["message"]


def test_a_password_at_sign_up_is_accepted_and_not_kept(endpoint: CognitoEndpoint, store) -> None:
    status, body, _ = call(endpoint, "SignUp", {"ClientId": AUDIENCE, "Username": PHONE, "Password": "hunter2!"})
    assert status == 200
    files = list(store.path.parent.glob("signin.db*"))  # the WAL holds recent commits
    assert len(files) == 3 and all(b"hunter2" not in file.read_bytes() for file in files)
    assert any(PHONE.encode() in file.read_bytes() for file in files)  # the sign-up itself was written


def test_a_bug_still_answers_in_the_protocol(store, minter, clock) -> None:
    class Broken(SignInService):
        def sign_up(self, username: str) -> str:
            raise RuntimeError("bug")

    endpoint = CognitoEndpoint(Broken(store, minter, clock), AUDIENCE)
    status, body, headers = call(endpoint, "SignUp", {"ClientId": AUDIENCE, "Username": PHONE})
    assert status == 500 and body["__type"] == "InternalErrorException" == headers["x-amzn-ErrorType"]


def test_preflight_allows_the_amplify_headers(endpoint: CognitoEndpoint) -> None:
    response = endpoint.handle(
        LocalRequest(
            "OPTIONS",
            "/cognito",
            "",
            {"origin": "http://localhost:5173", "access-control-request-headers": "content-type,x-amz-target"},
            b"",
            "127.0.0.1",
        )
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert "x-amz-target" in response.headers["Access-Control-Allow-Headers"]
