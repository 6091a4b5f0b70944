"""OrderService edge to edge with the in-memory adapters: every customer, barista and workflow path.

The workflow is played by hand: a test hands a task token to RecordingWorkflow (its `waiting` set) and
delivers the detail the state machine would put on the bus (statemachine.json), then checks which
token was resumed with which outcome and what was published.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.adapters.memory import (
    FixedClock,
    InMemoryCodeWindows,
    InMemoryOrders,
    InMemoryShops,
    RecordingPublisher,
    RecordingWorkflow,
    SequentialIds,
)
from chalicelib.domain import events as ev
from chalicelib.domain.commands import ChooseDrink, CreateShop, PlaceOrder, SetMenu, SetStoreOpen, UpdateSettings
from chalicelib.domain.errors import (
    AlreadyClaimed,
    CodeAlreadyUsed,
    CodeExhausted,
    DailyLimitReached,
    Forbidden,
    InvalidCode,
    InvalidDrink,
    InvalidState,
    NotFound,
    StoreClosed,
    ValidationError,
)
from chalicelib.domain.order import (
    OUTCOME_CANCELLED,
    OUTCOME_COMPLETED,
    OUTCOME_DRINK_CHOSEN,
    Actor,
    Order,
    OrderState,
)
from chalicelib.domain.shop import menu_from_dicts
from chalicelib.handlers import decoders as decode
from chalicelib.handlers.encoders import order_json
from chalicelib.services.orders import OrderService
from chalicelib.services.shops import ShopService

SHOP = "main"
ADMIN = Actor(sub="barista-1", username="anna", is_admin=True)
BARISTA_2 = Actor(sub="barista-2", username="ben", is_admin=True)
ALICE = Actor(sub="user-alice", username="alice", is_admin=False)
BOB = Actor(sub="user-bob", username="bob", is_admin=False)
CAROL = Actor(sub="user-carol", username="carol", is_admin=False)
CUSTOMERS = [Actor(sub=f"user-{n}", username=f"customer{n}", is_admin=False) for n in range(6)]
# 09:00 UTC: a 300 s code window starts exactly here.
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
INTERVAL = 300
DAY = 86_400
LATTE_FREE_MENU = [
    {"name": "Espresso"},
    {"name": "Cappuccino", "modifiers": [{"name": "Milk", "options": ["Regular", "Oat"]}]},
]


class PublishFailed(Exception):
    pass


class FlakyPublisher(RecordingPublisher):
    """Records what it publishes; `fail_next(n)` makes the next n calls raise, as a crash would."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def fail_next(self, times: int = 1) -> None:
        self.failures = times

    def publish(self, events: Sequence[ev.DomainEvent]) -> None:
        if self.failures:
            self.failures -= 1
            raise PublishFailed("the bus is unavailable")
        super().publish(events)


@dataclass
class Cafe:
    clock: FixedClock
    windows: InMemoryCodeWindows
    order_repo: InMemoryOrders
    published: FlakyPublisher
    workflow: RecordingWorkflow
    shops: ShopService
    orders: OrderService
    shop_repo: InMemoryShops

    # ----- setup helpers ------------------------------------------------------------------------

    def code(self) -> str:
        return str(self.shops.current_code(ADMIN, SHOP)["code"])

    def next_window(self) -> None:
        self.clock.advance(INTERVAL)

    def settings(self, **changes: int) -> None:
        self.shops.update_settings(ADMIN, UpdateSettings(SHOP, changes))

    def place(self, actor: Actor = ALICE) -> Order:
        return self.orders.place(actor, PlaceOrder(SHOP, self.code()))

    # ----- the workflow's side (details as statemachine.json puts them on the bus) --------------

    def _detail(self, order: Order, key: str, **fields: Any) -> dict[str, Any]:
        return {
            "schemaVersion": 1,
            "idempotencyKey": f"exec-{order.order_id}:{key}",
            "at": self.clock.now().isoformat(),
            "orderId": order.order_id,
            "shopId": order.shop_id,
            "userId": order.user_id,
            **fields,
        }

    def start_workflow(self, order: Order) -> str:
        """The workflow enters its customer wait and announces its token."""
        token = f"customer-token-{order.order_id}"
        self.workflow.waiting.add(token)
        self.orders.on_workflow_started(decode.workflow_started(self.started_detail(order, token)))
        return token

    def started_detail(self, order: Order, token: str) -> dict[str, Any]:
        return self._detail(
            order, "WorkflowStarted", message="Waiting for the customer", taskToken=token, timeoutSeconds=300
        )

    def number(self, order: Order, number: int = 7) -> str:
        """The workflow numbers the order and enters its barista wait."""
        token = f"barista-token-{order.order_id}"
        self.workflow.waiting.add(token)
        detail = self.numbered_detail(order, token, number)
        self.orders.on_waiting_completion(decode.workflow_waiting_completion(detail))
        return token

    def numbered_detail(self, order: Order, token: str, number: int = 7) -> dict[str, Any]:
        return self._detail(
            order,
            "WaitingCompletion",
            message=f"Order #{number} is waiting for a barista",
            number=number,
            taskToken=token,
            timeoutSeconds=900,
        )

    def queued(self, actor: Actor = ALICE, number: int = 7) -> tuple[Order, str, str]:
        """An order with a drink chosen and a number: in the barista's queue. Returns the tokens too."""
        order = self.place(actor)
        customer_token = self.start_workflow(order)
        self.orders.choose_drink(actor, ChooseDrink(order.order_id, "Americano", {"Milk": "Oat"}))
        barista_token = self.number(order, number)
        return self.stored(order), customer_token, barista_token

    # ----- observations -------------------------------------------------------------------------

    def stored(self, order: Order) -> Order:
        stored = self.order_repo.get(order.order_id)
        assert stored is not None
        return stored

    def events_of(self, order: Order) -> list[ev.DomainEvent]:
        return [e for e in self.published.events if e.detail.get("orderId") == order.order_id]

    def types_of(self, order: Order) -> list[str]:
        return [e.detail_type for e in self.events_of(order)]

    def daily_count(self, actor: Actor, day: str = "2026-11-23") -> int:
        return self.order_repo.daily_count(actor.sub, SHOP, day)


