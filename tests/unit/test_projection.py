"""ProjectionService: the journey and order views converge whatever order events arrive in, and duplicates.

The events are the ones the services really publish (recorded from a scripted morning at the bar)
together with those the state machine puts on the bus itself (statemachine.json), task tokens included.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.adapters.memory import (
    FixedClock,
    InMemoryCodeWindows,
    InMemoryOrders,
    InMemoryReadModel,
    InMemoryShops,
    RecordingPublisher,
    RecordingWorkflow,
    SequentialIds,
)
from chalicelib.domain import events as ev
from chalicelib.domain.commands import ChooseDrink, CreateShop, PlaceOrder, SetStoreOpen, UpdateSettings
from chalicelib.domain.journey import NUMBERED_STATES, JourneyEntry, OrderView, entry_from_event, fold
from chalicelib.domain.order import Actor, Order, OrderState
from chalicelib.domain.shop import Shop
from chalicelib.handlers import decoders as decode
from chalicelib.services.orders import OrderService
from chalicelib.services.projection import ProjectionService
from chalicelib.services.shops import ShopService

SHOP = "main"
ADMIN = Actor(sub="barista-1", username="anna", is_admin=True)
ALICE = Actor(sub="user-alice", username="alice", is_admin=False)
BOB = Actor(sub="user-bob", username="bob", is_admin=False)
CAROL = Actor(sub="user-carol", username="carol", is_admin=False)
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

Event = tuple[str, dict[str, Any]]


def record_a_morning() -> tuple[list[Event], dict[str, str], list[str]]:
    """Run three orders through the services; return every bus event, the order ids and the task tokens."""
    clock, windows, shop_repo = FixedClock(START), InMemoryCodeWindows(), InMemoryShops()
    bus, workflow = RecordingPublisher(), RecordingWorkflow()
    shops = ShopService(shop_repo, windows, bus, clock, "http://localhost:8000/order")
    orders = OrderService(shop_repo, windows, InMemoryOrders(windows), bus, workflow, clock, SequentialIds("order-"))
    from_workflow: list[Event] = []
    tokens: list[str] = []

    def tick() -> None:
        clock.advance(1)

    def workflow_event(detail_type: str, order: Order, key: str, **fields: Any) -> dict[str, Any]:
        tick()
        detail = {
            "schemaVersion": 1,
            "idempotencyKey": f"exec-{order.order_id}:{key}",
            "at": clock.now().isoformat(),
            "orderId": order.order_id,
            "shopId": order.shop_id,
            "userId": order.user_id,
            **fields,
        }
        from_workflow.append((detail_type, detail))
        return detail

    def started(order: Order) -> None:
        token = f"secret-customer-token-{order.order_id}"
        tokens.append(token)
        workflow.waiting.add(token)
        detail = workflow_event(
            ev.WORKFLOW_STARTED, order, "WorkflowStarted", message="Waiting for the customer", taskToken=token
        )
        orders.on_workflow_started(decode.workflow_started(detail))

    def numbered(order: Order, number: int) -> None:
        token = f"secret-barista-token-{order.order_id}"
        tokens.append(token)
        workflow.waiting.add(token)
        detail = workflow_event(
            ev.PROCESSOR_WAITING_COMPLETION,
            order,
            "WaitingCompletion",
            message=f"Order #{number} is waiting for a barista",
            number=number,
            taskToken=token,
        )
        tick()
        orders.on_waiting_completion(decode.workflow_waiting_completion(detail))

    def finished(order: Order, outcome: str) -> None:
        workflow_event(ev.ORDER_FINISHED, order, "Finished", message=f"Order finished: {outcome}", outcome=outcome)

    shops.create(ADMIN, CreateShop(SHOP, "Main Bar"))
    tick()
    shops.set_store_open(ADMIN, SetStoreOpen(SHOP, True))
    tick()
    shops.update_settings(ADMIN, UpdateSettings(SHOP, {"drinksPerCode": 5}))
    code = shops.current_code(ADMIN, SHOP)["code"]

    tick()
    alice = orders.place(ALICE, PlaceOrder(SHOP, code))
    tick()
    bob = orders.place(BOB, PlaceOrder(SHOP, code))
    tick()
    carol = orders.place(CAROL, PlaceOrder(SHOP, code))
    # Alice chooses before her workflow's token arrives; her order goes all the way.
    tick()
    orders.choose_drink(ALICE, ChooseDrink(alice.order_id, "Cappuccino", {"Milk": "Oat"}))
    started(alice)
    started(bob)
    started(carol)
    numbered(alice, 1)
    tick()
    orders.claim(ADMIN, alice.order_id)
    tick()
    orders.unclaim(ADMIN, alice.order_id)
    tick()
    orders.claim(ADMIN, alice.order_id)
    tick()
    orders.complete(ADMIN, alice.order_id)
    finished(alice, "COMPLETED")
    # Bob cancels before choosing.
    tick()
    orders.cancel(BOB, bob.order_id)
    finished(bob, "CANCELLED")
    # Carol never chooses; the workflow times her out.
    timed_out = workflow_event(
        ev.ORDER_TIMED_OUT, carol, "TimedOut", message="You did not choose a drink in time",
        reason="You did not choose a drink in time", stage="customer",
    )
    orders.on_timed_out(decode.workflow_timed_out(timed_out))
    finished(carol, "TIMED_OUT")
    tick()
    shops.set_store_open(ADMIN, SetStoreOpen(SHOP, False))

    events = [(e.detail_type, e.detail) for e in bus.events] + from_workflow
    ids = {"alice": alice.order_id, "bob": bob.order_id, "carol": carol.order_id}
    return events, ids, tokens


EVENTS, IDS, TOKENS = record_a_morning()


def project(events: list[Event]) -> InMemoryReadModel:
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    for detail_type, detail in events:
        # Each delivery gets its own copy, as a real consumer would (and so nobody can mutate EVENTS).
        projection.on_event(detail_type, json.loads(json.dumps(detail)))
    return store


def snapshot(store: InMemoryReadModel) -> dict[str, Any]:
    return {
        "views": {name: store.get_view(order_id) for name, order_id in IDS.items()},
        "journeys": {name: store.journey(order_id) for name, order_id in IDS.items()},
        "shop": store.get_shop(SHOP),
    }


# The order they were published in (the service events first, then the workflow's) is itself already
# shuffled in time; sorting by `at` gives the order they happened in.
IN_ORDER = sorted(EVENTS, key=lambda e: (e[1]["at"], e[1]["idempotencyKey"]))
BASELINE = snapshot(project(IN_ORDER))


# ----- what the events fold into --------------------------------------------------------------------


def test_a_completed_order_shows_its_number_drink_and_barista():
    view = BASELINE["views"]["alice"]
    assert view.state is OrderState.COMPLETED
    assert (view.shop_id, view.user_id, view.number) == (SHOP, ALICE.sub, 1)
    assert (view.drink, view.modifiers) == ("Cappuccino", {"Milk": "Oat", "Size": "Small"})
    assert view.claimed_by == ADMIN.sub
    assert view.created_at == "2026-11-23T09:00:03+00:00"
    assert view.updated_at > view.created_at
    journey = BASELINE["journeys"]["alice"]
    assert view.queued_at == next(e.at for e in journey if e.detail_type == ev.DRINK_CHOSEN)
    assert view.ready_at == next(e.at for e in journey if e.detail_type == ev.ORDER_COMPLETED)
    assert view.created_at < view.queued_at < view.ready_at
    assert view.event_count == len(BASELINE["journeys"]["alice"])


def test_a_cancelled_and_a_timed_out_order_keep_their_reasons():
    bob, carol = BASELINE["views"]["bob"], BASELINE["views"]["carol"]
    assert (bob.state, bob.reason, bob.number) == (OrderState.CANCELLED, "Cancelled by the customer", None)
    assert (carol.state, carol.reason) == (OrderState.TIMED_OUT, "You did not choose a drink in time")
    for never_ready in (bob, carol):
        assert (never_ready.queued_at, never_ready.ready_at) == (None, None)


def test_the_journey_is_every_event_of_the_order_oldest_first():
    journey = BASELINE["journeys"]["alice"]
    assert [e.detail_type for e in journey] == [
        ev.NEW_ORDER,
        ev.DRINK_CHOSEN,
        ev.WORKFLOW_STARTED,
        ev.PROCESSOR_WAITING_COMPLETION,
        ev.MANAGER_WAITING_COMPLETION,
        ev.MAKE_ORDER,
        ev.ORDER_UNCLAIMED,
        ev.MAKE_ORDER,
        ev.ORDER_COMPLETED,
        ev.ORDER_FINISHED,
    ]
    assert [e.at for e in journey] == sorted(e.at for e in journey)
    assert journey[0].message == "Order placed with a QR code"
    assert journey[-2].message == "Order #1 is ready for pickup"


def test_the_shop_projection_holds_the_latest_config():
    shop = BASELINE["shop"]
    assert isinstance(shop, Shop)
    assert (shop.name, shop.open, shop.version, shop.setting("drinksPerCode")) == ("Main Bar", False, 4, 5)


def test_task_tokens_are_never_stored():
    assert TOKENS, "the scenario should have put tokens on the bus"
    assert any("taskToken" in d for _, d in EVENTS)
    for journey in BASELINE["journeys"].values():
        for entry in journey:
            assert "taskToken" not in entry.detail
            text = json.dumps(entry.detail) + entry.message
            assert not any(token in text for token in TOKENS)
    for view in BASELINE["views"].values():
        assert not any(token in repr(view) for token in TOKENS)


# ----- convergence ----------------------------------------------------------------------------------


def test_a_duplicate_of_every_event_changes_nothing():
    assert snapshot(project(IN_ORDER + IN_ORDER)) == BASELINE


def test_events_in_reverse_converge_on_the_same_view():
    assert snapshot(project(list(reversed(IN_ORDER)))) == BASELINE


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(EVENTS), duplicates=st.lists(st.sampled_from(EVENTS), max_size=12))
def test_any_delivery_order_with_duplicates_converges_on_the_same_view(order, duplicates):
    assert snapshot(project(list(order) + duplicates)) == BASELINE


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_duplicates_interleaved_anywhere_converge_on_the_same_view(data):
    deliveries = list(data.draw(st.permutations(EVENTS)))
    for event in data.draw(st.lists(st.sampled_from(EVENTS), max_size=8)):
        deliveries.insert(data.draw(st.integers(0, len(deliveries))), event)
    assert snapshot(project(deliveries)) == BASELINE


# ----- a queued order always has its number ----------------------------------------------------------


def assert_numbered_if_queued(view: OrderView | None) -> None:
    if view is not None and view.state in NUMBERED_STATES:
        assert view.number is not None, view


@settings(max_examples=80, deadline=None)
@given(order=st.permutations(EVENTS), duplicates=st.lists(st.sampled_from(EVENTS), max_size=12))
def test_no_delivery_order_ever_shows_a_queued_order_without_its_number(order, duplicates):
    """What a client can read at any moment: the stored view after each delivery."""
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    for detail_type, event_detail in list(order) + duplicates:
        projection.on_event(detail_type, json.loads(json.dumps(event_detail)))
        for order_id in IDS.values():
            assert_numbered_if_queued(store.get_view(order_id))


def journey_entries(order_id: str) -> list[JourneyEntry]:
    entries = [entry_from_event(t, d) for t, d in EVENTS if d.get("orderId") == order_id]
    return [e for e in entries if e is not None]


ALICE_ENTRIES = journey_entries(IDS["alice"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ALICE_ENTRIES), max_size=2 * len(ALICE_ENTRIES)))
def test_any_part_of_a_journey_folds_into_a_numbered_queued_order_or_a_waiting_one(entries):
    """The fold itself, over any subset of an order's events in any order with duplicates."""
    view = fold(IDS["alice"], entries)

    assert_numbered_if_queued(view)
    if any(e.detail_type == ev.DRINK_CHOSEN for e in entries):
        assert view.drink == "Cappuccino"
        assert view.queued_at is not None
    assert (view.ready_at is not None) == (view.state is OrderState.COMPLETED)


