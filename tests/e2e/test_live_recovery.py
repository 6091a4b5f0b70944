"""Live updates survive the MQTT broker going away: every app says it is reconnecting, then catches up alone."""

from __future__ import annotations

import json
import os
import signal

from browser_kit import Apps, card, open_bar, scan_and_order
from playwright.sync_api import expect

from tests.support.stack import Api, wait_queued


def test_the_apps_recover_from_a_broker_restart_without_a_reload(apps: Apps, api: Api, organiser: str) -> None:
    bar = open_bar(apps, api, organiser)
    shop, display, barista = bar.shop, bar.display, bar.barista
    phone, order_number = scan_and_order(apps, bar)
    expect(card(barista, order_number)).to_be_visible()

    broker = json.loads((api.stack.data_dir / "broker" / "ready.json").read_text())
    os.kill(int(broker["pid"]), signal.SIGKILL)
    for page in (display, barista, phone):
        expect(page.get_by_role("alert").filter(has_text="Reconnecting")).to_be_visible()
    apps.screenshot(display, "display-reconnecting")
    for page in (display, barista, phone):
        expect(page.get_by_role("alert").filter(has_text="Reconnecting")).to_have_count(0, timeout=45_000)

    # What happens after the restart reaches every screen live, without a reload.
    card(barista, order_number).get_by_role("button", name="Make", exact=True).click()  # type: ignore[attr-defined]
    expect(phone.get_by_role("status")).to_contain_text("being made")
    card(barista, order_number).get_by_role("button", name="Complete", exact=True).click()  # type: ignore[attr-defined]
    expect(phone.get_by_role("status")).to_contain_text("Ready")
    expect(display.get_by_role("region", name="Ready for pickup")).to_contain_text(f"#{order_number}")

    # A second customer's order made after the restart appears on the tablet and the display.
    customer = api.token("after-restart")
    placed = api.call("POST", f"/shops/{shop}/orders", customer, {"code": api.code(shop, organiser)})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["orderId"]
    assert api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Espresso"}).status_code == 200
    second = wait_queued(api, order_id, customer)["number"]
    expect(card(barista, second)).to_contain_text("Espresso")
    expect(display.get_by_role("region", name="Upcoming")).to_contain_text(f"#{second}")
