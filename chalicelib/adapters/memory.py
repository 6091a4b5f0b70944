"""In-memory implementations of every port: for unit tests and the contract suites."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.codes import CodeWindow
from chalicelib.domain.errors import (
    AlreadyExists,
    CodeAlreadyUsed,
    CodeExhausted,
    ConcurrentUpdate,
    DailyLimitReached,
    InvalidCode,
    Unauthorized,
)
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.journey import JourneyEntry, OrderView
from chalicelib.domain.live import LiveMessage
from chalicelib.domain.order import Actor, Order, OrderState
from chalicelib.domain.shop import DEFAULT_SETTINGS, Shop
from chalicelib.paging import page
from chalicelib.readside.board import BoardList, board_list, ready_time


class FixedClock:
    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(seconds=seconds)


class SequentialIds:
    def __init__(self, prefix: str = "id") -> None:
        self._n = 0
        self._prefix = prefix
        self._lock = threading.Lock()

    def new_id(self) -> str:
        with self._lock:
            self._n += 1
            return f"{self._prefix}{self._n:06d}"


def _as_stored(shop: Shop, version: int) -> Shop:
    """What the DynamoDB adapter stores: every effective setting (a copy, not the caller's mapping)."""
    return replace(shop, settings={key: shop.setting(key) for key in DEFAULT_SETTINGS}, version=version)


class InMemoryShops:
    def __init__(self) -> None:
        self._shops: dict[str, Shop] = {}
        self._lock = threading.Lock()

    def get(self, shop_id: str) -> Shop | None:
        return self._shops.get(shop_id)

    def create(self, shop: Shop) -> Shop:
        with self._lock:
            if shop.shop_id in self._shops:
                raise AlreadyExists(f"shop '{shop.shop_id}' already exists")
            stored = _as_stored(shop, 1)
            self._shops[shop.shop_id] = stored
            return stored

    def save(self, shop: Shop) -> Shop:
        with self._lock:
            current = self._shops.get(shop.shop_id)
            if current is None or current.version != shop.version:
                raise ConcurrentUpdate(shop.shop_id)
            stored = _as_stored(shop, shop.version + 1)
            self._shops[shop.shop_id] = stored
            return stored


class InMemoryCodeWindows:
    def __init__(self) -> None:
        self.windows: dict[tuple[str, int], CodeWindow] = {}
        self.redeemed_by: dict[tuple[str, int], set[str]] = {}
        self.lock = threading.Lock()

    def get_or_create(self, candidate: CodeWindow) -> CodeWindow:
        with self.lock:
            key = (candidate.shop_id, candidate.window_id)
            return self.windows.setdefault(key, candidate)

    def get(self, shop_id: str, window_id: int) -> CodeWindow | None:
        return self.windows.get((shop_id, window_id))


class InMemoryOrders:
    def __init__(self, windows: InMemoryCodeWindows) -> None:
        self._orders: dict[str, Order] = {}
        self._daily: dict[tuple[str, str, str], int] = {}
        self._windows = windows

    def get(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def place(self, redemption) -> Order:  # type: ignore[no-untyped-def]
        order, window = redemption.order, redemption.window
        with self._windows.lock:
            key = (window.shop_id, window.window_id)
            stored = self._windows.windows.get(key)
            if stored is None or stored.code != redemption.code:
                raise InvalidCode("this code is wrong or has expired")
            # Read without inserting: a refused redemption leaves the store as it found it.
            users = self._windows.redeemed_by.get(key, set())
            if order.user_id in users:
                raise CodeAlreadyUsed("you have already ordered with this code")
            if stored.remaining < 1:
                raise CodeExhausted("every drink of this code has been ordered; wait for the next code")
            day_key = (order.user_id, order.shop_id, redemption.day)
            if redemption.daily_limit is not None and self._daily.get(day_key, 0) >= redemption.daily_limit:
                raise DailyLimitReached("you have reached today's limit of drinks at this shop")
            if order.order_id in self._orders:
                raise AlreadyExists(order.order_id)
            self._windows.windows[key] = replace(stored, remaining=stored.remaining - 1)
            self._windows.redeemed_by[key] = users | {order.user_id}
            if redemption.daily_limit is not None:
                self._daily[day_key] = self._daily.get(day_key, 0) + 1
            placed = copy.deepcopy(
                replace(order, version=1, counts_toward_daily_limit=redemption.daily_limit is not None)
            )
            self._orders[order.order_id] = placed
            return placed

    def save(self, order: Order, release_daily_slot_of_day: str | None = None) -> Order:
        with self._windows.lock:
            current = self._orders.get(order.order_id)
            if current is None or current.version != order.version:
                raise ConcurrentUpdate(order.order_id)
            if release_daily_slot_of_day is not None:
                day_key = (order.user_id, order.shop_id, release_daily_slot_of_day)
                self._daily[day_key] = max(0, self._daily.get(day_key, 0) - 1)
            stored = copy.deepcopy(replace(order, version=order.version + 1))
            self._orders[order.order_id] = stored
            return stored

    def list_unfinished(self) -> list[Order]:
        return [o for o in self._orders.values() if not o.state.is_final]

    def list_with_outbox(self) -> list[Order]:
        return [o for o in self._orders.values() if o.outbox]

    def clear_outbox(self, order_id: str, version: int) -> bool:
        with self._windows.lock:
            current = self._orders.get(order_id)
            if current is None or current.version != version:
                return False
            self._orders[order_id] = replace(current, outbox=())
            return True

    def daily_count(self, user_id: str, shop_id: str, day: str) -> int:
        return self._daily.get((user_id, shop_id, day), 0)


class StaticTokens:
    """A token verifier that knows a fixed set of tokens, each standing for one person."""

    def __init__(self, tokens: dict[str, Actor] | None = None) -> None:
        self.tokens = dict(tokens or {})

    def verify(self, token: str) -> Actor:
        actor = self.tokens.get(token)
        if actor is None:
            raise Unauthorized("the token is not valid")
        return actor


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.events.extend(events)

    def types(self) -> list[str]:
        return [e.detail_type for e in self.events]


class RecordingLivePublisher:
    """Keeps every message, and the retained one per topic, as a broker would."""

    def __init__(self) -> None:
        self.messages: list[LiveMessage] = []
        self.retained: dict[str, LiveMessage] = {}

    def publish(self, message: LiveMessage) -> None:
        self.messages.append(message)
        if message.retain:
            self.retained[message.topic] = message

    def on(self, topic: str) -> list[LiveMessage]:
        return [m for m in self.messages if m.topic == topic]


class RecordingWorkflow:
    """Names executions and accepts each token once, as Step Functions does."""

    def __init__(self) -> None:
        self.resumed: list[tuple[str, str]] = []
        self.waiting: set[str] = set()
        self.executions: dict[str, str] = {}  # name -> input (canonical JSON), in the order they started
        self.finished: set[str] = set()
        self.start_calls = 0

    def start(self, name: str, workflow_input: Mapping[str, Any]) -> bool:
        self.start_calls += 1
        text = json.dumps(workflow_input, sort_keys=True, separators=(",", ":"))
        if name not in self.executions:
            self.executions[name] = text
            return True
        # Step Functions answers an identical start of a running execution as a success (Standard workflows).
        return self.executions[name] == text and name not in self.finished

    def finish(self, name: str) -> None:
        self.finished.add(name)

    def resume(self, task_token: str, outcome: str) -> bool:
        if task_token not in self.waiting:
            return False
        self.waiting.discard(task_token)
        self.resumed.append((task_token, outcome))
        return True


class InMemoryReadModel:
    def __init__(self) -> None:
        self._journeys: dict[str, dict[str, JourneyEntry]] = {}
        self._views: dict[str, OrderView] = {}
        self._shops: dict[str, Shop] = {}
        self._lock = threading.Lock()

    def add_journey_entry(self, entry: JourneyEntry) -> None:
        with self._lock:
            journey = self._journeys.setdefault(entry.order_id, {})
            if entry.idempotency_key not in journey:
                journey[entry.idempotency_key] = copy.deepcopy(entry)

    def journey(self, order_id: str) -> list[JourneyEntry]:
        return sorted(self._journeys.get(order_id, {}).values(), key=lambda e: e.sort_key)

    def put_view_if_newer(self, view: OrderView) -> bool:
        with self._lock:
            current = self._views.get(view.order_id)
            if current is not None and current.event_count >= view.event_count:
                return False
            self._views[view.order_id] = copy.deepcopy(view)
            return True

    def get_view(self, order_id: str) -> OrderView | None:
        return self._views.get(order_id)

    def _shop_views(self, shop_id: str, states: Sequence[OrderState] | None) -> list[OrderView]:
        return sorted(
            (v for v in self._views.values() if v.shop_id == shop_id and (not states or v.state in states)),
            key=lambda v: (v.created_at, v.order_id),
        )

    def shop_orders(
        self,
        shop_id: str,
        states: Sequence[OrderState] | None,
        first: int,
        after: str | None,
        newest_first: bool = False,
    ) -> tuple[list[OrderView], str | None]:
        views = self._shop_views(shop_id, states)
        if newest_first:
            views.reverse()
        return page(views, first, after, reverse=newest_first)

    def shop_orders_placed_on(
        self, shop_id: str, day: str, states: Sequence[OrderState] | None = None
    ) -> list[OrderView]:
        return [v for v in self._shop_views(shop_id, states) if v.created_at.startswith(f"{day}T")]

    def user_orders(self, user_id: str, first: int, after: str | None) -> tuple[list[OrderView], str | None]:
        views = sorted(
            (v for v in self._views.values() if v.user_id == user_id),
            key=lambda v: (v.created_at, v.order_id),
            reverse=True,
        )
        return page(views, first, after, reverse=True)

    def board_views(self, shop_id: str, ready_limit: int) -> tuple[list[OrderView], list[OrderView]]:
        views = self._shop_views(shop_id, None)
        active = [v for v in views if board_list(v) is BoardList.ACTIVE]
        ready = sorted(
            (v for v in views if board_list(v) is BoardList.READY),
            key=lambda v: (ready_time(v), v.order_id),
            reverse=True,
        )
        return active, ready[:ready_limit]

    def put_shop_if_newer(self, shop: Shop) -> bool:
        with self._lock:
            current = self._shops.get(shop.shop_id)
            if current is not None and current.version >= shop.version:
                return False
            self._shops[shop.shop_id] = _as_stored(shop, shop.version)
            return True

    def get_shop(self, shop_id: str) -> Shop | None:
        return self._shops.get(shop_id)

    def list_shops(self) -> list[Shop]:
        return sorted(self._shops.values(), key=lambda shop: shop.shop_id)