@pytest.fixture
def cafe() -> Cafe:
    """Given an open shop with the default menu and settings (1 order per customer per day)."""
    clock, windows, shops = FixedClock(START), InMemoryCodeWindows(), InMemoryShops()
    order_repo, published, workflow = InMemoryOrders(windows), FlakyPublisher(), RecordingWorkflow()
    shop_service = ShopService(shops, windows, published, clock, "http://localhost:8000/order")
    order_service = OrderService(shops, windows, order_repo, published, workflow, clock, SequentialIds("order-"))
    shop_service.create(ADMIN, CreateShop(SHOP, "Main Bar"))
    shop_service.set_store_open(ADMIN, SetStoreOpen(SHOP, True))
    published.events.clear()
    return Cafe(clock, windows, order_repo, published, workflow, shop_service, order_service, shops)


# ===== placing an order ==============================================================================


def test_placing_an_order_redeems_the_code_and_publishes_new_order(cafe: Cafe):
    # Given
    code = cafe.code()

    # When
    order = cafe.orders.place(ALICE, decode.place_order(SHOP, json.dumps({"code": f"  {code} "}).encode()))

    # Then
    assert order.state is OrderState.WAITING_FOR_DRINK
    assert (order.shop_id, order.user_id, order.created_at) == (SHOP, ALICE.sub, START.isoformat())
    assert cafe.stored(order).outbox == ()
    [event] = cafe.published.events
    assert event.detail_type == ev.NEW_ORDER
    assert event.detail["orderId"] == order.order_id
    assert event.detail["shopId"] == SHOP
    assert event.detail["userId"] == ALICE.sub
    assert event.detail["state"] == "WAITING_FOR_DRINK"
    assert event.detail["createdAt"] == START.isoformat()
    assert event.detail["schemaVersion"] == ev.SCHEMA_VERSION
    assert event.detail["idempotencyKey"] == f"{order.order_id}:{ev.NEW_ORDER}:v1"
    assert cafe.shops.current_code(ADMIN, SHOP)["remaining"] == 9
    assert cafe.daily_count(ALICE) == 1


def test_a_closed_store_takes_no_orders(cafe: Cafe):
    # Given
    code = cafe.code()
    cafe.shops.set_store_open(ADMIN, SetStoreOpen(SHOP, False))
    cafe.published.events.clear()

    # When / Then
    with pytest.raises(StoreClosed):
        cafe.orders.place(ALICE, PlaceOrder(SHOP, code))
    assert cafe.published.events == []
    assert cafe.daily_count(ALICE) == 0
    assert cafe.shops.current_code(ADMIN, SHOP)["remaining"] == 10


def test_an_unknown_shop_is_not_found(cafe: Cafe):
    with pytest.raises(NotFound):
        cafe.orders.place(ALICE, PlaceOrder("nope", cafe.code()))


def test_a_wrong_code_is_refused_and_uses_nothing_up(cafe: Cafe):
    cafe.code()

    with pytest.raises(InvalidCode):
        cafe.orders.place(ALICE, PlaceOrder(SHOP, "not-the-code"))

    assert cafe.published.events == []
    assert cafe.daily_count(ALICE) == 0
    assert cafe.shops.current_code(ADMIN, SHOP)["remaining"] == 10


def test_no_code_is_valid_before_the_window_was_ever_shown(cafe: Cafe):
    # Given nobody has displayed this window's code yet
    assert cafe.windows.windows == {}

    with pytest.raises(InvalidCode):
        cafe.orders.place(ALICE, PlaceOrder(SHOP, "anything-at-all"))
    assert cafe.windows.windows == {}  # placing never creates a window


def test_the_previous_windows_code_has_expired(cafe: Cafe):
    old = cafe.code()
    cafe.next_window()
    cafe.code()

    with pytest.raises(InvalidCode):
        cafe.orders.place(ALICE, PlaceOrder(SHOP, old))


