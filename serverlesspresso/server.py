"""HTTP front door of the local runtime: Chalice's API Gateway emulation plus the identity provider's JWKS."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalChalice, LocalDevServer, ThreadedHTTPServer

JWKS_PATH = "/.well-known/jwks.json"
MQTT_PATH = "/mqtt"


class _Handler(ChaliceRequestHandler):
    jwks: dict[str, Any] = {}
    mqtt_websocket: tuple[str, int] | None = None

    def _generic_handle(self) -> None:
        if (
            self.path.split("?")[0] == MQTT_PATH
            and self.headers.get("Upgrade", "").lower() == "websocket"
            and self.mqtt_websocket is not None
        ):
            self._tunnel_to_broker(self.mqtt_websocket)
            return
        if self.path.split("?")[0] == JWKS_PATH and self.command == "GET":
            body = json.dumps(self.jwks).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

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
        jwks: dict[str, Any],
        mqtt_websocket: tuple[str, int] | None = None,
    ) -> None:
        # Chalice's request object is a process global; the local server makes it thread-local.
        app.__class__ = LocalChalice
        handler = type("Handler", (_Handler,), {"jwks": jwks, "mqtt_websocket": mqtt_websocket})
        self._server = LocalDevServer(
            app, Config(chalice_stage="local"), host, port, handler_cls=handler, server_cls=ThreadedHTTPServer
        )
        self.port = self._server.server.server_address[1]
        self._thread = threading.Thread(target=self._server.server.serve_forever, name="http", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.server.shutdown()
        self._server.server.server_close()
