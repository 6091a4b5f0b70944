"""Which order views the public board shows, and in what order: the rule the read model's board index follows."""

from __future__ import annotations

from enum import Enum

from chalicelib.domain.journey import NUMBERED_STATES, OrderView
from chalicelib.domain.order import OrderState


class BoardList(Enum):
    ACTIVE = "ACTIVE"  # waiting or being made, oldest placed first
    READY = "READY"  # completed, most recently ready first


def board_list(view: OrderView) -> BoardList | None:
    """The list a view is on, if any: only numbered orders are shown (numbers are all the board has)."""
    if view.number is None:
        return None
    if view.state in NUMBERED_STATES:
        return BoardList.ACTIVE
    if view.state is OrderState.COMPLETED:
        return BoardList.READY
    return None


def ready_time(view: OrderView) -> str:
    """When the order became ready; views stored before readyAt existed fall back to their last event."""
    return view.ready_at or view.updated_at
