"""The local HTTP server on its own, in process, around a small Chalice app: backlog, timeouts, size limits,
unknown routes, local routes and the MQTT WebSocket relay. What `up` serves through it is tested elsewhere."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from chalice import Chalice  # type: ignore[attr-defined]

from serverlesspresso.server import HttpLimits, LocalHttpServer, LocalResponse, LocalRoute, exact
from tests.support.load import simultaneous

TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLXRoYXQtbXVzdC1uZXZlci1iZS1lY2hvZWQ"
FAST = HttpLimits(header_timeout=1.0, body_timeout=1.0, max_body=1000)


def small_app() -> Chalice:
    app = Chalice(app_name="server-under-test")

    @app.route("/things/{thing_id}", methods=["GET", "PUT"])
    def thing(thing_id: str) -> dict[str, Any]:
        request = app.current_request
        return {"id": thing_id, "method": request.method, "body": (request.raw_body or b"").decode()}

    @app.route("/work")
    def work() -> dict[str, int]:
        return {"sum": sum(range(20_000))}  # about a millisecond of the GIL, like a cheap API call

    return app


def echo_route() -> LocalRoute:
    return LocalRoute(exact("/local", "GET", "HEAD", "POST"), lambda r: LocalResponse.json(200, {"got": len(r.body)}))


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    running = LocalHttpServer(small_app(), "127.0.0.1", 0, FAST)
    running.start(routes=(echo_route(),))
    yield running
    running.stop()


def exchange(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, read until the server closes the connection (or `timeout`)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(request)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return received


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def json_of(response: bytes) -> Any:
    return json.loads(response.partition(b"\r\n\r\n")[2])


def get(port: int, path: str, method: str = "GET", headers: str = "", body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return exchange(port, head.encode() + b"\r\n" + body)


# ----- routing ----------------------------------------------------------------------------------------


def test_the_app_is_reached_through_chalices_routing(server: LocalHttpServer) -> None:
    response = get(server.port, "/things/abc?x=1", "PUT", body=b'{"a": 1}')
    assert status_of(response) == 200
    assert json_of(response) == {"id": "abc", "method": "PUT", "body": '{"a": 1}'}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "PROPFIND", "BREW"])
@pytest.mark.parametrize("path", ["/nowhere", "/things", "/things/abc/more", "/.env"])
def test_an_unknown_route_is_404_not_found_and_never_echoes_the_token(
    server: LocalHttpServer, method: str, path: str
) -> None:
    response = get(server.port, path, method, headers=f"Authorization: Bearer {TOKEN}\r\n")

    assert status_of(response) == 404, response[:200]
    assert TOKEN.encode() not in response and b"c2VjcmV0" not in response
    if method != "HEAD":
        assert json_of(response)["error"]["code"] == "not_found"


def test_a_method_the_route_does_not_have_is_404_as_api_gateway_configured_by_the_deploy(
    server: LocalHttpServer,
) -> None:
    response = get(server.port, "/things/abc", "DELETE", headers=f"Authorization: Bearer {TOKEN}\r\n")
    assert status_of(response) == 404 and TOKEN.encode() not in response
    assert json_of(response)["error"]["code"] == "not_found"


# ----- sizes and timeouts -----------------------------------------------------------------------------


def test_a_declared_body_over_the_limit_is_413_in_the_api_shape_without_being_read(server: LocalHttpServer) -> None:
    response = exchange(server.port, b"PUT /things/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n")
    assert status_of(response) == 413
    assert json_of(response)["error"]["code"] == "payload_too_large"


def test_a_chunked_body_over_the_limit_is_413(server: LocalHttpServer) -> None:
    chunk = b"x" * 600
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(3)) + b"0\r\n\r\n"
    response = exchange(server.port, b"PUT /things/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    assert status_of(response) == 413
    assert json_of(response)["error"]["code"] == "payload_too_large"


def test_a_local_route_refuses_a_large_body_in_its_own_shape(server: LocalHttpServer) -> None:
    response = exchange(server.port, b"POST /local HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
    assert status_of(response) == 413 and json_of(response)["__type"] == "InvalidParameterException"


@pytest.mark.parametrize("length", [b"lots", b"-1", b"1, 2"])
def test_a_malformed_content_length_is_400(server: LocalHttpServer, length: bytes) -> None:
    response = exchange(server.port, b"PUT /things/a HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n")
    assert status_of(response) == 400


def test_a_huge_request_head_is_refused(server: LocalHttpServer) -> None:
    response = exchange(server.port, b"GET /work HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert status_of(response) in (400, 431)


def test_a_request_head_trickled_byte_by_byte_is_cut_off_at_the_header_deadline(server: LocalHttpServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        started = time.monotonic()
        connection.sendall(b"GET /work HTTP/1.1\r\n")
        closed = False
        for _ in range(40):  # one header byte every 0.1 s: never idle, never complete
            try:
                connection.sendall(b"X")
            except OSError:
                closed = True
                break
            readable, _, _ = select.select([connection], [], [], 0.1)
            if readable and connection.recv(4096) == b"":
                closed = True
                break
        assert closed, "a slow client kept its connection past the header deadline"
        assert time.monotonic() - started < FAST.header_timeout + 1.5


def test_a_body_shorter_than_its_content_length_is_408_after_the_body_deadline(server: LocalHttpServer) -> None:
    started = time.monotonic()
    response = exchange(server.port, b"PUT /things/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
    assert status_of(response) == 408
    assert json_of(response)["error"]["code"] == "request_timeout"
    assert time.monotonic() - started < FAST.body_timeout + 2


def test_a_connection_that_says_nothing_is_closed_at_the_header_deadline(server: LocalHttpServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        started = time.monotonic()
        assert connection.recv(1) == b""
        assert time.monotonic() - started < FAST.header_timeout + 1.5


def test_half_open_connections_hold_no_threads_and_do_not_stall_others(server: LocalHttpServer) -> None:
    before = threading.active_count()
    stalled = []
    for _ in range(200):
        connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        connection.sendall(b"PUT /things/a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n")
        stalled.append(connection)
    try:
        started = time.monotonic()
        assert status_of(get(server.port, "/work")) == 200
        assert time.monotonic() - started < 2
        assert threading.active_count() - before < 10
    finally:
        for connection in stalled:
            connection.close()


# ----- backlog and load -------------------------------------------------------------------------------


def test_200_clients_wait_in_the_backlog_until_the_server_serves() -> None:
    server = LocalHttpServer(small_app(), "127.0.0.1", 0, FAST)
    clients = []
    try:
        for _ in range(200):
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", server.port))
            clients.append(client)
        deadline = time.monotonic() + 1.0
        pending = set(clients)
        while pending and time.monotonic() < deadline:
            _, writable, _ = select.select([], list(pending), [], 0.1)
            pending -= {c for c in writable if c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0}
        # A connection the kernel queued is established before anyone accepts it; past the backlog it is not.
        assert not pending, f"{len(pending)} of 200 connections were not queued (listen backlog too small)"
        for client in clients:
            client.setblocking(True)
            client.settimeout(20)
            client.sendall(b"GET /work HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        server.start()
        assert all(client.recv(12).startswith(b"HTTP/1.1 200") for client in clients)
    finally:
        for client in clients:
            client.close()
        server.stop()


def load(port: int, clients: int, path: str = "/work") -> tuple[Counter[str], float]:
    """`clients` connections opened at the same instant, one request each; what each got and the wall time."""
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    outcomes, elapsed = simultaneous(("127.0.0.1", port), request, clients, timeout=30)
    return Counter(o.status for o in outcomes), elapsed


def test_200_simultaneous_clients_are_all_answered_without_a_reset(server: LocalHttpServer) -> None:
    outcomes, elapsed = load(server.port, 200)
    assert outcomes == Counter({"200": 200}), outcomes
    assert elapsed < 20


# ----- local routes -----------------------------------------------------------------------------------


def test_local_routes_get_the_request_and_head_has_no_body(server: LocalHttpServer) -> None:
    posted = get(server.port, "/local?x=1", "POST", body=b"12345")
    assert status_of(posted) == 200 and json_of(posted) == {"got": 5}
    head = get(server.port, "/local", "HEAD")
    assert status_of(head) == 200 and head.endswith(b"\r\n\r\n")


# ----- the MQTT WebSocket ----------------------------------------------------------------------------


@pytest.fixture
def fake_broker() -> Iterator[tuple[str, int]]:
    """A WebSocket server on /mqtt that echoes binary messages, and closes when told "bye"."""
    from websockets.sync.server import ServerConnection, serve

    def echo(connection: ServerConnection) -> None:
        for message in connection:
            if message == b"bye":
                connection.close()
                return
            connection.send(message)

    with serve(echo, "127.0.0.1", 0, subprotocols=["mqtt"]) as broker:  # type: ignore[list-item]
        thread = threading.Thread(target=broker.serve_forever, daemon=True)
        thread.start()
        yield "127.0.0.1", broker.socket.getsockname()[1]
        broker.shutdown()


@pytest.fixture
def relaying(fake_broker: tuple[str, int]) -> Iterator[LocalHttpServer]:
    running = LocalHttpServer(small_app(), "127.0.0.1", 0, FAST)
    running.start(routes=(), mqtt_websocket=fake_broker)
    yield running
    running.stop()


def test_mqtt_over_websocket_is_relayed_to_the_broker_with_its_subprotocol(relaying: LocalHttpServer) -> None:
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{relaying.port}/mqtt", subprotocols=["mqtt"]) as client:  # type: ignore[list-item]
        assert client.subprotocol == "mqtt"
        for size in (2, 70_000):
            client.send(b"\x10" * size)
            assert client.recv(timeout=5) == b"\x10" * size
        # The header deadline is for request heads: a quiet MQTT connection stays open past it.
        time.sleep(FAST.header_timeout + 0.5)
        client.send(b"\xc0\x00")
        assert client.recv(timeout=5) == b"\xc0\x00"


def test_when_the_broker_ends_a_websocket_the_client_is_disconnected_at_once(relaying: LocalHttpServer) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{relaying.port}/mqtt", subprotocols=["mqtt"]) as client:  # type: ignore[list-item]
        client.send(b"bye")
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            client.recv(timeout=5)
        assert time.monotonic() - started < 2


def test_a_websocket_elsewhere_than_mqtt_is_404(relaying: LocalHttpServer) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://127.0.0.1:{relaying.port}/other", subprotocols=["mqtt"])  # type: ignore[list-item]
    assert refused.value.response.status_code == 404


def test_a_websocket_while_the_broker_is_down_is_502() -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    down = LocalHttpServer(small_app(), "127.0.0.1", 0, FAST)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        down.start(mqtt_websocket=("127.0.0.1", unused.getsockname()[1]))  # bound, not listening: refused
        try:
            with pytest.raises(InvalidStatus) as refused:
                connect(f"ws://127.0.0.1:{down.port}/mqtt", subprotocols=["mqtt"])  # type: ignore[list-item]
            assert refused.value.response.status_code == 502
        finally:
            down.stop()
