"""Shop stats rules: what counts as a drink made, and the wait from the drink choice to ready for pickup."""

from __future__ import annotations

import pytest

from chalicelib.domain.journey import OrderView
from chalicelib.domain.order import OrderState
from chalicelib.domain.stats import ShopStats, day_stats, wait_seconds


def order(n: int, state: OrderState, queued_at: str | None = None, ready_at: str | None = None) -> OrderView:
    return OrderView(order_id=f"o-{n}", shop_id="bar", state=state, queued_at=queued_at, ready_at=ready_at)


def test_the_wait_runs_from_the_drink_choice_to_ready():
    made = order(1, OrderState.COMPLETED, "2026-11-23T09:00:00+00:00", "2026-11-23T09:01:30.500000+00:00")
    assert wait_seconds(made) == 90.5
    assert wait_seconds(order(2, OrderState.QUEUED, "2026-11-23T09:00:00+00:00")) is None


def test_only_completed_orders_count_and_each_known_wait_is_averaged():
    views = [
        order(1, OrderState.COMPLETED, "2026-11-23T09:00:00+00:00", "2026-11-23T09:01:00+00:00"),
        order(2, OrderState.COMPLETED, "2026-11-23T09:00:00+00:00", "2026-11-23T09:03:00+00:00"),
        # Its DrinkChosen event has not reached the read side yet: made, but no wait to count.
        order(3, OrderState.COMPLETED, None, "2026-11-23T09:04:00+00:00"),
        order(4, OrderState.IN_PRODUCTION, "2026-11-23T09:00:00+00:00"),
        order(5, OrderState.CANCELLED, "2026-11-23T09:00:00+00:00"),
    ]

    stats = day_stats("bar", "2026-11-23", views)

    assert (stats.shop_id, stats.day, stats.drinks_made) == ("bar", "2026-11-23", 3)
    assert stats.average_wait_seconds == pytest.approx(120.0)


def test_a_day_without_drinks_has_no_average():
    assert day_stats("bar", "2026-11-23", [order(1, OrderState.QUEUED)]) == ShopStats("bar", "2026-11-23", 0, None)
    assert day_stats("bar", "2026-11-23", []) == ShopStats("bar", "2026-11-23", 0, None)
