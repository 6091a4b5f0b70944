"""AWS IoT Core custom authorizer: the Cognito ID token in, a connection policy out.

The browser connects to IoT Core over MQTT-over-WebSocket with the same ID token it sends to the
API, as the MQTT CONNECT password (IoT hands it to us base64-encoded). A token in the event's
`token` field or in a `token` query-string parameter is accepted as a fallback.

The policy grants exactly what `chalicelib.domain.live.allowed_subscriptions` grants the local
broker, translated to IoT policy syntax:

* IoT policy resources use IAM wildcards: `*` is any run of characters *including* `/`, `?` is
  one character, and the MQTT wildcards `+` and `#` are literal. So the MQTT filter
  `serverlesspresso/shops/+/config` becomes the resource `.../topicfilter/serverlesspresso/shops/*/config`
  (which also lets the client subscribe to the literal filter `serverlesspresso/shops/+/config`).
* Because `*` also matches `/`, that resource alone would allow `serverlesspresso/shops/a/b/config`
  too, which MQTT's `+` does not. A Deny on `.../shops/*/*/config` (two or more levels) pins `*` to
  exactly one level, so the IoT policy and `live.may_subscribe` agree filter for filter.
* Literal parts of a resource (the user's `sub`, the client id) have `$`, `*` and `?` written as the
  policy variables `$($)`, `$(*)` and `$(?)`, so a value can never widen the grant.
* There is no `iot:Publish` at all: only the backend publishes, through iot-data with IAM.

The authorizer never raises: a missing, malformed, expired or foreign token gives
`isAuthenticated: false` and no policy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from chalicelib.domain import live
from chalicelib.domain.errors import DomainError

if TYPE_CHECKING:  # the ports module imports the whole domain; the authorizer's cold start needs none of it
    from chalicelib.ports import TokenVerifier

logger = logging.getLogger(__name__)

# Bounds IoT Core accepts for disconnectAfterInSeconds and refreshAfterInSeconds.
MIN_SECONDS = 300
MAX_SECONDS = 86_400
# Each policy document may hold at most 2,048 characters, and a response at most 10 documents.
MAX_POLICY_CHARS = 2_048
MAX_POLICY_DOCUMENTS = 10
POLICY_VERSION = "2012-10-17"

# Characters that would change a topic's meaning if they came from a token: a level separator,
# the MQTT wildcards and NUL (which MQTT forbids in topic names).
_MQTT_SPECIAL = re.compile(r"[/+#\x00]")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]{1,128}")
_MAX_SUB_CHARS = 256


def _denied() -> dict[str, Any]:
    return {
        "isAuthenticated": False,
        "principalId": "anonymous",
        "disconnectAfterInSeconds": MIN_SECONDS,
        "refreshAfterInSeconds": MIN_SECONDS,
        "policyDocuments": [],
    }


def clamp_seconds(seconds: float) -> int:
    return max(MIN_SECONDS, min(MAX_SECONDS, int(seconds)))


def principal_id(sub: str) -> str:
    """An identifier IoT accepts (`[a-zA-Z0-9]{1,128}`), stable per `sub`.

    Cognito subs are UUIDs: their hex digits, without dashes, are kept, so logs stay readable.
    Any other shape is hashed rather than stripped, so `a-b` and `ab` do not share a principal.
    """
    if _ALPHANUMERIC.fullmatch(sub):
        return sub
    if _UUID.fullmatch(sub):
        return sub.replace("-", "").lower()
    return "h" + hashlib.sha256(sub.encode()).hexdigest()


def escape_policy_literal(value: str) -> str:
    """Write `value` so IoT's policy matcher reads it literally (its `$`, `*` and `?` are special)."""
    return "".join({"$": "$($)", "*": "$(*)", "?": "$(?)"}.get(char, char) for char in value)


def _resource_pattern(topic_filter: str) -> tuple[str, list[str]]:
    """An MQTT filter as an IoT resource pattern, plus the patterns to deny to keep `+` to one level.

    Supports what `live.allowed_subscriptions` produces: literal levels, and `+` as a whole level.
    """
    levels = topic_filter.split("/")
    if "#" in levels:
        raise ValueError(f"'#' is not expressible exactly in an IoT policy: {topic_filter!r}")
    pattern = "/".join("*" if level == "+" else escape_policy_literal(level) for level in levels)
    # For every `+`, deny the same pattern with that `*` spanning two or more levels.
    denies = [
        "/".join(
            "*/*" if index == plus else ("*" if level == "+" else escape_policy_literal(level))
            for index, level in enumerate(levels)
        )
        for plus, plus_level in enumerate(levels)
        if plus_level == "+"
    ]
    return pattern, denies


