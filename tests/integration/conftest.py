"""Integration fixtures: start the real local stack (`serverlesspresso up`) in a subprocess and drive it over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.stack import Api, Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("stack") / "data")
    running.start()
    yield running
    running.stop()


@pytest.fixture
def api(stack: Stack) -> Api:
    return Api(stack)


@pytest.fixture
def admin(api: Api) -> str:
    return api.token(f"barista-{uuid.uuid4().hex[:6]}", admin=True)
