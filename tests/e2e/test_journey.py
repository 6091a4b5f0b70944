"""The whole journey done only through the three apps: scan, sign in, order, make, complete, ready everywhere."""

from __future__ import annotations

import re

from browser_kit import Apps, card, place_order
from playwright.sync_api import expect

from tests.support.stack import Api

# The browser's notification and vibration, replaced by recorders (headless Chromium shows neither).
_SPY_ON_NOTIFICATIONS = """() => {
  window.__notified = []
  window.__vibrated = []
  window.Notification = class {
    static permission = 'granted'
    static requestPermission = async () => 'granted'
    constructor(title, options) { window.__notified.push([title, options && options.body]) }
  }
  navigator.vibrate = (pattern) => { window.__vibrated.push(pattern); return true }
}"""


def test_a_drink_goes_from_the_qr_code_to_ready_on_every_screen(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    display = apps.open_display(shop)
    barista = apps.open_barista(shop)
    expect(display.get_by_text(re.compile(r"10 drinks remaining"))).to_be_visible()
    apps.assert_accessible(display, "display, code shown")
    apps.screenshot(display, "display-code")

    order_url = apps.decode_qr(display)
    assert re.fullmatch(rf"{re.escape(api.stack.base)}/order\?shop={shop}&code=[\w-]+", order_url), order_url
    phone, number = apps.open_phone(order_url)
    apps.assert_accessible(phone, "phone, sign-in")
    apps.screenshot(phone, "phone-sign-in")
    apps.sign_in(phone, number)

    expect(phone.get_by_role("heading", name="Choose your drink")).to_be_visible()
    expect(phone.get_by_text(re.compile(r"Time left to choose: [45]:\d\d"))).to_be_visible()
    expect(phone.get_by_role("radio", name=re.compile("^Latte"))).to_be_disabled()  # sold out on the default menu
    phone.get_by_role("radio", name=re.compile("^Cappuccino")).check()
    phone.get_by_role("radio", name="Oat", exact=True).check()
    phone.get_by_role("radio", name="Large", exact=True).check()
    apps.assert_accessible(phone, "phone, menu")
    apps.screenshot(phone, "phone-menu")
    phone.get_by_role("button", name="Place order").click()

    status = phone.get_by_role("status")
    expect(status).to_contain_text(re.compile(r"Order #\d+"))
    order_number = int(re.search(r"Order #(\d+)", status.inner_text()).group(1))  # type: ignore[union-attr]
    expect(phone.get_by_text("Cappuccino · Oat · Large")).to_be_visible()
    apps.assert_accessible(phone, "phone, queued")
    apps.screenshot(phone, "phone-queued")

    # The display drops one drink from the code and lists the number; no reloads anywhere.
    expect(display.get_by_text(re.compile(r"9 drinks remaining"))).to_be_visible()
    expect(display.get_by_role("region", name="Upcoming")).to_contain_text(f"#{order_number}")

    ticket = card(barista, order_number)
    expect(ticket).to_contain_text("Cappuccino")
    expect(ticket).to_contain_text("Oat")
    apps.assert_accessible(barista, "barista, queued")
    apps.screenshot(barista, "barista-queued")
    queued = barista.get_by_role("region", name="Queued")
    in_production = barista.get_by_role("region", name="In production")
    ticket.get_by_role("button", name="Make", exact=True).click()  # type: ignore[attr-defined]
    expect(in_production.get_by_role("article").filter(has_text=f"#{order_number}")).to_be_visible()
    expect(status).to_contain_text("being made")
    # Unmake puts it back in the queue (for everyone); then it is made for good.
    card(barista, order_number).get_by_role("button", name="Unmake", exact=True).click()  # type: ignore[attr-defined]
    expect(queued.get_by_role("article").filter(has_text=f"#{order_number}")).to_be_visible()
    expect(status).to_contain_text("in the queue")
    card(barista, order_number).get_by_role("button", name="Make", exact=True).click()  # type: ignore[attr-defined]
    expect(in_production.get_by_role("article").filter(has_text=f"#{order_number}")).to_be_visible()
    expect(status).to_contain_text("being made")
    apps.screenshot(barista, "barista-in-production")
    apps.screenshot(phone, "phone-being-made")

    phone.evaluate(_SPY_ON_NOTIFICATIONS)
    stats = barista.get_by_role("definition")
    expect(stats.first).to_have_text("0")  # drinks made today, before this one
    card(barista, order_number).get_by_role("button", name="Complete", exact=True).click()  # type: ignore[attr-defined]
    expect(status).to_contain_text("Ready")
    expect(status).to_contain_text(f"Order #{order_number}")
    notified = phone.evaluate("() => [window.__notified, window.__vibrated]")
    assert notified == [[["Your coffee is ready", f"Order #{order_number} is ready for pickup."]], [[200, 100, 200]]]
    expect(stats.first).to_have_text("1")
    expect(stats.nth(1)).to_have_text(re.compile(r"^\d+:\d\d$"))  # the average wait, m:ss
    expect(display.get_by_role("region", name="Ready for pickup")).to_contain_text(f"#{order_number}")
    expect(display.get_by_role("region", name="Upcoming")).not_to_contain_text(f"#{order_number}")
    expect(barista.get_by_role("region", name="Ready").get_by_role("article")).to_contain_text(f"#{order_number}")
    apps.assert_accessible(phone, "phone, ready")
    apps.assert_accessible(display, "display, ready")
    apps.assert_accessible(barista, "barista, ready")
    apps.screenshot(phone, "phone-ready")
    apps.screenshot(display, "display-ready")
    apps.screenshot(barista, "barista-ready")

    # The history shows the order, and its journey as a timeline.
    phone.get_by_role("button", name="Done").click()
    history = phone.get_by_role("region", name="Your orders")
    history.get_by_role("button", name=f"Journey of order #{order_number}").click()
    timeline = history.get_by_role("list").last
    expect(timeline).to_contain_text("Order placed with a QR code")
    expect(timeline).to_contain_text(f"Order #{order_number} is ready for pickup")
    apps.assert_accessible(phone, "phone, history")
    apps.screenshot(phone, "phone-history")


def test_a_reload_resumes_the_open_order(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    display = apps.open_display(shop)
    phone, number = apps.open_phone(apps.decode_qr(display))
    order_number = place_order(apps, phone, number)
    phone.reload()
    expect(phone.get_by_role("status")).to_contain_text(f"Order #{order_number}")
    assert "code=" not in phone.url, "the code is used once; a reload must not redeem it again"
    # Opening the same QR link again (a second scan) also resumes the order instead of refusing the code.
    phone.goto(apps.decode_qr(display))
    expect(phone.get_by_role("status")).to_contain_text(f"Order #{order_number}")
