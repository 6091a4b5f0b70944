"""The Chalice app in process: chalice.test.Client over services built from the in-memory adapters.

`Bar` drives the app as the outside world does: people over HTTP, the workflow and the bus by invoking
the app's EventBridge handlers with Lambda-shaped events. Nothing is patched: the composition root is
told which services to hand out (bootstrap.use_services).
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalice.test import Client

from app import app
from chalicelib import bootstrap
from chalicelib.adapters.memory import FixedClock, SequentialIds, StaticTokens
from chalicelib.domain import events as ev
from chalicelib.domain.order import Actor

ADMIN = Actor(sub="barista-1", username="anna", is_admin=True)
BARISTA_2 = Actor(sub="barista-2", username="ben", is_admin=True)
ALICE = Actor(sub="user-alice", username="alice", is_admin=False)
BOB = Actor(sub="user-bob", username="bob", is_admin=False)
TOKENS = {"admin-token": ADMIN, "barista-2-token": BARISTA_2, "alice-token": ALICE, "bob-token": BOB}
SHOP = "main"
# 09:00 UTC: a 300 s code window starts exactly here.
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# Every REST route: (method, path template, a valid body or None).
MENU = {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": ["None", "Oat"]}]}, {"name": "Espresso"}]}
ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/shops", {"shopId": "new-shop", "name": "New Shop"}),
    ("PUT", "/shops/{shop}/store", {"open": True}),
    ("PUT", "/shops/{shop}/menu", MENU),
    ("PATCH", "/shops/{shop}/settings", {"drinksPerCode": 5}),
    ("GET", "/shops/{shop}/code", None),
    ("POST", "/shops/{shop}/orders", {"code": "{code}"}),
    ("GET", "/orders/{order}", None),
    ("PUT", "/orders/{order}/drink", {"drink": "Espresso"}),
    ("POST", "/orders/{order}/cancel", None),
    ("POST", "/orders/{order}/claim", None),
    ("POST", "/orders/{order}/unclaim", None),
    ("POST", "/orders/{order}/complete", None),
]
ERROR_CODES = {
    "unauthorized",
    "forbidden",
    "not_found",
    "validation_error",
    "invalid_code",
    "code_exhausted",
    "code_already_used",
    "store_closed",
    "daily_limit_reached",
    "invalid_drink",
    "invalid_state",
    "already_claimed",
    "already_exists",
}


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error.get("code") if isinstance(error, dict) else None


@dataclass
class Bar:
    client: Client
    adapters: bootstrap.InMemoryAdapters
    clock: FixedClock
    delivered: int = field(default=0)

    # ----- people, over HTTP ------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        authorization: str | None = None,
    ) -> Answer:
        headers = {"Content-Type": content_type}
        if authorization is not None:
            headers["Authorization"] = authorization
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        response = self.client.http.request(method, path, headers=headers, body=data)
        try:
            parsed = json.loads(response.body) if response.body else None
        except ValueError:
            parsed = response.body
        return Answer(response.status_code, parsed, dict(response.headers))

    def shop(self, shop_id: str = SHOP, **settings: int) -> str:
        """An open shop with the default menu (and these settings)."""
        assert self.call("POST", "/shops", "admin-token", {"shopId": shop_id, "name": "Main Bar"}).status == 201
        if settings:
            assert self.call("PATCH", f"/shops/{shop_id}/settings", "admin-token", settings).status == 200
        assert self.call("PUT", f"/shops/{shop_id}/store", "admin-token", {"open": True}).status == 200
        return shop_id

    def code(self, shop_id: str = SHOP) -> str:
        return str(self.call("GET", f"/shops/{shop_id}/code", "admin-token").body["code"])

    def place(self, token: str = "alice-token", shop_id: str = SHOP) -> str:
        answer = self.call("POST", f"/shops/{shop_id}/orders", token, {"code": self.code(shop_id)})
        assert answer.status == 201, answer
        return str(answer.body["orderId"])

    def queued(self, token: str = "alice-token", number: int = 7) -> str:
        """An order with its drink chosen and numbered by the workflow: in the baristas' queue."""
        order_id = self.place(token)
        self.workflow_started(order_id)
        assert self.call("PUT", f"/orders/{order_id}/drink", token, {"drink": "Espresso"}).status == 200
        self.workflow_numbered(order_id, number)
        return order_id

    # ----- the workflow and the bus, through the app's EventBridge handlers --------------------------

    def invoke(self, function: str, detail_type: str, detail: Any) -> Any:
        event = self.client.events.generate_cw_event(ev.SOURCE, detail_type, detail, resources=[])
        return self.client.lambda_.invoke(function, event).payload

    def _workflow_detail(self, order_id: str, key: str, **fields: Any) -> dict[str, Any]:
        order = self.adapters.orders.get(order_id) if self.adapters.orders else None
        assert order is not None
        return {
            "schemaVersion": 1,
            "idempotencyKey": f"{order_id}:{key}",
            "at": self.clock.now().isoformat(),
            "message": key,
            "orderId": order_id,
            "shopId": order.shop_id,
            "userId": order.user_id,
            **fields,
        }

    def workflow_started(self, order_id: str) -> str:
        token = f"customer-token-{order_id}"
        self.adapters.workflow.waiting.add(token)
        detail = self._workflow_detail(order_id, "WorkflowStarted", taskToken=token, timeoutSeconds=300)
        self.invoke("order_manager_workflow_started", ev.WORKFLOW_STARTED, detail)
        return token

    def workflow_numbered(self, order_id: str, number: int) -> str:
        token = f"barista-token-{order_id}"
        self.adapters.workflow.waiting.add(token)
        detail = self._workflow_detail(
            order_id, "WaitingCompletion", number=number, taskToken=token, timeoutSeconds=900
        )
        self.invoke("order_manager_waiting_completion", ev.PROCESSOR_WAITING_COMPLETION, detail)
        return token

    def deliver(self) -> int:
        """Hand every event published since the last call to the read side and live updates."""
        events = self.adapters.publisher.events[self.delivered :]
        for event in events:
            self.invoke("read_side_projection", event.detail_type, event.detail)
            self.invoke("live_updates", event.detail_type, event.detail)
        self.delivered += len(events)
        return len(events)


def new_bar() -> Bar:
    clock = FixedClock(START)
    adapters = bootstrap.InMemoryAdapters(verifier=StaticTokens(TOKENS), clock=clock, ids=SequentialIds("order-"))
    bootstrap.use_services(bootstrap.build_in_memory(adapters))
    return Bar(Client(app), adapters, clock)


def state_of(adapters: bootstrap.InMemoryAdapters) -> dict[str, Any]:
    """Everything the in-memory adapters hold, as plain data: equal before and after a refused request."""
    lock_types = (type(threading.Lock()), type(threading.RLock()))
    state: dict[str, Any] = {}
    for name, adapter in vars(adapters).items():
        held = vars(adapter) if hasattr(adapter, "__dict__") else {}
        state[name] = {
            key: copy.deepcopy(value)
            for key, value in held.items()
            if isinstance(value, dict | list | set | tuple) and not isinstance(value, lock_types)
        }
    return state
