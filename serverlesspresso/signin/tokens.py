"""Cognito-shaped ID and access tokens, signed with the data directory's key; access tokens read back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from serverlesspresso.signin.rules import TOKEN_TTL_SECONDS

ADMIN_GROUP = "admin"
ACCESS_SCOPE = "aws.cognito.signin.user.admin"


class KeyPair(Protocol):
    """The local identity provider (serverlesspresso.identity.LocalIdentityProvider) as the tokens need it."""

    def sign(self, claims: dict[str, Any]) -> str: ...

    def jwks(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Identity:
    """Who the tokens are for, as of now (group membership is read at every issue, as Cognito does)."""

    sub: str
    phone: str
    admin: bool


@dataclass(frozen=True)
class Session:
    """The sign-in the tokens come from; a refresh keeps it."""

    origin_jti: str
    event_id: str
    auth_time: int


@dataclass(frozen=True)
class AccessClaims:
    sub: str
    origin_jti: str


class InvalidAccessToken(Exception):
    pass


class TokenMinter:
    def __init__(self, keys: KeyPair, issuer: str, client_id: str) -> None:
        self._keys = keys
        self._issuer = issuer
        self._client_id = client_id
        self._public: jwt.PyJWKSet | None = None

    def mint(self, who: Identity, session: Session, now: float) -> tuple[str, str]:
        """(access token, ID token), both valid for an hour from `now`."""
        iat = int(now)
        common: dict[str, Any] = {
            "sub": who.sub,
            "iss": self._issuer,
            "origin_jti": session.origin_jti,
            "event_id": session.event_id,
            "auth_time": session.auth_time,
            "iat": iat,
            "exp": iat + TOKEN_TTL_SECONDS,
        }
        if who.admin:
            # As Cognito: the claim is absent, not empty, for someone in no group.
            common["cognito:groups"] = [ADMIN_GROUP]
        access = {
            **common,
            "token_use": "access",
            "client_id": self._client_id,
            "scope": ACCESS_SCOPE,
            "username": who.sub,
            "jti": str(uuid.uuid4()),
        }
        id_token = {
            **common,
            "token_use": "id",
            "aud": self._client_id,
            "cognito:username": who.sub,
            "phone_number": who.phone,
            "phone_number_verified": True,
            "jti": str(uuid.uuid4()),
        }
        return self._keys.sign(access), self._keys.sign(id_token)

    def read_access_token(self, token: str, now: float) -> AccessClaims:
        """The claims of an access token this pool issued, checked against `now` (the service's clock)."""
        try:
            if self._public is None:
                self._public = jwt.PyJWKSet.from_dict(self._keys.jwks())
            kid = jwt.get_unverified_header(token).get("kid")
            key = next((k.key for k in self._public.keys if k.key_id == kid), None)
            if key is None:
                raise InvalidAccessToken("Invalid Access Token")
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self._issuer,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["exp", "sub", "origin_jti"],
                },
            )
        except jwt.InvalidTokenError:
            raise InvalidAccessToken("Invalid Access Token") from None
        if claims.get("token_use") != "access" or claims.get("client_id") != self._client_id:
            raise InvalidAccessToken("Invalid Access Token")
        if now >= claims["exp"]:
            raise InvalidAccessToken("Access Token has expired")
        return AccessClaims(str(claims["sub"]), str(claims["origin_jti"]))
