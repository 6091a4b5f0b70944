"""QueryService over the in-memory read model: who may read what, pagination, the public board and shop stats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters.memory import FixedClock, InMemoryReadModel
from chalicelib.domain.errors import Forbidden, NotFound, Unauthorized, ValidationError
from chalicelib.domain.journey import JourneyEntry, OrderView
from chalicelib.domain.order import Actor, OrderState
from chalicelib.domain.shop import Shop
from chalicelib.services.queries import MAX_PAGE, OrderPage, QueryService

SHOP = "main"
ADMIN = Actor(sub="barista-1", username="anna", is_admin=True)
ALICE = Actor(sub="user-alice", username="alice", is_admin=False)
BOB = Actor(sub="user-bob", username="bob", is_admin=False)


def at(minute: int, second: int = 0) -> str:
    hours, minutes = divmod(minute, 60)
    return f"2026-11-23T{9 + hours:02d}:{minutes:02d}:{second:02d}+00:00"


def view(
    n: int,
    user: Actor = ALICE,
    state: OrderState = OrderState.QUEUED,
    number: int | None = None,
    shop: str = SHOP,
    updated_minute: int | None = None,
    created_at: str | None = None,
    queued_at: str | None = None,
    ready_at: str | None = None,
) -> OrderView:
    return OrderView(
        order_id=f"order-{n:04d}",
        shop_id=shop,
        user_id=user.sub,
        state=state,
        number=number,
        created_at=created_at or at(n),
        updated_at=at(updated_minute if updated_minute is not None else n),
        queued_at=queued_at,
        ready_at=ready_at,
        event_count=1,
    )


def given(
    *views: OrderView, shop: bool = True, clock: FixedClock | None = None
) -> tuple[InMemoryReadModel, QueryService]:
    store = InMemoryReadModel()
    if shop:
        store.put_shop_if_newer(Shop(shop_id=SHOP, name="Main Bar", version=1))
    for v in views:
        store.put_view_if_newer(v)
    return store, QueryService(store, clock or FixedClock())


def walk(fetch, first: int) -> list[list[str]]:
    """Follow the cursors to the end; return the ids of every page."""
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        page: OrderPage = fetch(first, after)
        pages.append([v.order_id for v in page.views])
        assert page.has_previous_page is (after is not None)
        if not page.has_next_page:
            return pages
        after = page.cursors[-1]
        assert len(pages) < 100, "the cursor never ran out"


# ----- shop -----------------------------------------------------------------------------------------


def test_a_shop_is_public():
    _, queries = given()
    shop = queries.shop(SHOP)
    assert shop is not None and shop.name == "Main Bar"
    assert queries.shop("nope") is None


# ----- one order ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [ALICE, ADMIN])
def test_an_order_is_readable_by_its_customer_and_by_admins(reader):
    _, queries = given(view(1, user=ALICE))
    assert queries.order(reader, "order-0001") == view(1, user=ALICE)


def test_another_customer_may_not_read_an_order():
    _, queries = given(view(1, user=ALICE))
    with pytest.raises(Forbidden):
        queries.order(BOB, "order-0001")


def test_reading_an_order_needs_a_signed_in_caller_even_if_it_does_not_exist():
    _, queries = given(view(1))
    with pytest.raises(Unauthorized):
        queries.order(None, "order-0001")
    with pytest.raises(Unauthorized):
        queries.order(None, "order-9999")


def test_an_unknown_order_is_none():
    _, queries = given()
    assert queries.order(ALICE, "order-9999") is None


def test_the_journey_is_read_oldest_first():
    store, queries = given(view(1))
    late = JourneyEntry("order-0001", "B", at(2), "second", "k2")
    early = JourneyEntry("order-0001", "A", at(1), "first", "k1")
    store.add_journey_entry(late)
    store.add_journey_entry(early)
    store.add_journey_entry(early)
    assert queries.journey("order-0001") == [early, late]
    assert queries.journey("order-9999") == []


# ----- my orders ------------------------------------------------------------------------------------


def test_my_orders_are_mine_only_newest_first_in_pages():
    mine = [view(n, user=ALICE) for n in range(1, 8)]
    _, queries = given(*mine, view(20, user=BOB), view(21, user=BOB))

    pages = walk(lambda first, after: queries.my_orders(ALICE, first, after), first=3)

    assert pages == [
        ["order-0007", "order-0006", "order-0005"],
        ["order-0004", "order-0003", "order-0002"],
        ["order-0001"],
    ]


def test_a_page_that_ends_exactly_at_the_last_order_has_no_cursor():
    _, queries = given(*[view(n) for n in range(1, 5)])
    assert walk(lambda first, after: queries.my_orders(ALICE, first, after), first=2) == [
        ["order-0004", "order-0003"],
        ["order-0002", "order-0001"],
    ]


def test_a_customer_without_orders_gets_an_empty_page():
    _, queries = given(view(1, user=BOB))
    assert queries.my_orders(ALICE, 20, None) == OrderPage([], has_next_page=False, has_previous_page=False)


def test_my_orders_needs_a_signed_in_caller():
    _, queries = given()
    with pytest.raises(Unauthorized):
        queries.my_orders(None, 20, None)


@pytest.mark.parametrize("first", [0, -1, MAX_PAGE + 1])
def test_page_sizes_are_bounded(first):
    _, queries = given()
    with pytest.raises(ValidationError):
        queries.my_orders(ALICE, first, None)
    with pytest.raises(ValidationError):
        queries.orders(ADMIN, SHOP, None, first, None)


def test_the_largest_page_is_allowed():
    _, queries = given(view(1))
    assert len(queries.my_orders(ALICE, MAX_PAGE, None).views) == 1


@pytest.mark.parametrize("cursor", ["not a cursor!", "bm9waXBl"])
def test_a_cursor_this_api_did_not_return_is_a_validation_error(cursor):
    _, queries = given(view(1))
    with pytest.raises(ValidationError):
        queries.my_orders(ALICE, 20, cursor)


# ----- a shop's orders ------------------------------------------------------------------------------


def test_only_admins_list_a_shops_orders():
    _, queries = given(view(1))
    with pytest.raises(Forbidden):
        queries.orders(ALICE, SHOP, None, 20, None)
    with pytest.raises(Unauthorized):
        queries.orders(None, SHOP, None, 20, None)


def test_a_shops_orders_are_oldest_first_filtered_by_state_and_paged():
    views = [
        view(1, state=OrderState.QUEUED, number=1),
        view(2, user=BOB, state=OrderState.IN_PRODUCTION, number=2),
        view(3, state=OrderState.COMPLETED, number=3),
        view(4, user=BOB, state=OrderState.QUEUED, number=4),
        view(5, state=OrderState.WAITING_FOR_DRINK),
        view(6, state=OrderState.QUEUED, number=5, shop="elsewhere"),
    ]
    _, queries = given(*views)

    every = walk(lambda first, after: queries.orders(ADMIN, SHOP, None, first, after), first=2)
    active = walk(
        lambda first, after: queries.orders(
            ADMIN, SHOP, [OrderState.QUEUED, OrderState.IN_PRODUCTION], first, after
        ),
        first=2,
    )

    assert every == [["order-0001", "order-0002"], ["order-0003", "order-0004"], ["order-0005"]]
    assert active == [["order-0001", "order-0002"], ["order-0004"]]
    assert queries.orders(ADMIN, SHOP, [], 20, None).views == queries.orders(ADMIN, SHOP, None, 20, None).views
    assert queries.orders(ADMIN, "nope", None, 20, None).views == []


def test_a_shops_orders_newest_first_for_the_latest_ready_cards():
    views = [view(n, state=OrderState.COMPLETED if n % 2 else OrderState.QUEUED, number=n) for n in range(1, 10)]
    _, queries = given(*views)

    latest = queries.orders(ADMIN, SHOP, [OrderState.COMPLETED], 2, None, newest_first=True)
    every = walk(
        lambda first, after: queries.orders(ADMIN, SHOP, [OrderState.COMPLETED], first, after, newest_first=True),
        first=2,
    )

    assert [v.order_id for v in latest.views] == ["order-0009", "order-0007"]
    assert every == [["order-0009", "order-0007"], ["order-0005", "order-0003"], ["order-0001"]]


def test_each_order_of_a_page_has_a_cursor_that_continues_right_after_it():
    _, queries = given(*[view(n) for n in range(1, 6)])

    page = queries.orders(ADMIN, SHOP, None, 3, None)

    assert (page.has_next_page, page.has_previous_page) == (True, False)
    assert len(set(page.cursors)) == 3
    for position, cursor in enumerate(page.cursors):
        following = queries.orders(ADMIN, SHOP, None, 1, cursor).views
        assert [v.order_id for v in following] == [f"order-{position + 2:04d}"]
    last = queries.orders(ADMIN, SHOP, None, 3, page.cursors[-1])
    assert (last.has_next_page, last.has_previous_page) == (False, True)


# ----- shop stats -----------------------------------------------------------------------------------


class OneDayOnly(InMemoryReadModel):
    """A read model that refuses to list a shop's whole history, as stats must never need it."""

    def __init__(self) -> None:
        super().__init__()
        self.days_read: list[tuple[str, str]] = []

    def shop_orders(self, *args: Any, **kwargs: Any) -> tuple[list[OrderView], str | None]:
        raise AssertionError("stats must read one day's orders, not page through the shop's history")

    def shop_orders_placed_on(
        self, shop_id: str, day: str, states: Sequence[OrderState] | None = None
    ) -> list[OrderView]:
        self.days_read.append((shop_id, day))
        return super().shop_orders_placed_on(shop_id, day, states)


