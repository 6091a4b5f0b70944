"""The IoT Core custom authorizer: real RS256 tokens from the local identity provider in, IoT policies out.

The policies are checked with a small evaluator of IoT policy resource matching (`*` any run of
characters including `/`, `?` one character, `$(*)`/`$(?)`/`$($)` literal, `+` and `#` literal,
explicit Deny wins), so the tests ask the same question IoT Core asks: may this client subscribe
to / receive from this filter or topic?
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.adapters.auth import JwksFileKeys, JwtVerifier
from chalicelib.domain import live
from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.order import Actor
from chalicelib.services.iot_authorizer import (
    MAX_POLICY_CHARS,
    MAX_POLICY_DOCUMENTS,
    MAX_SECONDS,
    MIN_SECONDS,
    IotAuthorizer,
    escape_policy_literal,
    extract_token,
    policy_documents,
    principal_id,
)
from serverlesspresso.identity import AUDIENCE, ISSUER, LocalIdentityProvider, subject_of

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}"
CLIENT_ID = "web-4f2a"
ALLOWED_ACTIONS = {"iot:Connect", "iot:Subscribe", "iot:Receive"}


# ----- an evaluator of IoT policy resources ---------------------------------------------------


def _resource_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        literal = next((v for v in ("$(*)", "$(?)", "$($)") if pattern.startswith(v, index)), None)
        if literal is not None:
            parts.append(re.escape(literal[2]))
            index += len(literal)
            continue
        char = pattern[index]
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _statements(documents: list[str]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for document in documents:
        parsed = json.loads(document)
        assert parsed["Version"] == "2012-10-17"
        statements.extend(parsed["Statement"])
    return statements


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def iot_allows(documents: list[str], action: str, resource: str) -> bool:
    """IoT's decision: some Allow matches and no Deny does."""
    allowed = False
    for statement in _statements(documents):
        if action not in _as_list(statement["Action"]) and "iot:*" not in _as_list(statement["Action"]):
            continue
        if any(_resource_regex(r).fullmatch(resource) for r in _as_list(statement["Resource"])):
            if statement["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


def may_subscribe_on_iot(documents: list[str], topic_filter: str) -> bool:
    return iot_allows(documents, "iot:Subscribe", f"{ARN}:topicfilter/{topic_filter}")


def may_receive_on_iot(documents: list[str], topic: str) -> bool:
    return iot_allows(documents, "iot:Receive", f"{ARN}:topic/{topic}")


def test_the_evaluator_reads_iot_wildcards_the_documented_way() -> None:
    doc = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": [f"{ARN}:topicfilter/a/*/c"]},
                {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": [f"{ARN}:topicfilter/lit/$(*)"]},
                {"Effect": "Deny", "Action": "iot:Subscribe", "Resource": [f"{ARN}:topicfilter/a/*/*/c"]},
            ],
        }
    )
    assert may_subscribe_on_iot([doc], "a/b/c")
    assert may_subscribe_on_iot([doc], "a/+/c")  # `+` is a literal character matched by `*`
    assert not may_subscribe_on_iot([doc], "a/b/b/c")  # `*` spans `/`, the Deny takes it back
    assert may_subscribe_on_iot([doc], "lit/*")
    assert not may_subscribe_on_iot([doc], "lit/x")


# ----- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> LocalIdentityProvider:
    provider = LocalIdentityProvider(tmp_path_factory.mktemp("identity"))
    provider.ensure_keys()
    return provider


@pytest.fixture(scope="module")
def verifier(identity: LocalIdentityProvider) -> JwtVerifier:
    return JwtVerifier(JwksFileKeys(str(identity.jwks_path)), ISSUER, AUDIENCE)


@pytest.fixture
def authorizer(verifier: JwtVerifier) -> IotAuthorizer:
    return IotAuthorizer(verifier, ACCOUNT, REGION)


