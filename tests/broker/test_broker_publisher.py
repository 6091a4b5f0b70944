"""BackendPublisher: the backend's synchronous, thread-safe publisher (amqtt MQTTClient on a private loop)."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker_raw_client import RawClient
from broker_testkit import RunningBroker, run, start_broker, user_topic_of

from serverlesspresso.broker.client import BackendPublisher, PublishError
from serverlesspresso.broker.credentials import InternalCredentials
from serverlesspresso.identity import LocalIdentityProvider


@pytest.fixture(scope="module")
def publisher(broker: RunningBroker) -> Iterator[BackendPublisher]:
    with BackendPublisher("127.0.0.1", broker.port, broker.credentials) as pub:
        pub.connect()
        yield pub


async def subscriber(broker: RunningBroker, username: str, *filters: str) -> RawClient:
    client = RawClient(broker.port)
    assert await client.connect(f"{username}-{time.monotonic_ns()}", username, broker.token(username)) == (0, 0)
    assert await client.subscribe(*filters) == [1] * len(filters)
    return client


def test_publishes_reach_subscribers(broker: RunningBroker, publisher: BackendPublisher) -> None:
    async def scenario() -> None:
        alice = await subscriber(broker, "alice", user_topic_of("alice"))
        await asyncio.to_thread(publisher.publish, user_topic_of("alice"), b'{"state":"READY"}', False)
        message = await alice.next()
        assert (message.payload, message.qos, message.retain) == (b'{"state":"READY"}', 1, False)
        await asyncio.to_thread(publisher.publish, user_topic_of("alice"), b"fire and forget", False, 0)
        assert (await alice.next()).qos == 0
        await alice.disconnect()

    run(scenario())


def test_retained_publishes_greet_later_subscribers(broker: RunningBroker, publisher: BackendPublisher) -> None:
    publisher.publish("serverlesspresso/shops/p1/config", b'{"open":true}', retain=True)

    async def scenario() -> None:
        late = await subscriber(broker, "bob", "serverlesspresso/shops/p1/config")
        message = await late.next()
        assert (message.payload, message.retain) == (b'{"open":true}', True)
        await late.disconnect()

    run(scenario())
    publisher.publish("serverlesspresso/shops/p1/config", b"", retain=True)


def test_many_threads_share_one_publisher(broker: RunningBroker, publisher: BackendPublisher) -> None:
    threads, each = 8, 40

    async def scenario() -> None:
        watcher = await subscriber(broker, "carol", "serverlesspresso/shops/+/board")

        def work(worker: int) -> None:
            for n in range(each):
                publisher.publish(f"serverlesspresso/shops/t{worker}/board", f"{n}".encode(), retain=False)

        await asyncio.gather(*(asyncio.to_thread(work, w) for w in range(threads)))
        received = [await watcher.next() for _ in range(threads * each)]
        for worker in range(threads):
            mine = [int(m.payload) for m in received if m.topic == f"serverlesspresso/shops/t{worker}/board"]
            assert mine == list(range(each))  # every message, in each thread's order
        assert await watcher.drain(0.1) == []
        await watcher.disconnect()

    run(scenario())


def test_publish_latency(publisher: BackendPublisher, capsys: pytest.CaptureFixture[str]) -> None:
    timings = {}
    for qos in (1, 0):
        samples = []
        for _ in range(300):
            started = time.perf_counter()
            publisher.publish("serverlesspresso/shops/lat/admin", b'{"type":"x"}', retain=False, qos=qos)
            samples.append(time.perf_counter() - started)
        samples.sort()
        timings[qos] = (statistics.median(samples) * 1000, samples[int(len(samples) * 0.99)] * 1000)
    with capsys.disabled():
        print(
            f"\nBackendPublisher latency: QoS1 median {timings[1][0]:.2f} ms, p99 {timings[1][1]:.2f} ms;"
            f" QoS0 median {timings[0][0]:.2f} ms, p99 {timings[0][1]:.2f} ms"
        )
    assert timings[1][0] < 20  # generous: CI machines are busy


def test_bad_arguments_are_refused_before_sending(publisher: BackendPublisher) -> None:
    with pytest.raises(ValueError):
        publisher.publish("serverlesspresso/shops/x/board", b"x", retain=False, qos=2)
    with pytest.raises(ValueError):
        publisher.publish("serverlesspresso/shops/+/board", b"x", retain=False)
    with pytest.raises(ValueError):
        publisher.publish("", b"x", retain=False)


def test_a_wrong_password_fails_within_the_timeout(broker: RunningBroker) -> None:
    wrong = InternalCredentials(broker.credentials.username, "not-the-password-at-all")
    with BackendPublisher("127.0.0.1", broker.port, wrong, timeout=0.5) as pub:
        with pytest.raises(PublishError, match="cannot connect"):
            pub.connect()
        started = time.perf_counter()
        with pytest.raises(PublishError):
            pub.publish("serverlesspresso/shops/x/board", b"x", retain=False)
        assert time.perf_counter() - started < 2
    with pytest.raises(PublishError, match="closed"):
        pub.publish("serverlesspresso/shops/x/board", b"x", retain=False)


def test_reconnects_after_a_broker_restart_and_replays_retained_state(
    identity: LocalIdentityProvider, tmp_path: Path
) -> None:
    first = start_broker(identity, tmp_path)
    tcp, ws = first.address.tcp_port, first.address.ws_port
    pub = BackendPublisher("127.0.0.1", tcp, first.credentials, timeout=1.0)
    try:
        pub.publish("serverlesspresso/shops/rs/config", b'{"v":1}', retain=True)
        pub.publish("serverlesspresso/shops/rs/board", b'{"v":1}', retain=True)
        pub.publish("serverlesspresso/shops/rs/board", b"", retain=True)  # cleared: not replayed
        assert first.process.stop() == 0

        with pytest.raises(PublishError):
            pub.publish("serverlesspresso/shops/rs/admin", b"while down", retain=False)

        second = start_broker(identity, tmp_path, tcp_port=tcp, ws_port=ws)
        try:
            pub.publish("serverlesspresso/shops/rs/admin", b"after restart", retain=False)

            async def scenario() -> None:
                late = await subscriber(
                    second, "dave", "serverlesspresso/shops/rs/config", "serverlesspresso/shops/rs/board"
                )
                got = {m.topic: (m.payload, m.retain) for m in await late.drain(0.3)}
                assert got == {"serverlesspresso/shops/rs/config": (b'{"v":1}', True)}
                await late.disconnect()

            run(scenario())
        finally:
            assert second.process.stop() == 0
    finally:
        pub.close()


def test_while_the_broker_is_down_publishes_fail_fast_after_the_first_timeout(
    identity: LocalIdentityProvider, tmp_path: Path
) -> None:
    running = start_broker(identity, tmp_path)
    pub = BackendPublisher("127.0.0.1", running.port, running.credentials, timeout=1.0)
    try:
        pub.connect()
        assert running.process.stop() == 0
        started = time.perf_counter()
        with pytest.raises(PublishError):
            pub.publish("serverlesspresso/shops/x/board", b"x", retain=False)
        assert 0.5 < time.perf_counter() - started < 2  # the first one retried for (most of) its timeout

        errors: list[BaseException] = []

        def work() -> None:
            try:
                pub.publish("serverlesspresso/shops/x/board", b"x", retain=False)
            except PublishError as error:
                errors.append(error)

        workers = [threading.Thread(target=work) for _ in range(4)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(5)
        assert len(errors) == 4
        assert time.perf_counter() - started < 0.8  # the others gave up quickly
    finally:
        pub.close()