@pytest.mark.parametrize("body", [None, {}, {"code": ""}, {"code": "   "}, {"code": 42}, ["code"]])
def test_a_body_without_a_code_is_a_validation_error(cafe: Cafe, body):
    with pytest.raises(ValidationError):
        cafe.orders.place(ALICE, decode.place_order(SHOP, json.dumps(body).encode()))


def test_an_overlong_code_is_simply_invalid(cafe: Cafe):
    with pytest.raises(InvalidCode):
        cafe.orders.place(ALICE, decode.place_order(SHOP, json.dumps({"code": "x" * 65}).encode()))


def test_a_code_is_good_for_drinks_per_code_orders_then_the_next_window_has_a_fresh_allowance(cafe: Cafe):
    # Given a code good for two drinks
    cafe.settings(drinksPerCode=2)
    cafe.place(ALICE)
    cafe.place(BOB)

    # When a third customer scans it, Then
    with pytest.raises(CodeExhausted):
        cafe.place(CAROL)
    assert cafe.daily_count(CAROL) == 0

    # And the next window serves them
    cafe.next_window()
    assert cafe.place(CAROL).user_id == CAROL.sub


def test_a_customer_cannot_order_twice_with_the_same_code(cafe: Cafe):
    cafe.settings(maxOrdersPerCustomerPerDay=5)
    code = cafe.code()
    cafe.orders.place(ALICE, PlaceOrder(SHOP, code))

    with pytest.raises(CodeAlreadyUsed):
        cafe.orders.place(ALICE, PlaceOrder(SHOP, code))
    assert cafe.daily_count(ALICE) == 1


def test_an_admin_cannot_reuse_a_code_either(cafe: Cafe):
    code = cafe.code()
    cafe.orders.place(ADMIN, PlaceOrder(SHOP, code))

    with pytest.raises(CodeAlreadyUsed):
        cafe.orders.place(ADMIN, PlaceOrder(SHOP, code))


def test_a_customer_gets_one_drink_per_day(cafe: Cafe):
    # Given Alice had her drink today
    cafe.place(ALICE)
    cafe.next_window()

    # When she scans the next code, Then
    with pytest.raises(DailyLimitReached):
        cafe.place(ALICE)
    assert cafe.daily_count(ALICE) == 1
    assert [e.detail_type for e in cafe.published.events] == [ev.NEW_ORDER]

    # And tomorrow she may order again
    cafe.clock.advance(DAY)
    assert cafe.place(ALICE).created_at.startswith("2026-11-24")


def test_the_daily_limit_follows_the_setting(cafe: Cafe):
    cafe.settings(maxOrdersPerCustomerPerDay=2)
    cafe.place(ALICE)
    cafe.next_window()
    cafe.place(ALICE)
    cafe.next_window()

    with pytest.raises(DailyLimitReached):
        cafe.place(ALICE)


def test_admins_are_exempt_from_the_daily_limit(cafe: Cafe):
    for _ in range(3):
        order = cafe.place(ADMIN)
        assert order.counts_toward_daily_limit is False
        cafe.next_window()
    assert cafe.daily_count(ADMIN) == 0


# ===== choosing a drink ==============================================================================


def test_a_drink_chosen_before_the_workflow_token_arrives_is_handed_over_when_it_arrives(cafe: Cafe):
    # Given an order whose workflow has not announced its wait yet
    order = cafe.place(ALICE)

    # When the customer chooses a drink
    chosen = cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Americano", {"Milk": "Oat"}))

    # Then it is queued, but there is no token to resume yet
    assert chosen.state is OrderState.QUEUED
    assert cafe.workflow.resumed == []
    assert cafe.types_of(order) == [ev.NEW_ORDER, ev.DRINK_CHOSEN]

    # When the workflow's token arrives (and is delivered twice)
    token = f"customer-token-{order.order_id}"
    cafe.workflow.waiting.add(token)
    cafe.orders.on_workflow_started(decode.workflow_started(cafe.started_detail(order, token)))
    cafe.orders.on_workflow_started(decode.workflow_started(cafe.started_detail(order, token)))

    # Then the workflow is told, exactly once, and nothing new is published
    assert cafe.workflow.resumed == [(token, OUTCOME_DRINK_CHOSEN)]
    assert cafe.types_of(order) == [ev.NEW_ORDER, ev.DRINK_CHOSEN]
    assert cafe.stored(order).state is OrderState.QUEUED


def test_a_drink_chosen_after_the_token_arrived_resumes_the_workflow_exactly_once(cafe: Cafe):
    # Given the workflow waits for the customer
    order = cafe.place(ALICE)
    token = cafe.start_workflow(order)
    assert cafe.workflow.resumed == []

    # When
    cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))
    cafe.orders.on_workflow_started(decode.workflow_started(cafe.started_detail(order, token)))  # a late duplicate

    # Then
    assert cafe.workflow.resumed == [(token, OUTCOME_DRINK_CHOSEN)]
    assert cafe.types_of(order).count(ev.DRINK_CHOSEN) == 1


