"""Ports: the narrow interfaces services need from storage, the bus, the workflow, time and auth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.codes import CodeWindow
from chalicelib.domain.events import DomainEvent
from chalicelib.domain.journey import JourneyEntry, OrderView
from chalicelib.domain.live import LiveMessage
from chalicelib.domain.order import Actor, Order, OrderState
from chalicelib.domain.shop import Shop


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    def new_id(self) -> str: ...


class ShopRepository(Protocol):
    def get(self, shop_id: str) -> Shop | None: ...

    def create(self, shop: Shop) -> Shop:
        """Store a new shop; raise AlreadyExists if the id is taken."""

    def save(self, shop: Shop) -> Shop:
        """Store a change made to `shop` as read; raise ConcurrentUpdate if it changed meanwhile."""


class CodeWindowRepository(Protocol):
    def get_or_create(self, candidate: CodeWindow) -> CodeWindow:
        """Return the stored window with this id, storing `candidate` if there is none yet."""

    def get(self, shop_id: str, window_id: int) -> CodeWindow | None: ...


@dataclass(frozen=True)
class Redemption:
    """Everything that must happen atomically when a customer scans a code."""

    order: Order
    window: CodeWindow
    code: str
    day: str
    daily_limit: int | None  # None: the customer is exempt (admins)


class OrderRepository(Protocol):
    def get(self, order_id: str) -> Order | None: ...

    def place(self, redemption: Redemption) -> Order:
        """Redeem the code, count the customer's day and create the order, all or nothing.

        Raises InvalidCode, CodeExhausted, CodeAlreadyUsed or DailyLimitReached.
        """

    def save(self, order: Order, release_daily_slot_of_day: str | None = None) -> Order:
        """Store a change made to `order` as read (optimistic lock on its version).

        Raises ConcurrentUpdate if another writer got there first.
        """

    def list_unfinished(self) -> list[Order]: ...

    def list_with_outbox(self) -> list[Order]: ...

    def clear_outbox(self, order_id: str, version: int) -> bool:
        """Drop the outbox of the order at this version; False if the order changed meanwhile."""


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


class Workflow(Protocol):
    def start(self, name: str, workflow_input: Mapping[str, Any]) -> bool:
        """Start the execution called `name` with this input, unless one of that name exists.

        True if it runs now because of this call (or of an identical one whose execution still runs: Step
        Functions answers that as a success); False if an execution of that name already existed.
        """

    def resume(self, task_token: str, outcome: str) -> bool:
        """Hand `outcome` to the waiting workflow; False if the token is no longer waited on."""


class ReadModelStore(Protocol):
    def add_journey_entry(self, entry: JourneyEntry) -> None: ...

    def journey(self, order_id: str) -> list[JourneyEntry]: ...

    def put_view_if_newer(self, view: OrderView) -> bool: ...

    def get_view(self, order_id: str) -> OrderView | None: ...

    def shop_orders(
        self,
        shop_id: str,
        states: Sequence[OrderState] | None,
        first: int,
        after: str | None,
        newest_first: bool = False,
    ) -> tuple[list[OrderView], str | None]:
        """A page of the shop's orders by (createdAt, orderId), oldest first unless `newest_first`.

        Returns the page and the cursor of its last view, or None when nothing follows.
        """

    def shop_orders_placed_on(
        self, shop_id: str, day: str, states: Sequence[OrderState] | None = None
    ) -> list[OrderView]:
        """Every order of the shop placed on `day` (YYYY-MM-DD, the date of createdAt), oldest first.

        Reads that day's orders only, never the shop's whole history.
        """

    def user_orders(self, user_id: str, first: int, after: str | None) -> tuple[list[OrderView], str | None]: ...

    def board_views(self, shop_id: str, ready_limit: int) -> tuple[list[OrderView], list[OrderView]]:
        """What the board shows: the shop's numbered QUEUED and IN_PRODUCTION views, oldest placed first, and its
        `ready_limit` most recently ready COMPLETED views (by readyAt), newest first.

        Reads those views only, never the shop's history.
        """

    def put_shop_if_newer(self, shop: Shop) -> bool: ...

    def get_shop(self, shop_id: str) -> Shop | None: ...

    def list_shops(self) -> list[Shop]: ...


class LivePublisher(Protocol):
    def publish(self, message: LiveMessage) -> None:
        """Deliver one message to its MQTT topic (QoS 1), retained if the message says so."""


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Actor:
        """Check signature, expiry, issuer and audience; raise Unauthorized otherwise."""