def stats_of(*views: OrderView, now: datetime) -> tuple[OneDayOnly, QueryService]:
    store = OneDayOnly()
    store.put_shop_if_newer(Shop(shop_id=SHOP, name="Main Bar", version=1))
    for v in views:
        store.put_view_if_newer(v)
    return store, QueryService(store, FixedClock(now))


def test_stats_count_todays_completed_orders_and_their_average_wait():
    today = "2026-11-23"
    views = [
        view(1, state=OrderState.COMPLETED, number=1, created_at=f"{today}T08:00:00+00:00",
             queued_at=f"{today}T08:00:30+00:00", ready_at=f"{today}T08:02:30+00:00"),  # 120 s
        view(2, state=OrderState.COMPLETED, number=2, created_at=f"{today}T08:05:00+00:00",
             queued_at=f"{today}T08:05:10.500000+00:00", ready_at=f"{today}T08:06:10+00:00"),  # 59.5 s
        view(3, state=OrderState.IN_PRODUCTION, number=3, created_at=f"{today}T08:10:00+00:00",
             queued_at=f"{today}T08:10:05+00:00"),
        view(4, state=OrderState.CANCELLED, created_at=f"{today}T08:11:00+00:00"),
        view(5, state=OrderState.COMPLETED, number=9, created_at="2026-11-22T23:59:00+00:00",
             queued_at="2026-11-22T23:59:10+00:00", ready_at=f"{today}T00:01:10+00:00"),  # yesterday's order
        view(6, state=OrderState.COMPLETED, number=1, shop="elsewhere", created_at=f"{today}T08:00:00+00:00",
             queued_at=f"{today}T08:00:00+00:00", ready_at=f"{today}T09:00:00+00:00"),
    ]
    store, queries = stats_of(*views, now=datetime(2026, 11, 23, 9, 30, tzinfo=UTC))

    stats = queries.shop_stats(ADMIN, SHOP)

    assert (stats.shop_id, stats.day, stats.drinks_made) == (SHOP, today, 2)
    assert stats.average_wait_seconds == pytest.approx((120 + 59.5) / 2)
    assert store.days_read == [(SHOP, today)]