def test_a_chosen_drink_waits_for_its_number_before_it_is_queued():
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    projection.on_event(ev.NEW_ORDER, detail("o1", "k1", "2026-11-23T09:00:01+00:00", createdAt="2026-11-23T09:00:01"))
    projection.on_event(
        ev.DRINK_CHOSEN, detail("o1", "k2", "2026-11-23T09:00:02+00:00", drink="Latte", modifiers={"Milk": "Oat"})
    )

    chosen = store.get_view("o1")
    assert chosen is not None
    assert (chosen.state, chosen.number, chosen.drink) == (OrderState.WAITING_FOR_DRINK, None, "Latte")
    assert chosen.queued_at == "2026-11-23T09:00:02+00:00"

    projection.on_event(ev.PROCESSOR_WAITING_COMPLETION, detail("o1", "k3", "2026-11-23T09:00:03+00:00", number=7))
    numbered = store.get_view("o1")
    assert numbered is not None
    assert (numbered.state, numbered.number, numbered.drink) == (OrderState.QUEUED, 7, "Latte")
    assert numbered.queued_at == "2026-11-23T09:00:02+00:00"  # when the drink was chosen, not numbered


def test_a_number_arriving_before_the_drink_choice_still_queues_the_order():
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    projection.on_event(
        ev.MANAGER_WAITING_COMPLETION,
        detail("o1", "k3", "2026-11-23T09:00:03+00:00", number=7, drink="Latte", modifiers={"Milk": "Oat"}),
    )

    view = store.get_view("o1")
    assert view is not None
    assert (view.state, view.number, view.drink, view.modifiers) == (OrderState.QUEUED, 7, "Latte", {"Milk": "Oat"})
    assert view.queued_at is None  # the choice's own event has not arrived yet