def policy_documents(sub: str, is_admin: bool, account_id: str, region: str, client_id: str | None = None) -> list[str]:
    """The IoT policy documents (JSON strings) for a signed-in person."""
    arn = f"arn:aws:iot:{region}:{account_id}"
    client = escape_policy_literal(client_id) if client_id else "*"
    subscribe: list[str] = []
    receive: list[str] = []
    deny_subscribe: list[str] = []
    deny_receive: list[str] = []
    for topic_filter in live.allowed_subscriptions(sub, is_admin):
        pattern, denies = _resource_pattern(topic_filter)
        subscribe.append(f"{arn}:topicfilter/{pattern}")
        receive.append(f"{arn}:topic/{pattern}")
        deny_subscribe.extend(f"{arn}:topicfilter/{d}" for d in denies)
        deny_receive.extend(f"{arn}:topic/{d}" for d in denies)
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{arn}:client/{client}"},
        {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": subscribe},
        {"Effect": "Allow", "Action": "iot:Receive", "Resource": receive},
    ]
    if deny_subscribe:
        statements.append({"Effect": "Deny", "Action": "iot:Subscribe", "Resource": deny_subscribe})
        statements.append({"Effect": "Deny", "Action": "iot:Receive", "Resource": deny_receive})
    document = json.dumps({"Version": POLICY_VERSION, "Statement": statements}, separators=(",", ":"))
    if len(document) <= MAX_POLICY_CHARS:
        return [document]
    # Too long for one document (a very long sub or client id): one statement per document.
    return [
        json.dumps({"Version": POLICY_VERSION, "Statement": [statement]}, separators=(",", ":"))
        for statement in statements
    ]


def _b64decode(value: str) -> str | None:
    padded = value + "=" * (-len(value) % 4)
    try:
        return base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and all(value.split("."))


def extract_token(event: Mapping[str, Any]) -> str | None:
    """The ID token from an authorizer event: MQTT password first, then `token`, then `?token=`."""
    protocol_data = event.get("protocolData")
    protocol_data = protocol_data if isinstance(protocol_data, Mapping) else {}
    mqtt = protocol_data.get("mqtt")
    if isinstance(mqtt, Mapping):
        password = mqtt.get("password")
        if isinstance(password, str) and password:
            decoded = _b64decode(password.strip())
            if decoded is not None and decoded.strip():
                return decoded.strip()
            if _looks_like_jwt(password.strip()):  # a client (or test-invoke) that sent it raw
                return password.strip()
    token = event.get("token")
    if isinstance(token, str) and token.strip():
        return token.strip()
    http = protocol_data.get("http")
    if isinstance(http, Mapping):
        query = http.get("queryString")
        if isinstance(query, str) and query:
            values = parse_qs(query.lstrip("?")).get("token")
            if values and values[0].strip():
                return values[0].strip()
    return None


def _client_id(event: Mapping[str, Any]) -> str | None:
    protocol_data = event.get("protocolData")
    mqtt = protocol_data.get("mqtt") if isinstance(protocol_data, Mapping) else None
    client_id = mqtt.get("clientId") if isinstance(mqtt, Mapping) else None
    return client_id if isinstance(client_id, str) and client_id else None


def _expiry(token: str) -> float | None:
    """The `exp` claim of a token the verifier has already accepted (so no signature check here)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


class IotAuthorizer:
    def __init__(
        self,
        verifier: TokenVerifier,
        account_id: str,
        region: str,
        refresh_seconds: int = 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._account_id = account_id
        self._region = region
        self._refresh_seconds = refresh_seconds
        self._clock = clock

    def authorize(self, event: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self._authorize(event)
        except Exception:  # noqa: BLE001 - whatever goes wrong, the answer is a closed door, not a crash
            logger.exception("IoT authorizer failed; denying the connection")
            return _denied()

    def _authorize(self, event: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(event, Mapping):
            return _denied()
        token = extract_token(event)
        if token is None:
            logger.info("IoT connection without a token; denied")
            return _denied()
        try:
            actor = self._verifier.verify(token)
        except DomainError as error:
            logger.info("IoT connection with a rejected token: %s", error)
            return _denied()
        exp = _expiry(token)
        if exp is None:
            return _denied()
        remaining = exp - self._clock()
        if remaining <= 0:
            return _denied()
        sub = actor.sub
        if not sub or len(sub) > _MAX_SUB_CHARS or _MQTT_SPECIAL.search(sub):
            # A sub with `/`, `+` or `#` would turn the personal topic into a wildcard or another path.
            logger.warning("IoT connection for a sub that cannot name a topic: %r", sub)
            return _denied()
        documents = policy_documents(sub, actor.is_admin, self._account_id, self._region, _client_id(event))
        if len(documents) > MAX_POLICY_DOCUMENTS or any(len(d) > MAX_POLICY_CHARS for d in documents):
            logger.warning("IoT policy for %r does not fit IoT's limits; denied", sub)
            return _denied()
        disconnect = clamp_seconds(remaining)
        return {
            "isAuthenticated": True,
            "principalId": principal_id(sub),
            "disconnectAfterInSeconds": disconnect,
            "refreshAfterInSeconds": clamp_seconds(min(self._refresh_seconds, disconnect)),
            "policyDocuments": documents,
        }
