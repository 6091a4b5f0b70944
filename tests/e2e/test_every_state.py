"""Every other place a person can end up: cancels, timeouts, a closed store, a used-up code, the daily limit."""

from __future__ import annotations

import re

from browser_kit import Apps, card, open_bar, place_order, scan_and_order
from playwright.sync_api import expect

from tests.support.stack import Api


def test_the_customer_cancels_from_the_phone(apps: Apps, api: Api, organiser: str) -> None:
    bar = open_bar(apps, api, organiser)
    display, barista = bar.display, bar.barista
    phone, order_number = scan_and_order(apps, bar)
    expect(card(barista, order_number)).to_be_visible()

    phone.get_by_role("button", name="Cancel order").click()
    dialog = phone.get_by_role("dialog")
    expect(dialog).to_contain_text("Cancel your order?")
    apps.assert_accessible(phone, "phone, cancel confirmation")
    apps.screenshot(phone, "phone-cancel-confirmation")
    dialog.get_by_role("button", name="Yes, cancel").click()

    expect(phone.get_by_role("status")).to_contain_text("Cancelled")
    expect(phone.get_by_role("button", name="Cancel order")).to_have_count(0)
    expect(card(barista, order_number)).to_have_count(0)
    expect(display.get_by_role("region", name="Upcoming")).not_to_contain_text(f"#{order_number}")
    apps.screenshot(phone, "phone-cancelled")


