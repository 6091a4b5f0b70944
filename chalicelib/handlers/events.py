"""EventBridge consumers: the order manager's workflow callbacks and the read-side projection."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Rate  # type: ignore[attr-defined]

from chalicelib.bootstrap import services
from chalicelib.domain import events as ev

bp = Blueprint(__name__)


@bp.on_cw_event(ev.pattern(ev.WORKFLOW_STARTED), name="order_manager_workflow_started")
def workflow_started(event: Any) -> None:
    services().orders.on_workflow_started(event.detail)


@bp.on_cw_event(ev.pattern(ev.PROCESSOR_WAITING_COMPLETION), name="order_manager_waiting_completion")
def waiting_completion(event: Any) -> None:
    services().orders.on_waiting_completion(event.detail)


@bp.on_cw_event(ev.pattern(ev.ORDER_TIMED_OUT), name="order_manager_timed_out")
def timed_out(event: Any) -> None:
    services().orders.on_timed_out(event.detail)


@bp.on_cw_event(ev.pattern(ev.SHOP_UNAVAILABLE), name="order_manager_shop_unavailable")
def shop_unavailable(event: Any) -> None:
    services().orders.on_shop_unavailable(event.detail)


@bp.on_cw_event(ev.ALL_EVENTS_PATTERN, name="read_side_projection")
def project(event: Any) -> None:
    services().projection.on_event(event.detail_type, event.detail)


@bp.on_cw_event(ev.ALL_EVENTS_PATTERN, name="live_updates")
def live_updates(event: Any) -> None:
    services().live.forward(event.detail_type, event.detail)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="flush_outboxes")
def flush_outboxes(event: Any) -> None:
    services().orders.flush_outboxes()
