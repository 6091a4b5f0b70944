"""What a restart does in place of the workflows it lost (moto's executions live in memory only): pure rules."""

from __future__ import annotations

from chalicelib.domain import events as ev
from chalicelib.domain.order import Order


def lost_workflow_ending(order: Order, at: str) -> ev.DomainEvent | None:
    """The `OrderProcessor.OrderFinished` a lost execution would have emitted for an order already in a final state.

    Shaped as statemachine.json's EmitOrderFinished, with its idempotency key (`{execution name}:OrderFinished`, the
    execution being named after the order), so a copy the read side got before the crash is the same event. None for
    an unfinished order: OrderService.end_interrupted times those out, with their own OrderFinished.
    """
    if not order.state.is_final:
        return None
    outcome = order.state.value
    return ev.make_event(
        ev.ORDER_FINISHED,
        f"{order.order_id}:OrderFinished",
        at,
        f"Order finished: {outcome}",
        orderId=order.order_id,
        shopId=order.shop_id,
        userId=order.user_id,
        outcome=outcome,
    )
