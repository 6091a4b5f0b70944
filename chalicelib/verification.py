"""The light part of the composition root: the token verifier and the IoT authorizer, from Settings, on PyJWT only.

The IoT authorizer Lambda imports this (through chalicelib/handlers/iot.py) and nothing of bootstrap.py, whose
services need boto3 and PynamoDB: IoT Core gives a custom authorizer 5 seconds, cold start included
(tests/unit/test_authorizer_imports.py keeps it so).
"""

from __future__ import annotations

import functools

from chalicelib.adapters.auth import JwksFileKeys, JwksUrlKeys, JwtVerifier, SigningKeys
from chalicelib.services.iot_authorizer import IotAuthorizer
from chalicelib.settings import Settings

# A JWKS fetch that takes longer would spend most of IoT Core's 5 s; the client reconnects and is asked again.
AUTHORIZER_JWKS_TIMEOUT_SECONDS = 2.0


def build_verifier(settings: Settings, jwks_timeout_seconds: float = 30.0) -> JwtVerifier:
    keys: SigningKeys
    if settings.jwks_file:
        keys = JwksFileKeys(settings.jwks_file)
    elif settings.jwks_url:
        keys = JwksUrlKeys(settings.jwks_url, jwks_timeout_seconds)
    else:
        raise RuntimeError("set JWKS_URL (Cognito) or JWKS_FILE (local identity provider)")
    return JwtVerifier(keys, settings.jwt_issuer, settings.jwt_audience)


@functools.lru_cache(maxsize=4)
def iot_authorizer(account_id: str) -> IotAuthorizer:
    """Built once per warm Lambda: no table, bus or IoT clients, only the verifier and the topic rules."""
    settings = Settings.from_env()
    return IotAuthorizer(build_verifier(settings, AUTHORIZER_JWKS_TIMEOUT_SECONDS), account_id, settings.region)