def test_the_drink_chosen_event_carries_the_full_choice(cafe: Cafe):
    order = cafe.place(ALICE)

    body = {"drink": " Cappuccino ", "modifiers": {"Size": "Large"}}
    chosen = cafe.orders.choose_drink(ALICE, decode.choose_drink(order.order_id, json.dumps(body).encode()))

    # Groups left out take their first option
    assert (chosen.drink, dict(chosen.modifiers)) == ("Cappuccino", {"Milk": "Regular", "Size": "Large"})
    event = cafe.events_of(order)[-1]
    assert event.detail_type == ev.DRINK_CHOSEN
    assert event.detail["drink"] == "Cappuccino"
    assert event.detail["modifiers"] == {"Milk": "Regular", "Size": "Large"}
    assert event.detail["state"] == "QUEUED"
    assert event.detail["message"] == "Drink chosen: Cappuccino"
    assert cafe.stored(order).outbox == ()


@pytest.mark.parametrize(
    ("drink", "modifiers"),
    [
        ("Mocha", {}),  # not on the menu
        ("Latte", {}),  # on the menu but unavailable
        ("Americano", {"Milk": "Soy"}),  # not an option
        ("Americano", {"Sugar": "Yes"}),  # no such group
        ("Espresso", {"Milk": "Oat"}),  # the drink has no modifiers
    ],
)
def test_an_invalid_choice_changes_nothing(cafe: Cafe, drink, modifiers):
    order = cafe.place(ALICE)
    token = cafe.start_workflow(order)
    before = cafe.stored(order)
    published = len(cafe.published.events)

    with pytest.raises(InvalidDrink):
        cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, drink, modifiers))

    assert cafe.stored(order) == before
    assert len(cafe.published.events) == published
    assert cafe.workflow.resumed == []
    assert token in cafe.workflow.waiting


def test_the_live_menu_decides_what_can_be_chosen(cafe: Cafe):
    order = cafe.place(ALICE)
    cafe.shops.set_menu(ADMIN, SetMenu(SHOP, menu_from_dicts(LATTE_FREE_MENU)))

    with pytest.raises(InvalidDrink):
        cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Americano", {}))
    assert cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {})).state is OrderState.QUEUED


@pytest.mark.parametrize(
    "body", [None, {}, {"drink": ""}, {"drink": 3}, {"drink": "Espresso", "modifiers": ["Oat"]},
             {"drink": "Americano", "modifiers": {"Milk": 1}}]
)
def test_a_malformed_choice_is_a_validation_error(cafe: Cafe, body):
    order = cafe.place(ALICE)
    with pytest.raises(ValidationError):
        cafe.orders.choose_drink(ALICE, decode.choose_drink(order.order_id, json.dumps(body).encode()))
    assert cafe.stored(order).state is OrderState.WAITING_FOR_DRINK


@pytest.mark.parametrize("someone_else", [BOB, ADMIN])
def test_only_the_customer_who_ordered_chooses_the_drink(cafe: Cafe, someone_else):
    order = cafe.place(ALICE)

    with pytest.raises(Forbidden):
        cafe.orders.choose_drink(someone_else, ChooseDrink(order.order_id, "Espresso", {}))
    assert cafe.stored(order).state is OrderState.WAITING_FOR_DRINK


def test_the_drink_cannot_be_changed_once_queued(cafe: Cafe):
    order = cafe.place(ALICE)
    cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))

    with pytest.raises(InvalidState):
        cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Americano", {}))
    assert cafe.stored(order).drink == "Espresso"
    assert cafe.types_of(order).count(ev.DRINK_CHOSEN) == 1


def test_an_unknown_order_is_not_found(cafe: Cafe):
    with pytest.raises(NotFound):
        cafe.orders.choose_drink(ALICE, ChooseDrink("order-999999", "Espresso", {}))
    with pytest.raises(NotFound):
        cafe.orders.cancel(ALICE, "order-999999")
    with pytest.raises(NotFound):
        cafe.orders.claim(ADMIN, "order-999999")


def test_an_order_is_readable_by_its_customer_and_admins_only(cafe: Cafe):
    order = cafe.place(ALICE)
    assert cafe.orders.get_for(ALICE, order.order_id).order_id == order.order_id
    assert cafe.orders.get_for(ADMIN, order.order_id).order_id == order.order_id
    with pytest.raises(Forbidden):
        cafe.orders.get_for(BOB, order.order_id)


# ===== numbering =====================================================================================


def test_numbering_stores_the_number_and_announces_the_queue_position(cafe: Cafe):
    order = cafe.place(ALICE)
    customer_token = cafe.start_workflow(order)
    cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))

    barista_token = cafe.number(order, 42)

    stored = cafe.stored(order)
    assert (stored.number, stored.barista_token, stored.state) == (42, barista_token, OrderState.QUEUED)
    event = cafe.events_of(order)[-1]
    assert event.detail_type == ev.MANAGER_WAITING_COMPLETION
    assert event.detail["number"] == 42
    assert event.detail["drink"] == "Espresso"
    assert event.detail["message"] == "Order #42 is in the barista's queue"
    # The barista's wait is only resumed by a barista (or a cancel)
    assert cafe.workflow.resumed == [(customer_token, OUTCOME_DRINK_CHOSEN)]
    assert barista_token in cafe.workflow.waiting


