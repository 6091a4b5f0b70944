"""Local identity provider: an RS256 key per data directory, its JWKS, and Cognito-shaped ID tokens."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "serverlesspresso-local"
AUDIENCE = "serverlesspresso"  # also the app client id: Cognito's ID tokens carry the client id as `aud`
# Amplify reads the region from the part before "_"; this pool lives nowhere but on this machine.
USER_POOL_ID = "local_serverlesspresso"
_SUB_NAMESPACE = uuid.UUID("6f1c7a52-9d0e-4b1f-a0e4-5c1f3e2b9a77")


class LocalIdentityProvider:
    def __init__(self, data_dir: Path) -> None:
        self._dir = data_dir / "identity"
        self.private_key_path = self._dir / "private-key.pem"
        self.jwks_path = self._dir / "jwks.json"

    def ensure_keys(self) -> None:
        """Generate this data directory's signing key once; later starts reuse it."""
        if self.private_key_path.exists() and self.jwks_path.exists():
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp = self.private_key_path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        os.chmod(tmp, 0o600)
        tmp.replace(self.private_key_path)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        jwk.update({"kid": uuid.uuid4().hex, "alg": "RS256", "use": "sig"})
        self.jwks_path.write_text(json.dumps({"keys": [jwk]}, indent=2))

    def jwks(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.jwks_path.read_text())
        return data

    def sign(self, claims: dict[str, Any]) -> str:
        """An RS256 JWT of `claims`, with this data directory's key (its `kid` in the header)."""
        if not self.private_key_path.exists():
            raise FileNotFoundError(
                f"no signing key in {self._dir}; run 'serverlesspresso up' with this --data-dir first"
            )
        kid = self.jwks()["keys"][0]["kid"]
        return jwt.encode(claims, self.private_key_path.read_bytes(), algorithm="RS256", headers={"kid": kid})

    def issue(self, username: str, admin: bool = False, ttl_seconds: int = 12 * 3600) -> str:
        now = int(time.time())
        claims = {
            "sub": subject_of(username),
            "cognito:username": username,
            "cognito:groups": ["admin"] if admin else [],
            "token_use": "id",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + ttl_seconds,
        }
        return self.sign(claims)


def subject_of(username: str) -> str:
    """A stable `sub` per username, so every token of one person names the same customer."""
    return str(uuid.uuid5(_SUB_NAMESPACE, username))
