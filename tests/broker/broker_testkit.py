"""Helpers shared by the broker tests: run async bodies, start a broker process, name topics."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jwt
from cryptography.hazmat.primitives import serialization

from serverlesspresso.broker.credentials import InternalCredentials
from serverlesspresso.broker.process import BrokerAddress, BrokerProcess
from serverlesspresso.identity import AUDIENCE, ISSUER, LocalIdentityProvider, subject_of

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 20) -> T:
    """Run one async test body with an overall time limit."""

    async def limited() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(limited())


def many_tokens(identity: LocalIdentityProvider, usernames: list[str]) -> list[str]:
    """Like identity.issue() for each name, but loads the private key once (issue() re-parses it: ~40 ms a token)."""
    template = jwt.decode(identity.issue("template"), options={"verify_signature": False})
    key = serialization.load_pem_private_key(identity.private_key_path.read_bytes(), password=None)
    kid = identity.jwks()["keys"][0]["kid"]
    return [
        jwt.encode(
            {**template, "sub": subject_of(name), "cognito:username": name},
            key,  # type: ignore[arg-type]
            algorithm="RS256",
            headers={"kid": kid},
        )
        for name in usernames
    ]


def user_topic_of(username: str) -> str:
    return f"serverlesspresso/users/{subject_of(username)}"


@dataclass
class RunningBroker:
    process: BrokerProcess
    credentials: InternalCredentials
    credentials_file: Path
    identity: LocalIdentityProvider
    log_path: Path

    @property
    def address(self) -> BrokerAddress:
        return self.process.address

    @property
    def port(self) -> int:
        return self.process.address.tcp_port

    def token(self, username: str, admin: bool = False) -> str:
        return self.identity.issue(username, admin=admin)


def start_broker(
    identity: LocalIdentityProvider, directory: Path, tcp_port: int = 0, ws_port: int = 0, **kwargs: Any
) -> RunningBroker:
    credentials_file = directory / "broker-credentials.json"
    credentials = (
        InternalCredentials.load(credentials_file)
        if credentials_file.exists()
        else InternalCredentials.create(credentials_file)
    )
    log_path = directory / "broker.log"
    with open(log_path, "ab") as log:
        process = BrokerProcess.start(
            jwks_file=identity.jwks_path,
            issuer=ISSUER,
            audience=AUDIENCE,
            internal_credentials_file=credentials_file,
            tcp_port=tcp_port,
            ws_port=ws_port,
            log=log,
            log_level="INFO",
            **kwargs,
        )
    return RunningBroker(process, credentials, credentials_file, identity, log_path)