def test_keeping_the_order_in_the_confirmation_changes_nothing(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    display = apps.open_display(shop)
    phone, number = apps.open_phone(apps.decode_qr(display))
    order_number = place_order(apps, phone, number)
    phone.get_by_role("button", name="Cancel order").click()
    phone.get_by_role("dialog").get_by_role("button", name="No, keep it").click()
    expect(phone.get_by_role("dialog")).to_be_hidden()
    expect(phone.get_by_role("status")).to_contain_text(f"Order #{order_number}")
    expect(display.get_by_role("region", name="Upcoming")).to_contain_text(f"#{order_number}")


def test_the_barista_cancels_from_the_tablet(apps: Apps, api: Api, organiser: str) -> None:
    bar = open_bar(apps, api, organiser)
    display, barista = bar.display, bar.barista
    phone, order_number = scan_and_order(apps, bar)

    card(barista, order_number).get_by_role("button", name="Cancel", exact=True).click()  # type: ignore[attr-defined]
    dialog = barista.get_by_role("dialog")
    apps.assert_accessible(barista, "barista, cancel confirmation")
    dialog.get_by_role("button", name="Yes, cancel").click()

    expect(card(barista, order_number)).to_have_count(0)
    expect(phone.get_by_role("status")).to_contain_text("Cancelled")
    expect(display.get_by_role("region", name="Upcoming")).not_to_contain_text(f"#{order_number}")


def test_a_customer_who_does_not_choose_in_time_is_told(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser, customerTimeoutSeconds=6)
    display = apps.open_display(shop)
    phone, number = apps.open_phone(apps.decode_qr(display))
    apps.sign_in(phone, number)
    expect(phone.get_by_role("heading", name="Choose your drink")).to_be_visible()
    expect(phone.get_by_role("status")).to_contain_text("timed out", timeout=40_000)
    expect(phone.get_by_text(re.compile("Having trouble deciding"))).to_be_visible()
    apps.assert_accessible(phone, "phone, timed out")
    apps.screenshot(phone, "phone-timed-out")


def test_the_store_closes_and_opens_live_on_every_screen(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    display = apps.open_display(shop)
    barista = apps.open_barista(shop)
    order_url = apps.decode_qr(display)

    barista.get_by_role("button", name="Close store").click()
    expect(display.get_by_text("The store is not taking orders right now")).to_be_visible()
    expect(display.get_by_role("img", name="QR code")).to_have_count(0)
    expect(barista.get_by_role("button", name="Open store")).to_be_visible()
    apps.assert_accessible(display, "display, store closed")
    apps.assert_accessible(barista, "barista, store closed")
    apps.screenshot(display, "display-closed")
    apps.screenshot(barista, "barista-closed")

    phone, number = apps.open_phone(order_url)
    apps.sign_in(phone, number)
    expect(phone.get_by_role("heading", name="The store is closed")).to_be_visible()
    apps.assert_accessible(phone, "phone, store closed")
    apps.screenshot(phone, "phone-closed")

    barista.get_by_role("button", name="Open store").click()
    expect(display.get_by_role("img", name="QR code")).to_be_visible()
    expect(display.get_by_text("The store is not taking orders right now")).to_have_count(0)
    expect(phone.get_by_role("heading", name="Scan to order")).to_be_visible()


def test_a_used_up_code_hides_and_sends_customers_to_the_next_one(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser, drinksPerCode=1)
    display = apps.open_display(shop)
    order_url = apps.decode_qr(display)
    first, first_number = apps.open_phone(order_url)
    apps.sign_in(first, first_number)
    expect(first.get_by_role("heading", name="Choose your drink")).to_be_visible()

    expect(display.get_by_text("We’re making drinks!")).to_be_visible()
    expect(display.get_by_role("img", name="QR code")).to_have_count(0)
    apps.assert_accessible(display, "display, making drinks")
    apps.screenshot(display, "display-making-drinks")

    second, second_number = apps.open_phone(order_url)
    apps.sign_in(second, second_number)
    expect(second.get_by_role("heading", name="This code is used up")).to_be_visible()
    apps.assert_accessible(second, "phone, code used up")
    apps.screenshot(second, "phone-code-used-up")


def test_a_customer_at_the_daily_limit_sees_when_it_resets(apps: Apps, api: Api, organiser: str) -> None:
    bar = open_bar(apps, api, organiser, maxOrdersPerCustomerPerDay=1)
    display, barista = bar.display, bar.barista
    phone, order_number = scan_and_order(apps, bar, drink="Espresso", option=None)
    card(barista, order_number).get_by_role("button", name="Make", exact=True).click()  # type: ignore[attr-defined]
    card(barista, order_number).get_by_role("button", name="Complete", exact=True).click()  # type: ignore[attr-defined]
    expect(phone.get_by_role("status")).to_contain_text("Ready")
    phone.get_by_role("button", name="Done").click()
    expect(phone.get_by_role("heading", name="That’s all for today")).to_be_visible()

    # Scanning again does not get round it.
    phone.goto(apps.decode_qr(display))
    limit = phone.get_by_role("heading", name="That’s all for today")
    expect(limit).to_be_visible()
    expect(phone.get_by_text(re.compile(r"You can order again at \d"))).to_be_visible()
    apps.assert_accessible(phone, "phone, daily limit")
    apps.screenshot(phone, "phone-daily-limit")


def test_an_expired_code_asks_for_the_current_one(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    phone, number = apps.open_phone(f"{api.stack.base}/order?shop={shop}&code=not-the-code")
    apps.sign_in(phone, number)
    expect(phone.get_by_role("heading", name="This code has expired")).to_be_visible()
    apps.assert_accessible(phone, "phone, code expired")
    apps.screenshot(phone, "phone-code-expired")


def test_a_phone_in_spanish_gets_spanish(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    phone, number = apps.open_phone(f"{api.stack.base}/order?shop={shop}", locale="es-ES")
    expect(phone.locator("html")).to_have_attribute("lang", "es")
    expect(phone.get_by_label("Número de teléfono")).to_be_visible()
    expect(phone.get_by_role("button", name="Enviar código")).to_be_visible()
    apps.assert_accessible(phone, "phone, Spanish sign-in")
    apps.screenshot(phone, "phone-sign-in-es")
    # The language can be changed in the app, and the choice sticks.
    phone.get_by_label("Idioma").select_option("zh")
    expect(phone.locator("html")).to_have_attribute("lang", "zh")
    expect(phone.get_by_role("button", name="发送验证码")).to_be_visible()
    phone.reload()
    expect(phone.get_by_role("button", name="发送验证码")).to_be_visible()


def test_a_customer_cannot_use_the_barista_or_display_apps(apps: Apps, api: Api, organiser: str) -> None:
    shop = api.new_shop(organiser)
    page, number = apps.open_phone(f"{api.stack.base}/barista?shop={shop}")
    apps.sign_in(page, number)
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("not in the admin group")
    expect(page.get_by_role("button", name="Open store")).to_have_count(0)
    expect(page.get_by_role("button", name="Close store")).to_have_count(0)
    apps.screenshot(page, "barista-not-allowed")
    page.goto(f"{api.stack.base}/display?shop={shop}")
    expect(page.get_by_role("alert")).to_contain_text("not in the admin group")
    expect(page.get_by_role("img", name="QR code")).to_have_count(0)
