"""ShopService edge to edge with the in-memory adapters: shops, store state, menu, settings, QR codes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.adapters.memory import FixedClock, InMemoryCodeWindows, InMemoryShops, RecordingPublisher
from chalicelib.domain import events as ev
from chalicelib.domain.commands import CreateShop, SetMenu, UpdateSettings
from chalicelib.domain.errors import AlreadyExists, Forbidden, NotFound, ValidationError
from chalicelib.domain.live import route
from chalicelib.domain.order import Actor
from chalicelib.domain.shop import DEFAULT_MENU, DEFAULT_SETTINGS, MAX_MENU_BYTES, SETTING_BOUNDS, Drink, Modifier
from chalicelib.handlers import decoders as decode
from chalicelib.services.shops import ShopService
from serverlesspresso.broker.acl import MAX_PAYLOAD_BYTES as MQTT_MAX_PAYLOAD_BYTES
from tests.support.menus import menu_of_size

ADMIN = Actor(sub="barista-1", username="anna", is_admin=True)
CUSTOMER = Actor(sub="user-alice", username="alice", is_admin=False)
ORDER_APP_URL = "https://order.example.test/app"
# Aligned to the 300 s default interval, so a window starts exactly at this instant.
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def as_json(body: object) -> bytes:
    """A request body as a client sends it: the service takes commands, decoded at the edge."""
    return json.dumps(body).encode()


@dataclass
class World:
    clock: FixedClock
    shops: InMemoryShops
    windows: InMemoryCodeWindows
    published: RecordingPublisher
    service: ShopService

    def config_events(self) -> list[dict]:
        return [e.detail for e in self.published.events if e.detail_type == ev.CONFIG_CHANGED]


@pytest.fixture
def world() -> World:
    clock, shops, windows, published = FixedClock(START), InMemoryShops(), InMemoryCodeWindows(), RecordingPublisher()
    return World(clock, shops, windows, published, ShopService(shops, windows, published, clock, ORDER_APP_URL))


@pytest.fixture
def shop_world(world: World) -> World:
    world.service.create(ADMIN, decode.create_shop(as_json({"shopId": "main", "name": "Main Bar"})))
    world.published.events.clear()
    return world


# ----- create ---------------------------------------------------------------------------------------


def test_an_admin_creates_a_closed_shop_with_the_default_menu_and_settings(world: World):
    # When
    shop = world.service.create(ADMIN, decode.create_shop(as_json({"shopId": "main", "name": "  Main Bar  "})))

    # Then
    assert (shop.shop_id, shop.name, shop.open, shop.version) == ("main", "Main Bar", False, 1)
    assert shop.menu == DEFAULT_MENU
    assert {k: shop.setting(k) for k in DEFAULT_SETTINGS} == DEFAULT_SETTINGS
    assert world.service.get("main") == shop
    [event] = world.published.events
    assert event.detail_type == ev.CONFIG_CHANGED
    assert event.detail["shopId"] == "main"
    assert event.detail["change"] == "created"
    assert event.detail["version"] == 1
    assert event.detail["shop"] == shop.to_dict()
    assert event.detail["idempotencyKey"] == "shop:main:v1"
    assert event.detail["schemaVersion"] == ev.SCHEMA_VERSION
    assert event.detail["at"] == START.isoformat()


def test_a_customer_may_not_create_a_shop(world: World):
    with pytest.raises(Forbidden):
        world.service.create(CUSTOMER, decode.create_shop(as_json({"shopId": "main", "name": "Main Bar"})))
    assert world.shops.get("main") is None
    assert world.published.events == []


@pytest.mark.parametrize(
    "shop_id",
    ["", "Main", "-main", "main bar", "main_bar", "a" * 41, None, 42, "caf\u00e9"],
)
def test_a_shop_id_must_be_lowercase_letters_digits_and_dashes(world: World, shop_id):
    with pytest.raises(ValidationError):
        world.service.create(ADMIN, decode.create_shop(as_json({"shopId": shop_id, "name": "Main Bar"})))
    assert world.published.events == []


@pytest.mark.parametrize("name", ["", "   ", None, 7, "x" * 101])
def test_a_shop_needs_a_sensible_name(world: World, name):
    with pytest.raises(ValidationError):
        world.service.create(ADMIN, decode.create_shop(as_json({"shopId": "main", "name": name})))


@pytest.mark.parametrize("body", [None, [], "main", {}])
def test_a_create_body_that_is_not_an_object_with_both_fields_is_rejected(world: World, body):
    with pytest.raises(ValidationError):
        world.service.create(ADMIN, decode.create_shop(as_json(body)))


def test_ids_may_be_forty_characters_and_start_with_a_digit(world: World):
    assert world.service.create(ADMIN, CreateShop("9" + "a" * 39, "Forty")).shop_id == "9" + "a" * 39


def test_creating_a_shop_twice_is_refused_and_keeps_the_first(shop_world: World):
    with pytest.raises(AlreadyExists):
        shop_world.service.create(ADMIN, decode.create_shop(as_json({"shopId": "main", "name": "Impostor"})))
    assert shop_world.service.get("main").name == "Main Bar"
    assert shop_world.published.events == []


def test_ensure_creates_once_and_then_returns_the_existing_shop(world: World):
    first = world.service.ensure("main", "Main Bar")
    again = world.service.ensure("main", "Another name")
    assert again == first
    assert len(world.config_events()) == 1


def test_reading_an_unknown_shop_is_not_found(world: World):
    with pytest.raises(NotFound):
        world.service.get("nope")


# ----- store state, menu, settings ------------------------------------------------------------------


def test_opening_and_closing_announce_each_change_with_the_new_version(shop_world: World):
    opened = shop_world.service.set_store_open(ADMIN, decode.set_store_open("main", as_json({"open": True})))
    closed = shop_world.service.set_store_open(ADMIN, decode.set_store_open("main", as_json({"open": False})))

    assert opened.open is True and opened.version == 2
    assert closed.open is False and closed.version == 3
    events = shop_world.config_events()
    assert [(e["change"], e["version"], e["shop"]["open"]) for e in events] == [("store", 2, True), ("store", 3, False)]
    assert [e["idempotencyKey"] for e in events] == ["shop:main:v2", "shop:main:v3"]


@pytest.mark.parametrize("body", [{}, {"open": "yes"}, {"open": 1}, None, []])
def test_store_state_must_be_a_boolean(shop_world: World, body):
    with pytest.raises(ValidationError):
        shop_world.service.set_store_open(ADMIN, decode.set_store_open("main", as_json(body)))
    assert shop_world.published.events == []


def test_only_admins_change_a_shop(shop_world: World):
    with pytest.raises(Forbidden):
        shop_world.service.set_store_open(CUSTOMER, decode.set_store_open("main", as_json({"open": True})))
    with pytest.raises(Forbidden):
        shop_world.service.set_menu(CUSTOMER, decode.set_menu("main", as_json({"drinks": [{"name": "Tea"}]})))
    with pytest.raises(Forbidden):
        shop_world.service.update_settings(CUSTOMER, decode.update_settings("main", as_json({"drinksPerCode": 1})))
    assert shop_world.service.get("main").version == 1
    assert shop_world.published.events == []


def test_changing_an_unknown_shop_is_not_found(world: World):
    with pytest.raises(NotFound):
        world.service.set_store_open(ADMIN, decode.set_store_open("nope", as_json({"open": True})))


def test_an_admin_replaces_the_menu(shop_world: World):
    body = {
        "drinks": [
            {"name": " Tea ", "modifiers": [{"name": "Milk", "options": ["None", " Oat "]}]},
            {"name": "Mocha", "available": False},
        ]
    }

    shop = shop_world.service.set_menu(ADMIN, decode.set_menu("main", as_json(body)))

    assert shop.menu == (Drink("Tea", True, (Modifier("Milk", ("None", "Oat")),)), Drink("Mocha", False))
    [event] = shop_world.config_events()
    assert (event["change"], event["version"]) == ("menu", 2)
    assert event["shop"]["menu"] == [d.to_dict() for d in shop.menu]


@pytest.mark.parametrize(
    "body",
    [
        {"drinks": []},
        {"drinks": [{"name": ""}]},
        {"drinks": [{"name": "Tea"}, {"name": "Tea"}]},
        {"drinks": [{"name": "Tea", "available": "yes"}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": []}]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": ["Oat", "Oat"]}]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": "M", "options": ["a"]}, {"name": "M", "options": ["b"]}]}]},
        {"menu": []},
    ],
)
def test_an_invalid_menu_changes_nothing(shop_world: World, body):
    with pytest.raises(ValidationError):
        shop_world.service.set_menu(ADMIN, decode.set_menu("main", as_json(body)))
    assert shop_world.service.get("main").menu == DEFAULT_MENU
    assert shop_world.published.events == []


def test_each_settings_change_is_announced_with_its_version(shop_world: World):
    shop_world.service.update_settings(ADMIN, decode.update_settings("main", as_json({"drinksPerCode": 3})))
    shop = shop_world.service.update_settings(
        ADMIN, UpdateSettings("main", {"codeIntervalSeconds": 60, "maxOrdersInQueue": 5})
    )

    assert shop.setting("drinksPerCode") == 3  # earlier changes are kept
    assert shop.setting("codeIntervalSeconds") == 60
    assert shop.setting("maxOrdersInQueue") == 5
    assert shop.setting("baristaTimeoutSeconds") == DEFAULT_SETTINGS["baristaTimeoutSeconds"]
    events = shop_world.config_events()
    assert [(e["change"], e["version"]) for e in events] == [("settings", 2), ("settings", 3)]
    assert events[-1]["shop"]["settings"]["drinksPerCode"] == 3
    assert events[-1]["shop"]["settings"]["codeIntervalSeconds"] == 60


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"espresso": 1},
        {"drinksPerCode": 0},
        {"drinksPerCode": 10_001},
        {"drinksPerCode": "3"},
        {"drinksPerCode": True},
        {"drinksPerCode": 2.5},
        {"codeIntervalSeconds": 9},
    ],
)
def test_invalid_settings_change_nothing(shop_world: World, body):
    with pytest.raises(ValidationError):
        shop_world.service.update_settings(ADMIN, decode.update_settings("main", as_json(body)))
    assert shop_world.service.get("main").version == 1
    assert shop_world.published.events == []


# ----- the largest shop -----------------------------------------------------------------------------

EVENTBRIDGE_MAX_ENTRY_BYTES = 256 * 1024


def _largest_shop(world: World) -> str:
    """A shop at every bound: the longest id, a name of characters JSON escapes to 12 bytes each,
    the largest settings and, last, the largest menu. Returns its id."""
    shop_id = "s" * 40
    world.service.create(ADMIN, CreateShop(shop_id, "\U0001f600" * 100))
    world.service.update_settings(ADMIN, UpdateSettings(shop_id, {k: high for k, (_, high) in SETTING_BOUNDS.items()}))
    world.published.events.clear()
    return shop_id


def test_the_largest_shop_announces_itself_well_inside_mqtt_and_eventbridge_limits(world: World):
    shop_id = _largest_shop(world)

    world.service.set_menu(ADMIN, SetMenu(shop_id, menu_of_size(MAX_MENU_BYTES)))

    [event] = world.published.events
    entry = event.to_entry("default")
    entry_bytes = sum(len(entry[key].encode()) for key in ("Source", "DetailType", "Detail"))
    [config] = route(event.detail_type, event.detail)
    mqtt_bytes = len(config.encode())
    # Room to spare: under 60% of MQTT's 128 KB and 30% of EventBridge's 256 KB (about 69 KB each).
    assert mqtt_bytes <= 0.6 * MQTT_MAX_PAYLOAD_BYTES, mqtt_bytes
    assert entry_bytes <= 0.3 * EVENTBRIDGE_MAX_ENTRY_BYTES, entry_bytes


def test_a_menu_one_byte_over_the_largest_is_refused_and_changes_nothing(world: World):
    shop_id = _largest_shop(world)
    before = world.service.get(shop_id)

    with pytest.raises(ValidationError, match=f"at most {MAX_MENU_BYTES}"):
        world.service.set_menu(ADMIN, SetMenu(shop_id, menu_of_size(MAX_MENU_BYTES + 1)))

    assert world.service.get(shop_id) == before
    assert world.published.events == []


# ----- the QR code ----------------------------------------------------------------------------------


def test_only_admins_see_the_current_code(shop_world: World):
    with pytest.raises(Forbidden):
        shop_world.service.current_code(CUSTOMER, "main")
    assert shop_world.windows.windows == {}


def test_the_current_code_of_an_unknown_shop_is_not_found(world: World):
    with pytest.raises(NotFound):
        world.service.current_code(ADMIN, "nope")


def test_the_current_code_describes_its_window_and_links_to_the_order_app(shop_world: World):
    code = shop_world.service.current_code(ADMIN, "main")

    assert code["validUntil"] == datetime(2026, 11, 23, 9, 5, tzinfo=UTC).isoformat()
    assert code["remaining"] == DEFAULT_SETTINGS["drinksPerCode"]
    url = urlsplit(code["orderUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == ORDER_APP_URL
    assert parse_qs(url.query) == {"shop": ["main"], "code": [code["code"]]}
    assert len(code["code"]) >= 12


def test_the_code_stays_the_same_within_a_window(shop_world: World):
    first = shop_world.service.current_code(ADMIN, "main")
    shop_world.clock.advance(299)
    assert shop_world.service.current_code(ADMIN, "main") == first


def test_a_new_window_starts_when_the_clock_passes_the_interval(shop_world: World):
    first = shop_world.service.current_code(ADMIN, "main")
    shop_world.clock.advance(300)

    second = shop_world.service.current_code(ADMIN, "main")

    assert second["code"] != first["code"]
    assert second["validUntil"] == datetime(2026, 11, 23, 9, 10, tzinfo=UTC).isoformat()
    assert len(shop_world.windows.windows) == 2


def test_a_window_takes_its_interval_and_allowance_from_the_settings(shop_world: World):
    shop_world.service.update_settings(ADMIN, UpdateSettings("main", {"codeIntervalSeconds": 60, "drinksPerCode": 2}))

    code = shop_world.service.current_code(ADMIN, "main")

    assert code["remaining"] == 2
    assert code["validUntil"] == datetime(2026, 11, 23, 9, 1, tzinfo=UTC).isoformat()


def test_reading_the_code_publishes_nothing(shop_world: World):
    shop_world.service.current_code(ADMIN, "main")
    assert shop_world.published.events == []
