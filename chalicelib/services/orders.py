"""Order use cases: customer and barista commands, and the order manager's workflow callbacks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chalicelib.domain import events as ev
from chalicelib.domain.codes import window_id_at
from chalicelib.domain.commands import ChooseDrink, PlaceOrder
from chalicelib.domain.errors import ConcurrentUpdate, InvalidCode, NotFound, StoreClosed
from chalicelib.domain.order import Actor, Order, OrderChange, order_day
from chalicelib.ports import (
    Clock,
    CodeWindowRepository,
    EventPublisher,
    IdGenerator,
    OrderRepository,
    Redemption,
    ShopRepository,
    Workflow,
)

logger = logging.getLogger(__name__)

_MAX_ATTEMPTS = 10

# Narration stored in each event's `message`: what the journey timeline shows a person.
_MESSAGES = {
    ev.NEW_ORDER: "Order placed with a QR code",
    ev.DRINK_CHOSEN: "Drink chosen: {drink}",
    ev.MANAGER_WAITING_COMPLETION: "Order #{number} is in the barista's queue",
    ev.MAKE_ORDER: "A barista is making order #{number}",
    ev.ORDER_UNCLAIMED: "Order #{number} is back in the queue",
    ev.ORDER_COMPLETED: "Order #{number} is ready for pickup",
    ev.ORDER_CANCELLED: "{reason}",
    ev.ORDER_TIMED_OUT: "{reason}",
    ev.ORDER_FINISHED: "Order finished: {outcome}",
}


class OrderService:
    def __init__(
        self,
        shops: ShopRepository,
        windows: CodeWindowRepository,
        orders: OrderRepository,
        publisher: EventPublisher,
        workflow: Workflow,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._shops = shops
        self._windows = windows
        self._orders = orders
        self._publisher = publisher
        self._workflow = workflow
        self._clock = clock
        self._ids = ids

    # ----- customer ---------------------------------------------------------------------------

    def place(self, actor: Actor, command: PlaceOrder) -> Order:
        shop_id = command.shop_id
        shop = self._shops.get(shop_id)
        if shop is None:
            raise NotFound(f"there is no shop '{shop_id}'")
        if not shop.open:
            raise StoreClosed(f"'{shop.name}' is not taking orders right now")
        now = self._clock.now()
        window = self._windows.get(shop_id, window_id_at(now.timestamp(), shop.setting("codeIntervalSeconds")))
        if window is None:
            raise InvalidCode("this code is wrong or has expired")
        order = Order(order_id=self._ids.new_id(), shop_id=shop_id, user_id=actor.sub, created_at=now.isoformat())
        new_order = self._event(ev.NEW_ORDER, replace(order, version=1), createdAt=order.created_at)
        placed = self._orders.place(
            Redemption(
                order=replace(order, outbox=(new_order.to_json(),)),
                window=window,
                code=command.code,
                day=order_day(now),
                daily_limit=None if actor.is_admin else shop.setting("maxOrdersPerCustomerPerDay"),
            )
        )
        self._flush(placed)
        return placed

    def choose_drink(self, actor: Actor, command: ChooseDrink) -> Order:
        def mutate(order: Order) -> OrderChange:
            order.check_visible_to(actor)
            shop = self._shops.get(order.shop_id)
            if shop is None:
                raise NotFound(f"there is no shop '{order.shop_id}'")
            chosen = shop.choose(command.drink, command.modifiers)
            return order.choose_drink(actor, command.drink, chosen)

        return self._change(command.order_id, mutate)

    def cancel(self, actor: Actor, order_id: str) -> Order:
        return self._change(order_id, lambda o: o.cancel(actor))

    # ----- barista ----------------------------------------------------------------------------

    def claim(self, actor: Actor, order_id: str) -> Order:
        return self._change(order_id, lambda o: o.claim(actor))

    def unclaim(self, actor: Actor, order_id: str) -> Order:
        return self._change(order_id, lambda o: o.unclaim(actor))

    def complete(self, actor: Actor, order_id: str) -> Order:
        return self._change(order_id, lambda o: o.complete(actor))

    def get_for(self, actor: Actor, order_id: str) -> Order:
        order = self._require(order_id)
        order.check_visible_to(actor)
        return order

    # ----- workflow callbacks (EventBridge consumers; each may be delivered twice or late) ------

    def on_workflow_started(self, event: ev.WorkflowStarted) -> Order:
        return self._change(event.order_id, lambda o: o.workflow_started(event.task_token))

    def on_waiting_completion(self, event: ev.WorkflowWaitingCompletion) -> Order:
        return self._change(event.order_id, lambda o: o.waiting_completion(event.number, event.task_token))

    def on_timed_out(self, event: ev.WorkflowTimedOut) -> Order:
        reason = event.reason or "The order timed out"
        return self._change(event.order_id, lambda o: o.time_out(reason))

    def on_shop_unavailable(self, event: ev.WorkflowShopUnavailable) -> Order:
        reason = event.reason or "The shop is not taking orders"
        return self._change(event.order_id, lambda o: o.reject(reason))

    def end_interrupted(self, reason: str) -> list[Order]:
        """End every unfinished order whose workflow was lost, with the workflow's usual events.

        Only the local runtime needs this: its emulated executions do not survive a restart.
        """
        ended = []
        for order in self._orders.list_unfinished():
            ended.append(self._change(order.order_id, lambda o: o.end_interrupted(reason)))
        return ended

    def flush_outboxes(self) -> int:
        """Repair what a crash between saving and notifying left behind; returns orders repaired.

        Publishes events left in outboxes, and hands every unfinished order's pending outcome to its
        workflow again (a token already answered is simply refused).
        """
        pending = self._orders.list_with_outbox()
        for order in pending:
            self._flush(order)
        for order in self._orders.list_unfinished():
            self._resume_if_ready(order)
        return len(pending)

    # ----- internals --------------------------------------------------------------------------

    def _require(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None:
            raise NotFound(f"there is no order '{order_id}'")
        return order

    def _change(self, order_id: str, mutate: Callable[[Order], OrderChange]) -> Order:
        """Apply a command to the order, saving it with the events the order records, in its outbox."""
        for _ in range(_MAX_ATTEMPTS):
            order = self._require(order_id)
            change = mutate(order)
            if change.order == order:
                saved = order
            else:
                next_version = replace(change.order, version=order.version + 1)
                recorded = [self._event(e.detail_type, next_version, **e.fields) for e in change.events]
                changed = replace(change.order, outbox=order.outbox + tuple(e.to_json() for e in recorded))
                releases = changed.releases_daily_slot and not order.releases_daily_slot
                try:
                    saved = self._orders.save(changed, order.created_at[:10] if releases else None)
                except ConcurrentUpdate:
                    continue
            # Resume first: a bus failure must not keep a workflow waiting on a change already saved.
            # A redelivered callback finds the outbox of a crashed attempt here and publishes it.
            self._resume_if_ready(saved)
            self._flush(saved)
            return saved
        raise ConcurrentUpdate(order_id)

    def _flush(self, order: Order) -> None:
        if not order.outbox:
            return
        self._publisher.publish([ev.DomainEvent.from_json(text) for text in order.outbox])
        self._orders.clear_outbox(order.order_id, order.version)

    def _resume_if_ready(self, order: Order) -> None:
        pending = order.pending_callback()
        if pending is None:
            return
        token, outcome = pending
        try:
            resumed = self._workflow.resume(token, outcome)
        except Exception:
            # The change is saved; the scheduled reconciliation offers the outcome again.
            logger.exception("order %s: could not resume the workflow (%s); will retry", order.order_id, outcome)
            return
        if not resumed:
            logger.info("order %s: workflow no longer waits on this token (%s)", order.order_id, outcome)

    def _event(self, detail_type: str, order: Order, **fields: Any) -> ev.DomainEvent:
        values = {
            "number": order.number,
            "drink": order.drink,
            "reason": order.reason,
            **fields,
        }
        base: dict[str, Any] = {
            "orderId": order.order_id,
            "shopId": order.shop_id,
            "userId": order.user_id,
            "state": order.state.value,
        }
        if order.number is not None:
            base["number"] = order.number
        if order.drink is not None:
            base["drink"] = order.drink
            base["modifiers"] = dict(order.modifiers)
        if order.claimed_by is not None:
            base["claimedBy"] = order.claimed_by
        if order.reason is not None:
            base["reason"] = order.reason
        key = f"{order.order_id}:{detail_type}:v{order.version}"
        message = _MESSAGES.get(detail_type, detail_type).format_map(_Defaulting(values))
        return ev.make_event(detail_type, key, self._clock.now().isoformat(), message, **{**base, **fields})


class _Defaulting(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"
