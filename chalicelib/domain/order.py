"""Order aggregate: the lifecycle of one drink and the guards on every state change."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from chalicelib.domain import events as ev
from chalicelib.domain.errors import AlreadyClaimed, Forbidden, InvalidState


class OrderState(enum.StrEnum):
    WAITING_FOR_DRINK = "WAITING_FOR_DRINK"
    QUEUED = "QUEUED"
    IN_PRODUCTION = "IN_PRODUCTION"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    REJECTED = "REJECTED"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset(
    {OrderState.COMPLETED, OrderState.CANCELLED, OrderState.TIMED_OUT, OrderState.REJECTED}
)
CANCELLABLE_STATES = frozenset({OrderState.WAITING_FOR_DRINK, OrderState.QUEUED, OrderState.IN_PRODUCTION})

# What the workflow is told when the order leaves one of its two waits.
OUTCOME_DRINK_CHOSEN = "DRINK_CHOSEN"
OUTCOME_COMPLETED = "COMPLETED"
OUTCOME_CANCELLED = "CANCELLED"

# Ids are 32 hex digits (RandomIds); anything outside this cannot name an order, and is not looked up.
ORDER_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_order_id(text: str) -> bool:
    return ORDER_ID_PATTERN.fullmatch(text) is not None


def order_day(placed_at: datetime) -> str:
    """The day an order counts on (daily limit, shop stats): the date its createdAt begins with.

    The system clock is UTC, so this is the UTC date.
    """
    return placed_at.date().isoformat()


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: the JWT subject and whether they are in the `admin` group."""

    sub: str
    username: str
    is_admin: bool


@dataclass(frozen=True)
class RecordedEvent:
    """An event a change causes: its detail-type and the fields it carries beyond the order's snapshot."""

    detail_type: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderChange:
    """What a command did: the order after it and the events it records (none when nothing changed)."""

    order: Order
    events: tuple[RecordedEvent, ...] = ()


