"""OrderRepository contract: atomic code redemption, optimistic saves, the outbox and recovery listings."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.adapters.memory import InMemoryCodeWindows, InMemoryOrders
from chalicelib.domain.codes import CodeWindow
from chalicelib.domain.errors import (
    AlreadyExists,
    CodeAlreadyUsed,
    CodeExhausted,
    ConcurrentUpdate,
    DailyLimitReached,
    InvalidCode,
)
from chalicelib.domain.order import Order, OrderState
from chalicelib.ports import Redemption

SHOP = "bar-1"
DAY = "2026-11-23"
CODE = "code-of-window"


def make_order(order_id: str, user_id: str = "alice", shop_id: str = SHOP, **changes: Any) -> Order:
    return Order(order_id=order_id, shop_id=shop_id, user_id=user_id, created_at=f"{DAY}T09:00:00+00:00", **changes)


def open_window(
    windows: Any, remaining: int = 10, window_id: int = 1000, shop_id: str = SHOP, code: str = CODE
) -> CodeWindow:
    return windows.get_or_create(CodeWindow(shop_id, window_id, 300, code, remaining))


def redemption(
    order: Order, window: CodeWindow, code: str = CODE, day: str = DAY, daily_limit: int | None = 1
) -> Redemption:
    return Redemption(order=order, window=window, code=code, day=day, daily_limit=daily_limit)


def place(orders: Any, window: CodeWindow, order_id: str, user_id: str = "alice", **kwargs: Any) -> Order:
    return orders.place(redemption(make_order(order_id, user_id), window, **kwargs))


def remaining(windows: Any, window: CodeWindow) -> int:
    stored = windows.get(window.shop_id, window.window_id)
    assert stored is not None
    return stored.remaining


# ----- place: success -------------------------------------------------------------------------------


def test_place_stores_the_order_at_version_1_and_decrements_the_window(windows: Any, orders: Any) -> None:
    window = open_window(windows, remaining=10)
    order = make_order("o-1", outbox=('{"detailType": "Validator.NewOrder"}',), version=0)

    placed = orders.place(redemption(order, window))

    assert placed == replace(order, version=1, counts_toward_daily_limit=True)
    assert placed.outbox == ('{"detailType": "Validator.NewOrder"}',)
    assert orders.get("o-1") == placed
    assert remaining(windows, window) == 9
    assert orders.daily_count("alice", SHOP, DAY) == 1


def test_place_keeps_every_field_of_the_order(windows: Any, orders: Any) -> None:
    window = open_window(windows)
    order = make_order(
        "o-1",
        drink="Latte",
        modifiers={"Milk": "Oat"},
        customer_token="tok-c",
        outbox=("first", "second"),
    )

    placed = orders.place(redemption(order, window))

    assert orders.get("o-1") == placed
    assert placed.drink == "Latte"
    assert dict(placed.modifiers) == {"Milk": "Oat"}
    assert placed.customer_token == "tok-c"
    assert placed.outbox == ("first", "second")


def test_the_version_passed_in_does_not_matter_placed_is_version_1(windows: Any, orders: Any) -> None:
    window = open_window(windows)
    assert orders.place(redemption(make_order("o-1", version=9), window)).version == 1
    assert orders.get("o-1").version == 1


def test_get_unknown_order_returns_none(orders: Any) -> None:
    assert orders.get("nope") is None


def test_each_user_may_redeem_a_window_once_until_it_is_exhausted(windows: Any, orders: Any) -> None:
    window = open_window(windows, remaining=3)

    for n, user in enumerate(["u1", "u2", "u3"], start=1):
        place(orders, window, f"o-{n}", user)
        assert remaining(windows, window) == 3 - n

    with pytest.raises(CodeExhausted):
        place(orders, window, "o-4", "u4")
    assert orders.get("o-4") is None
    assert remaining(windows, window) == 0


# ----- place: refusals ------------------------------------------------------------------------------


def test_wrong_code_is_invalid_and_changes_nothing(windows: Any, orders: Any) -> None:
    window = open_window(windows, remaining=4)

    with pytest.raises(InvalidCode):
        place(orders, window, "o-1", code="not-the-code")

    assert orders.get("o-1") is None
    assert remaining(windows, window) == 4
    assert orders.daily_count("alice", SHOP, DAY) == 0
    # The failed attempt did not mark alice as having used the code.
    place(orders, window, "o-2")
    assert remaining(windows, window) == 3


def test_code_of_a_window_never_created_is_invalid_and_creates_nothing(windows: Any, orders: Any) -> None:
    ghost = CodeWindow(SHOP, 4242, 300, CODE, 10)

    with pytest.raises(InvalidCode):
        place(orders, ghost, "o-1")

    assert windows.get(SHOP, 4242) is None
    assert orders.get("o-1") is None
    assert orders.daily_count("alice", SHOP, DAY) == 0


def test_the_stored_window_is_checked_not_the_one_passed_in(windows: Any, orders: Any) -> None:
    window = open_window(windows, remaining=0)

    with pytest.raises(CodeExhausted):
        place(orders, replace(window, remaining=10), "o-1")

    other = open_window(windows, remaining=10, window_id=1001, code="stored-code")
    with pytest.raises(InvalidCode):
        place(orders, replace(other, code="caller-says"), "o-2", code="caller-says")
    assert remaining(windows, other) == 10


def test_exhausted_code_raises_code_exhausted_and_changes_nothing(windows: Any, orders: Any) -> None:
    window = open_window(windows, remaining=0)

    with pytest.raises(CodeExhausted):
        place(orders, window, "o-1")

    assert orders.get("o-1") is None
    assert remaining(windows, window) == 0
    assert orders.daily_count("alice", SHOP, DAY) == 0


def test_same_user_twice_in_a_window_raises_code_already_used(windows: Any, orders: Any) -> None:
    window = open_window(windows, remaining=5)
    place(orders, window, "o-1", daily_limit=10)

    with pytest.raises(CodeAlreadyUsed):
        place(orders, window, "o-2", daily_limit=10)

    assert orders.get("o-2") is None
    assert remaining(windows, window) == 4
    assert orders.daily_count("alice", SHOP, DAY) == 1


def test_admins_also_redeem_a_window_only_once(windows: Any, orders: Any) -> None:
    window = open_window(windows, remaining=5)
    place(orders, window, "o-1", "admin", daily_limit=None)

    with pytest.raises(CodeAlreadyUsed):
        place(orders, window, "o-2", "admin", daily_limit=None)
    assert remaining(windows, window) == 4


def test_daily_limit_reached_raises_and_changes_nothing(windows: Any, orders: Any) -> None:
    first = open_window(windows, window_id=1000)
    second = open_window(windows, window_id=1001)
    place(orders, first, "o-1", daily_limit=1)

    with pytest.raises(DailyLimitReached):
        place(orders, second, "o-2", daily_limit=1)

    assert orders.get("o-2") is None
    assert remaining(windows, second) == 10
    assert orders.daily_count("alice", SHOP, DAY) == 1
    # Other customers are unaffected by alice's limit.
    place(orders, second, "o-3", "bob", daily_limit=1)
    assert remaining(windows, second) == 9


def test_daily_limit_counts_up_to_the_limit(windows: Any, orders: Any) -> None:
    ws = [open_window(windows, window_id=1000 + n) for n in range(4)]
    for n in range(3):
        place(orders, ws[n], f"o-{n}", daily_limit=3)
    assert orders.daily_count("alice", SHOP, DAY) == 3

    with pytest.raises(DailyLimitReached):
        place(orders, ws[3], "o-3", daily_limit=3)
    assert orders.daily_count("alice", SHOP, DAY) == 3


def test_daily_limit_is_per_shop_and_per_day(windows: Any, orders: Any) -> None:
    here = open_window(windows, window_id=1000)
    later = open_window(windows, window_id=1300)
    elsewhere = open_window(windows, window_id=1000, shop_id="bar-2")
    place(orders, here, "o-1", daily_limit=1)

    orders.place(redemption(make_order("o-2", shop_id="bar-2"), elsewhere, daily_limit=1))
    place(orders, later, "o-3", day="2026-11-24", daily_limit=1)

    assert orders.daily_count("alice", SHOP, DAY) == 1
    assert orders.daily_count("alice", "bar-2", DAY) == 1
    assert orders.daily_count("alice", SHOP, "2026-11-24") == 1


def test_admins_are_never_limited_and_do_not_count(windows: Any, orders: Any) -> None:
    for n in range(4):
        window = open_window(windows, window_id=1000 + n)
        placed = place(orders, window, f"o-{n}", "admin", daily_limit=None)
        assert placed.counts_toward_daily_limit is False
        assert orders.get(f"o-{n}").counts_toward_daily_limit is False

    assert orders.daily_count("admin", SHOP, DAY) == 0


def test_counts_toward_daily_limit_is_set_by_the_redemption_not_the_order(windows: Any, orders: Any) -> None:
    window = open_window(windows)
    order = make_order("o-1", counts_toward_daily_limit=False)

    assert orders.place(redemption(order, window, daily_limit=2)).counts_toward_daily_limit is True


def test_an_order_id_already_taken_raises_already_exists_and_changes_nothing(windows: Any, orders: Any) -> None:
    window = open_window(windows, remaining=5)
    first = place(orders, window, "o-1", "alice")

    with pytest.raises(AlreadyExists):
        place(orders, window, "o-1", "bob")

    assert orders.get("o-1") == first
    assert remaining(windows, window) == 4
    assert orders.daily_count("bob", SHOP, DAY) == 0
    # bob was not marked as having used the code
    place(orders, window, "o-2", "bob")
    assert remaining(windows, window) == 3


def test_redemptions_racing_on_one_snapshot_never_oversell(windows: Any, orders: Any) -> None:
    # The linearised form of a race: every request read the window while it still had 5 drinks.
    snapshot = open_window(windows, remaining=5)
    users = [f"user-{n:02d}" for n in range(20)]

    outcomes = []
    for user in users:
        try:
            place(orders, snapshot, f"order-{user}", user)
        except CodeExhausted:
            outcomes.append("exhausted")
        else:
            outcomes.append("placed")

    assert outcomes == ["placed"] * 5 + ["exhausted"] * 15
    assert remaining(windows, snapshot) == 0
    assert sorted(o.user_id for o in orders.list_unfinished()) == users[:5]


def test_concurrent_redemptions_never_oversell_a_window() -> None:
    """Real threads, against the fake only.

    moto is not thread-safe for TransactWriteItems: it deep-copies the table as a rollback backup
    while other threads write to it (RuntimeError: dictionary changed size during iteration), and
    a cancelled transaction restores that backup over writes other threads committed meanwhile.
    So the DynamoDB adapter's atomicity under threads cannot be checked in-process; the test
    above checks the part that is the adapter's job (conditions on the stored window, not on the
    caller's snapshot), and DynamoDB itself serialises transactions on one item.
    """
    windows = InMemoryCodeWindows()
    orders = InMemoryOrders(windows)
    window = open_window(windows, remaining=5)
    users = [f"user-{n:02d}" for n in range(20)]
    start = threading.Barrier(len(users))

    def attempt(user: str) -> str:
        start.wait()
        try:
            place(orders, window, f"order-{user}", user)
        except CodeExhausted:
            return "exhausted"
        return "placed"

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        outcomes = list(pool.map(attempt, users))

    assert outcomes.count("placed") == 5
    assert outcomes.count("exhausted") == 15
    assert remaining(windows, window) == 0
    winners = [u for u, outcome in zip(users, outcomes, strict=True) if outcome == "placed"]
    assert sorted(o.user_id for o in orders.list_unfinished()) == sorted(winners)
    for user in users:
        assert orders.daily_count(user, SHOP, DAY) == (1 if user in winners else 0)


# ----- save -------------------------------------------------------------------------------------------


def test_save_bumps_the_version_and_stores_the_change(windows: Any, orders: Any) -> None:
    placed = place(orders, open_window(windows), "o-1")

    saved = orders.save(replace(placed, state=OrderState.QUEUED, drink="Espresso", customer_token="tok"))

    assert saved.version == 2
    assert saved.state is OrderState.QUEUED
    assert orders.get("o-1") == saved
    again = orders.save(replace(saved, number=7, barista_token="tok-b"))
    assert again.version == 3
    assert orders.get("o-1") == again


def test_save_of_a_stale_version_raises_concurrent_update_and_changes_nothing(windows: Any, orders: Any) -> None:
    placed = place(orders, open_window(windows), "o-1")
    winner = orders.save(replace(placed, state=OrderState.QUEUED, drink="Espresso"))

    with pytest.raises(ConcurrentUpdate):
        orders.save(placed.reject("too late").order)

    assert orders.get("o-1") == winner


@pytest.mark.parametrize("version", [0, 1])
def test_save_of_an_order_never_placed_raises_concurrent_update(orders: Any, version: int) -> None:
    # save() stores a change to an order as read; it must not create one (only place() does).
    with pytest.raises(ConcurrentUpdate):
        orders.save(make_order("ghost", version=version))
    with pytest.raises(ConcurrentUpdate):
        orders.save(make_order("ghost", version=version), release_daily_slot_of_day=DAY)
    assert orders.get("ghost") is None
    assert orders.list_unfinished() == []
    assert orders.daily_count("alice", SHOP, DAY) == 0


def test_save_can_release_the_daily_slot(windows: Any, orders: Any) -> None:
    first = open_window(windows, window_id=1000)
    second = open_window(windows, window_id=1001)
    placed = place(orders, first, "o-1", daily_limit=1)
    assert orders.daily_count("alice", SHOP, DAY) == 1

    cancelled = orders.save(replace(placed, state=OrderState.CANCELLED), release_daily_slot_of_day=DAY)

    assert cancelled.version == 2
    assert orders.get("o-1") == cancelled
    assert orders.daily_count("alice", SHOP, DAY) == 0
    # The released slot can be used again.
    place(orders, second, "o-2", daily_limit=1)
    assert orders.daily_count("alice", SHOP, DAY) == 1


def test_a_stale_save_does_not_release_the_daily_slot(windows: Any, orders: Any) -> None:
    placed = place(orders, open_window(windows), "o-1", daily_limit=2)
    orders.save(replace(placed, state=OrderState.QUEUED))

    with pytest.raises(ConcurrentUpdate):
        orders.save(replace(placed, state=OrderState.CANCELLED), release_daily_slot_of_day=DAY)

    assert orders.daily_count("alice", SHOP, DAY) == 1
    assert orders.get("o-1").state is OrderState.QUEUED


def test_save_without_release_leaves_the_daily_count(windows: Any, orders: Any) -> None:
    placed = place(orders, open_window(windows), "o-1", daily_limit=2)

    orders.save(replace(placed, state=OrderState.COMPLETED))

    assert orders.daily_count("alice", SHOP, DAY) == 1


# ----- outbox ------------------------------------------------------------------------------------------


def test_clear_outbox_at_the_current_version(windows: Any, orders: Any) -> None:
    placed = orders.place(redemption(make_order("o-1", outbox=("e1", "e2")), open_window(windows)))

    assert orders.clear_outbox("o-1", placed.version) is True

    stored = orders.get("o-1")
    assert stored.outbox == ()
    # Clearing is not a change of the order: its version stays, so writers holding it still win.
    assert stored.version == placed.version
    assert stored == replace(placed, outbox=())
    assert orders.save(replace(stored, state=OrderState.QUEUED)).version == 2


def test_clear_outbox_at_another_version_returns_false_and_keeps_it(windows: Any, orders: Any) -> None:
    placed = orders.place(redemption(make_order("o-1", outbox=("e1",)), open_window(windows)))
    saved = orders.save(replace(placed, state=OrderState.QUEUED, outbox=("e1", "e2")))

    assert orders.clear_outbox("o-1", placed.version) is False
    assert orders.get("o-1").outbox == ("e1", "e2")
    assert orders.clear_outbox("o-1", saved.version + 1) is False
    assert orders.get("o-1").outbox == ("e1", "e2")
    assert orders.clear_outbox("o-1", saved.version) is True
    assert orders.get("o-1").outbox == ()


def test_clear_outbox_of_an_unknown_order_returns_false(orders: Any) -> None:
    assert orders.clear_outbox("nope", 1) is False
    assert orders.get("nope") is None


def test_list_with_outbox_returns_only_orders_with_pending_events(windows: Any, orders: Any) -> None:
    window = open_window(windows)
    a = orders.place(redemption(make_order("o-a", "ua", outbox=("ea",)), window))
    orders.place(redemption(make_order("o-b", "ub"), window))
    c = orders.place(redemption(make_order("o-c", "uc", outbox=("ec1", "ec2")), window))
    d = orders.place(redemption(make_order("o-d", "ud", outbox=("ed",)), window))
    assert orders.clear_outbox("o-d", d.version)

    listed = sorted(orders.list_with_outbox(), key=lambda o: o.order_id)

    assert listed == [a, c]


def test_list_unfinished_returns_only_non_final_states(windows: Any, orders: Any) -> None:
    window = open_window(windows, remaining=20)
    by_state: dict[OrderState, Order] = {}
    for n, state in enumerate(OrderState):
        placed = place(orders, window, f"o-{n}", f"user-{n}")
        by_state[state] = placed if placed.state is state else orders.save(replace(placed, state=state))

    listed = sorted(orders.list_unfinished(), key=lambda o: o.order_id)

    expected = sorted((o for s, o in by_state.items() if not s.is_final), key=lambda o: o.order_id)
    assert listed == expected
    assert {o.state for o in listed} == {OrderState.WAITING_FOR_DRINK, OrderState.QUEUED, OrderState.IN_PRODUCTION}


def test_listings_are_empty_when_nothing_is_stored(windows: Any, orders: Any) -> None:
    open_window(windows)  # other item kinds in the table must not show up as orders
    assert orders.list_unfinished() == []
    assert orders.list_with_outbox() == []


def test_stored_orders_do_not_alias_the_callers_modifiers(windows: Any, orders: Any) -> None:
    modifiers = {"Milk": "Oat"}
    placed = orders.place(redemption(make_order("o-1", modifiers=modifiers), open_window(windows)))
    changes = {"Milk": "Regular"}
    orders.save(replace(placed, drink="Latte", modifiers=changes))

    modifiers["Milk"] = "changed after place"
    changes["Milk"] = "changed after save"

    assert dict(orders.get("o-1").modifiers) == {"Milk": "Regular"}