def test_any_order_manager_event_with_a_number_numbers_the_view():
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    projection.on_event(ev.DRINK_CHOSEN, detail("o1", "k2", "2026-11-23T09:00:02+00:00", drink="Latte"))
    # The claim is delivered before either WaitingCompletion event.
    projection.on_event(ev.MAKE_ORDER, detail("o1", "k5", "2026-11-23T09:00:05+00:00", number=7, claimedBy="b"))

    view = store.get_view("o1")
    assert view is not None
    assert (view.state, view.number, view.claimed_by) == (OrderState.IN_PRODUCTION, 7, "b")


def test_ready_at_is_the_completion_and_only_on_completed_orders():
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    projection.on_event(ev.DRINK_CHOSEN, detail("o1", "k2", "2026-11-23T09:00:02+00:00", drink="Latte"))
    projection.on_event(ev.ORDER_TIMED_OUT, detail("o1", "k3", "2026-11-23T09:00:03+00:00", reason="late"))
    # A completion stamped after the timeout does not make a timed-out order ready.
    projection.on_event(ev.ORDER_COMPLETED, detail("o1", "k4", "2026-11-23T09:00:04+00:00", number=7))
    projection.on_event(ev.DRINK_CHOSEN, detail("o2", "k2", "2026-11-23T09:00:02+00:00", drink="Latte"))
    projection.on_event(ev.ORDER_COMPLETED, detail("o2", "k4", "2026-11-23T09:00:04+00:00", number=8))

    timed_out, completed = store.get_view("o1"), store.get_view("o2")
    assert timed_out is not None and completed is not None
    assert (timed_out.state, timed_out.ready_at) == (OrderState.TIMED_OUT, None)
    assert (completed.state, completed.ready_at) == (OrderState.COMPLETED, "2026-11-23T09:00:04+00:00")