def test_a_duplicate_numbering_delivery_publishes_nothing_new(cafe: Cafe):
    order, _, barista_token = cafe.queued(ALICE, number=7)
    events = list(cafe.published.events)
    version = cafe.stored(order).version

    cafe.orders.on_waiting_completion(decode.workflow_waiting_completion(cafe.numbered_detail(order, barista_token, 7)))

    assert cafe.published.events == events
    assert cafe.stored(order).version == version
    assert cafe.stored(order).number == 7


# ===== barista =======================================================================================


def test_a_customer_cannot_act_as_a_barista(cafe: Cafe):
    order, _, _ = cafe.queued(ALICE)
    for command in (cafe.orders.claim, cafe.orders.unclaim, cafe.orders.complete):
        with pytest.raises(Forbidden):
            command(ALICE, order.order_id)
    assert cafe.stored(order).state is OrderState.QUEUED


def test_an_order_cannot_be_claimed_or_completed_before_it_is_numbered(cafe: Cafe):
    order = cafe.place(ALICE)
    cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))

    with pytest.raises(InvalidState):
        cafe.orders.claim(ADMIN, order.order_id)
    with pytest.raises(InvalidState):
        cafe.orders.complete(ADMIN, order.order_id)


def test_an_order_without_a_drink_cannot_be_claimed_or_completed(cafe: Cafe):
    order = cafe.place(ALICE)
    with pytest.raises(InvalidState):
        cafe.orders.claim(ADMIN, order.order_id)
    with pytest.raises(InvalidState):
        cafe.orders.complete(ADMIN, order.order_id)


def test_claiming_puts_the_order_in_production_for_that_barista_only(cafe: Cafe):
    order, _, barista_token = cafe.queued(ALICE)

    claimed = cafe.orders.claim(ADMIN, order.order_id)
    again = cafe.orders.claim(ADMIN, order.order_id)  # a double tap is harmless

    assert claimed.state is OrderState.IN_PRODUCTION and claimed.claimed_by == ADMIN.sub
    assert (again.state, again.claimed_by, again.version) == (claimed.state, claimed.claimed_by, claimed.version)
    assert cafe.types_of(order).count(ev.MAKE_ORDER) == 1
    make = cafe.events_of(order)[-1]
    assert make.detail["claimedBy"] == ADMIN.sub
    assert make.detail["message"] == "A barista is making order #7"
    for command in (cafe.orders.claim, cafe.orders.unclaim, cafe.orders.complete):
        with pytest.raises(AlreadyClaimed):
            command(BARISTA_2, order.order_id)
    assert cafe.stored(order).claimed_by == ADMIN.sub
    assert barista_token in cafe.workflow.waiting


def test_unclaiming_returns_the_order_to_the_queue_for_anyone(cafe: Cafe):
    order, _, _ = cafe.queued(ALICE)
    cafe.orders.claim(ADMIN, order.order_id)

    unclaimed = cafe.orders.unclaim(ADMIN, order.order_id)

    assert unclaimed.state is OrderState.QUEUED and unclaimed.claimed_by is None
    assert cafe.types_of(order)[-1] == ev.ORDER_UNCLAIMED
    assert cafe.orders.claim(BARISTA_2, order.order_id).claimed_by == BARISTA_2.sub


def test_unclaiming_a_queued_order_is_an_invalid_state(cafe: Cafe):
    order, _, _ = cafe.queued(ALICE)
    with pytest.raises(InvalidState):
        cafe.orders.unclaim(ADMIN, order.order_id)


def test_completing_resumes_the_barista_wait_with_completed(cafe: Cafe):
    # Given a barista is making the order
    order, customer_token, barista_token = cafe.queued(ALICE)
    cafe.orders.claim(ADMIN, order.order_id)

    # When
    done = cafe.orders.complete(ADMIN, order.order_id)

    # Then
    assert done.state is OrderState.COMPLETED and done.claimed_by == ADMIN.sub
    assert cafe.workflow.resumed == [(customer_token, OUTCOME_DRINK_CHOSEN), (barista_token, OUTCOME_COMPLETED)]
    completed = cafe.events_of(order)[-1]
    assert completed.detail_type == ev.ORDER_COMPLETED
    assert completed.detail["message"] == "Order #7 is ready for pickup"
    # And a drink that was made counts toward the day
    assert cafe.daily_count(ALICE) == 1
    with pytest.raises(InvalidState):
        cafe.orders.complete(ADMIN, order.order_id)


def test_a_queued_order_can_be_completed_without_claiming_it(cafe: Cafe):
    order, _, barista_token = cafe.queued(ALICE)

    done = cafe.orders.complete(BARISTA_2, order.order_id)

    assert done.claimed_by == BARISTA_2.sub
    assert (barista_token, OUTCOME_COMPLETED) in cafe.workflow.resumed


# ===== cancelling ====================================================================================


