"""`serverlesspresso watch` over TLS, as against IoT Core: the broker behind a TLS-terminating proxy with a private CA.

What IoT Core's custom authentication needs is checked on the wire: SNI with the host name, ALPN `mqtt` for MQTT
over TLS, the authorizer's name in the CONNECT username, the token as the password (the broker verifies it), and
for WebSockets the URL's path and query in the upgrade request.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from awscrt import mqtt
from awscrt.exceptions import AwsCrtError
from broker_raw_client import RawClient
from broker_testkit import RunningBroker, run

from chalicelib.domain.live import admin_topic, config_topic, user_topic
from serverlesspresso.identity import subject_of
from serverlesspresso.watch import WatchTarget, connect, describe_connect_error
from tests.support.tls import Certificates, TlsProxy, make_certificates, mqtt_connect_username

REPO_ROOT = Path(__file__).resolve().parents[2]
AUTHORIZER = "serverlesspresso-dev-authorizer"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def retained_config(broker: RunningBroker) -> Iterator[str]:
    """A shop whose config topic holds a retained message, so a subscriber has something to receive at once."""
    topic = config_topic("tls-shop")

    async def publish(payload: bytes) -> None:
        client = RawClient(broker.port)
        assert await client.connect("tls-backend", broker.credentials.username, broker.credentials.password) == (0, 0)
        assert await client.publish(topic, payload, qos=1, retain=True)
        await client.disconnect()

    run(publish(b'{"type":"ConfigChanged","at":"2026-12-02T10:00:00Z","detail":{"shopId":"tls-shop"}}'))
    yield topic
    run(publish(b""))


def receive_retained(target: WatchTarget, topic: str) -> bytes:
    inbox: queue.Queue[bytes] = queue.Queue()
    connection = connect(target)
    try:
        future, _ = connection.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE, lambda topic, payload, **_: inbox.put(payload))
        future.result(5)
        return inbox.get(timeout=5)
    finally:
        connection.disconnect().result(5)


def test_mqtt_over_tls_sends_sni_alpn_mqtt_and_the_authorizer_in_the_username(
    broker: RunningBroker, certificates: Certificates, retained_config: str
) -> None:
    with TlsProxy(certificates, broker.address.tcp_port) as proxy:
        url = f"mqtts://localhost:{proxy.port}"
        target = WatchTarget(url, broker.token("alice"), (), AUTHORIZER, certificates.ca_file)
        assert b"tls-shop" in receive_retained(target, retained_config)
    (handshake,) = proxy.handshakes
    assert handshake.server_name == "localhost"
    assert handshake.alpn == "mqtt"
    assert mqtt_connect_username(handshake.first_bytes) == f"watch?x-amz-customauthorizer-name={AUTHORIZER}"


def test_mqtt_over_websocket_secure_keeps_the_urls_path_and_query(
    broker: RunningBroker, certificates: Certificates, retained_config: str
) -> None:
    with TlsProxy(certificates, broker.address.ws_port) as proxy:
        url = f"wss://localhost:{proxy.port}/mqtt?x-amz-customauthorizer-name={AUTHORIZER}"
        target = WatchTarget(url, broker.token("alice"), (), AUTHORIZER, certificates.ca_file)
        assert b"tls-shop" in receive_retained(target, retained_config)
    (handshake,) = proxy.handshakes
    assert handshake.server_name == "localhost"
    assert handshake.alpn is None  # WebSockets: no ALPN, as the IoT Device SDK's custom-authorizer builder
    request = handshake.first_bytes.decode("latin-1")
    assert request.startswith(f"GET /mqtt?x-amz-customauthorizer-name={AUTHORIZER} HTTP/1.1\r\n")
    assert "\r\nHost: localhost\r\n" in request  # awscrt names the host without the port


def test_a_refused_token_over_tls_is_an_mqtt_refusal(broker: RunningBroker, certificates: Certificates) -> None:
    with TlsProxy(certificates, broker.address.tcp_port) as proxy:
        target = WatchTarget(f"mqtts://localhost:{proxy.port}", "not.a.token", (), AUTHORIZER, certificates.ca_file)
        with pytest.raises(AwsCrtError) as raised:
            connect(target)
    assert "--authorizer" in describe_connect_error(target.options(), raised.value.name, raised.value.message)


def _watch(args: list[str], **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "serverlesspresso.cli", "watch", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def _lines_until(process: subprocess.Popen[str], wanted: int, seconds: float = 20) -> list[str]:
    assert process.stdout is not None
    deadline = time.monotonic() + seconds
    lines: list[str] = []
    while sum("subscribed to" in line for line in lines) < wanted:
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            process.wait()
            raise AssertionError(f"watch did not subscribe: {lines}")
        lines.append(process.stdout.readline())
    return lines


def test_the_watch_command_follows_a_shop_over_tls_with_a_given_token(
    broker: RunningBroker, certificates: Certificates, tmp_path: Path
) -> None:
    token_file = tmp_path / "id-token.txt"
    token_file.write_text(broker.token("tls-barista", admin=True) + "\n")
    with TlsProxy(certificates, broker.address.tcp_port) as proxy:
        watcher = _watch(
            ["--shop", "tls-shop", "--admin", "--mqtt", f"mqtts://localhost:{proxy.port}"]
            + ["--authorizer", AUTHORIZER, "--token-file", str(token_file), "--ca-file", str(certificates.ca_file)]
            + ["--data-dir", str(tmp_path / "no-such-data-dir")]  # a given token needs no local identity
        )
        try:
            lines = _lines_until(watcher, 4)
        finally:
            watcher.send_signal(signal.SIGINT)
            code = watcher.wait(timeout=20)
    subscribed = {line.split("subscribed to ", 1)[1].strip() for line in lines if line.startswith("subscribed to")}
    assert subscribed == {
        config_topic("tls-shop"),
        "serverlesspresso/shops/tls-shop/board",
        admin_topic("tls-shop"),
        user_topic(subject_of("tls-barista")),  # the token's own topic
    }
    assert code == 0
    assert mqtt_connect_username(proxy.handshakes[0].first_bytes) == f"watch?x-amz-customauthorizer-name={AUTHORIZER}"


def test_the_watch_command_explains_an_untrusted_certificate(
    broker: RunningBroker, certificates: Certificates, tmp_path: Path
) -> None:
    token_file = tmp_path / "id-token.txt"
    token_file.write_text(broker.token("tls-alice"))
    with TlsProxy(certificates, broker.address.tcp_port) as proxy:
        done = subprocess.run(
            [sys.executable, "-m", "serverlesspresso.cli", "watch", "--mqtt", f"mqtts://localhost:{proxy.port}"]
            + ["--token-file", str(token_file)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    # s2n reports the failed handshake after its 10-30 s blinding delay, as AWS_IO_TLS_ERROR_NEGOTIATION_FAILURE.
    assert done.returncode == 1
    assert "cannot watch" in done.stderr and "AWS_IO_TLS" in done.stderr and "--ca-file" in done.stderr
    assert "Traceback" not in done.stderr