# ----- hand-built edge cases ------------------------------------------------------------------------


def detail(order_id: str, key: str, at: str, **fields: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "idempotencyKey": key,
        "at": at,
        "message": key,
        "orderId": order_id,
        "shopId": SHOP,
        "userId": ALICE.sub,
        **fields,
    }


def test_a_final_state_is_never_left_whatever_arrives_after_it():
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    projection.on_event(ev.NEW_ORDER, detail("o1", "k1", "2026-11-23T09:00:01+00:00", createdAt="2026-11-23T09:00:01"))
    projection.on_event(ev.DRINK_CHOSEN, detail("o1", "k2", "2026-11-23T09:00:02+00:00", drink="Espresso"))
    projection.on_event(ev.ORDER_COMPLETED, detail("o1", "k3", "2026-11-23T09:00:03+00:00", claimedBy="b"))
    # A barista timeout the workflow reports later, and a stray unclaim
    projection.on_event(ev.ORDER_TIMED_OUT, detail("o1", "k4", "2026-11-23T09:00:04+00:00", reason="late"))
    projection.on_event(ev.ORDER_UNCLAIMED, detail("o1", "k5", "2026-11-23T09:00:05+00:00"))

    view = store.get_view("o1")
    assert view is not None
    assert (view.state, view.claimed_by, view.reason) == (OrderState.COMPLETED, "b", None)
    assert view.event_count == 5


