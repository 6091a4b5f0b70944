"""`serverlesspresso watch`: print live events as they arrive, with the AWS IoT Device SDK v2 (awscrt).

The same client code talks to the local broker (plain TCP or ws://…/mqtt) and to IoT Core (TLS, with the custom
authorizer): only the connection options differ, and `connection_options` derives them from the URL, the token and
the authorizer's name without touching the network.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

from awscrt import io, mqtt
from awscrt.exceptions import AwsCrtError

from chalicelib.domain.live import admin_topic, board_topic, config_topic, user_topic

# scheme: (default port, TLS, WebSocket). IoT Core takes custom authentication on 443 only: MQTT over TLS with the
# ALPN protocol "mqtt", or MQTT over WebSocket Secure (its 8883 is for X.509 client certificates).
SCHEMES = {"mqtt": (1883, False, False), "mqtts": (443, True, False), "ws": (80, False, True), "wss": (443, True, True)}
MQTT_ALPN = "mqtt"
# Where IoT Core reads the authorizer's name from an MQTT CONNECT: a query string after the username.
AUTHORIZER_PARAMETER = "x-amz-customauthorizer-name"
# IoT Core's pattern for an authorizer's name.
_AUTHORIZER_NAME = re.compile(r"[\w=,@-]{1,128}")
# awscrt's TLS (s2n) reports a failed handshake, an untrusted certificate say, only after a random 10 to 30 s delay
# (s2n's blinding against timing attacks): a shorter wait would turn it into a bare timeout. The TCP connect itself
# times out after 5 s.
CONNECT_TIMEOUT_SECONDS = 35


class WatchError(Exception):
    """Options that cannot work, or a connection that failed, said so that the user can act on it."""


@dataclass(frozen=True)
class ConnectionOptions:
    """Everything awscrt needs to connect, derived from the command line alone."""

    host: str
    port: int
    tls: bool
    websocket: bool
    path: str  # the WebSocket handshake's path and query; "" for MQTT over TCP
    alpn: tuple[str, ...]
    username: str
    password: str
    ca_file: Path | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class WatchTarget:
    url: str  # mqtt://host:port, mqtts://host[:port], ws://host:port/mqtt or wss://host[:port]/mqtt
    token: str
    topics: tuple[str, ...]
    authorizer: str | None = None
    ca_file: Path | None = None

    def options(self) -> ConnectionOptions:
        return connection_options(self.url, self.token, self.authorizer, self.ca_file)


def topics_for(shop_id: str, admin: bool, user_sub: str | None) -> tuple[str, ...]:
    topics = [config_topic(shop_id), board_topic(shop_id)]
    if admin:
        topics.append(admin_topic(shop_id))
    if user_sub:
        topics.append(user_topic(user_sub))
    return tuple(topics)


def mqtt_username(authorizer: str | None, base: str = "watch") -> str:
    """The CONNECT username: IoT Core finds the custom authorizer's name in its query string."""
    if authorizer is None:
        return base
    if not _AUTHORIZER_NAME.fullmatch(authorizer):
        raise WatchError(f"--authorizer {authorizer!r} is not an IoT Core authorizer name (letters, digits, _=,@-)")
    return f"{base}?{AUTHORIZER_PARAMETER}={quote(authorizer, safe='')}"


def connection_options(
    url: str, token: str, authorizer: str | None = None, ca_file: Path | None = None
) -> ConnectionOptions:
    """How to reach `url` with `token` as the password; a WatchError says what is wrong with the options."""
    parsed = urlsplit(url.strip())
    scheme = parsed.scheme.lower()
    if scheme not in SCHEMES:
        raise WatchError(
            f"{url!r} is not a broker URL: use mqtt://HOST:PORT or ws://HOST:PORT/mqtt locally, "
            "wss://ENDPOINT/mqtt or mqtts://ENDPOINT for IoT Core"
        )
    try:
        port = parsed.port
    except ValueError:
        raise WatchError(f"{url!r}: the port is not a number from 0 to 65535") from None
    if not parsed.hostname:
        raise WatchError(f"{url!r} names no host")
    default_port, tls, websocket = SCHEMES[scheme]
    if not websocket and (parsed.path.strip("/") or parsed.query):
        raise WatchError(f"{url!r}: MQTT over TCP has no path or query (for WebSockets use ws:// or wss://)")
    if ca_file is not None and not tls:
        raise WatchError(f"--ca-file is for TLS, and {scheme}:// is not: use mqtts:// or wss://")
    if ca_file is not None and not ca_file.is_file():
        raise WatchError(f"--ca-file {ca_file}: there is no such file")
    path = ""
    if websocket:
        path = (parsed.path or "/mqtt") + (f"?{parsed.query}" if parsed.query else "")
    return ConnectionOptions(
        host=parsed.hostname,
        port=port or default_port,
        tls=tls,
        websocket=websocket,
        path=path,
        alpn=(MQTT_ALPN,) if tls and not websocket else (),
        username=mqtt_username(authorizer),
        password=token.strip(),
        ca_file=ca_file,
    )


