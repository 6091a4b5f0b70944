"""Live updates over MQTT on the running stack, with the AWS IoT Device SDK v2 client (awscrt)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from awscrt import mqtt
from awscrt.exceptions import AwsCrtError

from chalicelib.domain import events as ev
from chalicelib.domain.live import BOARD_SNAPSHOT_TYPE, admin_topic, board_topic, config_topic, user_topic
from serverlesspresso.identity import subject_of
from serverlesspresso.watch import WatchTarget, connect, open_session
from tests.support.stack import Api, Stack, new_customer, queued_order, wait_queued


class Inbox:
    """Messages a client received, by topic, with a wait."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self._changed = threading.Condition()

    def __call__(self, topic: str, payload: bytes, retain: bool = False, **kwargs: Any) -> None:
        with self._changed:
            self.messages.append((topic, json.loads(payload), retain))
            self._changed.notify_all()

    def on(self, topic: str) -> list[dict[str, Any]]:
        with self._changed:
            return [payload for t, payload, _ in self.messages if t == topic]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 30) -> None:
        with self._changed:
            assert self._changed.wait_for(predicate, timeout), f"never happened; received: {self.messages}"


@pytest.fixture
def clients(stack: Stack) -> Iterator[Callable[..., Any]]:
    opened: list[mqtt.Connection] = []

    def open_client(token: str, websocket: bool = False, client_id: str | None = None, clean: bool = True) -> Any:
        url = stack.mqtt_ws_url if websocket else stack.mqtt_url
        connection = connect(WatchTarget(url, token, ()), client_id=client_id, clean_session=clean)
        opened.append(connection)
        return connection

    yield open_client
    for connection in opened:
        with contextlib.suppress(Exception):  # some tests end their connection on purpose
            connection.disconnect().result(5)


def subscribe(connection: Any, topic: str, inbox: Inbox) -> None:
    future, _ = connection.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE, inbox)
    future.result(10)


def _types(payloads: list[dict[str, Any]]) -> list[str]:
    return [p["type"] for p in payloads]


def test_each_topic_gets_the_right_events_of_a_full_journey(api: Api, admin: str, clients: Any) -> None:
    shop_id = api.new_shop(admin)
    alice_name, bob_name = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    alice, bob = api.token(alice_name), api.token(bob_name)
    alice_inbox, bob_inbox, admin_inbox, board_inbox = Inbox(), Inbox(), Inbox(), Inbox()
    subscribe(clients(alice, websocket=True), user_topic(subject_of(alice_name)), alice_inbox)
    subscribe(clients(bob), user_topic(subject_of(bob_name)), bob_inbox)
    subscribe(clients(admin), admin_topic(shop_id), admin_inbox)
    subscribe(clients(api.token("display")), board_topic(shop_id), board_inbox)

    order_id = api.place(shop_id, alice, admin)
    api.call("PUT", f"/orders/{order_id}/drink", alice, {"drink": "Espresso"})
    wait_queued(api, order_id, alice)
    api.call("POST", f"/orders/{order_id}/claim", admin)
    api.call("POST", f"/orders/{order_id}/complete", admin)

    alice_topic = user_topic(subject_of(alice_name))
    alice_inbox.wait_for(lambda: ev.ORDER_FINISHED in _types(alice_inbox.on(alice_topic)))
    mine = alice_inbox.on(alice_topic)
    for expected in (ev.NEW_ORDER, ev.DRINK_CHOSEN, ev.MANAGER_WAITING_COMPLETION, ev.MAKE_ORDER, ev.ORDER_COMPLETED):
        assert expected in _types(mine)
    assert all(p["detail"]["orderId"] == order_id for p in mine)

    admin_inbox.wait_for(lambda: ev.ORDER_FINISHED in _types(admin_inbox.on(admin_topic(shop_id))))
    assert ev.WORKFLOW_STARTED in _types(admin_inbox.on(admin_topic(shop_id)))

    board_inbox.wait_for(
        lambda: any(
            p["type"] == BOARD_SNAPSHOT_TYPE and p["detail"]["ready"] for p in board_inbox.on(board_topic(shop_id))
        )
    )
    for payload in board_inbox.on(board_topic(shop_id)):
        assert set(payload["detail"]) <= {"shopId", "number", "state", "waiting", "inProduction", "ready"}

    everything = json.dumps([m for inbox in (alice_inbox, admin_inbox, board_inbox) for m in inbox.messages])
    assert "taskToken" not in everything
    time.sleep(0.5)
    assert bob_inbox.messages == []  # a customer never receives another customer's events


