"""CONNECT against the broker process: tokens, the internal credential, client-id ownership, protocol guards, and the
process itself (help, ready file, exit codes)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from broker_raw_client import RawClient
from broker_testkit import RunningBroker, run, start_broker, user_topic_of

from serverlesspresso.broker.process import BrokerPortInUse, read_ready_file
from serverlesspresso.identity import AUDIENCE, ISSUER, LocalIdentityProvider

NOT_AUTHORIZED = 5


def connack(broker: RunningBroker, password: str | None, username: str | None = "someone") -> tuple[int, int] | str:
    async def attempt() -> tuple[int, int] | str:
        client = RawClient(broker.port)
        result = await client.connect("probe", username, password)
        if result == (0, 0):
            await client.disconnect()
        else:
            # Refused: the broker closes the socket after the CONNACK.
            assert client.reader is not None
            assert await asyncio.wait_for(client.reader.read(), 2) == b""
        return result

    return run(attempt())


def test_a_valid_token_connects(broker: RunningBroker) -> None:
    started = time.perf_counter()
    assert connack(broker, broker.token("alice")) == (0, 0)
    assert time.perf_counter() - started < 2


def test_without_a_token_the_connect_is_refused(broker: RunningBroker) -> None:
    assert connack(broker, None) == (0, NOT_AUTHORIZED)
    assert connack(broker, None, username=None) == (0, NOT_AUTHORIZED)
    assert connack(broker, "") == (0, NOT_AUTHORIZED)


def test_a_garbage_token_is_refused(broker: RunningBroker) -> None:
    assert connack(broker, "garbage") == (0, NOT_AUTHORIZED)
    assert connack(broker, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.") == (0, NOT_AUTHORIZED)


def test_an_expired_token_is_refused(broker: RunningBroker) -> None:
    assert connack(broker, broker.identity.issue("alice", ttl_seconds=-30)) == (0, NOT_AUTHORIZED)


def test_a_token_signed_by_another_key_is_refused(broker: RunningBroker, tmp_path: Path) -> None:
    foreign = LocalIdentityProvider(tmp_path)
    foreign.ensure_keys()
    assert connack(broker, foreign.issue("alice")) == (0, NOT_AUTHORIZED)
    # Same kid as ours, other key: the signature check refuses it.
    kid = broker.identity.jwks()["keys"][0]["kid"]
    now = int(time.time())
    claims = {"sub": "x", "token_use": "id", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600}
    forged = jwt.encode(claims, foreign.private_key_path.read_bytes(), algorithm="RS256", headers={"kid": kid})
    assert connack(broker, forged) == (0, NOT_AUTHORIZED)


def test_a_token_for_another_audience_is_refused(broker: RunningBroker) -> None:
    kid = broker.identity.jwks()["keys"][0]["kid"]
    now = int(time.time())
    claims = {"sub": "x", "token_use": "id", "iss": ISSUER, "aud": "another-app", "exp": now + 600}
    token = jwt.encode(claims, broker.identity.private_key_path.read_bytes(), algorithm="RS256", headers={"kid": kid})
    assert connack(broker, token) == (0, NOT_AUTHORIZED)


def test_the_internal_credential_connects_and_a_wrong_password_does_not(broker: RunningBroker) -> None:
    assert connack(broker, broker.credentials.password, username=broker.credentials.username) == (0, 0)
    wrong = broker.credentials.password[:-1] + ("x" if broker.credentials.password[-1] != "x" else "y")
    assert connack(broker, wrong, username=broker.credentials.username) == (0, NOT_AUTHORIZED)


def test_a_refused_connect_leaves_the_victims_session_alone(broker: RunningBroker) -> None:
    """Stock amqtt deleted the session of the client id before checking the password."""

    async def scenario() -> None:
        victim = RawClient(broker.port)
        assert await victim.connect("victim", "alice", broker.token("alice")) == (0, 0)
        assert await victim.subscribe(user_topic_of("alice")) == [1]
        attacker = RawClient(broker.port)
        assert await attacker.connect("victim", "x", "garbage") == (0, NOT_AUTHORIZED)
        backend = RawClient(broker.port)
        assert await backend.connect("be-victim", broker.credentials.username, broker.credentials.password) == (0, 0)
        assert await backend.publish(user_topic_of("alice"), b"still here", qos=1)
        assert (await victim.next()).payload == b"still here"
        assert not victim.closed.is_set()
        await victim.disconnect()
        await backend.disconnect()

    run(scenario())


def test_a_client_id_belongs_to_the_identity_that_holds_it(broker: RunningBroker) -> None:
    async def scenario() -> None:
        alice = RawClient(broker.port)
        assert await alice.connect("phone-1", "alice", broker.token("alice"), clean=False) == (0, 0)
        bob = RawClient(broker.port)
        assert await bob.connect("phone-1", "bob", broker.token("bob"), clean=False) == (0, 2)  # identifier rejected
        assert not alice.closed.is_set()
        await alice.disconnect()
        # Still Alice's (persistent) session while she is offline...
        bob = RawClient(broker.port)
        assert await bob.connect("phone-1", "bob", broker.token("bob")) == (0, 2)
        # ...and Alice herself resumes it.
        again = RawClient(broker.port)
        assert await again.connect("phone-1", "alice", broker.token("alice"), clean=True) == (0, 0)
        await again.disconnect()

    run(scenario())


def test_mqtt5_connect_gets_a_311_refusal(broker: RunningBroker) -> None:
    async def scenario() -> object:
        return await RawClient(broker.port).connect("v5", "alice", broker.token("alice"), protocol_level=5)

    assert run(scenario()) == (0, 1)


def test_a_socket_that_never_sends_connect_is_closed(broker: RunningBroker) -> None:
    # The module's broker runs with --connect-timeout 1.
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as sock:
        started = time.perf_counter()
        assert sock.recv(1) == b""
        assert time.perf_counter() - started < 4


def test_websocket_upgrades_only_on_the_mqtt_path(broker: RunningBroker) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    async def scenario() -> None:
        url = f"ws://127.0.0.1:{broker.address.ws_port}"
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"{url}/other", subprotocols=["mqtt"])  # type: ignore[list-item]
        assert refused.value.response.status_code == 404
        async with connect(f"{url}/mqtt", subprotocols=["mqtt"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "mqtt"

    run(scenario())


# ---------------------------------------------------------------- the process


def test_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "serverlesspresso.broker", "--help"], capture_output=True, text=True, check=True
    )
    for option in ("--tcp-port", "--ws-port", "--jwks-file", "--internal-credentials-file", "--ready-file"):
        assert option in result.stdout


def test_the_ready_file_names_the_bound_ports_and_sigterm_stops_cleanly(
    identity: LocalIdentityProvider, tmp_path: Path
) -> None:
    ready = tmp_path / "ready.json"
    ready.write_text(json.dumps({"pid": 1, "tcp_host": "x", "tcp_port": 1, "ws_host": "x", "ws_port": 1}))  # stale
    running = start_broker(identity, tmp_path, ready_file=ready)
    address = running.address
    assert address.pid == running.process.process.pid
    assert address.tcp_port > 0 and address.ws_port > 0 and address.ws_path == "/mqtt"
    assert read_ready_file(ready) == address
    with socket.create_connection(("127.0.0.1", address.tcp_port)):
        pass
    os.kill(address.pid, signal.SIGTERM)
    assert running.process.process.wait(10) == 0
    assert not ready.exists()


@pytest.mark.parametrize("websocket", [False, True])
def test_a_port_in_use_fails_the_start_naming_the_port_and_the_log(
    identity: LocalIdentityProvider, tmp_path: Path, websocket: bool
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BrokerPortInUse) as refused:
            start_broker(identity, tmp_path, **{"ws_port" if websocket else "tcp_port": port})
    assert (refused.value.port, refused.value.websocket) == (port, websocket)
    assert f"port {port} on 127.0.0.1 is already in use" in str(refused.value)
    assert str((tmp_path / "broker.log").resolve()) in str(refused.value)


def test_unreadable_key_or_credential_files_are_usage_errors(identity: LocalIdentityProvider, tmp_path: Path) -> None:
    credentials = tmp_path / "c.json"
    credentials.write_text(json.dumps({"username": "svc", "password": "x" * 32}))
    os.chmod(credentials, 0o600)
    command = [sys.executable, "-m", "serverlesspresso.broker", "--tcp-port", "0", "--ws-port", "0"]
    common = ["--issuer", ISSUER, "--audience", AUDIENCE, "--internal-credentials-file", str(credentials)]
    result = subprocess.run([*command, "--jwks-file", str(tmp_path / "missing.json"), *common], capture_output=True)
    assert result.returncode == 2
    os.chmod(credentials, 0o644)
    result = subprocess.run([*command, "--jwks-file", str(identity.jwks_path), *common], capture_output=True)
    assert result.returncode == 2 and b"chmod 600" in result.stderr


def test_an_empty_websocket_frame_does_not_hang_the_broker(broker: RunningBroker) -> None:
    """amqtt's WebSocket reader spun forever on it: one unauthenticated client froze the whole broker."""
    from websockets.asyncio.client import connect

    async def scenario() -> None:
        ws = await connect(f"ws://127.0.0.1:{broker.address.ws_port}/mqtt", subprotocols=["mqtt"])  # type: ignore[list-item]
        await ws.send(b"")
        await ws.close()
        await asyncio.sleep(0.1)
        client = RawClient(broker.port)
        assert await client.connect("after-empty-frame", "alice", broker.token("alice"), timeout=2) == (0, 0)
        await client.disconnect()

    run(scenario())


