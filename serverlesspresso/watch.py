"""`serverlesspresso watch`: print live events as they arrive, with the AWS IoT Device SDK v2 (awscrt).

The same client code talks to the local broker (plain TCP or ws://…/mqtt) and to IoT Core (TLS, with
the custom authorizer): only the connection options differ.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO
from urllib.parse import urlparse

from awscrt import io, mqtt

from chalicelib.domain.live import admin_topic, board_topic, config_topic, user_topic


@dataclass(frozen=True)
class WatchTarget:
    url: str  # mqtt://host:port or ws://host:port/mqtt
    token: str
    topics: tuple[str, ...]


def topics_for(shop_id: str, admin: bool, user_sub: str | None) -> tuple[str, ...]:
    topics = [config_topic(shop_id), board_topic(shop_id)]
    if admin:
        topics.append(admin_topic(shop_id))
    if user_sub:
        topics.append(user_topic(user_sub))
    return tuple(topics)


def connect(target: WatchTarget, client_id: str | None = None, clean_session: bool = True) -> mqtt.Connection:
    return open_session(target, client_id, clean_session)[0]


def open_session(
    target: WatchTarget,
    client_id: str | None = None,
    clean_session: bool = True,
    on_message: Callable[..., None] | None = None,
) -> tuple[mqtt.Connection, bool]:
    """Connect; returns the connection and whether the broker resumed a persistent session.

    `on_message` receives what a resumed session had queued, so it is set before connecting.
    """
    parsed = urlparse(target.url)
    websocket = parsed.scheme in ("ws", "wss")
    default_port = 80 if websocket else 1883
    connection = mqtt.Connection(
        client=mqtt.Client(io.ClientBootstrap.get_or_create_static_default(), None),
        host_name=parsed.hostname or "127.0.0.1",
        port=parsed.port or default_port,
        client_id=client_id or f"watch-{uuid.uuid4().hex[:12]}",
        clean_session=clean_session,
        username="watch",
        password=target.token,
        keep_alive_secs=30,
        use_websockets=websocket,
        websocket_handshake_transform=_path_transform(parsed.path or "/mqtt") if websocket else None,
        disable_metrics=True,  # otherwise the SDK appends its metrics to the username
    )
    if on_message is not None:
        connection.on_message(on_message)
    connected = connection.connect().result(10)
    return connection, bool(connected.get("session_present"))


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
