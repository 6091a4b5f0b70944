"""CONNECT authentication: the password is an ID token checked exactly as the HTTP API checks it, or the backend's
internal credential."""

from __future__ import annotations

import hmac
import logging
from typing import Protocol

import jwt

from chalicelib.adapters.auth import JwksFileKeys, JwtVerifier
from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.order import Actor
from serverlesspresso.broker.acl import Principal, is_safe_sub
from serverlesspresso.broker.credentials import InternalCredentials

log = logging.getLogger("serverlesspresso.broker.auth")


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Actor: ...


def plain_username(username: str | None) -> str:
    """The AWS IoT Device SDK appends "?SDK=...&Platform=..." to the username unless metrics are disabled."""
    return (username or "").split("?", 1)[0]


class Authenticator:
    def __init__(self, verifier: TokenVerifier, internal: InternalCredentials | None) -> None:
        self._verifier = verifier
        self._internal = internal

    @classmethod
    def from_files(
        cls, jwks_file: str, issuer: str, audience: str, internal_credentials_file: str | None
    ) -> Authenticator:
        internal = InternalCredentials.load(internal_credentials_file) if internal_credentials_file else None
        return cls(JwtVerifier(JwksFileKeys(jwks_file), issuer, audience), internal)

    def authenticate(self, username: str | None, password: str | bytes | None) -> Principal | None:
        """The principal behind a CONNECT, or None to refuse it (CONNACK rc=5)."""
        if isinstance(password, bytes | bytearray):
            password = bytes(password).decode("utf-8", "replace")
        name = plain_username(username)
        if self._internal is not None and name == self._internal.username:
            if password and hmac.compare_digest(password.encode(), self._internal.password.encode()):
                return Principal.backend(name)
            log.warning("CONNECT refused: wrong password for the internal user %r", name)
            return None
        if not password:
            log.info("CONNECT refused: no token in the password field (username %r)", name)
            return None
        try:
            actor = self._verifier.verify(password)
        except Unauthorized as error:
            log.info("CONNECT refused: %s", error.message)
            return None
        except Exception:  # a broken JWKS file must refuse the client, not kill the connection handler
            log.exception("CONNECT refused: token verification failed unexpectedly")
            return None
        if not is_safe_sub(actor.sub):
            log.warning("CONNECT refused: token subject %r cannot name an MQTT topic", actor.sub)
            return None
        return Principal.person(actor.sub, actor.username, actor.is_admin, expires_at=_expiry(password))


def _expiry(token: str) -> float | None:
    """The `exp` claim of a token the verifier has just accepted (its signature is not checked twice)."""
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
