"""End-to-end fixtures: the real stack serving the built apps, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_kit import CHROMIUM, CHROMIUM_ARGS, Apps
from playwright.sync_api import Browser, expect, sync_playwright

from tests.support.stack import REPO_ROOT, Api, Stack

expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    built = REPO_ROOT / "web" / "dist" / "order.html"
    if not built.exists():
        pytest.fail(f"the web apps are not built ({built} is missing): run 'make web' first", pytrace=False)
    running = Stack(tmp_path_factory.mktemp("e2e") / "data")
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Debian's Chromium at {CHROMIUM}: run 'make browser'", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def admin_states() -> dict[str, Any]:
    """Signed-in browser storage per admin phone: each admin signs in through the UI once per run."""
    return {}


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("SCREENSHOT_DIR")
    return Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def apps(stack: Stack, browser: Browser, screenshot_dir: Path, admin_states: dict[str, Any]) -> Iterator[Apps]:
    running = Apps(stack, browser, screenshot_dir, _admin_states=admin_states)
    yield running
    running.close()
    assert not running.page_errors, f"uncaught errors in the apps: {running.page_errors}"


@pytest.fixture
def api(stack: Stack) -> Api:
    return Api(stack)


@pytest.fixture
def organiser(api: Api) -> str:
    return api.token(f"organiser-{uuid.uuid4().hex[:6]}", admin=True)
