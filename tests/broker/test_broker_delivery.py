"""Subscribe/receive/publish rules and delivery (retained, QoS, persistent sessions, wills) on the broker process."""

from __future__ import annotations

import asyncio
import time

import pytest
from broker_raw_client import RawClient, Will
from broker_testkit import RunningBroker, many_tokens, run, user_topic_of

REFUSED = 0x80
CONFIG = "serverlesspresso/shops/+/config"
BOARD = "serverlesspresso/shops/+/board"


async def backend(broker: RunningBroker, client_id: str) -> RawClient:
    client = RawClient(broker.port)
    assert await client.connect(client_id, broker.credentials.username, broker.credentials.password) == (0, 0)
    return client


async def person(
    broker: RunningBroker,
    username: str,
    client_id: str,
    admin: bool = False,
    clean: bool = True,
    will: Will | None = None,
    expect: tuple[int, int] = (0, 0),
) -> RawClient:
    client = RawClient(broker.port)
    token = broker.token(username, admin=admin)
    assert await client.connect(client_id, username, token, clean=clean, will=will) == expect
    return client


def test_a_customer_subscribes_to_their_topic_and_the_shops_public_topics(broker: RunningBroker) -> None:
    async def scenario() -> None:
        alice = await person(broker, "alice", "sub-alice")
        codes = await alice.subscribe(
            user_topic_of("alice"), CONFIG, BOARD, user_topic_of("bob"), "serverlesspresso/shops/x/admin"
        )
        assert codes == [1, 1, 1, REFUSED, REFUSED]
        assert await alice.subscribe("serverlesspresso/#", "#", "serverlesspresso/users/+") == [REFUSED] * 3
        # Refusals keep the connection: the next SUBSCRIBE still works.
        assert await alice.subscribe("serverlesspresso/shops/s1/board", qos=0) == [0]
        assert not alice.closed.is_set()
        await alice.disconnect()

    run(scenario())


def test_an_admin_subscribes_to_shop_admin_topics(broker: RunningBroker) -> None:
    async def scenario() -> None:
        admin = await person(broker, "ada", "sub-ada", admin=True)
        assert await admin.subscribe("serverlesspresso/shops/x/admin", "serverlesspresso/shops/+/admin") == [1, 1]
        assert await admin.subscribe(user_topic_of("alice")) == [REFUSED]
        await admin.disconnect()

    run(scenario())


def test_a_customer_publish_is_dropped_and_the_customer_disconnected(broker: RunningBroker) -> None:
    async def scenario() -> None:
        admin = await person(broker, "ada", "pub-ada", admin=True)
        assert await admin.subscribe("serverlesspresso/shops/+/admin", BOARD) == [1, 1]
        alice_watch = await person(broker, "alice", "pub-alice-watch")
        assert await alice_watch.subscribe(user_topic_of("alice")) == [1]
        monitor = await backend(broker, "pub-monitor")
        assert await monitor.subscribe("serverlesspresso/#") == [1]

        attempts = [
            ("serverlesspresso/shops/s1/admin", 1),
            ("serverlesspresso/shops/s1/board", 0),
            (user_topic_of("alice"), 1),
        ]
        for topic, qos in attempts:
            alice = await person(broker, "alice", "pub-alice")
            acked = await alice.publish(topic, b"forged", qos=qos, timeout=0.2)
            await asyncio.wait_for(alice.closed.wait(), 2)
            assert acked in (None, False)  # no PUBACK for a refused QoS 1 publish
        # An admin may not publish either.
        await admin.publish("serverlesspresso/shops/s1/admin", b"forged", qos=1, timeout=0.2)
        await asyncio.wait_for(admin.closed.wait(), 2)

        for watcher in (alice_watch, monitor):
            assert await watcher.drain(0.3) == []
        await alice_watch.disconnect()
        await monitor.disconnect()

    run(scenario())


def test_backend_publishes_reach_the_subscribers_at_the_lower_qos(broker: RunningBroker) -> None:
    async def scenario() -> None:
        alice = await person(broker, "alice", "del-alice")
        assert await alice.subscribe(user_topic_of("alice")) == [1]
        assert await alice.subscribe(BOARD, qos=0) == [0]
        bob = await person(broker, "bob", "del-bob")
        assert await bob.subscribe(user_topic_of("bob")) == [1]
        be = await backend(broker, "del-backend")

        assert await be.publish(user_topic_of("alice"), b'{"n":1}', qos=1) is True
        message = await alice.next()
        assert (message.topic, message.payload, message.qos, message.retain) == (
            user_topic_of("alice"),
            b'{"n":1}',
            1,
            False,
        )
        await be.publish(user_topic_of("alice"), b"qos0", qos=0)
        assert (await alice.next()).qos == 0  # QoS 0 publish on a QoS 1 subscription: QoS 0
        await be.publish("serverlesspresso/shops/s1/board", b"board", qos=1)
        assert (await alice.next()).qos == 0  # QoS 1 publish on a QoS 0 subscription: QoS 0
        assert await bob.drain(0.2) == []  # nothing of Alice's reaches Bob
        for client in (alice, bob, be):
            await client.disconnect()

    run(scenario())


