"""Driving the three apps in Debian's Chromium (Playwright): sign-in through the outbox, QR decoding, axe scans."""

from __future__ import annotations

import io
import json
import os
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from serverlesspresso.signin.service import AdminDirectory
from serverlesspresso.signin.store import SignInStore
from tests.support.stack import REPO_ROOT, Api, Stack

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless Chromium on a machine with a closed network: no GPU, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_SCRIPT = REPO_ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 1180, "height": 820}
BIG_SCREEN = {"width": 1920, "height": 1080}


def new_phone_number() -> str:
    """A valid Spanish mobile number (+34 6xx), different for every customer of a run."""
    return f"+346{random.randrange(10**8):08d}"


@dataclass
class Apps:
    """The running stack seen through browsers: contexts per person, signed in through the real sign-in."""

    stack: Stack
    browser: Browser
    screenshot_dir: Path
    contexts: list[BrowserContext] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    _admin_states: dict[str, Any] = field(default_factory=dict)

    # ----- people -------------------------------------------------------------------------------

    def make_admin(self, phone: str) -> None:
        store = SignInStore.in_data_dir(self.stack.data_dir)
        try:
            AdminDirectory(store, time.time).add(phone)
        finally:
            store.close()

    def latest_code(self, phone: str, sent_after: float) -> str:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            store = SignInStore.in_data_dir(self.stack.data_dir)
            try:
                with store.transaction(write=False) as tx:
                    entries = [e for e in tx.outbox(phone) if e.sent_at >= sent_after]
            finally:
                store.close()
            if entries:
                return entries[-1].code
            time.sleep(0.1)
        raise AssertionError(f"no sign-in code reached the outbox for {phone}")

    def sign_in(self, page: Page, phone: str) -> None:
        """The sign-in screen, as a person uses it: phone number, Send code, the code from the 'SMS', Sign in."""
        page.get_by_label("Phone number").fill(phone)
        asked = time.time() - 1
        page.get_by_role("button", name="Send code").click()
        expect(page.get_by_label("Code")).to_be_visible()
        page.get_by_label("Code").fill(self.latest_code(phone, asked))
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_label("Code")).to_have_count(0)

    # ----- screens ------------------------------------------------------------------------------

    def new_context(self, viewport: dict[str, int], locale: str = "en-US", **options: Any) -> BrowserContext:
        context = self.browser.new_context(viewport=viewport, locale=locale, **options)
        context.set_default_timeout(20_000)
        self.contexts.append(context)
        return context

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        return page

    def open_admin_app(self, app: str, shop_id: str, phone: str, viewport: dict[str, int]) -> Page:
        """The display or the barista app, signed in as an admin (through the UI the first time per phone)."""
        state = self._admin_states.get(phone)
        context = self.new_context(viewport, storage_state=state) if state else self.new_context(viewport)
        page = self.watch(context.new_page())
        page.goto(f"{self.stack.base}/{app}?shop={shop_id}")
        if state is None:
            self.make_admin(phone)
            self.sign_in(page, phone)
            self._admin_states[phone] = context.storage_state()
        return page

    def open_display(self, shop_id: str, phone: str = "+34611000001") -> Page:
        page = self.open_admin_app("display", shop_id, phone, BIG_SCREEN)
        expect(page.get_by_role("region", name="Upcoming")).to_be_visible()
        return page

    def open_barista(self, shop_id: str, phone: str = "+34611000002") -> Page:
        page = self.open_admin_app("barista", shop_id, phone, TABLET)
        expect(page.get_by_role("button", name=re.compile(r"^(Open|Close) store$"))).to_be_visible()
        return page

    def open_phone(self, url: str, phone: str | None = None, locale: str = "en-US") -> tuple[Page, str]:
        """A customer's phone opening `url` (the QR code's), signing in with a new number."""
        context = self.new_context(PHONE, locale=locale, is_mobile=True, has_touch=True)
        page = self.watch(context.new_page())
        page.goto(url)
        number = phone or new_phone_number()
        return page, number

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()

    # ----- reading screens ----------------------------------------------------------------------

    def decode_qr(self, page: Page) -> str:
        """What a phone camera reads from the display's QR code (decoded from a screenshot with zxing-cpp)."""
        qr = page.get_by_role("img", name="QR code")
        expect(qr).to_be_visible()
        image = Image.open(io.BytesIO(qr.screenshot()))
        results = zxingcpp.read_barcodes(image)
        assert results, "the display's QR code could not be decoded"
        return str(results[0].text)

    def screenshot(self, page: Page, name: str) -> None:
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(self.screenshot_dir / f"{name}.png"))

    def assert_accessible(self, page: Page, screen: str) -> None:
        """axe-core on the page as it stands: no serious or critical violation of WCAG 2.1 A/AA."""
        page.add_script_tag(path=str(AXE_SCRIPT))
        result = page.evaluate(
            "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
            "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}, resultTypes: ['violations']})"
        )
        bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        details = [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:5]]}
            for v in bad
        ]
        assert not bad, f"axe found serious/critical violations on {screen}:\n{json.dumps(details, indent=2)}"


@dataclass(frozen=True)
class Bar:
    """A fresh open shop with its display and (optionally) its barista tablet, signed in."""

    shop: str
    display: Page
    barista: Page


def open_bar(apps: Apps, api: Api, organiser: str, **settings: int) -> Bar:
    shop = api.new_shop(organiser, **settings)
    return Bar(shop, apps.open_display(shop), apps.open_barista(shop))


def scan_and_order(apps: Apps, bar: Bar, drink: str = "Cappuccino", option: str | None = "Oat") -> tuple[Page, int]:
    """A new customer scans the display's code, signs in and orders; their phone and the order's number."""
    phone, number = apps.open_phone(apps.decode_qr(bar.display))
    return phone, place_order(apps, phone, number, drink, option)


def place_order(apps: Apps, phone: Page, number: str, drink: str = "Cappuccino", option: str | None = "Oat") -> int:
    """Sign in on the phone that opened the QR URL, choose a drink (and an option), place the order; its number."""
    apps.sign_in(phone, number)
    expect(phone.get_by_role("radio", name=re.compile(f"^{drink}"))).to_be_enabled()
    phone.get_by_role("radio", name=re.compile(f"^{drink}")).check()
    if option is not None:
        phone.get_by_role("radio", name=option, exact=True).check()
    phone.get_by_role("button", name="Place order").click()
    status = phone.get_by_role("status")
    expect(status).to_contain_text(re.compile(r"Order #\d+"))
    found = re.search(r"Order #(\d+)", status.inner_text())
    assert found
    return int(found.group(1))


def card(barista: Page, number: int) -> Locator:
    return barista.get_by_role("article").filter(has_text=re.compile(rf"#{number}\b"))


