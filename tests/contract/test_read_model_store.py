"""ReadModelStore contract: idempotent journeys, monotonic views, ordered pages and the shop view."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib.adapters import dynamodb
from chalicelib.domain.journey import JourneyEntry, OrderView
from chalicelib.domain.order import OrderState
from chalicelib.domain.shop import DEFAULT_SETTINGS, Drink, Modifier, Shop

SHOP = "bar-1"


def entry(order_id: str, key: str, at: str, message: str = "", **detail: Any) -> JourneyEntry:
    return JourneyEntry(order_id, "OrderManager.DrinkChosen", at, message or f"event {key}", key, dict(detail))


def view(
    order_id: str,
    created_at: str,
    state: OrderState = OrderState.WAITING_FOR_DRINK,
    shop_id: str = SHOP,
    user_id: str = "alice",
    event_count: int = 1,
    **changes: Any,
) -> OrderView:
    return OrderView(
        order_id=order_id,
        shop_id=shop_id,
        user_id=user_id,
        state=state,
        created_at=created_at,
        updated_at=created_at,
        event_count=event_count,
        **changes,
    )


def at(minute: int, second: int = 0) -> str:
    return f"2026-11-23T09:{minute:02d}:{second:02d}+00:00"


def all_pages(fetch: Any, first: int) -> list[list[str]]:
    """Walk every page with first/after; return the order ids of each page."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        views, cursor = fetch(first, cursor)
        pages.append([v.order_id for v in views])
        assert len(pages) < 50, "pagination does not terminate"
        if cursor is None:
            return pages


# ----- journey ------------------------------------------------------------------------------------


def test_journey_is_sorted_by_time_then_idempotency_key(read_model: Any) -> None:
    entries = [
        entry("o-1", "k-c", at(3)),
        entry("o-1", "k-b", at(1)),
        entry("o-1", "k-z", at(2)),
        entry("o-1", "k-a", at(2)),
    ]
    for e in entries:
        read_model.add_journey_entry(e)

    assert read_model.journey("o-1") == sorted(entries, key=lambda e: (e.at, e.idempotency_key))
    assert [e.idempotency_key for e in read_model.journey("o-1")] == ["k-b", "k-a", "k-z", "k-c"]


def test_add_journey_entry_is_idempotent_first_write_wins(read_model: Any) -> None:
    first = entry("o-1", "k-1", at(1), "the original", drink="Latte")
    read_model.add_journey_entry(first)

    read_model.add_journey_entry(first)
    read_model.add_journey_entry(entry("o-1", "k-1", at(9), "a redelivery that differs", drink="Mocha"))

    assert read_model.journey("o-1") == [first]


def test_journey_keeps_the_detail_and_type(read_model: Any) -> None:
    original = JourneyEntry(
        "o-1",
        "OrderProcessor.WaitingCompletion",
        at(1),
        "Your order is number 7",
        "o-1:wait:v2",
        {"orderId": "o-1", "number": 7, "modifiers": {"Milk": "Oat"}, "tags": ["a", "b"], "open": True},
    )
    read_model.add_journey_entry(original)

    assert read_model.journey("o-1") == [original]


def test_journeys_are_per_order(read_model: Any) -> None:
    a = entry("o-a", "k-1", at(1))
    b = entry("o-b", "k-1", at(1), "same key, other order")
    read_model.add_journey_entry(a)
    read_model.add_journey_entry(b)

    assert read_model.journey("o-a") == [a]
    assert read_model.journey("o-b") == [b]
    assert read_model.journey("o-unknown") == []


# ----- views --------------------------------------------------------------------------------------


def test_put_view_if_newer_only_replaces_with_a_strictly_greater_event_count(read_model: Any) -> None:
    v1 = view("o-1", at(0), event_count=2)
    assert read_model.put_view_if_newer(v1) is True
    assert read_model.get_view("o-1") == v1

    same = view("o-1", at(0), OrderState.QUEUED, event_count=2)
    older = view("o-1", at(0), OrderState.CANCELLED, event_count=1)
    assert read_model.put_view_if_newer(same) is False
    assert read_model.put_view_if_newer(older) is False
    assert read_model.get_view("o-1") == v1

    newer = view("o-1", at(0), OrderState.QUEUED, event_count=3, drink="Latte")
    assert read_model.put_view_if_newer(newer) is True
    assert read_model.get_view("o-1") == newer


