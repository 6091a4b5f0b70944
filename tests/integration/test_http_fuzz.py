"""Fuzzing the running stack's HTTP server with raw bytes (Hypothesis): any method, path, headers and body, with a
Content-Length that may lie, gets an answer below 500 or a closed connection, never a 5xx.

One exception, the HTTP/1.1 rule (RFC 9112, 6.1): a Transfer-Encoding the server does not implement is a 501 from
its parser, before any route is involved."""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.support.stack import Stack

PREFIXES = [
    "/",
    "/graphql",
    "/shops",
    "/shops/default",
    "/shops/default/orders",
    "/shops/default/code",
    "/orders/nope",
    "/orders/nope/drink",
    "/config.json",
    "/.well-known/jwks.json",
    "/order",
    "/display",
    "/assets/",
    "/mqtt",
    "/cognito",
    "/no/such/route",
]
standard_methods = st.sampled_from(
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"]
)
methods = st.one_of(
    standard_methods, standard_methods, st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ-_!#", min_size=1, max_size=12)
)
# Hypothesis favours the first of a sampled list: the rare choices come last.
rarely = st.sampled_from([False] * 9 + [True])
tails = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, blacklist_characters="#"), max_size=40)
paths = st.builds(lambda prefix, tail: prefix + tail, st.sampled_from(PREFIXES), st.one_of(st.just(""), tails))
known_values = st.sampled_from(
    [
        "Bearer not-a-jwt",
        "Bearer eyJhbGciOiJub25lIn0.e30.",
        "application/json",
        "text/plain",
        "websocket",
        "Upgrade",
        "close",
        "keep-alive",
        "chunked",
        "gzip, chunked",
        "100-continue",
        "0",
        "-1",
        "99999999999999999999",
        "mqtt",
        "13",
    ]
)
printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
header_values = st.one_of(known_values, known_values, printable)
header_names = st.sampled_from(
    [
        "Authorization",
        "Content-Type",
        "Upgrade",
        "Connection",
        "Expect",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol",
        "X-Anything",
        "Content-Length",
        "Host",
    ]
)
bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    st.sampled_from([b"null", b"{}", b'{"query": "{ __typename }"}', b"[" * 5_000, b"0\r\n\r\n"]),
)


@st.composite
def raw_requests(draw: st.DrawFn) -> tuple[bytes, bool]:
    """The bytes of one request, and whether it promised more body than it sent."""
    body = draw(bodies)
    lie = draw(st.sampled_from(["truth", "truth", "none", "shorter", "longer"]))
    declared = {"truth": len(body), "shorter": max(0, len(body) - draw(st.integers(1, 50)))}.get(
        lie, len(body) + draw(st.integers(1, 5_000))
    )
    headers = [] if draw(rarely) else ["Host: 127.0.0.1"]
    extra = draw(st.lists(st.tuples(header_names, header_values), max_size=6))
    headers += [f"{name}: {value}" for name, value in extra]
    if lie != "none":
        headers.append(f"Content-Length: {declared}")
    if draw(rarely):
        headers.append(f"Transfer-Encoding: {draw(header_values)}")
    version = draw(st.sampled_from(["HTTP/1.1"] * 7 + ["HTTP/1.0", "HTTP/2.0", "HTTP/9"]))
    head = f"{draw(methods)} {draw(paths)} {version}\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n"
    return head.encode() + body, lie == "longer"


def send(stack: Stack, request: bytes) -> bytes:
    """The first final (not 1xx) response head, or b"" if the server closed without one."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=20) as connection:
        connection.sendall(request)
        # The request is all there is: the server sees the end instead of waiting for a promised body.
        connection.shutdown(socket.SHUT_WR)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
                while b"\r\n\r\n" in received:
                    head, _, rest = received.partition(b"\r\n\r\n")
                    if not head.startswith(b"HTTP/1.1 1"):
                        return head
                    received = rest
        except (ConnectionResetError, TimeoutError):
            pass
        return received


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=raw_requests())
def test_no_request_gets_a_5xx_from_the_server(stack: Stack, request: tuple[bytes, bool]) -> None:
    raw, _ = request
    answer = send(stack, raw)
    if not answer:
        event("closed without an answer")
        return
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 "), (status_line, raw[:300])
    status = int(status_line.split(b" ")[1])
    event(f"status {status}")
    if status == 501:
        assert b"transfer-encoding:" in raw.lower(), (answer[:300], raw[:300])
        return
    assert status < 500, (answer[:300], raw[:300])


def test_the_server_still_answers_after_the_fuzz(stack: Stack) -> None:
    assert send(stack, b"GET /config.json HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 200")
