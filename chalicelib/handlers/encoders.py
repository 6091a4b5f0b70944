"""JSON shapes of the REST responses; task tokens are deliberately absent."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.order import Order
from chalicelib.domain.shop import Shop


def shop_json(shop: Shop) -> dict[str, Any]:
    return shop.to_dict()


def order_json(order: Order) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "shopId": order.shop_id,
        "userId": order.user_id,
        "state": order.state.value,
        "drink": order.drink,
        "modifiers": dict(order.modifiers),
        "number": order.number,
        "claimedBy": order.claimed_by,
        "reason": order.reason,
        "createdAt": order.created_at,
    }


def placed_json(order: Order) -> dict[str, Any]:
    return {"orderId": order.order_id, "state": order.state.value}
