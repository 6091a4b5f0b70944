"""Fixtures for the sign-in tests: a fake clock, a real signing key, a store and the service over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from signin_testkit import Codes, FakeClock

from serverlesspresso.identity import AUDIENCE, ISSUER, LocalIdentityProvider
from serverlesspresso.signin.service import AdminDirectory, SignInService
from serverlesspresso.signin.store import SignInStore
from serverlesspresso.signin.tokens import TokenMinter


@pytest.fixture(scope="session")
def identity(tmp_path_factory: pytest.TempPathFactory) -> LocalIdentityProvider:
    provider = LocalIdentityProvider(tmp_path_factory.mktemp("keys"))
    provider.ensure_keys()
    return provider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def codes() -> Codes:
    return Codes()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SignInStore]:
    opened = SignInStore.in_data_dir(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def minter(identity: LocalIdentityProvider) -> TokenMinter:
    return TokenMinter(identity, ISSUER, AUDIENCE)


@pytest.fixture
def signin(store: SignInStore, minter: TokenMinter, clock: FakeClock, codes: Codes) -> SignInService:
    return SignInService(store, minter, clock, new_code=codes)


@pytest.fixture
def admins(store: SignInStore, clock: FakeClock) -> AdminDirectory:
    return AdminDirectory(store, clock)