def test_retained_store_state_and_board_arrive_on_subscribe(api: Api, admin: str, clients: Any) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, queued = queued_order(api, shop_id, customer, admin)
    number = queued["number"]
    time.sleep(0.5)  # the board snapshot follows the projection

    late = Inbox()
    connection = clients(api.token("late-display"))
    subscribe(connection, config_topic(shop_id), late)
    subscribe(connection, board_topic(shop_id), late)
    late.wait_for(lambda: len(late.messages) >= 2)
    config = late.on(config_topic(shop_id))[0]
    assert config["detail"]["shop"]["open"] is True
    board = late.on(board_topic(shop_id))[0]
    assert board["type"] == BOARD_SNAPSHOT_TYPE and board["detail"]["waiting"] == [number]
    assert all(retained for _, _, retained in late.messages)


def test_forbidden_subscriptions_are_refused_with_a_suback_failure(api: Api, clients: Any) -> None:
    customer_name = f"nosy-{uuid.uuid4().hex[:6]}"
    connection = clients(api.token(customer_name))
    for topic in (user_topic(subject_of("somebody-else")), admin_topic("default"), "serverlesspresso/#"):
        future, _ = connection.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE, Inbox())
        with pytest.raises(mqtt.SubscribeError):
            future.result(10)
    allowed, _ = connection.subscribe(user_topic(subject_of(customer_name)), mqtt.QoS.AT_LEAST_ONCE, Inbox())
    assert allowed.result(10)["qos"] == mqtt.QoS.AT_LEAST_ONCE  # the connection survived the refusals


def test_clients_cannot_publish(api: Api, clients: Any) -> None:
    name = f"mallory-{uuid.uuid4().hex[:6]}"
    watcher_inbox = Inbox()
    subscribe(clients(api.token("board-watcher")), board_topic("default"), watcher_inbox)
    watcher_inbox.wait_for(lambda: len(watcher_inbox.messages) >= 1)  # the retained board
    before = len(watcher_inbox.messages)
    mallory = clients(api.token(name))
    fake = json.dumps({"type": BOARD_SNAPSHOT_TYPE, "detail": {"waiting": [666]}}).encode()
    # The broker disconnects a client that publishes, so the PUBACK may never come: either way, refused.
    with contextlib.suppress(Exception):
        mallory.publish(board_topic("default"), fake, mqtt.QoS.AT_LEAST_ONCE)[0].result(3)
    time.sleep(1)
    assert len(watcher_inbox.messages) == before


@pytest.mark.parametrize("token", ["", "not-a-jwt"])
def test_connect_without_a_valid_token_is_refused(stack: Stack, token: str) -> None:
    with pytest.raises(AwsCrtError):
        connect(WatchTarget(stack.mqtt_url, token, ()), client_id=f"anon-{uuid.uuid4().hex[:6]}")


def test_a_persistent_session_gets_what_it_missed(api: Api, admin: str, clients: Any) -> None:
    shop_id = api.new_shop(admin)
    name = f"phone-{uuid.uuid4().hex[:6]}"
    token = api.token(name)
    client_id = f"phone-{uuid.uuid4().hex[:8]}"
    first = clients(token, client_id=client_id, clean=False)
    subscribe(first, user_topic(subject_of(name)), Inbox())
    first.disconnect().result(5)

    order_id = api.place(shop_id, token, admin)
    api.wait_for_view(order_id, token, lambda v: len(v["journey"]) >= 2)
    time.sleep(0.5)

    inbox = Inbox()
    resumed, session_present = open_session(
        WatchTarget(api.stack.mqtt_url, token, ()), client_id=client_id, clean_session=False, on_message=inbox
    )
    try:
        assert session_present is True
        inbox.wait_for(lambda: ev.NEW_ORDER in _types(inbox.on(user_topic(subject_of(name)))))
    finally:
        resumed.disconnect().result(5)
