"""LiveUpdatesService with in-memory fakes: each topic gets the right messages; retained state is current."""

from __future__ import annotations

import json

import pytest

from chalicelib.adapters.memory import (
    FixedClock,
    InMemoryCodeWindows,
    InMemoryOrders,
    InMemoryReadModel,
    InMemoryShops,
    RecordingLivePublisher,
    RecordingPublisher,
    RecordingWorkflow,
    SequentialIds,
)
from chalicelib.domain import events as ev
from chalicelib.domain.commands import ChooseDrink, CreateShop, PlaceOrder, SetStoreOpen
from chalicelib.domain.live import BOARD_SNAPSHOT_TYPE, LiveMessage, admin_topic, board_topic, config_topic, user_topic
from chalicelib.domain.order import Actor
from chalicelib.services.live import LiveUpdatesService
from chalicelib.services.orders import OrderService
from chalicelib.services.projection import ProjectionService
from chalicelib.services.queries import QueryService
from chalicelib.services.shops import ShopService

ADMIN = Actor("barista-sub", "barista", True)
ALICE = Actor("alice-sub", "alice", False)
BOB = Actor("bob-sub", "bob", False)
SHOP = "bar"


class World:
    def __init__(self) -> None:
        self.clock = FixedClock()
        windows, shops = InMemoryCodeWindows(), InMemoryShops()
        self.bus = RecordingPublisher()
        self.workflow = RecordingWorkflow()
        self.orders = OrderService(
            shops, windows, InMemoryOrders(windows), self.bus, self.workflow, self.clock, SequentialIds("o")
        )
        self.shops = ShopService(shops, windows, self.bus, self.clock, "http://x/order")
        self.store = store = InMemoryReadModel()
        self.live_out = RecordingLivePublisher()
        self.live = LiveUpdatesService(self.live_out, QueryService(store, self.clock), self.clock)
        self.projection = ProjectionService(store, listener=self.live)
        self.delivered = 0

    def deliver(self) -> None:
        """Hand every event published so far to both consumers, as the bus would."""
        for event in self.bus.events[self.delivered :]:
            self.on_bus(event)
        self.delivered = len(self.bus.events)

    def on_bus(self, event: ev.DomainEvent) -> None:
        detail = json.loads(json.dumps(event.detail))
        self.projection.on_event(event.detail_type, detail)
        self.live.forward(event.detail_type, detail)

    def queued_order(self, actor: Actor) -> str:
        order = self.orders.place(actor, PlaceOrder(SHOP, self.shops.current_code(ADMIN, SHOP)["code"]))
        token = f"t-{order.order_id}"
        self.workflow.waiting.add(token)
        self.orders.on_workflow_started(ev.WorkflowStarted(order.order_id, token))
        self.orders.choose_drink(actor, ChooseDrink(order.order_id, "Espresso", {}))
        barista = f"b-{order.order_id}"
        self.workflow.waiting.add(barista)
        number = len([e for e in self.bus.events if e.detail_type == ev.MANAGER_WAITING_COMPLETION]) + 1
        self.orders.on_waiting_completion(ev.WorkflowWaitingCompletion(order.order_id, number, barista))
        return order.order_id


@pytest.fixture
def world() -> World:
    w = World()
    w.shops.create(ADMIN, CreateShop(SHOP, "Bar"))
    w.shops.set_store_open(ADMIN, SetStoreOpen(SHOP, True))
    w.deliver()
    return w


def _types(messages: list) -> list[str]:  # type: ignore[type-arg]
    return [m.payload["type"] for m in messages]


def test_store_state_is_retained_on_the_config_topic(world: World) -> None:
    retained = world.live_out.retained[config_topic(SHOP)]
    assert retained.payload["type"] == ev.CONFIG_CHANGED
    assert retained.payload["detail"]["shop"]["open"] is True
    world.shops.set_store_open(ADMIN, SetStoreOpen(SHOP, False))
    world.deliver()
    assert world.live_out.retained[config_topic(SHOP)].payload["detail"]["shop"]["open"] is False


def test_a_late_older_config_change_does_not_replace_the_retained_state(world: World) -> None:
    world.shops.set_store_open(ADMIN, SetStoreOpen(SHOP, False))
    closed = world.bus.events[-1]
    world.shops.set_store_open(ADMIN, SetStoreOpen(SHOP, True))
    reopened = world.bus.events[-1]
    world.on_bus(reopened)
    published = len(world.live_out.messages)
    world.on_bus(closed)  # delivered late
    assert world.live_out.retained[config_topic(SHOP)].payload["detail"]["version"] == reopened.detail["version"]
    assert world.live_out.retained[config_topic(SHOP)].payload["detail"]["shop"]["open"] is True
    assert len(world.live_out.messages) == published  # nothing republished for the stale change