def test_oversized_and_malformed_packets_close_the_connection(broker: RunningBroker) -> None:
    async def backend() -> RawClient:
        client = RawClient(broker.port)
        assert await client.connect("be-malformed", broker.credentials.username, broker.credentials.password) == (0, 0)
        return client

    async def scenario() -> None:
        watcher = RawClient(broker.port)
        assert await watcher.connect("malformed-watch", "alice", broker.token("alice")) == (0, 0)
        assert await watcher.subscribe(user_topic_of("alice")) == [1]

        big = await backend()
        await big.publish(user_topic_of("alice"), b"x" * (200 * 1024), qos=0)
        await asyncio.wait_for(big.closed.wait(), 2)

        wildcard = await backend()  # MQTT-3.3.2-2; stock also misparsed the bytes after it
        await wildcard.publish("serverlesspresso/users/+", b"x", qos=1, timeout=0.2)
        await asyncio.wait_for(wildcard.closed.wait(), 2)

        bad_length = await backend()  # a remaining length of 5 bytes is malformed
        assert bad_length.writer is not None
        bad_length.writer.write(b"\xc0\xff\xff\xff\xff\x01")
        await asyncio.wait_for(bad_length.closed.wait(), 2)

        assert await watcher.drain(0.2) == []
        await watcher.disconnect()

    run(scenario())


def test_a_connection_is_closed_when_its_token_expires_and_a_fresh_token_resumes_it(broker: RunningBroker) -> None:
    """As IoT Core's disconnectAfterInSeconds: receiving (and subscribing) ends with the token."""
    token = broker.identity.issue("expiring", ttl_seconds=2)
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]

    async def scenario() -> None:
        client = RawClient(broker.port)
        assert await client.connect("expiring-phone", "u", token, clean=False) == (0, 0)
        assert await client.subscribe(user_topic_of("expiring")) == [1]
        await asyncio.wait_for(client.closed.wait(), max(0.0, exp - time.time()) + 2)
        closed_at = time.time()
        assert exp - 0.5 <= closed_at <= exp + 1.5, (exp, closed_at)
        # The app reconnects with a fresh token and finds its session (subscriptions included) again.
        again = RawClient(broker.port)
        assert await again.connect("expiring-phone", "u", broker.token("expiring"), clean=False) == (1, 0)
        await again.disconnect()

    run(scenario(), timeout=15)