def test_a_view_waits_for_the_events_that_say_whose_order_it_is():
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    anonymous = detail("o1", "k2", "2026-11-23T09:00:02+00:00", drink="Espresso")
    del anonymous["shopId"], anonymous["userId"]

    projection.on_event(ev.DRINK_CHOSEN, anonymous)
    assert store.get_view("o1") is None
    assert len(store.journey("o1")) == 1

    projection.on_event(ev.NEW_ORDER, detail("o1", "k1", "2026-11-23T09:00:01+00:00", createdAt="2026-11-23T09:00:01"))
    view = store.get_view("o1")
    assert view == OrderView(
        order_id="o1",
        shop_id=SHOP,
        user_id=ALICE.sub,
        state=OrderState.WAITING_FOR_DRINK,  # chosen, but not numbered yet
        drink="Espresso",
        created_at="2026-11-23T09:00:01",
        updated_at="2026-11-23T09:00:02+00:00",
        queued_at="2026-11-23T09:00:02+00:00",
        event_count=2,
    )


def test_events_without_an_order_are_ignored():
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    projection.on_event(ev.ORDER_FINISHED, {"schemaVersion": 1, "idempotencyKey": "k", "at": "t", "message": "m"})
    assert store.get_view("k") is None


def test_an_older_config_never_replaces_a_newer_one():
    configs = [(t, d) for t, d in IN_ORDER if t == ev.CONFIG_CHANGED]
    assert [d["version"] for _, d in configs] == [1, 2, 3, 4]
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    for detail_type, d in reversed(configs):
        projection.on_event(detail_type, d)
    shop = store.get_shop(SHOP)
    assert shop is not None
    assert shop == BASELINE["shop"]


def test_a_cancel_in_production_clears_the_barista_from_the_view():
    store = InMemoryReadModel()
    projection = ProjectionService(store)
    projection.on_event(ev.NEW_ORDER, detail("o1", "k1", "2026-11-23T09:00:01+00:00"))
    projection.on_event(ev.DRINK_CHOSEN, detail("o1", "k2", "2026-11-23T09:00:02+00:00", drink="Espresso"))
    projection.on_event(ev.MAKE_ORDER, detail("o1", "k3", "2026-11-23T09:00:03+00:00", claimedBy="b"))
    projection.on_event(
        ev.ORDER_CANCELLED, detail("o1", "k4", "2026-11-23T09:00:04+00:00", reason="Cancelled by a barista")
    )

    view = store.get_view("o1")
    assert view is not None
    assert (view.state, view.claimed_by, view.reason) == (OrderState.CANCELLED, None, "Cancelled by a barista")
