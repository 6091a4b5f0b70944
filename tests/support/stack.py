"""The running local stack for tests: `serverlesspresso up` in a subprocess, and a small REST/GraphQL client."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from serverlesspresso.identity import LocalIdentityProvider

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """One `serverlesspresso up` process with its own data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.mqtt_port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.mqtt_url = f"mqtt://127.0.0.1:{self.mqtt_port}"
        self.mqtt_ws_url = f"ws://127.0.0.1:{self.port}/mqtt"
        self.process: subprocess.Popen[str] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-up.log"

    def start(self, timeout: float = 60) -> None:
        log = open(self.log_path, "a")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "serverlesspresso.cli",
                "up",
                "--port",
                str(self.port),
                "--mqtt-port",
                str(self.mqtt_port),
                "--data-dir",
                str(self.data_dir),
            ],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serverlesspresso up exited early:\n{self.log_path.read_text()}")
            try:
                requests.get(f"{self.base}/.well-known/jwks.json", timeout=1)
                return
            except (requests.ConnectionError, requests.Timeout):
                # A timeout too: on a busy machine the server may accept before it can answer.
                time.sleep(0.2)
        self.stop()  # nobody else will: the fixture never got to yield it
        raise RuntimeError(f"serverlesspresso up did not start in {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill_hard(self) -> None:
        assert self.process is not None
        broker = _broker_pid(self.data_dir)
        self.process.kill()  # SIGKILL: no shutdown code runs
        self.process.wait()
        # The broker child notices its parent is gone within half a second; until then it holds the MQTT port.
        deadline = time.monotonic() + 10
        while broker is not None and _running(broker) and time.monotonic() < deadline:
            time.sleep(0.05)

    def log(self) -> str:
        return self.log_path.read_text()


def _broker_pid(data_dir: Path) -> int | None:
    try:
        return int(json.loads((data_dir / "broker" / "ready.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _running(pid: int) -> bool:
    """Alive and not a zombie (after its parent's kill -9, a reaper that is not ours collects it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


class Api:
    """A tiny client for the REST and GraphQL contract, with per-user tokens from the local identity provider."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.identity = LocalIdentityProvider(stack.data_dir)
        self.session = requests.Session()
        self.responses: list[str] = []  # every body seen, to prove no task token ever leaks

    def token(self, user: str, admin: bool = False) -> str:
        return self.identity.issue(user, admin=admin)

    def call(
        self, method: str, path: str, token: str | None = None, body: Any = None, raw: str | None = None
    ) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (None if body is None else __import__("json").dumps(body))
        response = self.session.request(method, self.stack.base + path, headers=headers, data=data, timeout=30)
        self.responses.append(response.text)
        return response

    def gql(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        response = self.call("POST", "/graphql", token, {"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        return payload

    # ----- shop helpers -------------------------------------------------------------------------

    def new_shop(self, admin: str, **settings: int) -> str:
        shop_id = f"shop-{uuid.uuid4().hex[:10]}"
        created = self.call("POST", "/shops", admin, {"shopId": shop_id, "name": f"Test bar {shop_id}"})
        assert created.status_code == 201, created.text
        if settings:
            patched = self.call("PATCH", f"/shops/{shop_id}/settings", admin, settings)
            assert patched.status_code == 200, patched.text
        opened = self.call("PUT", f"/shops/{shop_id}/store", admin, {"open": True})
        assert opened.status_code == 200, opened.text
        # The read side follows by a few milliseconds; tests start once it shows the shop as set up.
        self.wait_for_shop(shop_id, lambda shop: shop["open"] and shop["version"] == opened.json()["version"])
        return shop_id

    def wait_for_shop(self, shop_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        shop = None
        while time.monotonic() < deadline:
            result = self.gql("query($s: ID!) { shop(id: $s) { open version } }", {"s": shop_id})
            shop = result["data"]["shop"]
            if shop is not None and predicate(shop):
                return
            time.sleep(0.05)
        raise AssertionError(f"shop {shop_id} never reached the expected view; last seen: {shop}")

    def code(self, shop_id: str, admin: str) -> str:
        response = self.call("GET", f"/shops/{shop_id}/code", admin)
        assert response.status_code == 200, response.text
        return str(response.json()["code"])

    def place(self, shop_id: str, customer: str, admin: str) -> str:
        response = self.call("POST", f"/shops/{shop_id}/orders", customer, {"code": self.code(shop_id, admin)})
        assert response.status_code == 201, response.text
        return str(response.json()["orderId"])

    def order_view(self, order_id: str, token: str) -> dict[str, Any] | None:
        result = self.gql(
            "query($id: ID!) { order(id: $id) { id shopId number state drink modifiers claimedBy reason"
            " createdAt updatedAt queuedAt readyAt journey { type at message detail } } }",
            {"id": order_id},
            token,
        )
        assert "errors" not in result, result
        view: dict[str, Any] | None = result["data"]["order"]
        return view

    def wait_for_view(
        self, order_id: str, token: str, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        view: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            view = self.order_view(order_id, token)
            if view is not None and predicate(view):
                return view
            time.sleep(0.1)
        raise AssertionError(f"order {order_id} never reached the expected view; last seen: {view}")


def wait_queued(api: Api, order_id: str, token: str, timeout: float = 20) -> dict[str, Any]:
    """Until the order is numbered in the barista's queue, on both sides: the read side shows it, and
    the order manager has stored the number (which claiming needs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.call("GET", f"/orders/{order_id}", token).json().get("number") is not None:
            break
        time.sleep(0.05)
    return api.wait_for_view(
        order_id, token, lambda v: v["number"] is not None and v["state"] == "QUEUED", timeout=timeout
    )


def queued_order(api: Api, shop_id: str, customer: str, admin: str) -> tuple[str, dict[str, Any]]:
    """Place an order, choose an Espresso, and wait until it is numbered in the barista's queue."""
    order_id = api.place(shop_id, customer, admin)
    chosen = api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Espresso"})
    assert chosen.status_code == 200, chosen.text
    return order_id, wait_queued(api, order_id, customer)


def operation(name: str) -> str:
    """An app's committed operation (graphql/operations), with the shared fragment when it spreads it."""
    operations = REPO_ROOT / "graphql" / "operations"
    text = (operations / f"{name[0].lower()}{name[1:]}.graphql").read_text(encoding="utf-8")
    if "...OrderFields" in text:
        text += "\n" + (operations / "orderFields.graphql").read_text(encoding="utf-8")
    return text


def error_code(response: requests.Response) -> str:
    return str(response.json()["error"]["code"])


def new_customer(api: Api) -> str:
    return api.token(f"customer-{uuid.uuid4().hex[:8]}")
