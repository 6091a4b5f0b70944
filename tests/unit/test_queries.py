"""QueryService over the in-memory read model: who may read what, pagination, and the public board."""

from __future__ import annotations

import pytest

from chalicelib.adapters.memory import InMemoryReadModel
from chalicelib.domain.errors import Forbidden, NotFound, Unauthorized, ValidationError
from chalicelib.domain.journey import JourneyEntry, OrderView
from chalicelib.domain.order import Actor, OrderState
from chalicelib.domain.shop import Shop
from chalicelib.services.queries import MAX_PAGE, QueryService

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
) -> OrderView:
    return OrderView(
        order_id=f"order-{n:04d}",
        shop_id=shop,
        user_id=user.sub,
        state=state,
        number=number,
        created_at=at(n),
        updated_at=at(updated_minute if updated_minute is not None else n),
        event_count=1,
    )


def given(*views: OrderView, shop: bool = True) -> tuple[InMemoryReadModel, QueryService]:
    store = InMemoryReadModel()
    if shop:
        store.put_shop_if_newer(Shop(shop_id=SHOP, name="Main Bar", version=1))
    for v in views:
        store.put_view_if_newer(v)
    return store, QueryService(store)


def walk(fetch, first: int) -> list[list[str]]:
    """Follow the cursors to the end; return the ids of every page."""
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        views, after = fetch(first, after)
        pages.append([v.order_id for v in views])
        if after is None:
            return pages
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
    assert queries.my_orders(ALICE, 20, None) == ([], None)


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
    assert len(queries.my_orders(ALICE, MAX_PAGE, None)[0]) == 1


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
    assert queries.orders(ADMIN, SHOP, [], 20, None)[0] == queries.orders(ADMIN, SHOP, None, 20, None)[0]
    assert queries.orders(ADMIN, "nope", None, 20, None) == ([], None)


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

    assert QueryService(store).board(SHOP).ready == list(range(1, 11))
    assert QueryService(store, board_ready_limit=3).board(SHOP).ready == [1, 2, 3]


def test_the_board_reads_past_one_page_of_orders():
    views = [view(n, state=OrderState.QUEUED, number=n) for n in range(1, MAX_PAGE + 51)]
    _, queries = given(*views)
    assert queries.board(SHOP).waiting == list(range(1, MAX_PAGE + 51))


def test_the_board_of_an_unknown_shop_is_not_found():
    _, queries = given(shop=False)
    with pytest.raises(NotFound):
        queries.board(SHOP)
