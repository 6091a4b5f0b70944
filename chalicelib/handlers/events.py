"""EventBridge consumers: the workflow's start, the order manager's callbacks, the read side and live updates.

Each decodes its event at the edge; a malformed one raises, so it is retried and then dead-lettered.
"""

from __future__ import annotations

from chalice import Blueprint, Rate  # type: ignore[attr-defined]
from chalice.app import CloudWatchEvent

from chalicelib.bootstrap import services
from chalicelib.domain import events as ev
from chalicelib.handlers import decoders as decode

bp = Blueprint(__name__)


@bp.on_cw_event(ev.WORKFLOW_TRIGGER_PATTERN, name="start_order_workflow")
def start_order_workflow(event: CloudWatchEvent) -> None:
    services().workflows.start(decode.new_order(event.to_dict()))


@bp.on_cw_event(ev.pattern(ev.WORKFLOW_STARTED), name="order_manager_workflow_started")
def workflow_started(event: CloudWatchEvent) -> None:
    services().orders.on_workflow_started(decode.workflow_started(event.detail))


@bp.on_cw_event(ev.pattern(ev.PROCESSOR_WAITING_COMPLETION), name="order_manager_waiting_completion")
def waiting_completion(event: CloudWatchEvent) -> None:
    services().orders.on_waiting_completion(decode.workflow_waiting_completion(event.detail))


@bp.on_cw_event(ev.pattern(ev.ORDER_TIMED_OUT), name="order_manager_timed_out")
def timed_out(event: CloudWatchEvent) -> None:
    services().orders.on_timed_out(decode.workflow_timed_out(event.detail))


@bp.on_cw_event(ev.pattern(ev.SHOP_UNAVAILABLE), name="order_manager_shop_unavailable")
def shop_unavailable(event: CloudWatchEvent) -> None:
    services().orders.on_shop_unavailable(decode.workflow_shop_unavailable(event.detail))


@bp.on_cw_event(ev.ALL_EVENTS_PATTERN, name="read_side_projection")
def project(event: CloudWatchEvent) -> None:
    received = decode.received(event.detail_type, event.detail)
    services().projection.on_event(received.detail_type, received.detail)


@bp.on_cw_event(ev.ALL_EVENTS_PATTERN, name="live_updates")
def live_updates(event: CloudWatchEvent) -> None:
    received = decode.received(event.detail_type, event.detail)
    services().live.forward(received.detail_type, received.detail)


@bp.schedule(Rate(1, unit=Rate.MINUTES), name="flush_outboxes")
def flush_outboxes(event: CloudWatchEvent) -> None:
    services().orders.flush_outboxes()