def test_cancelling_while_the_workflow_waits_for_the_drink_resumes_the_customer_wait(cafe: Cafe):
    order = cafe.place(ALICE)
    token = cafe.start_workflow(order)

    cancelled = cafe.orders.cancel(ALICE, order.order_id)

    assert cancelled.state is OrderState.CANCELLED
    assert cancelled.reason == "Cancelled by the customer"
    assert cafe.workflow.resumed == [(token, OUTCOME_CANCELLED)]
    event = cafe.events_of(order)[-1]
    assert event.detail_type == ev.ORDER_CANCELLED
    assert event.detail["cancelledBy"] == ALICE.sub
    assert event.detail["message"] == "Cancelled by the customer"


def test_a_cancel_before_the_workflow_token_arrives_is_handed_over_when_it_arrives(cafe: Cafe):
    order = cafe.place(ALICE)
    cafe.orders.cancel(ALICE, order.order_id)
    assert cafe.workflow.resumed == []

    token = cafe.start_workflow(order)

    assert cafe.workflow.resumed == [(token, OUTCOME_CANCELLED)]


def test_a_cancel_after_the_drink_but_before_numbering_resumes_the_barista_wait(cafe: Cafe):
    # Given the customer wait was already resumed with the drink
    order = cafe.place(ALICE)
    customer_token = cafe.start_workflow(order)
    cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))

    # When the customer cancels before the workflow numbered the order
    cafe.orders.cancel(ALICE, order.order_id)
    assert cafe.workflow.resumed == [(customer_token, OUTCOME_DRINK_CHOSEN)]

    # Then the barista wait, once it starts, is told at once
    barista_token = cafe.number(order)
    assert cafe.workflow.resumed[-1] == (barista_token, OUTCOME_CANCELLED)
    assert len(cafe.workflow.resumed) == 2
    assert ev.MANAGER_WAITING_COMPLETION not in cafe.types_of(order)
    assert cafe.stored(order).state is OrderState.CANCELLED


def test_a_cancel_in_the_queue_resumes_the_barista_wait(cafe: Cafe):
    order, customer_token, barista_token = cafe.queued(ALICE)

    cafe.orders.cancel(ALICE, order.order_id)

    assert cafe.workflow.resumed == [(customer_token, OUTCOME_DRINK_CHOSEN), (barista_token, OUTCOME_CANCELLED)]


def test_a_barista_cancelling_in_production_resumes_the_barista_wait(cafe: Cafe):
    order, _, barista_token = cafe.queued(ALICE)
    cafe.orders.claim(ADMIN, order.order_id)

    cancelled = cafe.orders.cancel(BARISTA_2, order.order_id)

    assert cancelled.state is OrderState.CANCELLED
    assert cancelled.reason == "Cancelled by a barista"
    assert cancelled.claimed_by is None
    assert cafe.workflow.resumed[-1] == (barista_token, OUTCOME_CANCELLED)
    assert cafe.events_of(order)[-1].detail["cancelledBy"] == BARISTA_2.sub


def test_another_customer_cannot_cancel(cafe: Cafe):
    order = cafe.place(ALICE)
    with pytest.raises(Forbidden):
        cafe.orders.cancel(BOB, order.order_id)
    assert cafe.stored(order).state is OrderState.WAITING_FOR_DRINK


def test_a_finished_order_cannot_be_cancelled(cafe: Cafe):
    order, _, _ = cafe.queued(ALICE)
    cafe.orders.complete(ADMIN, order.order_id)
    with pytest.raises(InvalidState):
        cafe.orders.cancel(ALICE, order.order_id)


@pytest.mark.parametrize("stage", ["waiting", "queued", "numbered", "in_production"])
def test_a_cancelled_order_gives_the_daily_drink_back(cafe: Cafe, stage):
    # Given Alice's order reached this stage
    if stage == "waiting":
        order = cafe.place(ALICE)
    elif stage == "queued":
        order = cafe.place(ALICE)
        cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))
    else:
        order, _, _ = cafe.queued(ALICE)
        if stage == "in_production":
            cafe.orders.claim(ADMIN, order.order_id)

    # When she cancels
    cafe.orders.cancel(ALICE, order.order_id)

    # Then she may order again the same day (with the next code: this one is spent)
    assert cafe.daily_count(ALICE) == 0
    cafe.next_window()
    assert cafe.place(ALICE).state is OrderState.WAITING_FOR_DRINK


def test_cancelling_twice_gives_the_slot_back_once(cafe: Cafe):
    cafe.settings(maxOrdersPerCustomerPerDay=2)
    first = cafe.place(ALICE)
    cafe.next_window()
    cafe.place(ALICE)
    cafe.orders.cancel(ALICE, first.order_id)

    with pytest.raises(InvalidState):
        cafe.orders.cancel(ALICE, first.order_id)
    assert cafe.daily_count(ALICE) == 1


# ===== endings decided by the workflow ===============================================================


def test_a_timeout_ends_the_order_and_gives_the_daily_drink_back(cafe: Cafe):
    order = cafe.place(ALICE)
    published = len(cafe.published.events)

    ended = cafe.orders.on_timed_out(ev.WorkflowTimedOut(order.order_id, "You did not choose a drink in time"))

    assert ended.state is OrderState.TIMED_OUT
    assert ended.reason == "You did not choose a drink in time"
    assert len(cafe.published.events) == published  # the workflow published OrderTimeOut itself
    assert cafe.workflow.resumed == []
    assert cafe.daily_count(ALICE) == 0
    cafe.next_window()
    cafe.place(ALICE)