def test_each_customer_gets_their_own_orders_and_nothing_else(world: World) -> None:
    alices = world.queued_order(ALICE)
    world.orders.complete(ADMIN, alices)
    bobs = world.queued_order(BOB)
    world.deliver()
    to_alice = world.live_out.on(user_topic(ALICE.sub))
    assert {m.payload["detail"]["orderId"] for m in to_alice} == {alices}
    assert ev.ORDER_COMPLETED in _types(to_alice) and ev.DRINK_CHOSEN in _types(to_alice)
    assert {m.payload["detail"]["orderId"] for m in world.live_out.on(user_topic(BOB.sub))} == {bobs}


def test_admins_get_every_order_event_in_full_without_task_tokens(world: World) -> None:
    order_id = world.queued_order(ALICE)
    world.deliver()
    admin = world.live_out.on(admin_topic(SHOP))
    assert ev.NEW_ORDER in _types(admin) and ev.MANAGER_WAITING_COMPLETION in _types(admin)
    assert all(m.payload["detail"]["orderId"] == order_id for m in admin)
    assert all("taskToken" not in json.dumps(m.payload) for m in world.live_out.messages)


def test_the_board_gets_numbers_only_and_a_retained_snapshot(world: World) -> None:
    first = world.queued_order(ALICE)
    world.queued_order(BOB)
    world.orders.claim(ADMIN, first)
    world.deliver()
    board_events = [m for m in world.live_out.on(board_topic(SHOP)) if not m.retain]
    assert board_events and all(set(m.payload["detail"]) == {"shopId", "number", "state"} for m in board_events)
    snapshot = world.live_out.retained[board_topic(SHOP)]
    assert snapshot.payload["type"] == BOARD_SNAPSHOT_TYPE
    assert snapshot.payload["detail"]["waiting"] == [2]
    assert snapshot.payload["detail"]["inProduction"] == [1]
    world.orders.complete(ADMIN, first)
    world.deliver()
    assert world.live_out.retained[board_topic(SHOP)].payload["detail"]["ready"] == [1]
    assert "userId" not in json.dumps([m.payload for m in world.live_out.on(board_topic(SHOP))])


def test_the_retained_board_shows_a_chosen_drink_only_once_it_is_numbered(world: World) -> None:
    order = world.orders.place(ALICE, PlaceOrder(SHOP, world.shops.current_code(ADMIN, SHOP)["code"]))
    world.workflow.waiting.add("t")
    world.orders.on_workflow_started(ev.WorkflowStarted(order.order_id, "t"))
    world.orders.choose_drink(ALICE, ChooseDrink(order.order_id, "Espresso", {}))
    world.deliver()
    board = world.live_out.retained[board_topic(SHOP)].payload["detail"]
    assert (board["waiting"], board["inProduction"], board["ready"]) == ([], [], [])
    assert world.live.republish_present_state() == 1
    assert world.live_out.retained[board_topic(SHOP)].payload["detail"]["waiting"] == []

    world.workflow.waiting.add("b")
    world.orders.on_waiting_completion(ev.WorkflowWaitingCompletion(order.order_id, 1, "b"))
    world.deliver()
    assert world.live_out.retained[board_topic(SHOP)].payload["detail"]["waiting"] == [1]


def test_present_state_of_every_shop_can_be_republished(world: World) -> None:
    world.queued_order(ALICE)
    world.deliver()
    world.live_out.retained.clear()
    assert world.live.republish_present_state() == 1
    assert world.live_out.retained[config_topic(SHOP)].payload["detail"]["shop"]["open"] is True
    assert world.live_out.retained[board_topic(SHOP)].payload["detail"]["waiting"] == [1]


class RefusingLivePublisher(RecordingLivePublisher):
    """A broker that refuses one topic (say, a payload over its size limit) and takes the rest."""

    def __init__(self, refused_topic: str) -> None:
        super().__init__()
        self.refused_topic = refused_topic

    def publish(self, message: LiveMessage) -> None:
        if message.topic == self.refused_topic:
            raise RuntimeError("payload too large for the broker")
        super().publish(message)


def test_a_shop_the_broker_refuses_does_not_stop_the_others_being_republished(world: World) -> None:
    world.shops.create(ADMIN, CreateShop("another", "Another bar"))
    world.deliver()
    refusing = RefusingLivePublisher(config_topic(SHOP))
    live = LiveUpdatesService(refusing, QueryService(world.store, world.clock), world.clock)
    assert live.republish_present_state() == 1  # one of the two shops published; no exception
    assert config_topic("another") in refusing.retained
    assert board_topic("another") in refusing.retained
    assert board_topic(SHOP) in refusing.retained  # its board still goes out
