"""HTTP front door of the local runtime: Chalice's API Gateway emulation plus the identity provider's JWKS."""

from __future__ import annotations

import json
import threading
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalChalice, LocalDevServer, ThreadedHTTPServer

JWKS_PATH = "/.well-known/jwks.json"


class _Handler(ChaliceRequestHandler):
    jwks: dict[str, Any] = {}

    def _generic_handle(self) -> None:
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

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        pass  # the event log is the readable one; per-request lines would drown it


class LocalHttpServer:
    def __init__(self, app: Any, host: str, port: int, jwks: dict[str, Any]) -> None:
        # Chalice's request object is a process global; the local server makes it thread-local.
        app.__class__ = LocalChalice
        handler = type("Handler", (_Handler,), {"jwks": jwks})
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
