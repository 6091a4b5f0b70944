"""JWT verification (PyJWT): Cognito-shaped ID tokens checked against a JWKS from a URL or a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import jwt

from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.order import Actor

ADMIN_GROUP = "admin"


class SigningKeys(Protocol):
    def key_for(self, token: str) -> Any: ...


class JwksFileKeys:
    """Keys of the local identity provider, read from the data directory's jwks.json."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._keys: jwt.PyJWKSet | None = None

    def key_for(self, token: str) -> Any:
        if self._keys is None:
            self._keys = jwt.PyJWKSet.from_dict(json.loads(self._path.read_text()))
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._keys.keys:
            if key.key_id == kid:
                return key.key
        raise Unauthorized("the token was not signed by a known key")


class JwksUrlKeys:
    """Cognito's published keys (cached by PyJWKClient)."""

    def __init__(self, url: str, timeout_seconds: float = 30.0) -> None:
        # 30 s is PyJWT's default; the IoT authorizer, which has 5 s in all, passes less.
        self._client = jwt.PyJWKClient(url, cache_keys=True, timeout=timeout_seconds)

    def key_for(self, token: str) -> Any:
        try:
            return self._client.get_signing_key_from_jwt(token).key
        except jwt.PyJWKClientError as error:
            raise Unauthorized(f"cannot find the token's signing key: {error}") from None


class JwtVerifier:
    def __init__(self, keys: SigningKeys, issuer: str, audience: str) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience

    def verify(self, token: str) -> Actor:
        try:
            key = self._keys.key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired; get a new one") from None
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"the token is not valid: {error}") from None
        if claims.get("token_use") != "id":
            raise Unauthorized("send an ID token (token_use 'id')")
        groups = claims.get("cognito:groups") or []
        return Actor(
            sub=str(claims["sub"]),
            username=str(claims.get("cognito:username", claims["sub"])),
            is_admin=ADMIN_GROUP in groups,
        )


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    return token.strip()