def test_a_redelivered_timeout_gives_the_slot_back_only_once(cafe: Cafe):
    cafe.settings(maxOrdersPerCustomerPerDay=2)
    first = cafe.place(ALICE)
    cafe.next_window()
    cafe.place(ALICE)
    assert cafe.daily_count(ALICE) == 2

    cafe.orders.on_timed_out(ev.WorkflowTimedOut(first.order_id, None))
    cafe.orders.on_timed_out(ev.WorkflowTimedOut(first.order_id, None))

    assert cafe.daily_count(ALICE) == 1
    assert cafe.stored(first).reason == "The order timed out"


def test_a_late_timeout_does_not_undo_a_completed_order(cafe: Cafe):
    order, _, _ = cafe.queued(ALICE)
    cafe.orders.complete(ADMIN, order.order_id)

    cafe.orders.on_timed_out(ev.WorkflowTimedOut(order.order_id, "too late"))

    assert cafe.stored(order).state is OrderState.COMPLETED
    assert cafe.daily_count(ALICE) == 1


def test_an_unavailable_shop_rejects_the_order_and_gives_the_daily_drink_back(cafe: Cafe):
    order = cafe.place(ALICE)

    ended = cafe.orders.on_shop_unavailable(ev.WorkflowShopUnavailable(order.order_id, "The queue is full"))

    assert (ended.state, ended.reason) == (OrderState.REJECTED, "The queue is full")
    assert cafe.daily_count(ALICE) == 0
    cafe.orders.on_shop_unavailable(ev.WorkflowShopUnavailable(order.order_id, None))
    assert cafe.stored(order).reason == "The queue is full"


def test_an_unavailable_shop_has_a_default_reason(cafe: Cafe):
    order = cafe.place(ALICE)
    rejected = cafe.orders.on_shop_unavailable(ev.WorkflowShopUnavailable(order.order_id, None))
    assert rejected.reason == "The shop is not taking orders"


# ===== restart recovery ==============================================================================


def test_ending_interrupted_orders_times_out_every_unfinished_one_with_the_workflows_events(cafe: Cafe):
    # Given orders at every stage
    waiting = cafe.place(CUSTOMERS[0])
    queued = cafe.place(CUSTOMERS[1])
    cafe.orders.choose_drink(CUSTOMERS[1], ChooseDrink(queued.order_id, "Espresso", {}))
    making, _, _ = cafe.queued(CUSTOMERS[2], number=3)
    cafe.orders.claim(ADMIN, making.order_id)
    done, _, _ = cafe.queued(CUSTOMERS[3], number=4)
    cafe.orders.complete(ADMIN, done.order_id)
    cancelled = cafe.place(CUSTOMERS[4])
    cafe.orders.cancel(CUSTOMERS[4], cancelled.order_id)
    resumed = list(cafe.workflow.resumed)
    finished_events = {o.order_id: cafe.types_of(o) for o in (done, cancelled)}

    # When the local runtime restarts
    ended = cafe.orders.end_interrupted("The shop restarted")

    # Then
    assert sorted(o.order_id for o in ended) == sorted(o.order_id for o in (waiting, queued, making))
    for order, actor in ((waiting, CUSTOMERS[0]), (queued, CUSTOMERS[1]), (making, CUSTOMERS[2])):
        stored = cafe.stored(order)
        assert (stored.state, stored.reason, stored.claimed_by) == (OrderState.TIMED_OUT, "The shop restarted", None)
        timed_out, finished = cafe.events_of(order)[-2:]
        # The same two events the workflow publishes when it times an order out (statemachine.json)
        assert (timed_out.detail_type, finished.detail_type) == (ev.ORDER_TIMED_OUT, ev.ORDER_FINISHED)
        assert (timed_out.detail["reason"], timed_out.detail["stage"]) == ("The shop restarted", "restart")
        assert timed_out.detail["message"] == "The shop restarted"
        assert finished.detail["outcome"] == "TIMED_OUT"
        assert finished.detail["message"] == "Order finished: TIMED_OUT"
        assert timed_out.detail["idempotencyKey"] != finished.detail["idempotencyKey"]
        assert cafe.daily_count(actor) == 0
        assert stored.outbox == ()
    for order in (done, cancelled):
        assert cafe.types_of(order) == finished_events[order.order_id]
    assert cafe.stored(done).state is OrderState.COMPLETED
    assert cafe.workflow.resumed == resumed

    # And running it again finds nothing left to end
    assert cafe.orders.end_interrupted("The shop restarted") == []