def test_retained_messages_arrive_on_subscribe_and_can_be_cleared(broker: RunningBroker) -> None:
    async def scenario() -> None:
        be = await backend(broker, "ret-backend")
        await be.publish("serverlesspresso/shops/r1/config", b'{"open":true}', qos=1, retain=True)
        await be.publish("serverlesspresso/shops/r2/config", b'{"open":false}', qos=1, retain=True)
        alice = await person(broker, "alice", "ret-alice")
        assert await alice.subscribe("serverlesspresso/shops/r1/config") == [1]
        message = await alice.next()
        assert (message.payload, message.retain, message.qos) == (b'{"open":true}', True, 1)
        assert await alice.drain(0.2) == []
        # A live subscriber gets later retained publishes as normal messages (retain=0).
        await be.publish("serverlesspresso/shops/r1/config", b'{"open":false}', qos=1, retain=True)
        assert (await alice.next()).retain is False
        # An empty retained payload clears it.
        await be.publish("serverlesspresso/shops/r2/config", b"", qos=1, retain=True)
        late = await person(broker, "carol", "ret-carol")
        assert await late.subscribe(CONFIG) == [1]
        got = {m.topic: m.payload for m in await late.drain(0.3)}
        assert got.get("serverlesspresso/shops/r1/config") == b'{"open":false}'
        assert "serverlesspresso/shops/r2/config" not in got
        await be.publish("serverlesspresso/shops/r1/config", b"", qos=1, retain=True)  # leave nothing behind
        for client in (be, alice, late):
            await client.disconnect()

    run(scenario())


def test_retained_messages_never_leak_past_the_subscription_rules(broker: RunningBroker) -> None:
    """Stock amqtt sent every connecting client the retained messages of every filter anyone had subscribed to."""

    async def scenario() -> None:
        be = await backend(broker, "leak-backend")
        await be.publish("serverlesspresso/shops/l1/admin", b"admin only", qos=1, retain=True)
        await be.publish(user_topic_of("bob"), b"bob only", qos=1, retain=True)
        admin = await person(broker, "ada", "leak-ada", admin=True)
        assert await admin.subscribe("serverlesspresso/shops/+/admin") == [1]
        assert (await admin.next()).payload == b"admin only"
        bob = await person(broker, "bob", "leak-bob")
        assert await bob.subscribe(user_topic_of("bob")) == [1]
        assert (await bob.next()).payload == b"bob only"
        eve = await person(broker, "eve", "leak-eve", clean=False)
        assert await eve.subscribe(user_topic_of("eve")) == [1]
        await eve.disconnect()
        eve = RawClient(broker.port)
        assert await eve.connect("leak-eve", "eve", broker.token("eve"), clean=False) == (1, 0)
        assert await eve.drain(0.3) == []
        await be.publish("serverlesspresso/shops/l1/admin", b"", qos=1, retain=True)
        await be.publish(user_topic_of("bob"), b"", qos=1, retain=True)
        for client in (be, admin, bob, eve):
            await client.disconnect()

    run(scenario())


def test_a_persistent_session_gets_the_qos1_messages_published_while_offline(broker: RunningBroker) -> None:
    async def scenario() -> None:
        alice = await person(broker, "alice", "persist-alice", clean=False)
        assert await alice.subscribe(user_topic_of("alice")) == [1]
        await alice.abort()  # abrupt: the broker must notice and keep the session
        be = await backend(broker, "persist-backend")
        await asyncio.sleep(0.1)
        for n in range(3):
            assert await be.publish(user_topic_of("alice"), f"m{n}".encode(), qos=1)
        await be.publish(user_topic_of("alice"), b"qos0 is not kept", qos=0)
        await asyncio.sleep(0.1)

        alice = RawClient(broker.port)
        assert await alice.connect("persist-alice", "alice", broker.token("alice"), clean=False) == (1, 0)
        messages = await alice.drain(0.4)
        assert [m.payload for m in messages] == [b"m0", b"m1", b"m2"]
        assert all(m.qos == 1 and not m.retain for m in messages)
        # The subscription survived too.
        await be.publish(user_topic_of("alice"), b"live", qos=1)
        assert (await alice.next()).payload == b"live"
        await alice.disconnect()
        # clean=True discards the session.
        alice = RawClient(broker.port)
        assert await alice.connect("persist-alice", "alice", broker.token("alice"), clean=True) == (0, 0)
        await alice.disconnect()
        await be.disconnect()

    run(scenario())


def test_an_unacknowledged_qos1_message_is_resent_with_dup_after_reconnect(broker: RunningBroker) -> None:
    async def scenario() -> None:
        alice = await person(broker, "alice", "dup-alice", clean=False)
        assert await alice.subscribe(user_topic_of("alice")) == [1]
        alice.auto_ack = False
        be = await backend(broker, "dup-backend")
        await be.publish(user_topic_of("alice"), b"unacked", qos=1)
        first = await alice.next()
        assert (first.payload, first.dup) == (b"unacked", False)
        await alice.abort()
        await asyncio.sleep(0.2)
        alice = RawClient(broker.port)
        assert await alice.connect("dup-alice", "alice", broker.token("alice"), clean=False) == (1, 0)
        again = await alice.next()
        assert (again.payload, again.dup) == (b"unacked", True)
        await alice.disconnect()
        await be.disconnect()

    run(scenario())


