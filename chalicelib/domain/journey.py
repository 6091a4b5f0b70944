"""Order projection rules: fold an order's stored events, in time order, into its read view."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.domain import events as ev
from chalicelib.domain.order import FINAL_STATES, OrderState

# The barista's queue and the board go by number: a client sees an order in these states only once
# the workflow has numbered it.
NUMBERED_STATES = frozenset({OrderState.QUEUED, OrderState.IN_PRODUCTION})


@dataclass(frozen=True)
class JourneyEntry:
    order_id: str
    detail_type: str
    at: str
    message: str
    idempotency_key: str
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.at, self.idempotency_key)


@dataclass(frozen=True)
class OrderView:
    order_id: str
    shop_id: str = ""
    user_id: str = ""
    state: OrderState = OrderState.WAITING_FOR_DRINK
    number: int | None = None
    drink: str | None = None
    modifiers: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""
    claimed_by: str | None = None
    reason: str | None = None
    queued_at: str | None = None  # when the drink was chosen
    ready_at: str | None = None  # when the order was completed; only on COMPLETED views
    event_count: int = 0


def entry_from_event(detail_type: str, detail: dict[str, Any]) -> JourneyEntry | None:
    order_id = detail.get("orderId")
    if not isinstance(order_id, str):
        return None
    return JourneyEntry(
        order_id=order_id,
        detail_type=detail_type,
        at=str(detail.get("at", "")),
        message=str(detail.get("message", "")),
        idempotency_key=str(detail.get("idempotencyKey", "")),
        detail=ev.public_detail(detail),
    )


def _with_state(view: OrderView, state: OrderState, **changes: Any) -> OrderView:
    # A final state is never left, whatever arrives (or is timestamped) after it.
    if view.state in FINAL_STATES:
        return view
    return replace(view, state=state, **changes)


def _number(view: OrderView, detail: dict[str, Any]) -> int | None:
    # Every order manager event carries the number once the order has one, so any of them (not only
    # the WaitingCompletion pair) can number a view whose WaitingCompletion is still on its way.
    if view.number is not None:
        return view.number
    number = detail.get("number")
    return int(number) if number is not None else None


def _apply(view: OrderView, entry: JourneyEntry) -> OrderView:
    d = entry.detail
    view = replace(
        view,
        shop_id=view.shop_id or str(d.get("shopId", "")),
        user_id=view.user_id or str(d.get("userId", "")),
        updated_at=max(view.updated_at, entry.at),
        created_at=view.created_at or entry.at,
        number=_number(view, d),
    )
    t = entry.detail_type
    if t == ev.NEW_ORDER:
        return replace(view, created_at=str(d.get("createdAt", entry.at)))
    if t in (ev.PROCESSOR_WAITING_COMPLETION, ev.MANAGER_WAITING_COMPLETION):
        if d.get("drink"):
            view = replace(view, drink=d["drink"], modifiers=dict(d.get("modifiers") or {}))
        # The workflow numbers an order only after the drink is chosen, even if DrinkChosen is late.
        return _with_state(view, OrderState.QUEUED) if view.state is OrderState.WAITING_FOR_DRINK else view
    if t == ev.DRINK_CHOSEN:
        view = replace(
            view, drink=d.get("drink"), modifiers=dict(d.get("modifiers") or {}), queued_at=view.queued_at or entry.at
        )
        return _with_state(view, OrderState.QUEUED) if view.state is OrderState.WAITING_FOR_DRINK else view
    if t == ev.MAKE_ORDER:
        return _with_state(view, OrderState.IN_PRODUCTION, claimed_by=d.get("claimedBy"))
    if t == ev.ORDER_UNCLAIMED:
        return _with_state(view, OrderState.QUEUED, claimed_by=None)
    if t == ev.ORDER_COMPLETED:
        return _with_state(
            view, OrderState.COMPLETED, claimed_by=d.get("claimedBy", view.claimed_by), ready_at=entry.at
        )
    if t == ev.ORDER_CANCELLED:
        return _with_state(view, OrderState.CANCELLED, reason=d.get("reason"), claimed_by=None)
    if t == ev.ORDER_TIMED_OUT:
        return _with_state(view, OrderState.TIMED_OUT, reason=d.get("reason"), claimed_by=None)
    if t == ev.SHOP_UNAVAILABLE:
        return _with_state(view, OrderState.REJECTED, reason=d.get("reason"), claimed_by=None)
    return view


def _as_clients_see_it(view: OrderView) -> OrderView:
    """An order is QUEUED or IN_PRODUCTION only with its number; before that, it is still WAITING_FOR_DRINK.

    Between the drink choice and the workflow's number the order is being numbered: a QUEUED order
    without a number is one the board cannot show and a barista cannot claim.
    """
    if view.state in NUMBERED_STATES and view.number is None:
        return replace(view, state=OrderState.WAITING_FOR_DRINK)
    return view


def fold(order_id: str, entries: Iterable[JourneyEntry]) -> OrderView:
    """Rebuild the view from every stored event; duplicates (same idempotency key) count once."""
    unique = {e.idempotency_key: e for e in entries}
    ordered = sorted(unique.values(), key=lambda e: e.sort_key)
    view = OrderView(order_id=order_id)
    for entry in ordered:
        view = _apply(view, entry)
    # Applied to the result only: the lifecycle above still needs to know the drink was chosen.
    return replace(_as_clients_see_it(view), event_count=len(ordered))
