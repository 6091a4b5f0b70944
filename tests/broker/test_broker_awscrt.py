"""The AWS IoT Device SDK v2's MQTT 3.1.1 client (awscrt) against the broker, over TCP and WebSocket (/mqtt).

No TLS locally: mqtt_connection_builder always builds a TLS context, so the tests construct awscrt.mqtt.Connection
directly with tls_ctx=None. disable_metrics=True keeps the username as given (the SDK appends "?SDK=..." otherwise;
the broker strips it anyway).
"""

from __future__ import annotations

import queue
from typing import Any

import pytest
from awscrt import io, mqtt
from awscrt.exceptions import AwsCrtError
from broker_raw_client import RawClient
from broker_testkit import RunningBroker, run, user_topic_of

Received = tuple[str, bytes, int, bool]


def connection(broker: RunningBroker, client_id: str, password: str, websocket: bool, **extra: Any) -> Any:
    bootstrap = io.ClientBootstrap.get_or_create_static_default()
    options: dict[str, Any] = {
        "client": mqtt.Client(bootstrap, None),  # tls_ctx=None: plain TCP / plain ws://
        "host_name": "127.0.0.1",
        "port": broker.address.ws_port if websocket else broker.address.tcp_port,
        "client_id": client_id,
        "clean_session": True,
        "username": "crt",
        "password": password,
        "keep_alive_secs": 30,
        "ping_timeout_ms": 3000,
        "use_websockets": websocket,  # the default handshake is GET /mqtt with Sec-WebSocket-Protocol: mqtt
        "reconnect_min_timeout_secs": 5,
        "reconnect_max_timeout_secs": 5,
        "disable_metrics": True,
    }
    return mqtt.Connection(**{**options, **extra})


def backend_publish(broker: RunningBroker, topic: str, payload: bytes, retain: bool = False) -> None:
    async def publish() -> None:
        client = RawClient(broker.port)
        assert await client.connect("crt-backend", broker.credentials.username, broker.credentials.password) == (0, 0)
        assert await client.publish(topic, payload, qos=1, retain=retain)
        await client.disconnect()

    run(publish())


@pytest.mark.parametrize("websocket", [False, True], ids=["tcp", "websocket"])
def test_the_device_sdk_connects_subscribes_and_receives(broker: RunningBroker, websocket: bool) -> None:
    kind = "ws" if websocket else "tcp"
    config_topic = f"serverlesspresso/shops/crt-{kind}/config"
    backend_publish(broker, config_topic, b'{"open":true}', retain=True)

    conn = connection(broker, f"crt-{kind}", broker.token("alice"), websocket)
    assert conn.connect().result(5) == {"session_present": False}
    try:
        inbox: queue.Queue[Received] = queue.Queue()

        def on_message(topic: str, payload: bytes, dup: bool, qos: Any, retain: bool, **kwargs: Any) -> None:
            inbox.put((topic, payload, int(qos), retain))

        future, _ = conn.subscribe(user_topic_of("alice"), mqtt.QoS.AT_LEAST_ONCE, on_message)
        assert future.result(5)["qos"] == mqtt.QoS.AT_LEAST_ONCE
        future, _ = conn.subscribe("serverlesspresso/shops/+/config", mqtt.QoS.AT_LEAST_ONCE, on_message)
        future.result(5)
        assert _next_on(inbox, config_topic) == (config_topic, b'{"open":true}', 1, True)

        backend_publish(broker, user_topic_of("alice"), b'{"state":"READY"}')
        assert _next_on(inbox, user_topic_of("alice")) == (user_topic_of("alice"), b'{"state":"READY"}', 1, False)

        # A refused filter (SUBACK 0x80) fails the subscribe future; the connection stays up.
        future, _ = conn.subscribe("serverlesspresso/shops/x/admin", mqtt.QoS.AT_LEAST_ONCE, on_message)
        with pytest.raises(mqtt.SubscribeError):
            future.result(5)
        backend_publish(broker, user_topic_of("alice"), b"still connected")
        assert _next_on(inbox, user_topic_of("alice"))[1] == b"still connected"
    finally:
        conn.disconnect().result(5)
    backend_publish(broker, config_topic, b"", retain=True)


def _next_on(inbox: queue.Queue[Received], topic: str) -> Received:
    while True:
        message = inbox.get(timeout=3)
        if message[0] == topic:
            return message


@pytest.mark.parametrize("websocket", [False, True], ids=["tcp", "websocket"])
def test_the_device_sdk_is_refused_a_bad_token(broker: RunningBroker, websocket: bool) -> None:
    conn = connection(broker, "crt-bad", "garbage", websocket)
    # The broker answers CONNACK rc=5; aws-c-mqtt reports it as AWS_ERROR_MQTT_PROTOCOL_ERROR.
    with pytest.raises(AwsCrtError):
        conn.connect().result(5)


@pytest.mark.parametrize("websocket", [False, True], ids=["tcp", "websocket"])
def test_a_device_sdk_publish_gets_the_client_disconnected(broker: RunningBroker, websocket: bool) -> None:
    interrupted: queue.Queue[Any] = queue.Queue()
    conn = connection(
        broker,
        "crt-publisher",
        broker.token("alice"),
        websocket,
        reconnect_min_timeout_secs=30,
        reconnect_max_timeout_secs=30,
        on_connection_interrupted=lambda connection, error, **kwargs: interrupted.put(error),
    )
    conn.connect().result(5)
    conn.publish(user_topic_of("alice"), b"forged", mqtt.QoS.AT_LEAST_ONCE)
    assert isinstance(interrupted.get(timeout=3), AwsCrtError)  # AWS_IO_SOCKET_CLOSED
    conn.disconnect()  # stops the reconnect attempts (its future never completes on an interrupted connection)
