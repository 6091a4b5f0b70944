"""In-process app tests: a fresh in-memory bar per test, handed to the app through the composition root."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_testkit import Bar, new_bar

from chalicelib import bootstrap


@pytest.fixture
def bar() -> Iterator[Bar]:
    try:
        yield new_bar()
    finally:
        bootstrap.use_services(None)