def test_stats_before_the_first_drink_of_the_day_have_no_average():
    views = [view(1, state=OrderState.QUEUED, number=1, created_at="2026-11-23T08:00:00+00:00")]
    _, queries = stats_of(*views, now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))

    stats = queries.shop_stats(ADMIN, SHOP)

    assert (stats.drinks_made, stats.average_wait_seconds) == (0, None)


def test_stats_follow_the_utc_day_of_the_clock():
    views = [
        view(1, state=OrderState.COMPLETED, number=1, created_at="2026-11-23T23:59:00+00:00",
             queued_at="2026-11-23T23:59:00+00:00", ready_at="2026-11-24T00:00:30+00:00"),
    ]
    _, before_midnight = stats_of(*views, now=datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=UTC))
    _, after_midnight = stats_of(*views, now=datetime(2026, 11, 24, 0, 0, tzinfo=UTC))

    assert (before_midnight.shop_stats(ADMIN, SHOP).day, before_midnight.shop_stats(ADMIN, SHOP).drinks_made) == (
        "2026-11-23",
        1,
    )
    assert (after_midnight.shop_stats(ADMIN, SHOP).day, after_midnight.shop_stats(ADMIN, SHOP).drinks_made) == (
        "2026-11-24",
        0,
    )


def test_only_admins_read_stats_of_a_shop_that_exists():
    _, queries = stats_of(now=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    with pytest.raises(Unauthorized):
        queries.shop_stats(None, SHOP)
    with pytest.raises(Forbidden):
        queries.shop_stats(ALICE, SHOP)
    with pytest.raises(NotFound):
        queries.shop_stats(ADMIN, "nope")


# ----- the board ------------------------------------------------------------------------------------


def test_the_board_shows_numbers_by_state_only():
    views = [
        view(1, state=OrderState.WAITING_FOR_DRINK),
        view(2, state=OrderState.QUEUED, number=None),  # still being numbered
        view(3, state=OrderState.QUEUED, number=12),
        view(4, user=BOB, state=OrderState.QUEUED, number=11),
        view(5, state=OrderState.IN_PRODUCTION, number=10),
        view(6, state=OrderState.COMPLETED, number=9, updated_minute=30),
        view(7, state=OrderState.COMPLETED, number=8, updated_minute=40),
        view(8, state=OrderState.CANCELLED, number=7),
        view(9, state=OrderState.TIMED_OUT, number=6),
        view(10, state=OrderState.REJECTED),
        view(11, state=OrderState.QUEUED, number=99, shop="elsewhere"),
    ]
    _, queries = given(*views)

    board = queries.board(SHOP)

    assert board.shop_id == SHOP
    assert board.waiting == [12, 11]  # in the order they were placed
    assert board.in_production == [10]
    assert board.ready == [8, 9]  # most recently ready first
    for numbers in (board.waiting, board.in_production, board.ready):
        assert all(type(n) is int for n in numbers)


def test_the_board_shows_only_the_most_recent_ready_orders():
    views = [view(n, state=OrderState.COMPLETED, number=n, updated_minute=100 - n) for n in range(1, 16)]
    store, _ = given(*views)

    assert QueryService(store, FixedClock()).board(SHOP).ready == list(range(1, 11))
    assert QueryService(store, FixedClock(), board_ready_limit=3).board(SHOP).ready == [1, 2, 3]


def test_the_board_reads_past_one_page_of_orders():
    views = [view(n, state=OrderState.QUEUED, number=n) for n in range(1, MAX_PAGE + 51)]
    _, queries = given(*views)
    assert queries.board(SHOP).waiting == list(range(1, MAX_PAGE + 51))


def test_the_board_of_an_unknown_shop_is_not_found():
    _, queries = given(shop=False)
    with pytest.raises(NotFound):
        queries.board(SHOP)


class ViewCountingStore(InMemoryReadModel):
    """Counts the views each listing hands back: what a query costs in reads."""

    def __init__(self) -> None:
        super().__init__()
        self.views_read = 0

    def shop_orders(self, *args: Any, **kwargs: Any) -> tuple[list[OrderView], str | None]:
        views, cursor = super().shop_orders(*args, **kwargs)
        self.views_read += len(views)
        return views, cursor

    def shop_orders_placed_on(self, *args: Any, **kwargs: Any) -> list[OrderView]:
        views = super().shop_orders_placed_on(*args, **kwargs)
        self.views_read += len(views)
        return views

    def board_views(self, shop_id: str, ready_limit: int) -> tuple[list[OrderView], list[OrderView]]:
        active, ready = super().board_views(shop_id, ready_limit)
        self.views_read += len(active) + len(ready)
        return active, ready


def test_the_board_reads_the_orders_it_shows_not_the_shops_history():
    store = ViewCountingStore()
    store.put_shop_if_newer(Shop(shop_id=SHOP, name="Main Bar", version=1))
    for n in range(1, 501):  # a long day: 500 drinks made
        store.put_view_if_newer(view(n, state=OrderState.COMPLETED, number=n, ready_at=at(n, 30)))
    for n in range(501, 504):
        store.put_view_if_newer(view(n, state=OrderState.QUEUED, number=n))

    board = QueryService(store, FixedClock()).board(SHOP)

    assert board.waiting == [501, 502, 503] and board.ready == list(range(500, 490, -1))
    assert store.views_read <= 3 + 10


def test_the_board_orders_ready_numbers_by_when_they_became_ready():
    views = [
        view(1, state=OrderState.COMPLETED, number=1, ready_at=at(50), updated_minute=55),
        view(2, state=OrderState.COMPLETED, number=2, ready_at=at(40), updated_minute=60),  # finished later
    ]
    _, queries = given(*views)
    assert queries.board(SHOP).ready == [1, 2]