def test_losing_the_admin_group_stops_admin_messages_to_a_resumed_session(broker: RunningBroker) -> None:
    async def scenario() -> None:
        ada = await person(broker, "ada", "demoted-ada", admin=True, clean=False)
        assert await ada.subscribe("serverlesspresso/shops/+/admin") == [1]
        await ada.disconnect()
        be = await backend(broker, "demoted-backend")
        await be.publish("serverlesspresso/shops/d1/admin", b"queued while offline", qos=1)
        ada = await person(broker, "ada", "demoted-ada", admin=False, clean=False, expect=(1, 0))
        await be.publish("serverlesspresso/shops/d1/admin", b"live", qos=1)
        assert await ada.drain(0.3) == []
        await ada.disconnect()
        await be.disconnect()

    run(scenario())


def test_a_will_on_the_clients_own_topic_fires_on_an_abrupt_disconnect(broker: RunningBroker) -> None:
    async def scenario() -> None:
        watcher = await person(broker, "alice", "will-watch")
        assert await watcher.subscribe(user_topic_of("alice")) == [1]
        will = Will(user_topic_of("alice"), b'{"presence":"offline"}', qos=1)

        polite = await person(broker, "alice", "will-polite", will=will)
        await polite.disconnect()
        assert await watcher.drain(0.3) == []  # DISCONNECT: no will

        rude = await person(broker, "alice", "will-rude", will=will)
        await rude.abort()
        message = await watcher.next()
        assert (message.topic, message.payload, message.qos) == (will.topic, will.payload, 1)
        await watcher.disconnect()

    run(scenario())


def test_a_will_anywhere_else_refuses_the_connect(broker: RunningBroker) -> None:
    async def scenario() -> None:
        for topic in (user_topic_of("bob"), "serverlesspresso/shops/s1/board", "serverlesspresso/shops/s1/admin"):
            client = RawClient(broker.port)
            will = Will(topic, b"injected")
            assert await client.connect("will-bad", "ada", broker.token("ada", admin=True), will=will) == (0, 5)

    run(scenario())


def test_keep_alive_is_enforced_and_fires_the_will(broker: RunningBroker) -> None:
    async def scenario() -> None:
        watcher = await person(broker, "alice", "ka-watch")
        assert await watcher.subscribe(user_topic_of("alice")) == [1]
        silent = RawClient(broker.port)
        will = Will(user_topic_of("alice"), b"timed out")
        assert await silent.connect("ka-silent", "alice", broker.token("alice"), keepalive=1, will=will) == (0, 0)
        started = time.perf_counter()
        message = await watcher.next(timeout=4)
        assert message.payload == b"timed out"
        assert 1.0 <= time.perf_counter() - started < 3.5  # 1.5 x keep-alive, plus slack
        await asyncio.wait_for(silent.closed.wait(), 1)
        await watcher.disconnect()

    run(scenario())


def test_a_second_connection_with_the_same_client_id_takes_over(broker: RunningBroker) -> None:
    async def scenario() -> None:
        old = await person(broker, "alice", "takeover-alice", clean=False)
        assert await old.subscribe(user_topic_of("alice")) == [1]
        new = RawClient(broker.port)
        assert await new.connect("takeover-alice", "alice", broker.token("alice"), clean=False) == (1, 0)
        await asyncio.wait_for(old.closed.wait(), 2)
        be = await backend(broker, "takeover-backend")
        await be.publish(user_topic_of("alice"), b"to the new one", qos=1)
        assert (await new.next()).payload == b"to the new one"
        await new.disconnect()
        await be.disconnect()

    run(scenario())


def test_fan_out_to_many_subscribers(broker: RunningBroker, capsys: pytest.CaptureFixture[str]) -> None:
    count = 200

    async def scenario() -> None:
        clients = [RawClient(broker.port) for _ in range(count)]
        tokens = many_tokens(broker.identity, [f"fan{n}" for n in range(count)])
        limit = asyncio.Semaphore(50)

        async def join(n: int) -> None:
            async with limit:
                assert await clients[n].connect(f"fan{n}", f"fan{n}", tokens[n], timeout=10) == (0, 0)
                assert await clients[n].subscribe(BOARD, timeout=10) == [1]

        await asyncio.gather(*(join(n) for n in range(count)))
        be = await backend(broker, "fan-backend")
        started = time.perf_counter()
        assert await be.publish("serverlesspresso/shops/fan/board", b'{"number":7}', qos=1)
        messages = await asyncio.gather(*(client.next(timeout=10) for client in clients))
        last = max(m.at for m in messages) - started
        assert {m.payload for m in messages} == {b'{"number":7}'}
        with capsys.disabled():
            print(f"\nfan-out: 1 QoS1 publish reached {count} subscribers in {last * 1000:.0f} ms")
        await asyncio.gather(*(client.abort(graceful=True) for client in clients))
        await be.disconnect()

    run(scenario(), timeout=30)
