"""Passwordless phone sign-in against the running stack, through boto3's own `cognito-idp` client: the JSON
protocol, codes read from the outbox, limits, refresh, revocation, and ID tokens the real API accepts."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
import requests
from botocore.config import Config

from serverlesspresso.identity import AUDIENCE, ISSUER
from serverlesspresso.signin.store import SignInStore
from tests.support.stack import REPO_ROOT, Api, Stack

_used: set[str] = set()


def new_phone() -> str:
    """A fresh number from +1 202 555 0000-9999, all valid to libphonenumber (test_cli uses 415 numbers)."""
    while True:
        phone = f"+1202555{random.randrange(10_000):04d}"
        if phone not in _used:
            _used.add(phone)
            return phone


@pytest.fixture(scope="module")
def cognito(stack: Stack) -> Any:
    return boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=f"{stack.base}/cognito",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        # No retries: a retried answer would count as a second wrong code, a retried request as a second code.
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture(scope="module")
def store(stack: Stack) -> Iterator[SignInStore]:
    # The store `up` writes, opened by this second process as the CLI opens it.
    opened = SignInStore.in_data_dir(stack.data_dir, create=False)
    yield opened
    opened.close()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "serverlesspresso.cli", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )


def outbox_code(stack: Stack, phone: str) -> str:
    """The newest code sent to `phone`, as a person reads it: `serverlesspresso outbox --phone`."""
    result = cli("outbox", "--phone", phone, "--data-dir", str(stack.data_dir))
    assert result.returncode == 0, result.stderr
    phone_shown, code, *_ = result.stdout.strip().splitlines()[-1].split()
    assert phone_shown == phone
    return code


def latest_code(store: SignInStore, phone: str) -> str:
    with store.transaction(write=False) as tx:
        return tx.outbox(phone)[-1].code


def start(cognito: Any, phone: str, **preferred: str) -> dict[str, Any]:
    parameters = {"USERNAME": phone, **(preferred or {"PREFERRED_CHALLENGE": "SMS_OTP"})}
    return dict(cognito.initiate_auth(ClientId=AUDIENCE, AuthFlow="USER_AUTH", AuthParameters=parameters))


def answer(cognito: Any, session: str, phone: str, code: str) -> dict[str, Any]:
    return dict(
        cognito.respond_to_auth_challenge(
            ClientId=AUDIENCE,
            ChallengeName="SMS_OTP",
            Session=session,
            ChallengeResponses={"USERNAME": phone, "SMS_OTP_CODE": code},
        )
    )


def sign_in(cognito: Any, store: SignInStore, phone: str) -> dict[str, Any]:
    cognito.sign_up(ClientId=AUDIENCE, Username=phone, UserAttributes=[{"Name": "phone_number", "Value": phone}])
    challenge = start(cognito, phone)
    result: dict[str, Any] = answer(cognito, challenge["Session"], phone, latest_code(store, phone))
    return dict(result["AuthenticationResult"])


def error_code(raised: pytest.ExceptionInfo[Any]) -> str:
    return str(raised.value.response["Error"]["Code"])


def test_sign_up_and_sign_in_with_the_code_from_the_outbox(cognito: Any, stack: Stack) -> None:
    phone = new_phone()
    signed_up = cognito.sign_up(ClientId=AUDIENCE, Username=phone)
    assert signed_up["UserConfirmed"] is True
    with pytest.raises(cognito.exceptions.UsernameExistsException):
        cognito.sign_up(ClientId=AUDIENCE, Username=phone)

    challenge = start(cognito, phone)
    assert challenge["ChallengeName"] == "SMS_OTP"
    assert challenge["ChallengeParameters"] == {
        "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
        "CODE_DELIVERY_DESTINATION": "+*******" + phone[-4:],
    }
    code = outbox_code(stack, phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(cognito.exceptions.CodeMismatchException):
        answer(cognito, challenge["Session"], phone, wrong)
    result = answer(cognito, challenge["Session"], phone, code)["AuthenticationResult"]  # the same session
    assert result["ExpiresIn"] == 3600 and result["TokenType"] == "Bearer" and result["RefreshToken"]

    jwks = requests.get(f"{stack.base}/.well-known/jwks.json", timeout=10).json()
    key = jwt.PyJWKSet.from_dict(jwks).keys[0].key
    claims = jwt.decode(result["IdToken"], key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
    assert claims["sub"] == signed_up["UserSub"] == claims["cognito:username"]
    assert claims["phone_number"] == phone and claims["phone_number_verified"] is True
    assert claims["token_use"] == "id" and claims["exp"] - claims["iat"] == 3600
    access = jwt.decode(result["AccessToken"], key, algorithms=["RS256"], issuer=ISSUER)
    assert access["token_use"] == "access" and access["origin_jti"] == claims["origin_jti"]

    # The code line is in the log of `up` (its stand-in for the SMS); no other line names the whole number.
    log = stack.log().splitlines()
    assert any(f"sign-in code for {phone}: {code}" in line and "INFO" in line for line in log)
    assert all("sign-in code for" in line for line in log if phone in line)


def test_the_api_accepts_the_id_token_and_refuses_the_access_token(cognito: Any, store: SignInStore, stack: Stack):
    tokens = sign_in(cognito, store, new_phone())
    api = Api(stack)
    mine = api.gql("{ myOrders(first: 1) { nodes { id } } }", token=tokens["IdToken"])
    assert "errors" not in mine and mine["data"]["myOrders"]["nodes"] == []
    assert api.call("GET", "/shops/default/code", tokens["IdToken"]).status_code == 403  # a customer
    assert api.call("GET", "/shops/default/code", tokens["AccessToken"]).status_code == 401


def test_a_new_code_within_30_seconds_is_refused(cognito: Any, store: SignInStore) -> None:
    phone = new_phone()
    cognito.sign_up(ClientId=AUDIENCE, Username=phone)
    start(cognito, phone)
    with pytest.raises(cognito.exceptions.LimitExceededException) as refused:
        start(cognito, phone)
    message = refused.value.response["Error"]["Message"]
    assert "wait" in message and "seconds" in message
    with store.transaction(write=False) as tx:
        assert len(tx.outbox(phone)) == 1  # nothing sent


def test_the_third_wrong_code_ends_the_session(cognito: Any, store: SignInStore) -> None:
    phone = new_phone()
    cognito.sign_up(ClientId=AUDIENCE, Username=phone)
    session = start(cognito, phone)["Session"]
    code = latest_code(store, phone)
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in (1, 2, 3)]
    for attempt in wrong[:2]:
        with pytest.raises(cognito.exceptions.CodeMismatchException):
            answer(cognito, session, phone, attempt)
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        answer(cognito, session, phone, wrong[2])
    with pytest.raises(cognito.exceptions.NotAuthorizedException) as refused:
        answer(cognito, session, phone, code)
    assert "session is expired" in refused.value.response["Error"]["Message"]


def test_select_challenge_then_sms(cognito: Any, store: SignInStore) -> None:
    phone = new_phone()
    cognito.sign_up(ClientId=AUDIENCE, Username=phone)
    choice = dict(cognito.initiate_auth(ClientId=AUDIENCE, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": phone}))
    assert choice["ChallengeName"] == "SELECT_CHALLENGE" and choice["AvailableChallenges"] == ["SMS_OTP"]
    challenge = cognito.respond_to_auth_challenge(
        ClientId=AUDIENCE,
        ChallengeName="SELECT_CHALLENGE",
        Session=choice["Session"],
        ChallengeResponses={"USERNAME": phone, "ANSWER": "SMS_OTP"},
    )
    assert challenge["ChallengeName"] == "SMS_OTP"
    assert "IdToken" in answer(cognito, challenge["Session"], phone, latest_code(store, phone))["AuthenticationResult"]


def test_admins_add_shows_after_a_refresh_both_ways(cognito: Any, store: SignInStore, stack: Stack) -> None:
    phone = new_phone()
    tokens = sign_in(cognito, store, phone)
    api = Api(stack)
    assert api.call("GET", "/shops/default/code", tokens["IdToken"]).status_code == 403

    added = cli("admins", "add", phone, "--data-dir", str(stack.data_dir))
    assert added.returncode == 0 and "is now in the admin group" in added.stdout and "refresh" in added.stdout
    assert phone in cli("admins", "list", "--data-dir", str(stack.data_dir)).stdout
    assert api.call("GET", "/shops/default/code", tokens["IdToken"]).status_code == 403  # issued before

    refreshed = cognito.get_tokens_from_refresh_token(ClientId=AUDIENCE, RefreshToken=tokens["RefreshToken"])
    admin_token = refreshed["AuthenticationResult"]["IdToken"]
    assert api.call("GET", "/shops/default/code", admin_token).status_code == 200
    again = cognito.initiate_auth(
        ClientId=AUDIENCE, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}
    )
    assert api.call("GET", "/shops/default/code", again["AuthenticationResult"]["IdToken"]).status_code == 200

    removed = cli("admins", "remove", phone, "--data-dir", str(stack.data_dir))
    assert removed.returncode == 0 and "no longer" in removed.stdout
    demoted = cognito.get_tokens_from_refresh_token(ClientId=AUDIENCE, RefreshToken=tokens["RefreshToken"])
    assert api.call("GET", "/shops/default/code", demoted["AuthenticationResult"]["IdToken"]).status_code == 403


def test_revoke_token_ends_the_sign_in(cognito: Any, store: SignInStore) -> None:
    tokens = sign_in(cognito, store, new_phone())
    assert cognito.get_user(AccessToken=tokens["AccessToken"])["Username"]
    cognito.revoke_token(ClientId=AUDIENCE, Token=tokens["RefreshToken"])
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.get_tokens_from_refresh_token(ClientId=AUDIENCE, RefreshToken=tokens["RefreshToken"])
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.initiate_auth(
            ClientId=AUDIENCE, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]}
        )
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.get_user(AccessToken=tokens["AccessToken"])


def test_global_sign_out_and_get_user(cognito: Any, store: SignInStore) -> None:
    phone = new_phone()
    tokens = sign_in(cognito, store, phone)
    user = cognito.get_user(AccessToken=tokens["AccessToken"])
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["phone_number"] == phone and attributes["sub"] == user["Username"]
    cognito.global_sign_out(AccessToken=tokens["AccessToken"])
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.get_tokens_from_refresh_token(ClientId=AUDIENCE, RefreshToken=tokens["RefreshToken"])


def test_unknown_people_bad_numbers_and_email_otp(cognito: Any) -> None:
    with pytest.raises(cognito.exceptions.UserNotFoundException):
        start(cognito, new_phone())
    with pytest.raises(cognito.exceptions.InvalidParameterException) as refused:
        cognito.sign_up(ClientId=AUDIENCE, Username="+1 202 555 0100")
    assert "E.164" in refused.value.response["Error"]["Message"]
    phone = new_phone()
    cognito.sign_up(ClientId=AUDIENCE, Username=phone)
    with pytest.raises(cognito.exceptions.InvalidParameterException) as refused:
        start(cognito, phone, PREFERRED_CHALLENGE="EMAIL_OTP")
    assert "EMAIL_OTP is not available" in refused.value.response["Error"]["Message"]
    with pytest.raises(cognito.exceptions.ResourceNotFoundException):
        cognito.sign_up(ClientId="another-client", Username=new_phone())
    with pytest.raises(cognito.exceptions.NotAuthorizedException):
        cognito.get_tokens_from_refresh_token(ClientId=AUDIENCE, RefreshToken="never-issued")


@pytest.mark.parametrize(
    "target, body, expected",
    [
        ("AWSCognitoIdentityProviderService.AdminDeleteUser", "{}", "UnknownOperationException"),
        ("SomethingElse.SignUp", "{}", "UnknownOperationException"),
        ("AWSCognitoIdentityProviderService.SignUp", "{not json", "InvalidParameterException"),
        ("AWSCognitoIdentityProviderService.SignUp", json.dumps({"ClientId": AUDIENCE}), "InvalidParameterException"),
    ],
)
def test_protocol_errors_on_the_wire(stack: Stack, target: str, body: str, expected: str) -> None:
    response = requests.post(
        f"{stack.base}/cognito",
        data=body,
        headers={"content-type": "application/x-amz-json-1.1", "x-amz-target": target},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.headers["x-amzn-ErrorType"] == expected == response.json()["__type"]
    assert response.json()["message"]


def test_the_outbox_command_lists_codes_oldest_first(cognito: Any, stack: Stack) -> None:
    phone = new_phone()
    cognito.sign_up(ClientId=AUDIENCE, Username=phone)
    start(cognito, phone)
    every = cli("outbox", "--data-dir", str(stack.data_dir))
    assert every.returncode == 0 and phone in every.stdout.splitlines()[-1]
    bad = cli("outbox", "--phone", "12345", "--data-dir", str(stack.data_dir))
    assert bad.returncode == 2 and "E.164" in bad.stderr
