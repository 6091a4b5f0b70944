"""HTTP front door of the local runtime: Hypercorn serving Chalice's API Gateway emulation and the local routes.

Hypercorn (asyncio) owns the sockets: it accepts with a deep backlog, gives a client a fixed time to send its
request head, bounds the head's size, and speaks WebSocket. Waiting for a slow client costs a coroutine, never
a thread. The small ASGI adapter below reads the body (bounded in size and time), then runs the request on a
fixed pool of threads: the local-only routes (the identity provider's JWKS, the Cognito-compatible sign-in
endpoint, the web apps and their runtime config) or, for everything else, Chalice's `LocalGateway`, which turns
the request into an API Gateway event for the unchanged app. The MQTT WebSocket at /mqtt is relayed to the
broker's own WebSocket listener.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from chalice.config import Config
from chalice.local import LocalChalice, LocalGateway, LocalGatewayException, RouteMatcher
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig

JWKS_PATH = "/.well-known/jwks.json"
MQTT_PATH = "/mqtt"
MAX_LOCAL_BODY = 1 << 20

logger = logging.getLogger(__name__)
# Hypercorn's own log: only what goes wrong ("Running on ..." would duplicate what `up` prints).
_server_log = logging.getLogger(f"{__name__}.hypercorn")
_server_log.setLevel(logging.WARNING)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class HttpLimits:
    """What one client may cost the server."""

    workers: int = 32  # threads running requests (the app, local routes); the rest wait their turn
    backlog: int = 2048  # connections the kernel holds before they are accepted
    header_timeout: float = 10.0  # connection (or the end of the previous response) to a complete request head
    body_timeout: float = 30.0  # request head to a complete body
    max_head: int = 16 * 1024  # request line and headers
    max_body: int = MAX_LOCAL_BODY
    max_pending: int = 1024  # requests reading their body, waiting for a thread or running; past it, 503
    max_ws_message: int = MAX_LOCAL_BODY


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


def api_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> LocalResponse:
    """The API's error shape, for what the server refuses before the app sees it."""
    return LocalResponse.json(status, {"error": {"code": code, "message": message}}, headers)


def _local_route_error(status: int, message: str) -> LocalResponse:
    # The one local route that takes a body is the Cognito-compatible endpoint: answer in its error shape.
    return LocalResponse.json(status, {"__type": "InvalidParameterException", "message": message})


class _BodyRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _ClientGone(Exception):
    pass


