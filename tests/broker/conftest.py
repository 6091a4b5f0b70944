"""Broker fixtures: a temporary identity provider (JWKS + tokens) and one broker process per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broker_testkit import RunningBroker, start_broker

from serverlesspresso.identity import LocalIdentityProvider


@pytest.fixture(scope="session")
def identity(tmp_path_factory: pytest.TempPathFactory) -> LocalIdentityProvider:
    provider = LocalIdentityProvider(tmp_path_factory.mktemp("broker-identity"))
    provider.ensure_keys()
    return provider


@pytest.fixture(scope="module")
def broker(identity: LocalIdentityProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBroker]:
    running = start_broker(identity, tmp_path_factory.mktemp("broker"), extra_args=["--connect-timeout", "1"])
    try:
        yield running
    finally:
        code = running.process.stop()
        assert code == 0, f"the broker exited with {code}; log: {running.log_path}"
