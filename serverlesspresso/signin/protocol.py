"""Cognito's JSON protocol at `POST /cognito`: decode a request into a command, run it, encode the answer or error."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from serverlesspresso.server import LocalRequest, LocalResponse, LocalRoute
from serverlesspresso.signin import service as uc
from serverlesspresso.signin.service import SELECT_CHALLENGE, SMS_OTP, SignInService

logger = logging.getLogger("serverlesspresso.signin")

PATH = "/cognito"
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
CONTENT_TYPE = "application/x-amz-json-1.1"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date",
}
_ERROR_NAMES: dict[type[uc.SignInError], str] = {
    uc.InvalidParameter: "InvalidParameterException",
    uc.UsernameExists: "UsernameExistsException",
    uc.UserNotFound: "UserNotFoundException",
    uc.CodeMismatch: "CodeMismatchException",
    uc.NotAuthorized: "NotAuthorizedException",
    uc.LimitExceeded: "LimitExceededException",
}


class ProtocolError(Exception):
    def __init__(self, name: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.status = status


# ----- commands: one per operation (and per flow of the two that have several) ----------------------


@dataclass(frozen=True)
class SignUp:
    username: str


@dataclass(frozen=True)
class StartUserAuth:
    username: str
    preferred_challenge: str | None


@dataclass(frozen=True)
class Refresh:
    refresh_token: str
    via_initiate_auth: bool  # InitiateAuth answers with ChallengeParameters too; GetTokensFromRefreshToken does not


@dataclass(frozen=True)
class SelectChallenge:
    session: str
    username: str
    answer: str


@dataclass(frozen=True)
class AnswerSmsOtp:
    session: str
    username: str
    code: str


@dataclass(frozen=True)
class RevokeToken:
    token: str


@dataclass(frozen=True)
class GlobalSignOut:
    access_token: str


@dataclass(frozen=True)
class GetUser:
    access_token: str


Command = SignUp | StartUserAuth | Refresh | SelectChallenge | AnswerSmsOtp | RevokeToken | GlobalSignOut | GetUser


class CognitoEndpoint:
    def __init__(self, signin: SignInService, client_id: str) -> None:
        self._signin = signin
        self._client_id = client_id
        self._decoders: dict[str, Callable[[Mapping[str, Any]], Command]] = {
            "SignUp": self._sign_up,
            "InitiateAuth": self._initiate_auth,
            "RespondToAuthChallenge": self._respond_to_auth_challenge,
            "GetTokensFromRefreshToken": self._get_tokens_from_refresh_token,
            "RevokeToken": self._revoke_token,
            "GlobalSignOut": lambda body: GlobalSignOut(_text(body, "AccessToken")),
            "GetUser": lambda body: GetUser(_text(body, "AccessToken")),
        }

    def handle(self, request: LocalRequest) -> LocalResponse:
        if request.method == "OPTIONS":
            return _preflight(request)
        request_id = str(uuid.uuid4())
        try:
            command = self.decode(request)
            payload = self.execute(command)
        except ProtocolError as error:
            return _error(error.status, error.name, error.message, request_id)
        except uc.SignInError as error:
            return _error(400, _ERROR_NAMES[type(error)], error.message, request_id)
        except Exception:  # noqa: BLE001 - a bug must still answer in the protocol the client parses
            logger.exception("the Cognito endpoint failed")
            return _error(500, "InternalErrorException", "Internal error in the local user pool.", request_id)
        body = json.dumps(payload, separators=(",", ":")).encode()
        return LocalResponse(200, body, {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id, **_CORS})

    # ----- decoding -----------------------------------------------------------------------------

    def decode(self, request: LocalRequest) -> Command:
        target = request.headers.get("x-amz-target", "")
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        decoder = self._decoders.get(operation)
        if decoder is None:
            shown = target or "(no X-Amz-Target header)"
            raise ProtocolError(
                "UnknownOperationException",
                f"Unknown operation {shown}; this local user pool answers {', '.join(sorted(self._decoders))}.",
            )
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError("InvalidParameterException", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ProtocolError("InvalidParameterException", "The request body must be a JSON object.")
        return decoder(body)

    def _client(self, body: Mapping[str, Any]) -> None:
        client_id = _text(body, "ClientId")
        if client_id != self._client_id:
            raise ProtocolError("ResourceNotFoundException", f"User pool client {client_id} does not exist.")

    def _sign_up(self, body: Mapping[str, Any]) -> Command:
        self._client(body)
        username = _text(body, "Username")
        _optional_text(body, "Password")  # accepted, as Cognito does, but never used: sign-in is by code only
        attributes = body.get("UserAttributes") or []
        if not isinstance(attributes, list) or not all(
            isinstance(a, dict) and isinstance(a.get("Name"), str) and isinstance(a.get("Value"), str)
            for a in attributes
        ):
            raise _invalid('UserAttributes must be a list of {"Name": ..., "Value": ...} strings.')
        for attribute in attributes:
            if attribute["Name"] != "phone_number":
                raise _invalid(f"The local user pool stores phone_number only, not {attribute['Name']}.")
            if attribute["Value"] != username:
                raise _invalid("The phone_number attribute must be the Username (the phone number).")
        return SignUp(username)

    def _initiate_auth(self, body: Mapping[str, Any]) -> Command:
        self._client(body)
        flow = _text(body, "AuthFlow")
        parameters = _text_map(body, "AuthParameters")
        if flow == "USER_AUTH":
            return StartUserAuth(_param(parameters, "USERNAME"), parameters.get("PREFERRED_CHALLENGE") or None)
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            return Refresh(_param(parameters, "REFRESH_TOKEN"), via_initiate_auth=True)
        raise _invalid(f"{flow} flow not enabled for this client: the local user pool signs in with USER_AUTH.")

    def _respond_to_auth_challenge(self, body: Mapping[str, Any]) -> Command:
        self._client(body)
        name = _text(body, "ChallengeName")
        session = _text(body, "Session")
        responses = _text_map(body, "ChallengeResponses")
        username = _param(responses, "USERNAME")
        if name == SELECT_CHALLENGE:
            return SelectChallenge(session, username, _param(responses, "ANSWER"))
        if name == SMS_OTP:
            return AnswerSmsOtp(session, username, _param(responses, "SMS_OTP_CODE"))
        raise _invalid(f"The challenge {name} is not one this local user pool asks: answer SMS_OTP.")

    def _get_tokens_from_refresh_token(self, body: Mapping[str, Any]) -> Command:
        self._client(body)
        return Refresh(_text(body, "RefreshToken"), via_initiate_auth=False)

    def _revoke_token(self, body: Mapping[str, Any]) -> Command:
        self._client(body)
        return RevokeToken(_text(body, "Token"))

    # ----- executing and encoding ---------------------------------------------------------------

    def execute(self, command: Command) -> dict[str, Any]:
        match command:
            case SignUp(username):
                return {"UserConfirmed": True, "UserSub": self._signin.sign_up(username)}
            case StartUserAuth(username, preferred):
                return _challenge(self._signin.start(username, preferred))
            case SelectChallenge(session, username, answer):
                return _challenge(self._signin.choose(session, username, answer))
            case AnswerSmsOtp(session, username, code):
                return {
                    "AuthenticationResult": _result(self._signin.confirm(session, username, code)),
                    "ChallengeParameters": {},
                }
            case Refresh(token, via_initiate_auth):
                result = {"AuthenticationResult": _result(self._signin.refresh(token))}
                return {**result, "ChallengeParameters": {}} if via_initiate_auth else result
            case RevokeToken(token):
                self._signin.revoke(token)
                return {}
            case GlobalSignOut(access_token):
                self._signin.sign_out_everywhere(access_token)
                return {}
            case GetUser(access_token):
                profile = self._signin.profile(access_token)
                return {
                    "Username": profile.sub,
                    "UserAttributes": [
                        {"Name": "sub", "Value": profile.sub},
                        {"Name": "phone_number", "Value": profile.phone},
                        {"Name": "phone_number_verified", "Value": "true"},
                    ],
                }
        raise AssertionError(f"no handler for {command!r}")


def cognito_route(signin: SignInService, client_id: str) -> LocalRoute:
    endpoint = CognitoEndpoint(signin, client_id)
    # boto3 posts to the endpoint URL as given; other clients may add the trailing slash.
    return LocalRoute(
        lambda method, path: path in (PATH, PATH + "/") and method in ("POST", "OPTIONS"), endpoint.handle
    )


def _challenge(challenge: uc.Challenge) -> dict[str, Any]:
    if challenge.name == SELECT_CHALLENGE:
        return {
            "ChallengeName": SELECT_CHALLENGE,
            "Session": challenge.session,
            "ChallengeParameters": {},
            "AvailableChallenges": list(challenge.available),
        }
    return {
        "ChallengeName": challenge.name,
        "Session": challenge.session,
        "ChallengeParameters": {
            "CODE_DELIVERY_DELIVERY_MEDIUM": "SMS",
            "CODE_DELIVERY_DESTINATION": challenge.destination or "",
        },
    }


def _result(tokens: uc.Tokens) -> dict[str, Any]:
    result: dict[str, Any] = {
        "AccessToken": tokens.access_token,
        "ExpiresIn": tokens.expires_in,
        "TokenType": "Bearer",
        "IdToken": tokens.id_token,
    }
    if tokens.refresh_token is not None:
        result["RefreshToken"] = tokens.refresh_token
    return result


def _error(status: int, name: str, message: str, request_id: str) -> LocalResponse:
    body = json.dumps({"__type": name, "message": message}).encode()
    headers = {"Content-Type": CONTENT_TYPE, "x-amzn-ErrorType": name, "x-amzn-RequestId": request_id, **_CORS}
    return LocalResponse(status, body, headers)


def _preflight(request: LocalRequest) -> LocalResponse:
    # No cookies are involved (tokens travel in bodies), so any origin may call, as with Cognito itself.
    asked = request.headers.get("access-control-request-headers", "content-type, x-amz-target, x-amz-user-agent")
    return LocalResponse(
        200,
        b"",
        {
            **_CORS,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": asked,
            "Access-Control-Max-Age": "600",
        },
    )


def _invalid(message: str) -> ProtocolError:
    return ProtocolError("InvalidParameterException", message)


def _text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise _invalid(f"Missing required parameter {name}.")
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string.")
    return value


def _optional_text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"{name} must be a string.")
    return value


def _text_map(body: Mapping[str, Any], name: str) -> dict[str, str]:
    value = body.get(name)
    if value is None:
        raise _invalid(f"Missing required parameter {name}.")
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _invalid(f"{name} must be an object of strings.")
    return value


def _param(parameters: Mapping[str, str], name: str) -> str:
    value = parameters.get(name)
    if not value:
        raise _invalid(f"Missing required parameter {name}.")
    return value