@dataclass(frozen=True)
class TokenIdentity:
    sub: str
    is_admin: bool
    expires: datetime


def token_identity(token: str, now: datetime) -> TokenIdentity:
    """Who a given ID token names, read without checking its signature (the broker or the authorizer does that).

    Used to pick the person's own topic and to refuse, before connecting, a token that is not one or has expired.
    """
    parts = token.strip().split(".")
    try:
        if len(parts) != 3:
            raise ValueError("not three parts")
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        raise WatchError("the token is not a JWT (an ID token has three dot-separated parts)") from None
    sub, exp = (claims.get("sub"), claims.get("exp")) if isinstance(claims, dict) else (None, None)
    if not isinstance(sub, str) or not sub or not isinstance(exp, int | float) or isinstance(exp, bool):
        raise WatchError("the token has no 'sub' or 'exp': send an ID token")
    expires = datetime.fromtimestamp(exp, UTC)
    if expires <= now:
        raise WatchError(f"the token expired at {expires:%Y-%m-%d %H:%M:%S} UTC: sign in again for a new one")
    groups = claims.get("cognito:groups")
    return TokenIdentity(sub, isinstance(groups, list) and "admin" in groups, expires)


def read_token(token: str | None, token_file: Path | None) -> str:
    """The token given on the command line, or the first line of a file ('-': standard input)."""
    if token is not None:
        return token.strip()
    if token_file is None:
        raise WatchError("no token given")
    try:
        text = input() if str(token_file) == "-" else token_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WatchError(f"--token-file {token_file}: there is no such file") from None
    except (OSError, UnicodeDecodeError, EOFError) as error:
        raise WatchError(f"--token-file {token_file}: cannot read it ({error})") from None
    lines = text.strip().splitlines()
    return lines[0].strip() if lines else ""


# What an awscrt error name means for someone connecting, by its prefix.
_HINTS = (
    ("AWS_IO_TLS", "the TLS handshake failed: is it a TLS endpoint, and is its certificate trusted (--ca-file)?"),
    ("AWS_IO_SOCKET_CONNECTION_REFUSED", "nothing accepts connections there"),
    ("AWS_IO_DNS", "the host name does not resolve"),
    ("AWS_IO_SOCKET_TIMEOUT", "no answer"),
    ("AWS_IO_SOCKET_NO_ROUTE", "no route to the host"),
    ("AWS_ERROR_HTTP_WEBSOCKET_UPGRADE_FAILURE", "the server refused the WebSocket upgrade: check the URL's path"),
    (
        "AWS_ERROR_MQTT",
        "the broker refused or dropped the connection: is the token valid for it (not expired, from the right user "
        "pool) and, on IoT Core, is --authorizer the custom authorizer's name?",
    ),
)


def describe_connect_error(options: ConnectionOptions, name: str, detail: str) -> str:
    hint = next((text for prefix, text in _HINTS if name.startswith(prefix)), detail)
    return f"{hint} ({name} from {options.address})"