def test_get_view_unknown_returns_none(read_model: Any) -> None:
    assert read_model.get_view("nope") is None


def test_view_round_trips_every_field(read_model: Any) -> None:
    full = OrderView(
        order_id="o-1",
        shop_id=SHOP,
        user_id="alice",
        state=OrderState.COMPLETED,
        number=42,
        drink="Cappuccino",
        modifiers={"Milk": "Oat", "Size": "Large"},
        created_at=at(1),
        updated_at=at(5),
        claimed_by="barista-1",
        reason=None,
        queued_at=at(2),
        ready_at=at(5),
        event_count=5,
    )
    read_model.put_view_if_newer(full)

    assert read_model.get_view("o-1") == full


def test_shop_orders_oldest_first_only_this_shop(read_model: Any) -> None:
    views = [
        view("o-3", at(3)),
        view("o-1", at(1)),
        view("o-2b", at(2)),
        view("o-2a", at(2)),  # same instant: ordered by order id
        view("o-x", at(0), shop_id="bar-2"),
    ]
    for v in views:
        read_model.put_view_if_newer(v)

    listed, cursor = read_model.shop_orders(SHOP, None, 10, None)

    assert [v.order_id for v in listed] == ["o-1", "o-2a", "o-2b", "o-3"]
    assert listed[0] == views[1]
    assert cursor is None
    assert read_model.shop_orders("bar-2", None, 10, None) == ([views[4]], None)
    assert read_model.shop_orders("bar-empty", None, 10, None) == ([], None)


def test_shop_orders_filters_by_state(read_model: Any) -> None:
    read_model.put_view_if_newer(view("o-1", at(1), OrderState.QUEUED))
    read_model.put_view_if_newer(view("o-2", at(2), OrderState.COMPLETED))
    read_model.put_view_if_newer(view("o-3", at(3), OrderState.IN_PRODUCTION))
    read_model.put_view_if_newer(view("o-4", at(4), OrderState.WAITING_FOR_DRINK))

    def ids(states: list[OrderState] | None) -> list[str]:
        listed, _ = read_model.shop_orders(SHOP, states, 10, None)
        return [v.order_id for v in listed]

    assert ids([OrderState.QUEUED, OrderState.IN_PRODUCTION]) == ["o-1", "o-3"]
    assert ids([OrderState.COMPLETED]) == ["o-2"]
    assert ids([OrderState.CANCELLED]) == []
    assert ids([]) == ["o-1", "o-2", "o-3", "o-4"]  # an empty filter is no filter
    assert ids(None) == ["o-1", "o-2", "o-3", "o-4"]


def test_shop_orders_state_filter_follows_the_newest_view(read_model: Any) -> None:
    read_model.put_view_if_newer(view("o-1", at(1), OrderState.QUEUED, event_count=2))
    read_model.put_view_if_newer(view("o-1", at(1), OrderState.COMPLETED, event_count=3))

    assert read_model.shop_orders(SHOP, [OrderState.QUEUED], 10, None) == ([], None)
    listed, _ = read_model.shop_orders(SHOP, [OrderState.COMPLETED], 10, None)
    assert [(v.order_id, v.state) for v in listed] == [("o-1", OrderState.COMPLETED)]