@dataclass(frozen=True)
class Order:
    order_id: str
    shop_id: str
    user_id: str
    created_at: str
    state: OrderState = OrderState.WAITING_FOR_DRINK
    drink: str | None = None
    modifiers: Mapping[str, str] = field(default_factory=dict)
    number: int | None = None
    claimed_by: str | None = None
    reason: str | None = None
    counts_toward_daily_limit: bool = True
    # Task tokens of the workflow's two waits; stored server-side only, never returned by the API.
    customer_token: str | None = None
    barista_token: str | None = None
    # Events recorded with this change but not yet confirmed published (a transactional outbox):
    # they are saved atomically with the state, so a crash between save and publish loses nothing.
    outbox: tuple[str, ...] = ()
    version: int = 0

    # ----- guards -----------------------------------------------------------------------------

    def check_visible_to(self, actor: Actor) -> None:
        if not (actor.is_admin or actor.sub == self.user_id):
            raise Forbidden("only the customer who placed this order or an admin may do this")

    def _require(self, allowed: frozenset[OrderState] | set[OrderState], action: str) -> None:
        if self.state not in allowed:
            raise InvalidState(f"cannot {action} an order that is {self.state.value}")

    # ----- customer commands ------------------------------------------------------------------

    def _changed(self, after: Order, *events: RecordedEvent) -> OrderChange:
        # A command that changes nothing records nothing: a redelivery or a repeated click is not news.
        return OrderChange(self) if after == self else OrderChange(after, events)

    def choose_drink(self, actor: Actor, drink: str, modifiers: Mapping[str, str]) -> OrderChange:
        if actor.sub != self.user_id:
            raise Forbidden("only the customer who placed this order may choose its drink")
        self._require({OrderState.WAITING_FOR_DRINK}, "choose the drink of")
        chosen = replace(self, state=OrderState.QUEUED, drink=drink, modifiers=dict(modifiers))
        return self._changed(chosen, RecordedEvent(ev.DRINK_CHOSEN))

    def cancel(self, actor: Actor) -> OrderChange:
        self.check_visible_to(actor)
        self._require(CANCELLABLE_STATES, "cancel")
        who = "a barista" if actor.is_admin and actor.sub != self.user_id else "the customer"
        cancelled = replace(self, state=OrderState.CANCELLED, reason=f"Cancelled by {who}", claimed_by=None)
        return self._changed(cancelled, RecordedEvent(ev.ORDER_CANCELLED, {"cancelledBy": actor.sub}))

    # ----- barista commands -------------------------------------------------------------------

    def _require_admin(self, actor: Actor) -> None:
        if not actor.is_admin:
            raise Forbidden("only baristas (group 'admin') may do this")

    def claim(self, actor: Actor) -> OrderChange:
        self._require_admin(actor)
        if self.state is OrderState.IN_PRODUCTION:
            if self.claimed_by == actor.sub:
                return OrderChange(self)
            raise AlreadyClaimed("another barista is already making this order")
        self._require({OrderState.QUEUED}, "claim")
        if self.number is None:
            raise InvalidState("the order is still being numbered; try again in a moment")
        claimed = replace(self, state=OrderState.IN_PRODUCTION, claimed_by=actor.sub)
        return self._changed(claimed, RecordedEvent(ev.MAKE_ORDER))

    def unclaim(self, actor: Actor) -> OrderChange:
        self._require_admin(actor)
        self._require({OrderState.IN_PRODUCTION}, "unclaim")
        if self.claimed_by != actor.sub:
            raise AlreadyClaimed("another barista is making this order")
        unclaimed = replace(self, state=OrderState.QUEUED, claimed_by=None)
        return self._changed(unclaimed, RecordedEvent(ev.ORDER_UNCLAIMED))

    def complete(self, actor: Actor) -> OrderChange:
        self._require_admin(actor)
        self._require({OrderState.QUEUED, OrderState.IN_PRODUCTION}, "complete")
        if self.state is OrderState.IN_PRODUCTION and self.claimed_by != actor.sub:
            raise AlreadyClaimed("another barista is making this order")
        if self.number is None:
            raise InvalidState("the order is still being numbered; try again in a moment")
        completed = replace(self, state=OrderState.COMPLETED, claimed_by=actor.sub)
        return self._changed(completed, RecordedEvent(ev.ORDER_COMPLETED))

    # ----- workflow notifications -------------------------------------------------------------
    # The workflow announces these itself. The order adds its own view of a numbering (the baristas'
    # queue is built from it), and the events of a workflow that was lost (end_interrupted).

    def workflow_started(self, customer_token: str) -> OrderChange:
        return self._changed(replace(self, customer_token=customer_token))

    def waiting_completion(self, number: int, barista_token: str) -> OrderChange:
        numbered = replace(
            self, number=self.number if self.number is not None else number, barista_token=barista_token
        )
        if self.state.is_final:
            # Numbered after it ended (a cancel raced the workflow): keep the token, tell no queue.
            return self._changed(numbered)
        return self._changed(numbered, RecordedEvent(ev.MANAGER_WAITING_COMPLETION))

    def time_out(self, reason: str) -> OrderChange:
        if self.state.is_final:
            return OrderChange(self)
        return self._changed(replace(self, state=OrderState.TIMED_OUT, reason=reason, claimed_by=None))

    def reject(self, reason: str) -> OrderChange:
        if self.state.is_final:
            return OrderChange(self)
        return self._changed(replace(self, state=OrderState.REJECTED, reason=reason, claimed_by=None))

    def end_interrupted(self, reason: str) -> OrderChange:
        """Time out an order whose workflow was lost, recording the events that workflow would have sent."""
        if self.state.is_final:
            return OrderChange(self)
        return self._changed(
            replace(self, state=OrderState.TIMED_OUT, reason=reason, claimed_by=None),
            RecordedEvent(ev.ORDER_TIMED_OUT, {"reason": reason, "stage": "restart"}),
            RecordedEvent(ev.ORDER_FINISHED, {"outcome": OrderState.TIMED_OUT.value}),
        )

    # ----- what the workflow must be told -----------------------------------------------------

    def pending_callback(self) -> tuple[str, str] | None:
        """The (task token, outcome) the workflow waits for, once both are known.

        Either side may arrive first (the customer can choose a drink before the workflow's token
        is stored), so whichever write completes the pair triggers the callback.
        """
        if self.barista_token is not None:
            if self.state is OrderState.COMPLETED:
                return self.barista_token, OUTCOME_COMPLETED
            if self.state is OrderState.CANCELLED:
                return self.barista_token, OUTCOME_CANCELLED
            return None
        if self.customer_token is not None:
            if self.state in (OrderState.QUEUED, OrderState.IN_PRODUCTION, OrderState.COMPLETED):
                return self.customer_token, OUTCOME_DRINK_CHOSEN
            if self.state is OrderState.CANCELLED:
                return self.customer_token, OUTCOME_CANCELLED
        return None

    @property
    def releases_daily_slot(self) -> bool:
        """An order that ends without a drink does not use up the customer's daily allowance."""
        return self.counts_toward_daily_limit and self.state in (
            OrderState.CANCELLED,
            OrderState.TIMED_OUT,
            OrderState.REJECTED,
        )
