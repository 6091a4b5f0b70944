"""The barista's other tools: the menu (sold out, live on phones), the shop's settings, a printed ticket."""

from __future__ import annotations

import re
import uuid

from browser_kit import Apps, card, open_bar, scan_and_order
from playwright.sync_api import expect

from tests.support.stack import Api, wait_queued


def test_a_drink_marked_sold_out_is_sold_out_on_phones_at_once(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    display = apps.open_display(shop)
    barista = apps.open_barista(shop)
    phone, number = apps.open_phone(apps.decode_qr(display))
    apps.sign_in(phone, number)
    cappuccino = phone.get_by_role("radio", name=re.compile("^Cappuccino"))
    expect(cappuccino).to_be_enabled()

    barista.get_by_role("button", name="Menu", exact=True).click()
    menu = barista.get_by_role("dialog")
    apps.assert_accessible(barista, "barista, menu")
    apps.screenshot(barista, "barista-menu")
    menu.get_by_role("checkbox", name="Cappuccino available").uncheck()
    expect(cappuccino).to_be_disabled()
    expect(phone.get_by_text("Cappuccino (sold out)")).to_be_visible()

    menu.get_by_role("checkbox", name="Cappuccino available").check()
    expect(cappuccino).to_be_enabled()


def test_the_barista_changes_the_shop_settings(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    barista = apps.open_barista(shop)
    barista.get_by_role("button", name="Settings", exact=True).click()
    form = barista.get_by_role("dialog")
    form.get_by_label("Time to make a drink (seconds)").fill("600")
    apps.assert_accessible(barista, "barista, settings")
    apps.screenshot(barista, "barista-settings")
    form.get_by_role("button", name="Save settings").click()
    expect(form.get_by_role("status")).to_contain_text("Settings saved.")
    api.wait_for_shop(shop, lambda view: True)
    settings = api.gql("query($s: ID!) { shop(id: $s) { settings { baristaTimeoutSeconds } } }", {"s": shop})
    assert settings["data"]["shop"]["settings"]["baristaTimeoutSeconds"] == 600

    # A value the API refuses is explained, and nothing changes.
    form.get_by_label("Drinks per QR code").fill("0")
    form.get_by_role("button", name="Save settings").click()
    expect(form.get_by_role("alert")).to_be_visible()
    settings = api.gql("query($s: ID!) { shop(id: $s) { settings { drinksPerCode } } }", {"s": shop})
    assert settings["data"]["shop"]["settings"]["drinksPerCode"] == 10


def test_a_ticket_prints_alone_on_an_80_mm_receipt(apps: Apps, api: Api, organiser: str) -> None:
    bar = open_bar(apps, api, organiser)
    barista = bar.barista
    phone, order_number = scan_and_order(apps, bar)
    barista.evaluate("() => { window.print = () => { window.__printed = (window.__printed || 0) + 1 } }")
    card(barista, order_number).get_by_role(  # type: ignore[attr-defined]
        "button", name=f"Print ticket #{order_number}"
    ).click()
    assert barista.evaluate("() => window.__printed") == 1

    barista.emulate_media(media="print")
    ticket = barista.locator(".print-ticket")
    expect(ticket).to_be_visible()
    expect(ticket).to_contain_text(f"#{order_number}")
    expect(ticket).to_contain_text("Cappuccino")
    expect(barista.get_by_role("region", name="Queued")).to_be_hidden()  # only the ticket prints
    width = ticket.evaluate("element => element.getBoundingClientRect().width")
    assert 250 <= width <= 300, f"the ticket is {width} px wide, not about 74 mm (280 px)"
    apps.screenshot(barista, "barista-ticket-print")
    barista.emulate_media(media="screen")
    expect(ticket).to_be_hidden()


def _count_tones(page: object) -> None:
    page.evaluate(  # type: ignore[attr-defined]
        """() => {
      window.__tones = 0
      const start = OscillatorNode.prototype.start
      OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return start.apply(this, args) }
    }"""
    )


def test_new_orders_chime_unless_muted_and_muting_sticks(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    barista = apps.open_barista(shop)
    _count_tones(barista)
    barista.get_by_role("heading", name="Queued").click()  # browsers allow sound only after a gesture
    def new_order() -> None:
        customer = api.token(f"chime-{uuid.uuid4().hex[:8]}")
        placed = api.call("POST", f"/shops/{shop}/orders", customer, {"code": api.code(shop, organiser)})
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["orderId"]
        assert api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Espresso"}).status_code == 200
        number = wait_queued(api, order_id, customer)["number"]
        expect(barista.get_by_role("status").filter(has_text=f"New order #{number}")).to_be_attached()
        expect(card(barista, number)).to_be_visible()

    new_order()
    barista.wait_for_function("() => window.__tones > 0")

    mute = barista.get_by_role("button", name="Mute chime")
    mute.click()
    expect(mute).to_have_attribute("aria-pressed", "true")
    heard = barista.evaluate("() => window.__tones")
    new_order()
    assert barista.evaluate("() => window.__tones") == heard, "a muted tablet chimed"

    barista.reload()
    expect(barista.get_by_role("button", name="Mute chime")).to_have_attribute("aria-pressed", "true")
