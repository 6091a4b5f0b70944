"""Shop statistics: what one day's completed orders say about the bar (drinks made, average wait)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.journey import OrderView
from chalicelib.domain.order import OrderState


@dataclass(frozen=True)
class ShopStats:
    shop_id: str
    day: str
    drinks_made: int
    average_wait_seconds: float | None  # None when nothing was made


def wait_seconds(view: OrderView) -> float | None:
    """From the drink choice to ready for pickup; None unless the view has both moments."""
    if view.queued_at is None or view.ready_at is None:
        return None
    return (datetime.fromisoformat(view.ready_at) - datetime.fromisoformat(view.queued_at)).total_seconds()


def day_stats(shop_id: str, day: str, views: Iterable[OrderView]) -> ShopStats:
    """The stats of the orders placed on `day`: those COMPLETED count as made."""
    made = [v for v in views if v.state is OrderState.COMPLETED]
    # A completed order whose DrinkChosen event is still on its way counts as made but has no wait yet.
    waits = [w for w in map(wait_seconds, made) if w is not None]
    return ShopStats(shop_id, day, len(made), sum(waits) / len(waits) if waits else None)