def open_session(
    target: WatchTarget,
    client_id: str | None = None,
    clean_session: bool = True,
    on_message: Callable[..., None] | None = None,
) -> tuple[mqtt.Connection, bool]:
    """Connect; returns the connection and whether the broker resumed a persistent session.

    `on_message` receives what a resumed session had queued, so it is set before connecting. Raises WatchError for
    options that cannot work, AwsCrtError when the connection fails (`describe_connect_error` words it) and
    TimeoutError when no CONNACK comes.
    """
    options = target.options()
    tls_context = None
    if options.tls:
        tls_options = io.TlsContextOptions()
        if options.ca_file is not None:
            tls_options.override_default_trust_store_from_path(None, str(options.ca_file))
        if options.alpn:
            tls_options.alpn_list = list(options.alpn)
        tls_context = io.ClientTlsContext(tls_options)  # awscrt sends the host name as SNI
    # A failed attempt (TLS refused, CONNACK refused, connection reset) does not fail connect()'s future: awscrt
    # retries with back-off. The first failure is the answer here.
    failures: list[AwsCrtError] = []
    failed = threading.Event()

    def on_failure(connection: mqtt.Connection, callback_data: mqtt.OnConnectionFailureData, **kwargs: Any) -> None:
        failures.append(callback_data.error)
        failed.set()

    connection = mqtt.Connection(
        client=mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), tls_context),
        host_name=options.host,
        port=options.port,
        client_id=client_id or f"watch-{uuid.uuid4().hex[:12]}",
        clean_session=clean_session,
        username=options.username,
        password=options.password,
        keep_alive_secs=30,
        use_websockets=options.websocket,
        websocket_handshake_transform=_path_transform(options.path) if options.websocket else None,
        disable_metrics=True,  # otherwise the SDK appends its metrics to the username
        on_connection_failure=on_failure,
    )
    if on_message is not None:
        connection.on_message(on_message)
    connecting = connection.connect()
    deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
    while not connecting.done():
        if failed.wait(0.05):
            _stop_retrying(connection)
            raise failures[0]
        if time.monotonic() > deadline:
            _stop_retrying(connection)
            raise TimeoutError(f"no CONNACK from {options.address} within {CONNECT_TIMEOUT_SECONDS} s")
    connected = connecting.result()
    return connection, bool(connected.get("session_present"))


def _stop_retrying(connection: mqtt.Connection) -> None:
    with contextlib.suppress(AwsCrtError):  # never connected: nothing to stop
        connection.disconnect()


def connect(target: WatchTarget, client_id: str | None = None, clean_session: bool = True) -> mqtt.Connection:
    return open_session(target, client_id, clean_session)[0]


def _path_transform(path: str) -> Callable[..., None]:
    def transform(transform_args: Any, **kwargs: Any) -> None:
        transform_args.http_request.path = path
        transform_args.set_done()

    return transform


def format_message(topic: str, payload: bytes) -> str:
    try:
        message = json.loads(payload)
    except ValueError:
        return f"{topic}  (not JSON: {payload[:80]!r})"
    detail = message.get("detail", {})
    channel = topic.rsplit("/", 1)[-1] if "/shops/" in topic else "me"
    keys = ("number", "state", "drink", "claimedBy", "reason", "outcome", "waiting", "inProduction", "ready")
    summary = " ".join(f"{k}={detail[k]}" for k in keys if detail.get(k) not in (None, "", []))
    if "shop" in detail:
        summary = f"open={detail['shop'].get('open')} version={detail.get('version')}"
    order = detail.get("orderId", "")
    at = datetime.now().strftime("%H:%M:%S")
    return f"{at} {channel:<6} {message.get('type', '?'):<34} {order[:8]:<8} {summary}".rstrip()


def watch(connection: mqtt.Connection, topics: tuple[str, ...], out: TextIO, stop: threading.Event) -> None:
    """Subscribe to every topic and print each message until `stop` is set; refused topics are reported."""
    lock = threading.Lock()

    def on_message(topic: str, payload: bytes, **kwargs: Any) -> None:
        with lock:
            print(format_message(topic, payload), file=out, flush=True)

    try:
        for topic in topics:
            future, _ = connection.subscribe(topic, mqtt.QoS.AT_LEAST_ONCE, on_message)
            try:
                future.result(10)
                print(f"subscribed to {topic}", file=out, flush=True)
            except mqtt.SubscribeError:
                print(f"refused: {topic} (this token may not read it)", file=out, flush=True)
        stop.wait()
    finally:
        connection.disconnect().result(10)