class ChaliceAsgi:
    """ASGI adapter: local routes, then Chalice's API Gateway emulation; /mqtt WebSockets go to the broker."""

    def __init__(
        self,
        app: Any,
        routes: tuple[LocalRoute, ...],
        mqtt_websocket: tuple[str, int] | None,
        limits: HttpLimits,
        executor: ThreadPoolExecutor,
    ) -> None:
        self._gateway = LocalGateway(app, Config(chalice_stage="local"))
        self._app_routes: dict[str, Any] = app.routes
        self._matcher = RouteMatcher(list(app.routes))
        self._routes = routes
        self._mqtt = mqtt_websocket
        self._limits = limits
        self._executor = executor
        self._pending = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await _lifespan(receive, send)

    # ----- HTTP ---------------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._pending >= self._limits.max_pending:
            response = api_error(503, "overloaded", "the server is busy; try again shortly", {"Retry-After": "1"})
            await _send_response(send, scope["method"], response)
            return
        self._pending += 1
        try:
            await self._answer(scope, receive, send)
        except _ClientGone:
            pass
        finally:
            self._pending -= 1

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        # The path as sent, not percent-decoded: what BaseHTTPRequestHandler gave Chalice and the local routes.
        path = scope["raw_path"].decode("latin-1")
        query = scope["query_string"].decode("latin-1")
        headers = _headers(scope["headers"])
        route = next((r for r in self._routes if r.matches(method, path)), None)
        refuse = _local_route_error if route else _body_refused
        if route is None and not self._is_api_route(method, path):
            # API Gateway answers an unknown route with a signing 403 that echoes the Authorization header.
            response = api_error(404, "not_found", f"there is no route {method} {_printable(path)}")
            await _send_response(send, method, response)
            return
        try:
            body = await self._read_body(headers, receive)
        except _BodyRefused as refused:
            await _send_response(send, method, refuse(refused.status, refused.message))
            return
        loop = asyncio.get_running_loop()
        if route is not None:
            client = scope.get("client") or ("", 0)
            request = LocalRequest(method, path, query, headers, body, str(client[0]))
            response = await loop.run_in_executor(self._executor, _run_local_route, route, request)
        else:
            target = f"{path}?{query}" if query else path
            response = await loop.run_in_executor(self._executor, self._run_app, method, target, headers, body)
        await _send_response(send, method, response)

    def _is_api_route(self, method: str, path: str) -> bool:
        try:
            matched = self._matcher.match_route(path)
        except ValueError:
            return False
        # OPTIONS is the CORS preflight API Gateway answers for every route.
        return method == "OPTIONS" or method in self._app_routes[matched.route]

    async def _read_body(self, headers: Mapping[str, str], receive: Receive) -> bytes:
        limit = self._limits.max_body
        declared = headers.get("content-length")
        if declared is not None:
            try:
                length = int(declared)  # h11 refuses a malformed one first; HTTP/2 goes through h2 instead
            except ValueError:
                raise _BodyRefused(400, "bad Content-Length") from None
            if length > limit:
                raise _BodyRefused(413, f"the request body is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0

        async def read_all() -> None:
            nonlocal size
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _ClientGone
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:  # a chunked body says its size only at the end
                    raise _BodyRefused(413, f"the request body is larger than {limit} bytes")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return

        try:
            await asyncio.wait_for(read_all(), self._limits.body_timeout)
        except TimeoutError:
            raise _BodyRefused(408, f"the request body did not arrive within {self._limits.body_timeout:g} s") from None
        return b"".join(chunks)

    def _run_app(self, method: str, target: str, headers: dict[str, str], body: bytes) -> LocalResponse:
        try:
            result = self._gateway.handle_request(method=method, path=target, headers=headers, body=body or None)
        except LocalGatewayException as error:
            return LocalResponse(error.CODE, error.body or b"", dict(error.headers))
        except Exception:
            logger.exception("unhandled error serving %s %s", method, target.partition("?")[0])
            return api_error(500, "internal_error", "something went wrong on our side")
        return _from_lambda_response(result)

    # ----- WebSocket ----------------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        if scope["path"] != MQTT_PATH or self._mqtt is None:
            await _refuse_websocket(send, api_error(404, "not_found", "WebSockets are served on /mqtt only"))
            return
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed
        from websockets.typing import Subprotocol

        host, port = self._mqtt
        try:
            upstream = await connect(
                f"ws://{host}:{port}{MQTT_PATH}",
                subprotocols=[Subprotocol(p) for p in scope.get("subprotocols", [])] or None,
                open_timeout=5,
                close_timeout=1,
                ping_interval=None,  # MQTT keeps itself alive; the broker is on this machine
                max_size=self._limits.max_ws_message,
                compression=None,
            )
        except Exception as error:  # noqa: BLE001 - a refused connection, a timeout, a refused handshake: unreachable
            logger.warning("the MQTT broker is not reachable over WebSocket: %s", error)
            await _refuse_websocket(send, api_error(502, "mqtt_unavailable", "the MQTT broker is not reachable"))
            return
        await send({"type": "websocket.accept", "subprotocol": upstream.subprotocol})

        async def client_to_broker() -> None:
            while True:
                message = await receive()
                if message["type"] != "websocket.receive":
                    return  # websocket.disconnect
                data = message.get("bytes")
                await upstream.send(data if data is not None else message.get("text") or "")

        async def broker_to_client() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for data in upstream:
                    key = "bytes" if isinstance(data, bytes) else "text"
                    await send({"type": "websocket.send", key: data})
            # The broker ended it (keep-alive, take-over, a refused packet): end the client's side now.
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 1000})

        tasks = [asyncio.ensure_future(client_to_broker()), asyncio.ensure_future(broker_to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await upstream.close()
            await asyncio.gather(*tasks, return_exceptions=True)


def _body_refused(status: int, message: str) -> LocalResponse:
    code = {413: "payload_too_large", 408: "request_timeout"}.get(status, "validation_error")
    return api_error(status, code, message)


def _printable(path: str) -> str:
    return path if len(path) <= 200 else f"{path[:200]}..."


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


def _run_local_route(route: LocalRoute, request: LocalRequest) -> LocalResponse:
    try:
        return route.handle(request)
    except Exception:
        logger.exception("unhandled error serving %s %s", request.method, request.path)
        return api_error(500, "internal_error", "something went wrong on our side")


def _from_lambda_response(result: Mapping[str, Any]) -> LocalResponse:
    headers: dict[str, Any] = {**result.get("headers", {}), **(result.get("multiValueHeaders") or {})}
    body = result.get("body")
    if result.get("isBase64Encoded") and body is not None:
        payload = base64.b64decode(body)
    elif isinstance(body, str):
        payload = body.encode()
    else:
        payload = body or b""
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    return LocalResponse(int(result["statusCode"]), payload, headers)


async def _send_response(send: Send, method: str, response: LocalResponse) -> None:
    headers: list[tuple[bytes, bytes]] = []
    for name, value in response.headers.items():
        if name.lower() == "content-length":
            continue
        for one in value if isinstance(value, list) else [value]:
            headers.append((name.encode("latin-1"), str(one).encode("latin-1")))
    no_body = method == "HEAD" or response.status in (204, 304)
    if response.status not in (204, 304):
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if no_body else response.body})