def mqtt_event(token: str | None, client_id: str | None = CLIENT_ID) -> dict[str, Any]:
    mqtt: dict[str, Any] = {"username": "web?x-amz-customauthorizer-name=serverlesspresso"}
    if token is not None:
        mqtt["password"] = base64.b64encode(token.encode()).decode()
    if client_id is not None:
        mqtt["clientId"] = client_id
    return {
        "signatureVerified": False,
        "protocols": ["tls", "mqtt"],
        "protocolData": {"tls": {"serverName": "example-ats.iot.eu-west-1.amazonaws.com"}, "mqtt": mqtt},
        "connectionMetadata": {"id": "c0ffee00-0000-4000-8000-000000000000"},
    }


def assert_denied(response: dict[str, Any]) -> None:
    assert response["isAuthenticated"] is False
    assert response["policyDocuments"] == []


ALICE = subject_of("alice")
BOB = subject_of("bob")


# ----- who gets in ----------------------------------------------------------------------------


def test_a_customer_may_follow_their_own_orders_and_every_shops_public_topics(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    response = authorizer.authorize(mqtt_event(identity.issue("alice")))
    assert response["isAuthenticated"] is True
    docs = response["policyDocuments"]
    assert may_subscribe_on_iot(docs, live.user_topic(ALICE))
    for shop in ("s1", "downtown-2"):
        assert may_subscribe_on_iot(docs, live.config_topic(shop))
        assert may_subscribe_on_iot(docs, live.board_topic(shop))
        assert may_receive_on_iot(docs, live.config_topic(shop))
        assert may_receive_on_iot(docs, live.board_topic(shop))
    assert may_subscribe_on_iot(docs, "serverlesspresso/shops/+/config")
    assert may_subscribe_on_iot(docs, "serverlesspresso/shops/+/board")
    assert may_receive_on_iot(docs, live.user_topic(ALICE))


def test_a_customer_may_not_see_admin_topics_or_other_people(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    docs = authorizer.authorize(mqtt_event(identity.issue("alice")))["policyDocuments"]
    for refused in (
        live.admin_topic("s1"),
        "serverlesspresso/shops/+/admin",
        live.user_topic(BOB),
        "serverlesspresso/users/+",
        "serverlesspresso/users/#",
        f"{live.user_topic(ALICE)}/#",
        "serverlesspresso/#",
        "serverlesspresso/shops/#",
        "serverlesspresso/shops/s1/#",
        "#",
        "serverlesspresso/shops/s1/admin/config",  # `*` would span two levels; the Deny stops it
        "serverlesspresso/shops/a/b/board",
    ):
        assert not may_subscribe_on_iot(docs, refused), refused
    assert not may_receive_on_iot(docs, live.admin_topic("s1"))
    assert not may_receive_on_iot(docs, live.user_topic(BOB))


def test_an_admin_may_also_follow_every_shops_admin_topic(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    response = authorizer.authorize(mqtt_event(identity.issue("anna", admin=True)))
    assert response["isAuthenticated"] is True
    docs = response["policyDocuments"]
    assert may_subscribe_on_iot(docs, live.admin_topic("s1"))
    assert may_subscribe_on_iot(docs, "serverlesspresso/shops/+/admin")
    assert may_receive_on_iot(docs, live.admin_topic("s1"))
    assert may_subscribe_on_iot(docs, live.user_topic(subject_of("anna")))
    # Admins are not a wildcard: other people's topics stay closed.
    assert not may_subscribe_on_iot(docs, live.user_topic(ALICE))
    assert not may_subscribe_on_iot(docs, "serverlesspresso/users/+")


@pytest.mark.parametrize("admin", [False, True])
def test_no_one_may_publish(authorizer: IotAuthorizer, identity: LocalIdentityProvider, admin: bool) -> None:
    docs = authorizer.authorize(mqtt_event(identity.issue("someone", admin=admin)))["policyDocuments"]
    for statement in _statements(docs):
        actions = set(_as_list(statement["Action"]))
        if statement["Effect"] == "Allow":
            assert actions <= ALLOWED_ACTIONS
    assert "Publish" not in "".join(docs)
    for topic in (live.user_topic(subject_of("someone")), live.config_topic("s1"), live.admin_topic("s1")):
        assert not iot_allows(docs, "iot:Publish", f"{ARN}:topic/{topic}")


def test_connect_is_limited_to_the_client_id_presented(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    docs = authorizer.authorize(mqtt_event(identity.issue("alice")))["policyDocuments"]
    assert iot_allows(docs, "iot:Connect", f"{ARN}:client/{CLIENT_ID}")
    assert not iot_allows(docs, "iot:Connect", f"{ARN}:client/someone-else")


def test_connect_without_a_client_id_in_the_event_allows_any_client_id(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    docs = authorizer.authorize(mqtt_event(identity.issue("alice"), client_id=None))["policyDocuments"]
    assert iot_allows(docs, "iot:Connect", f"{ARN}:client/anything-at-all")


def test_a_client_id_with_policy_wildcards_is_taken_literally(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    docs = authorizer.authorize(mqtt_event(identity.issue("alice"), client_id="web-*"))["policyDocuments"]
    assert iot_allows(docs, "iot:Connect", f"{ARN}:client/web-*")
    assert not iot_allows(docs, "iot:Connect", f"{ARN}:client/web-victim")


def test_the_policy_fits_iot_limits(authorizer: IotAuthorizer, identity: LocalIdentityProvider) -> None:
    docs = authorizer.authorize(mqtt_event(identity.issue("anna", admin=True)))["policyDocuments"]
    assert 1 <= len(docs) <= MAX_POLICY_DOCUMENTS
    assert all(len(d) <= MAX_POLICY_CHARS for d in docs)


def test_a_long_client_id_splits_the_policy_without_changing_it(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    client_id = "c" * 1500
    docs = authorizer.authorize(mqtt_event(identity.issue("anna", admin=True), client_id=client_id))["policyDocuments"]
    assert len(docs) > 1
    assert all(len(d) <= MAX_POLICY_CHARS for d in docs)
    assert iot_allows(docs, "iot:Connect", f"{ARN}:client/{client_id}")
    assert may_subscribe_on_iot(docs, live.admin_topic("s1"))
    assert not may_subscribe_on_iot(docs, "serverlesspresso/shops/a/b/admin")


# ----- who does not ---------------------------------------------------------------------------


def test_an_expired_token_is_refused(authorizer: IotAuthorizer, identity: LocalIdentityProvider) -> None:
    assert_denied(authorizer.authorize(mqtt_event(identity.issue("alice", ttl_seconds=-60))))


def test_a_token_signed_by_another_key_with_our_key_id_is_refused(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = impostor.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    genuine = jwt.decode(identity.issue("alice", admin=True), options={"verify_signature": False})
    kid = identity.jwks()["keys"][0]["kid"]
    forged = jwt.encode(genuine, pem, algorithm="RS256", headers={"kid": kid})
    assert_denied(authorizer.authorize(mqtt_event(forged)))


def test_a_tampered_token_is_refused(authorizer: IotAuthorizer, identity: LocalIdentityProvider) -> None:
    header, payload, signature = identity.issue("alice").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["admin"]
    raised = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert_denied(authorizer.authorize(mqtt_event(f"{header}.{raised}.{signature}")))


def test_a_token_from_another_identity_provider_is_refused(authorizer: IotAuthorizer, tmp_path: Path) -> None:
    stranger = LocalIdentityProvider(tmp_path)
    stranger.ensure_keys()
    assert_denied(authorizer.authorize(mqtt_event(stranger.issue("alice"))))


def test_a_token_for_another_audience_is_refused(identity: LocalIdentityProvider) -> None:
    other_app = IotAuthorizer(
        JwtVerifier(JwksFileKeys(str(identity.jwks_path)), ISSUER, "another-app"), ACCOUNT, REGION
    )
    assert_denied(other_app.authorize(mqtt_event(identity.issue("alice"))))


def test_a_token_from_another_issuer_is_refused(identity: LocalIdentityProvider) -> None:
    other_issuer = IotAuthorizer(
        JwtVerifier(JwksFileKeys(str(identity.jwks_path)), "elsewhere", AUDIENCE), ACCOUNT, REGION
    )
    assert_denied(other_issuer.authorize(mqtt_event(identity.issue("alice"))))


@pytest.mark.parametrize(
    "event",
    [
        mqtt_event("garbage"),
        mqtt_event("a.b.c"),
        mqtt_event(""),
        mqtt_event(None),
        {"protocolData": {"mqtt": {"username": "u", "password": "!!! not base64 !!!"}}},
        {"protocolData": {"mqtt": {"username": "u", "password": 42}}},
        {"protocolData": {"mqtt": None}},
        {"protocolData": "nonsense"},
        {"token": ""},
        {"token": 12},
        {},
    ],
    ids=[
        "garbage",
        "three-dots",
        "empty-password",
        "no-password",
        "not-base64",
        "non-string-password",
        "null-mqtt",
        "non-dict-protocol-data",
        "empty-token",
        "non-string-token",
        "empty-event",
    ],
)
def test_bad_or_missing_credentials_are_refused_without_raising(
    authorizer: IotAuthorizer, event: dict[str, Any]
) -> None:
    assert_denied(authorizer.authorize(event))


def test_a_non_dict_event_is_refused(authorizer: IotAuthorizer) -> None:
    assert_denied(authorizer.authorize(None))  # type: ignore[arg-type]
    assert_denied(authorizer.authorize("token"))  # type: ignore[arg-type]


class _ExplodingVerifier:
    def verify(self, token: str) -> Actor:
        raise RuntimeError("JWKS endpoint unreachable")


def test_an_unexpected_failure_denies_instead_of_raising(identity: LocalIdentityProvider) -> None:
    assert_denied(IotAuthorizer(_ExplodingVerifier(), ACCOUNT, REGION).authorize(mqtt_event(identity.issue("a"))))


class _FixedVerifier:
    """Accepts any token and names this actor (to reach subs the local identity provider never issues)."""

    def __init__(self, sub: str, is_admin: bool = False) -> None:
        self._actor = Actor(sub=sub, username="x", is_admin=is_admin)

    def verify(self, token: str) -> Actor:
        return self._actor


@pytest.mark.parametrize("sub", ["+", "#", "alice/+", "a/b", "", "x\x00y", "s" * 300])
def test_a_sub_that_cannot_name_a_topic_is_refused(identity: LocalIdentityProvider, sub: str) -> None:
    authorizer = IotAuthorizer(_FixedVerifier(sub), ACCOUNT, REGION)
    assert_denied(authorizer.authorize(mqtt_event(identity.issue("alice"))))


def test_verifier_failures_are_unauthorized_errors(verifier: JwtVerifier) -> None:
    # The authorizer relies on the verifier raising Unauthorized for bad tokens (documents the contract).
    with pytest.raises(Unauthorized):
        verifier.verify("garbage")


# ----- where the token may come from ----------------------------------------------------------


def test_the_token_field_is_a_fallback(authorizer: IotAuthorizer, identity: LocalIdentityProvider) -> None:
    event = {"token": identity.issue("alice"), "protocols": ["tls", "http"], "protocolData": {"http": {}}}
    response = authorizer.authorize(event)
    assert response["isAuthenticated"] is True
    assert may_subscribe_on_iot(response["policyDocuments"], live.user_topic(ALICE))


def test_a_token_query_parameter_is_a_fallback(authorizer: IotAuthorizer, identity: LocalIdentityProvider) -> None:
    event = {"protocolData": {"http": {"headers": {}, "queryString": f"?token={identity.issue('alice')}&x=1"}}}
    assert authorizer.authorize(event)["isAuthenticated"] is True


def test_the_mqtt_password_wins_over_the_token_field(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    event = mqtt_event(identity.issue("alice"))
    event["token"] = identity.issue("bob", admin=True)
    docs = authorizer.authorize(event)["policyDocuments"]
    assert may_subscribe_on_iot(docs, live.user_topic(ALICE))
    assert not may_subscribe_on_iot(docs, live.admin_topic("s1"))


def test_a_raw_jwt_as_password_is_accepted(authorizer: IotAuthorizer, identity: LocalIdentityProvider) -> None:
    event = {"protocolData": {"mqtt": {"username": "u", "password": identity.issue("alice")}}}
    assert authorizer.authorize(event)["isAuthenticated"] is True


def test_extract_token_decodes_unpadded_base64() -> None:
    encoded = base64.b64encode(b"abc.def.ghij").decode().rstrip("=")
    assert extract_token({"protocolData": {"mqtt": {"password": encoded}}}) == "abc.def.ghij"


# ----- how long the connection lives ----------------------------------------------------------


def _exp(token: str) -> int:
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


def test_the_connection_ends_when_the_token_expires(verifier: JwtVerifier, identity: LocalIdentityProvider) -> None:
    token = identity.issue("alice", ttl_seconds=7200)
    now = _exp(token) - 3600
    response = IotAuthorizer(verifier, ACCOUNT, REGION, clock=lambda: now).authorize(mqtt_event(token))
    assert response["disconnectAfterInSeconds"] == 3600
    assert response["refreshAfterInSeconds"] == 300


def test_the_real_clock_is_used_by_default(authorizer: IotAuthorizer, identity: LocalIdentityProvider) -> None:
    response = authorizer.authorize(mqtt_event(identity.issue("alice", ttl_seconds=7200)))
    assert 7200 - 60 <= response["disconnectAfterInSeconds"] <= 7200


@pytest.mark.parametrize(
    ("ttl", "expected"),
    [(60, MIN_SECONDS), (MIN_SECONDS, MIN_SECONDS), (MAX_SECONDS, MAX_SECONDS), (3 * MAX_SECONDS, MAX_SECONDS)],
)
def test_the_connection_lifetime_is_clamped_to_what_iot_accepts(
    verifier: JwtVerifier, identity: LocalIdentityProvider, ttl: int, expected: int
) -> None:
    token = identity.issue("alice", ttl_seconds=ttl)
    now = _exp(token) - ttl
    response = IotAuthorizer(verifier, ACCOUNT, REGION, clock=lambda: now).authorize(mqtt_event(token))
    assert response["isAuthenticated"] is True
    assert response["disconnectAfterInSeconds"] == expected


def test_a_token_expired_by_the_authorizers_clock_is_refused(
    verifier: JwtVerifier, identity: LocalIdentityProvider
) -> None:
    token = identity.issue("alice", ttl_seconds=3600)
    later = _exp(token) + 1
    assert_denied(IotAuthorizer(verifier, ACCOUNT, REGION, clock=lambda: later).authorize(mqtt_event(token)))


@pytest.mark.parametrize(("refresh", "expected"), [(60, MIN_SECONDS), (1800, 1800), (10_000, 3600)])
def test_the_policy_refresh_never_outlives_the_connection(
    verifier: JwtVerifier, identity: LocalIdentityProvider, refresh: int, expected: int
) -> None:
    token = identity.issue("alice", ttl_seconds=3600)
    now = _exp(token) - 3600
    authorizer = IotAuthorizer(verifier, ACCOUNT, REGION, refresh_seconds=refresh, clock=lambda: now)
    assert authorizer.authorize(mqtt_event(token))["refreshAfterInSeconds"] == expected


# ----- principal ids --------------------------------------------------------------------------

_PRINCIPAL = re.compile(r"[a-zA-Z0-9]{1,128}")


def test_the_principal_is_the_cognito_sub_without_dashes(
    authorizer: IotAuthorizer, identity: LocalIdentityProvider
) -> None:
    response = authorizer.authorize(mqtt_event(identity.issue("alice")))
    assert response["principalId"] == ALICE.replace("-", "")
    assert _PRINCIPAL.fullmatch(response["principalId"])


@given(st.text(min_size=1, max_size=400))
def test_every_sub_gives_a_principal_iot_accepts(sub: str) -> None:
    assert _PRINCIPAL.fullmatch(principal_id(sub))


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_different_subs_give_different_principals(a: str, b: str) -> None:
    if a != b and principal_id(a) == principal_id(b):
        # The one possible clash: a UUID and a sub that is that UUID's hex digits (no IdP mixes both).
        uuid_sub, hex_sub = (a, b) if "-" in a else (b, a)
        assert uuid_sub.replace("-", "").lower() == hex_sub


def test_principals_of_non_uuid_subs_are_hashed_not_stripped() -> None:
    assert principal_id("a-b") != principal_id("ab")
    assert principal_id("ab") == "ab"
    assert _PRINCIPAL.fullmatch(principal_id("ab\n"))  # `$` in a regex would let the newline through
    assert _PRINCIPAL.fullmatch(principal_id(f"{ALICE}\n"))
    assert _PRINCIPAL.fullmatch(principal_id("x" * 129))


def test_the_denied_answer_still_has_a_valid_shape(authorizer: IotAuthorizer) -> None:
    response = authorizer.authorize({})
    assert _PRINCIPAL.fullmatch(response["principalId"])
    assert MIN_SECONDS <= response["disconnectAfterInSeconds"] <= MAX_SECONDS
    assert MIN_SECONDS <= response["refreshAfterInSeconds"] <= MAX_SECONDS


# ----- the same rules locally and on AWS ------------------------------------------------------


@pytest.mark.parametrize("admin", [False, True])
def test_every_filter_in_the_policy_is_one_the_local_broker_allows(admin: bool) -> None:
    docs = policy_documents(ALICE, admin, ACCOUNT, REGION)
    for topic_filter in live.allowed_subscriptions(ALICE, admin):
        assert may_subscribe_on_iot(docs, topic_filter)
        assert live.may_subscribe(ALICE, admin, topic_filter)
    # And every Subscribe resource, read back as an MQTT filter (`*` as `+`), is allowed locally.
    for statement in _statements(docs):
        if statement["Effect"] == "Allow" and statement["Action"] == "iot:Subscribe":
            for resource in _as_list(statement["Resource"]):
                topic_filter = resource.removeprefix(f"{ARN}:topicfilter/").replace("*", "+")
                assert live.may_subscribe(ALICE, admin, topic_filter), resource


LEVELS = ["serverlesspresso", "shops", "users", "config", "board", "admin", "s1", "s2", "", "+", ALICE, BOB]


@st.composite
def mqtt_filters(draw: st.DrawFn) -> str:
    # Mostly under our own prefixes, where the interesting near-misses are.
    prefix = draw(
        st.sampled_from([[], ["serverlesspresso"], ["serverlesspresso", "shops"], ["serverlesspresso", "users"]])
    )
    levels = prefix + draw(st.lists(st.sampled_from(LEVELS), min_size=0 if prefix else 1, max_size=5))
    if draw(st.booleans()):
        levels.append("#")
    return "/".join(levels)


@settings(max_examples=400)
@given(mqtt_filters(), st.booleans())
def test_iot_and_the_local_broker_agree_on_every_subscription(topic_filter: str, admin: bool) -> None:
    docs = policy_documents(ALICE, admin, ACCOUNT, REGION)
    assert may_subscribe_on_iot(docs, topic_filter) == live.may_subscribe(ALICE, admin, topic_filter), topic_filter


@settings(max_examples=400)
@given(mqtt_filters().filter(lambda f: "+" not in f.split("/") and "#" not in f.split("/")), st.booleans())
def test_iot_and_the_local_broker_agree_on_every_delivery(topic: str, admin: bool) -> None:
    docs = policy_documents(ALICE, admin, ACCOUNT, REGION)
    locally = any(live.filter_covers(f, topic) for f in live.allowed_subscriptions(ALICE, admin))
    assert may_receive_on_iot(docs, topic) == locally, topic


@given(
    st.text(alphabet="ab*?$()-", min_size=1, max_size=8),
    st.text(alphabet="ab*?$()-", min_size=1, max_size=8),
)
def test_a_sub_with_policy_wildcards_grants_only_its_own_topic(sub: str, other: str) -> None:
    docs = policy_documents(sub, False, ACCOUNT, REGION)
    assert may_subscribe_on_iot(docs, live.user_topic(sub))
    assert may_subscribe_on_iot(docs, live.user_topic(other)) == (other == sub)


def test_escape_policy_literal() -> None:
    assert escape_policy_literal("a*b?c$d") == "a$(*)b$(?)c$($)d"