def test_a_crash_before_publishing_new_order_is_repaired_by_the_next_flush(cafe: Cafe):
    # Given the bus fails while the order is placed (the order and its outbox are stored)
    cafe.published.fail_next()
    with pytest.raises(PublishFailed):
        cafe.place(ALICE)
    [order] = cafe.order_repo.list_with_outbox()
    assert [ev.DomainEvent.from_json(t).detail_type for t in order.outbox] == [ev.NEW_ORDER]
    assert cafe.published.events == []

    # When the scheduled flush runs
    assert cafe.orders.flush_outboxes() == 1

    # Then the event is out, once, and the outbox is empty
    assert cafe.types_of(order) == [ev.NEW_ORDER]
    assert cafe.stored(order).outbox == ()
    assert cafe.orders.flush_outboxes() == 0
    assert cafe.types_of(order) == [ev.NEW_ORDER]


def test_a_flush_that_fails_keeps_the_outbox_for_the_next_one(cafe: Cafe):
    cafe.published.fail_next(2)
    with pytest.raises(PublishFailed):
        cafe.place(ALICE)

    with pytest.raises(PublishFailed):
        cafe.orders.flush_outboxes()
    assert len(cafe.order_repo.list_with_outbox()) == 1

    assert cafe.orders.flush_outboxes() == 1
    assert [e.detail_type for e in cafe.published.events] == [ev.NEW_ORDER]
    assert cafe.order_repo.list_with_outbox() == []


def test_a_redelivered_callback_publishes_what_its_crashed_attempt_recorded(cafe: Cafe):
    order = cafe.place(ALICE)
    cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))
    token = f"barista-token-{order.order_id}"
    cafe.workflow.waiting.add(token)
    cafe.published.fail_next()
    with pytest.raises(PublishFailed):
        cafe.orders.on_waiting_completion(decode.workflow_waiting_completion(cafe.numbered_detail(order, token)))

    cafe.orders.on_waiting_completion(decode.workflow_waiting_completion(cafe.numbered_detail(order, token)))

    assert cafe.types_of(order).count(ev.MANAGER_WAITING_COMPLETION) == 1
    assert cafe.stored(order).outbox == ()


def test_a_crash_after_choosing_the_drink_still_reaches_the_waiting_workflow(cafe: Cafe):
    """The customer's drink must reach the workflow even if the bus failed right after it was saved.

    A retry by the customer is refused (the order is already QUEUED) and the workflow's token was
    delivered long ago, so only the recovery path (the scheduled outbox flush) can still hand
    DRINK_CHOSEN to the customer wait; otherwise the workflow times out an order whose drink was chosen.
    """
    # Given the workflow waits for Alice's drink
    order = cafe.place(ALICE)
    token = cafe.start_workflow(order)

    # When the bus fails while her choice is saved (whether the caller sees the failure is not the point)
    cafe.published.fail_next()
    with contextlib.suppress(PublishFailed):
        cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))
    assert cafe.stored(order).state is OrderState.QUEUED
    with pytest.raises(InvalidState):
        cafe.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))
    # ... and the scheduled flush runs
    cafe.orders.flush_outboxes()

    # Then the event is out, once, and the workflow was told
    assert cafe.types_of(order).count(ev.DRINK_CHOSEN) == 1
    assert cafe.workflow.resumed == [(token, OUTCOME_DRINK_CHOSEN)]


# ===== secrets =======================================================================================


def test_task_tokens_never_leave_the_write_model(cafe: Cafe):
    order, customer_token, barista_token = cafe.queued(ALICE)
    cafe.orders.claim(ADMIN, order.order_id)
    cafe.orders.complete(ADMIN, order.order_id)
    stored = cafe.stored(order)
    assert (stored.customer_token, stored.barista_token) == (customer_token, barista_token)

    rendered = json.dumps(order_json(stored))
    published = json.dumps([json.loads(e.to_json()) for e in cafe.published.events])

    for text in (rendered, published):
        assert customer_token not in text
        assert barista_token not in text
        assert "token" not in text.lower()
    assert set(order_json(stored)) == {
        "orderId", "shopId", "userId", "state", "drink", "modifiers", "number", "claimedBy", "reason", "createdAt"
    }


class _UnreachableWorkflow(RecordingWorkflow):
    """Step Functions answering with an error it is not expected to (throttling, an outage)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def resume(self, task_token: str, outcome: str) -> bool:
        if self.down:
            raise ConnectionError("states endpoint unreachable")
        return super().resume(task_token, outcome)


def test_a_workflow_outage_does_not_fail_a_saved_change_and_reconciliation_resumes_it(cafe: Cafe):
    # Given the workflow waits for the customer, but Step Functions is unreachable
    order = cafe.place(ALICE)
    token = cafe.start_workflow(order)
    workflow = _UnreachableWorkflow()
    workflow.waiting.add(token)
    orders = OrderService(
        cafe.shop_repo, cafe.windows, cafe.order_repo, cafe.published, workflow, cafe.clock, SequentialIds()
    )

    # When the customer chooses a drink
    chosen = orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))

    # Then the choice is saved and announced, though the workflow has not heard of it yet
    assert chosen.state is OrderState.QUEUED
    assert ev.DRINK_CHOSEN in cafe.types_of(order)
    assert workflow.resumed == []

    # When Step Functions is back and the scheduled reconciliation runs
    workflow.down = False
    orders.flush_outboxes()

    # Then the workflow is resumed with the customer's choice
    assert workflow.resumed == [(token, OUTCOME_DRINK_CHOSEN)]