async def _refuse_websocket(send: Send, response: LocalResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    await send({"type": "websocket.http.response.start", "status": response.status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": response.body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class LocalHttpServer:
    """Binds in the constructor (so `.port` is known early and early clients wait in the backlog); serves from
    `start` on, on its own thread with its own event loop."""

    def __init__(self, app: Any, host: str, port: int, limits: HttpLimits | None = None) -> None:
        # Chalice's request object is a process global; the local server makes it thread-local.
        app.__class__ = LocalChalice
        self._app = app
        self.limits = limits or HttpLimits()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket: socket.socket | None = socket.create_server(
            (host, port), family=family, backlog=self.limits.backlog
        )
        self.port: int = self._socket.getsockname()[1]
        self._executor = ThreadPoolExecutor(max_workers=self.limits.workers, thread_name_prefix="http-worker")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, routes: tuple[LocalRoute, ...] = (), mqtt_websocket: tuple[str, int] | None = None) -> None:
        """Serve: the socket was bound by the constructor, so clients that came early are answered now."""
        assert self._socket is not None, "start() once"
        asgi = ChaliceAsgi(self._app, routes, mqtt_websocket, self.limits, self._executor)
        config = self._config(self._socket.detach())
        self._socket = None
        self._thread = threading.Thread(target=self._serve, args=(asgi, config), name="http", daemon=True)
        self._thread.start()
        self._started.wait(10)

    def _config(self, fd: int) -> HypercornConfig:
        config = HypercornConfig()
        config.bind = [f"fd://{fd}"]
        config.backlog = self.limits.backlog
        # Hypercorn's idle timer runs from the connection's start (and from the end of each response) until a
        # complete request head: a header deadline, not reset by bytes trickling in. It is also the idle
        # keep-alive. Reads are otherwise unbounded: an MQTT WebSocket is quiet between keep-alives.
        config.keep_alive_timeout = self.limits.header_timeout
        config.read_timeout = None
        config.h11_max_incomplete_size = self.limits.max_head
        config.websocket_max_message_size = self.limits.max_ws_message
        config.graceful_timeout = 1.0
        config.include_server_header = False
        config.accesslog = None
        config.errorlog = _server_log
        return config

    def _serve(self, asgi: ChaliceAsgi, config: HypercornConfig) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stopping = asyncio.Event()
            self._started.set()
            await serve(asgi, config, shutdown_trigger=self._stopping.wait, mode="asgi")  # type: ignore[arg-type]

        asyncio.run(main())

    def stop(self) -> None:
        if self._socket is not None:  # never started
            self._socket.close()
        if self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._executor.shutdown(wait=False, cancel_futures=True)