def test_shop_orders_pages_cover_every_item_exactly_once(read_model: Any) -> None:
    expected = []
    for n in range(11):
        order_id = f"o-{n:02d}"
        read_model.put_view_if_newer(view(order_id, at(n // 2, 0)))  # pairs share a timestamp
        expected.append(order_id)
    expected.sort(key=lambda oid: (at(int(oid[2:]) // 2), oid))

    for first in (1, 3, 4, 10, 11, 50):
        pages = all_pages(lambda f, after: read_model.shop_orders(SHOP, None, f, after), first)
        assert [oid for p in pages for oid in p] == expected, first
        assert all(len(p) == first for p in pages[:-1])
        assert 1 <= len(pages[-1]) <= first
        # The last page carries no cursor even when it is exactly full.
        assert len(pages) == -(-len(expected) // first)


def test_shop_orders_pagination_with_a_state_filter(read_model: Any) -> None:
    states = [OrderState.QUEUED, OrderState.COMPLETED, OrderState.IN_PRODUCTION]
    for n in range(12):
        read_model.put_view_if_newer(view(f"o-{n:02d}", at(n), states[n % 3]))
    wanted = [OrderState.QUEUED, OrderState.IN_PRODUCTION]
    expected = [f"o-{n:02d}" for n in range(12) if states[n % 3] in wanted]

    pages = all_pages(lambda f, after: read_model.shop_orders(SHOP, wanted, f, after), 3)

    assert pages == [expected[0:3], expected[3:6], expected[6:8]]


def test_user_orders_newest_first_with_pagination(read_model: Any) -> None:
    for n in range(7):
        read_model.put_view_if_newer(view(f"o-{n}", at(n), shop_id=f"bar-{n % 2}"))
    read_model.put_view_if_newer(view("o-tie", at(3)))  # same instant as o-3: ordered by order id
    read_model.put_view_if_newer(view("o-bob", at(9), user_id="bob"))
    expected = ["o-6", "o-5", "o-4", "o-tie", "o-3", "o-2", "o-1", "o-0"]

    listed, cursor = read_model.user_orders("alice", 20, None)
    assert [v.order_id for v in listed] == expected
    assert cursor is None

    for first in (1, 3, 8):
        pages = all_pages(lambda f, after: read_model.user_orders("alice", f, after), first)
        assert [oid for p in pages for oid in p] == expected, first
        assert all(len(p) == first for p in pages[:-1])

    assert [v.order_id for v in read_model.user_orders("bob", 5, None)[0]] == ["o-bob"]
    assert read_model.user_orders("nobody", 5, None) == ([], None)


def test_a_page_cursor_continues_after_its_last_item(read_model: Any) -> None:
    for n in range(5):
        read_model.put_view_if_newer(view(f"o-{n}", at(n)))

    page1, cursor = read_model.shop_orders(SHOP, None, 2, None)
    page2, cursor2 = read_model.shop_orders(SHOP, None, 2, cursor)
    # A view added before the cursor's position does not shift the next page.
    read_model.put_view_if_newer(view("o-early", at(0, 30)))
    page2_again, _ = read_model.shop_orders(SHOP, None, 2, cursor)

    assert [v.order_id for v in page1] == ["o-0", "o-1"]
    assert [v.order_id for v in page2] == ["o-2", "o-3"]
    assert page2_again == page2
    assert cursor2 is not None


def test_shop_orders_newest_first_pages_cover_every_item_exactly_once(read_model: Any) -> None:
    states = [OrderState.COMPLETED, OrderState.QUEUED, OrderState.COMPLETED]
    for n in range(12):
        read_model.put_view_if_newer(view(f"o-{n:02d}", at(n // 2), states[n % 3]))  # pairs share a timestamp
    read_model.put_view_if_newer(view("o-x", at(30), OrderState.COMPLETED, shop_id="bar-2"))
    newest = sorted((f"o-{n:02d}" for n in range(12)), key=lambda oid: (at(int(oid[2:]) // 2), oid), reverse=True)
    completed = [oid for oid in newest if states[int(oid[2:]) % 3] is OrderState.COMPLETED]

    for first in (1, 3, 5, 12, 20):
        pages = all_pages(lambda f, after: read_model.shop_orders(SHOP, None, f, after, newest_first=True), first)
        assert [oid for p in pages for oid in p] == newest, first
        assert all(len(p) == first for p in pages[:-1])
    pages = all_pages(
        lambda f, after: read_model.shop_orders(SHOP, [OrderState.COMPLETED], f, after, newest_first=True), 3
    )
    assert pages == [completed[0:3], completed[3:6], completed[6:8]]


def test_a_newest_first_cursor_continues_before_its_last_item(read_model: Any) -> None:
    for n in range(5):
        read_model.put_view_if_newer(view(f"o-{n}", at(n)))

    page1, cursor = read_model.shop_orders(SHOP, None, 2, None, newest_first=True)
    page2, _ = read_model.shop_orders(SHOP, None, 2, cursor, newest_first=True)
    # An order placed since does not shift the next page.
    read_model.put_view_if_newer(view("o-new", at(9)))
    page2_again, _ = read_model.shop_orders(SHOP, None, 2, cursor, newest_first=True)

    assert [v.order_id for v in page1] == ["o-4", "o-3"]
    assert [v.order_id for v in page2] == ["o-2", "o-1"]
    assert page2_again == page2


DAY = "2026-11-23"


def placed_around_one_day(read_model: Any) -> list[OrderView]:
    """Orders of SHOP either side of midnight on DAY (and one of another shop); returns those of DAY."""
    on_day = [
        view("o-first", f"{DAY}T00:00:00+00:00", OrderState.COMPLETED),
        view("o-noon", f"{DAY}T12:00:00.250000+00:00", OrderState.QUEUED),
        view("o-last", f"{DAY}T23:59:59.999999+00:00", OrderState.COMPLETED),
    ]
    others = [
        view("o-before", "2026-11-22T23:59:59.999999+00:00", OrderState.COMPLETED),
        view("o-after", "2026-11-24T00:00:00+00:00", OrderState.COMPLETED),
        view("o-elsewhere", f"{DAY}T12:00:00+00:00", OrderState.COMPLETED, shop_id="bar-2"),
    ]
    for v in [*others, *reversed(on_day)]:
        read_model.put_view_if_newer(v)
    return on_day


def test_shop_orders_placed_on_a_day_oldest_first(read_model: Any) -> None:
    on_day = placed_around_one_day(read_model)

    assert read_model.shop_orders_placed_on(SHOP, DAY) == on_day
    assert [v.order_id for v in read_model.shop_orders_placed_on(SHOP, DAY, [OrderState.COMPLETED])] == [
        "o-first",
        "o-last",
    ]
    assert read_model.shop_orders_placed_on(SHOP, DAY, [OrderState.CANCELLED]) == []
    assert [v.order_id for v in read_model.shop_orders_placed_on(SHOP, "2026-11-24")] == ["o-after"]
    assert read_model.shop_orders_placed_on(SHOP, "2026-11-25") == []
    assert read_model.shop_orders_placed_on("bar-empty", DAY) == []


@contextmanager
def scanned_counts() -> Iterator[list[int]]:
    """The ScannedCount of every DynamoDB Query the models send meanwhile (items read, before filtering)."""
    counts: list[int] = []
    events = dynamodb.OrderViewItem._get_connection().connection.client.meta.events

    def record(parsed: dict[str, Any], **_: Any) -> None:
        counts.append(int(parsed["ScannedCount"]))

    events.register("after-call.dynamodb.Query", record)
    try:
        yield counts
    finally:
        events.unregister("after-call.dynamodb.Query", record)


# The read cost of a DynamoDB query: only the DynamoDB-backed stores have one.
@pytest.mark.parametrize("stores", ["dynamodb", "dynamodb-local-runtime"], indirect=True)
def test_a_days_orders_are_read_from_that_days_key_range_only(stores: Any) -> None:
    on_day = placed_around_one_day(stores.read_model)

    with scanned_counts() as counts:
        listed = stores.read_model.shop_orders_placed_on(SHOP, DAY, [OrderState.COMPLETED])

    assert len(listed) == 2
    # The queued order of the day is read (then filtered); the other days' orders are not read at all.
    assert counts == [len(on_day)]


# ----- the board ------------------------------------------------------------------------------------


def a_busy_shop(read_model: Any) -> None:
    """Numbered orders in every state, an unnumbered one, and another shop's."""
    views = [
        view("o-q2", at(5), OrderState.QUEUED, number=2),
        view("o-q1", at(1), OrderState.QUEUED, number=1),
        view("o-unnumbered", at(2), OrderState.QUEUED),
        view("o-make", at(3), OrderState.IN_PRODUCTION, number=3, claimed_by="anna"),
        view("o-cancelled", at(4), OrderState.CANCELLED, number=4),
        view("o-elsewhere", at(1), OrderState.QUEUED, shop_id="bar-2", number=9),
        *[
            view(f"o-done-{n:02d}", at(10 + n), OrderState.COMPLETED, number=10 + n, ready_at=at(40 - n))
            for n in range(15)
        ],
    ]
    for v in views:
        read_model.put_view_if_newer(v)


def test_board_views_are_the_numbered_active_orders_and_the_latest_ready(read_model: Any) -> None:
    a_busy_shop(read_model)

    active, ready = read_model.board_views(SHOP, 10)

    assert [v.order_id for v in active] == ["o-q1", "o-make", "o-q2"]  # oldest placed first
    assert [v.number for v in ready] == list(range(10, 20))  # most recently ready first
    assert read_model.board_views(SHOP, 3)[1] == ready[:3]
    assert read_model.board_views(SHOP, 0)[1] == []
    assert read_model.board_views("bar-nobody", 10) == ([], [])


def test_a_view_that_moves_follows_on_the_board(read_model: Any) -> None:
    read_model.put_view_if_newer(view("o-1", at(1), OrderState.QUEUED, number=1, event_count=1))
    read_model.put_view_if_newer(view("o-1", at(1), OrderState.IN_PRODUCTION, number=1, event_count=2))
    assert [(v.order_id, v.state) for v in read_model.board_views(SHOP, 10)[0]] == [("o-1", OrderState.IN_PRODUCTION)]

    read_model.put_view_if_newer(view("o-1", at(1), OrderState.COMPLETED, number=1, ready_at=at(3), event_count=3))
    active, ready = read_model.board_views(SHOP, 10)
    assert active == [] and [v.order_id for v in ready] == ["o-1"] and ready[0].ready_at == at(3)

    read_model.put_view_if_newer(view("o-2", at(2), OrderState.QUEUED, number=2, event_count=1))
    read_model.put_view_if_newer(view("o-2", at(2), OrderState.CANCELLED, number=2, event_count=2))
    assert read_model.board_views(SHOP, 10)[0] == []


# The read cost of a DynamoDB query: only the DynamoDB-backed stores have one.
@pytest.mark.parametrize("stores", ["dynamodb", "dynamodb-local-runtime"], indirect=True)
def test_the_board_reads_the_views_it_shows_and_nothing_else(stores: Any) -> None:
    a_busy_shop(stores.read_model)

    with scanned_counts() as counts:
        active, ready = stores.read_model.board_views(SHOP, 10)

    assert counts == [len(active), len(ready)] == [3, 10]


# ----- shop view --------------------------------------------------------------------------------------


def full_shop(version: int, **changes: Any) -> Shop:
    menu = (Drink("Mocha", True, (Modifier("Milk", ("Regular", "Oat")),)), Drink("Tea", False))
    shop = Shop(SHOP, "Bar One", open=True, version=version).with_menu(menu).with_settings({"drinksPerCode": 4})
    for name, value in changes.items():
        shop = {"open": shop.with_open, "menu": shop.with_menu}[name](value)
    return shop


def test_put_shop_if_newer_and_get_shop_by_version(read_model: Any) -> None:
    v1 = full_shop(1)
    assert read_model.get_shop(SHOP) is None
    assert read_model.put_shop_if_newer(v1) is True
    assert read_model.get_shop(SHOP) == v1

    assert read_model.put_shop_if_newer(full_shop(1, open=False)) is False
    assert read_model.put_shop_if_newer(full_shop(0, open=False)) is False
    assert read_model.get_shop(SHOP) == v1

    v3 = full_shop(3, open=False)
    assert read_model.put_shop_if_newer(v3) is True
    assert read_model.put_shop_if_newer(full_shop(2)) is False
    assert read_model.get_shop(SHOP) == v3
    assert read_model.get_shop("bar-2") is None


def test_shop_view_keeps_the_full_effective_settings(read_model: Any) -> None:
    read_model.put_shop_if_newer(Shop(SHOP, "Bar One", settings={"drinksPerCode": 2}, version=1))

    stored = read_model.get_shop(SHOP)
    assert dict(stored.settings) == {**DEFAULT_SETTINGS, "drinksPerCode": 2}
    assert stored.version == 1


def test_stored_values_do_not_alias_the_callers_dicts(read_model: Any) -> None:
    e = entry("o-1", "k-1", at(1), drink="Latte")
    v = view("o-1", at(1), modifiers={"Milk": "Oat"})
    read_model.add_journey_entry(e)
    read_model.put_view_if_newer(v)

    e.detail["drink"] = "changed after the write"
    v.modifiers["Milk"] = "changed after the write"

    assert read_model.journey("o-1")[0].detail == {"drink": "Latte"}
    assert read_model.get_view("o-1").modifiers == {"Milk": "Oat"}


def test_list_shops_returns_every_projected_shop_by_id(read_model: Any) -> None:
    for shop_id in ("zeta", "alpha"):
        read_model.put_shop_if_newer(Shop(shop_id=shop_id, name=shop_id.title(), version=1))
    assert [s.shop_id for s in read_model.list_shops()] == ["alpha", "zeta"]
