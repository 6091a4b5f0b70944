"""HTTP front door of the local runtime: Chalice's API Gateway emulation plus the local-only routes.

Local-only routes (the identity provider's JWKS, the Cognito-compatible sign-in endpoint, the web apps
and their runtime config, the MQTT WebSocket tunnel) are answered here; everything else goes to the
unchanged Chalice app.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalChalice, LocalDevServer, ThreadedHTTPServer

JWKS_PATH = "/.well-known/jwks.json"
MQTT_PATH = "/mqtt"
MAX_LOCAL_BODY = 1 << 20


@dataclass(frozen=True)
class LocalRequest:
    method: str
    path: str  # without the query string
    query: str
    headers: Mapping[str, str]  # names lower-cased
    body: bytes
    client_address: str


@dataclass(frozen=True)
class LocalResponse:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> LocalResponse:
        return cls(
            status,
            json.dumps(payload, separators=(",", ":")).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )


@dataclass(frozen=True)
class LocalRoute:
    """A request the local runtime answers itself: `matches(method, path)` decides before the body is read."""

    matches: Callable[[str, str], bool]
    handle: Callable[[LocalRequest], LocalResponse]


def exact(path: str, *methods: str) -> Callable[[str, str], bool]:
    return lambda method, requested: requested == path and method in methods


def jwks_route(jwks: dict[str, Any]) -> LocalRoute:
    return LocalRoute(exact(JWKS_PATH, "GET", "HEAD"), lambda request: LocalResponse.json(200, jwks))


class _Handler(ChaliceRequestHandler):
    routes: tuple[LocalRoute, ...] = ()
    mqtt_websocket: tuple[str, int] | None = None

    def _generic_handle(self) -> None:
        path, _, query = self.path.partition("?")
        if (
            path == MQTT_PATH
            and self.headers.get("Upgrade", "").lower() == "websocket"
            and self.mqtt_websocket is not None
        ):
            self._tunnel_to_broker(self.mqtt_websocket)
            return
        if self.routes and self._answer_locally(path, query):
            return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def _answer_locally(self, path: str, query: str) -> bool:
        route = next((r for r in self.routes if r.matches(self.command, path)), None)
        if route is None:
            return False
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_LOCAL_BODY:
            self.close_connection = True  # the unread body must not be taken for the next request
            status, message = (400, "bad Content-Length") if length < 0 else (413, "body too large")
            self._send(LocalResponse.json(status, {"__type": "InvalidParameterException", "message": message}))
            return True
        request = LocalRequest(
            method=self.command,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            client_address=self.client_address[0],
        )
        self._send(route.handle(request))
        return True

    def _send(self, response: LocalResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _tunnel_to_broker(self, address: tuple[str, int]) -> None:
        """Browsers reach MQTT on the API's own origin: pass the WebSocket upgrade through to the broker."""
        try:
            upstream = socket.create_connection(address, timeout=5)
        except OSError:
            self.send_error(502, "the MQTT broker is not reachable")
            return
        upstream.settimeout(None)
        head = self.raw_requestline + b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in self.headers.items())
        upstream.sendall(head + b"\r\n")
        self.close_connection = True
        client = self.connection

        def pump(source: socket.socket, target: socket.socket) -> None:
            try:
                while chunk := source.recv(65536):
                    target.sendall(chunk)
            except OSError:
                pass
            finally:
                for end in (source, target):
                    with contextlib.suppress(OSError):
                        end.shutdown(socket.SHUT_RDWR)

        other = threading.Thread(target=pump, args=(upstream, client), name="mqtt-ws-down", daemon=True)
        other.start()
        pump(client, upstream)
        other.join()
        upstream.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass  # the event log is the readable one; per-request lines would drown it


class LocalHttpServer:
    def __init__(
        self,
        app: Any,
        host: str,
        port: int,
    ) -> None:
        # Chalice's request object is a process global; the local server makes it thread-local.
        app.__class__ = LocalChalice
        self._handler: type[_Handler] = type("Handler", (_Handler,), {})
        self._server = LocalDevServer(
            app, Config(chalice_stage="local"), host, port, handler_cls=self._handler, server_cls=ThreadedHTTPServer
        )
        self.port = self._server.server.server_address[1]
        self._thread = threading.Thread(target=self._server.server.serve_forever, name="http", daemon=True)

    def start(self, routes: tuple[LocalRoute, ...] = (), mqtt_websocket: tuple[str, int] | None = None) -> None:
        """Serve: the socket was bound by the constructor, so clients that came early are answered now."""
        self._handler.routes = routes
        self._handler.mqtt_websocket = mqtt_websocket
        self._thread.start()

    def stop(self) -> None:
        self._server.server.shutdown()
        self._server.server.server_close()
