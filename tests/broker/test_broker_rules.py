"""The broker's pure rules: who may subscribe/receive/publish/leave a will, CONNECT authentication, credentials."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import jwt
import pytest

from chalicelib.adapters.auth import JwksFileKeys, JwtVerifier
from serverlesspresso.broker.acl import Principal
from serverlesspresso.broker.auth import Authenticator
from serverlesspresso.broker.credentials import BACKEND_USERNAME, InternalCredentials
from serverlesspresso.identity import AUDIENCE, ISSUER, LocalIdentityProvider, subject_of

ALICE = subject_of("alice")
BOB = subject_of("bob")


def test_a_person_subscribes_to_their_own_topic_and_every_shops_config_and_board() -> None:
    alice = Principal.person(ALICE, "alice", is_admin=False)
    assert alice.may_subscribe(f"serverlesspresso/users/{ALICE}")
    assert alice.may_subscribe("serverlesspresso/shops/+/config")
    assert alice.may_subscribe("serverlesspresso/shops/s1/board")
    assert not alice.may_subscribe(f"serverlesspresso/users/{BOB}")
    assert not alice.may_subscribe("serverlesspresso/users/+")
    assert not alice.may_subscribe("serverlesspresso/shops/s1/admin")
    assert not alice.may_subscribe("serverlesspresso/#")
    assert not alice.may_subscribe("#")


def test_admin_topics_are_for_admins() -> None:
    admin = Principal.person(ALICE, "alice", is_admin=True)
    assert admin.may_subscribe("serverlesspresso/shops/s1/admin")
    assert admin.may_subscribe("serverlesspresso/shops/+/admin")
    assert admin.may_receive("serverlesspresso/shops/s1/admin")
    assert not Principal.person(ALICE, "alice", is_admin=False).may_receive("serverlesspresso/shops/s1/admin")


def test_receive_follows_the_subscription_rules() -> None:
    alice = Principal.person(ALICE, "alice", is_admin=False)
    assert alice.may_receive(f"serverlesspresso/users/{ALICE}")
    assert alice.may_receive("serverlesspresso/shops/s1/board")
    assert not alice.may_receive(f"serverlesspresso/users/{BOB}")
    assert not alice.may_receive("serverlesspresso/shops/s1/secret")


def test_only_the_backend_publishes_and_only_under_the_root() -> None:
    backend = Principal.backend(BACKEND_USERNAME)
    person = Principal.person(ALICE, "alice", is_admin=True)
    assert backend.may_publish("serverlesspresso/shops/s1/board")
    assert backend.may_publish(f"serverlesspresso/users/{ALICE}")
    assert not backend.may_publish("elsewhere/x")
    assert not backend.may_publish("serverlesspresso/shops/+/board")
    assert not backend.may_publish("$aws/things/x/shadow/update")
    assert not person.may_publish(f"serverlesspresso/users/{ALICE}")
    assert not person.may_publish("serverlesspresso/shops/s1/admin")
    assert backend.may_subscribe("serverlesspresso/#")
    assert not backend.may_subscribe("#")


def test_a_person_leaves_a_will_only_on_their_own_topic() -> None:
    alice = Principal.person(ALICE, "alice", is_admin=True)
    assert alice.may_leave_will(f"serverlesspresso/users/{ALICE}")
    assert not alice.may_leave_will(f"serverlesspresso/users/{BOB}")
    assert not alice.may_leave_will("serverlesspresso/shops/s1/board")
    assert Principal.backend(BACKEND_USERNAME).may_leave_will("serverlesspresso/status")


def test_identity_owns_client_ids() -> None:
    assert Principal.person(ALICE, "alice", False).identity == Principal.person(ALICE, "al", True).identity
    assert Principal.person(ALICE, "alice", False).identity != Principal.person(BOB, "bob", False).identity
    assert Principal.backend(BACKEND_USERNAME).identity == "backend"


@pytest.fixture(scope="module")
def authenticator(identity: LocalIdentityProvider) -> Authenticator:
    verifier = JwtVerifier(JwksFileKeys(str(identity.jwks_path)), ISSUER, AUDIENCE)
    return Authenticator(verifier, InternalCredentials("svc", "p" * 32))


def test_a_valid_id_token_authenticates_as_its_subject(
    authenticator: Authenticator, identity: LocalIdentityProvider
) -> None:
    token = identity.issue("alice", admin=True, ttl_seconds=600)
    principal = authenticator.authenticate("anything", token)
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert principal == Principal.person(ALICE, "alice", is_admin=True, expires_at=exp)
    assert principal is not None and principal.seconds_left(exp - 600) == 600 and principal.seconds_left(exp + 1) == 0


def test_the_backend_credential_never_expires(authenticator: Authenticator) -> None:
    backend = authenticator.authenticate("svc", "p" * 32)
    assert backend is not None and backend.expires_at is None and backend.seconds_left(1e12) is None


def test_sdk_metrics_in_the_username_are_ignored(authenticator: Authenticator) -> None:
    assert authenticator.authenticate("svc?SDK=IoTDeviceSDK/Python&Platform=Unix", "p" * 32) == Principal.backend("svc")


@pytest.mark.parametrize("password", [None, "", "garbage", "a.b.c", b"\xff\xfe"])
def test_missing_or_malformed_tokens_are_refused(authenticator: Authenticator, password: str | bytes | None) -> None:
    assert authenticator.authenticate("u", password) is None


def test_the_internal_credential_must_match_exactly(
    authenticator: Authenticator, identity: LocalIdentityProvider
) -> None:
    assert authenticator.authenticate("svc", "p" * 31) is None
    assert authenticator.authenticate("svc", None) is None
    # A person's valid token is no good under the internal username.
    assert authenticator.authenticate("svc", identity.issue("alice")) is None


def test_tokens_the_http_api_refuses_are_refused(authenticator: Authenticator, identity: LocalIdentityProvider) -> None:
    key = identity.private_key_path.read_bytes()
    kid = identity.jwks()["keys"][0]["kid"]
    now = int(time.time())
    good = {"sub": ALICE, "token_use": "id", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}

    def sign(**changes: object) -> str:
        return jwt.encode({**good, **changes}, key, algorithm="RS256", headers={"kid": kid})

    assert authenticator.authenticate("u", sign()) is not None
    assert authenticator.authenticate("u", sign(aud="someone-else")) is None
    assert authenticator.authenticate("u", sign(iss="someone-else")) is None
    assert authenticator.authenticate("u", sign(exp=now - 10)) is None
    assert authenticator.authenticate("u", sign(token_use="access")) is None
    # A subject that would widen a topic filter is refused even with a valid signature.
    assert authenticator.authenticate("u", sign(sub="x/#")) is None


def test_a_broken_jwks_file_refuses_clients(tmp_path: Path, identity: LocalIdentityProvider) -> None:
    broken = tmp_path / "jwks.json"
    broken.write_text("{not json")
    authenticator = Authenticator(JwtVerifier(JwksFileKeys(str(broken)), ISSUER, AUDIENCE), None)
    assert authenticator.authenticate("u", identity.issue("alice")) is None


def test_credentials_are_written_owner_only_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "credentials.json"
    created = InternalCredentials.create(path)
    assert created.username == BACKEND_USERNAME and len(created.password) >= 32
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert InternalCredentials.load(path) == created
    assert created.password not in repr(created)


def test_credentials_readable_by_others_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"username": "svc", "password": "x" * 32}))
    os.chmod(path, 0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        InternalCredentials.load(path)
    os.chmod(path, 0o600)
    path.write_text(json.dumps({"username": "svc", "password": "short"}))
    with pytest.raises(ValueError):
        InternalCredentials.load(path)
