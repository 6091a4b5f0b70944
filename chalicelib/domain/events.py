"""Event catalogue: the bus source, every detail-type, and the envelope every detail carries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

SOURCE = "serverlesspresso"
SCHEMA_VERSION = 1

NEW_ORDER = "Validator.NewOrder"
WORKFLOW_STARTED = "OrderProcessor.WorkflowStarted"
SHOP_UNAVAILABLE = "OrderProcessor.ShopUnavailable"
PROCESSOR_WAITING_COMPLETION = "OrderProcessor.WaitingCompletion"
ORDER_TIMED_OUT = "OrderProcessor.OrderTimeOut"
ORDER_FINISHED = "OrderProcessor.OrderFinished"
DRINK_CHOSEN = "OrderManager.DrinkChosen"
MANAGER_WAITING_COMPLETION = "OrderManager.WaitingCompletion"
MAKE_ORDER = "OrderManager.MakeOrder"
ORDER_UNCLAIMED = "OrderManager.OrderUnclaimed"
ORDER_COMPLETED = "OrderManager.OrderCompleted"
ORDER_CANCELLED = "OrderManager.OrderCancelled"
CONFIG_CHANGED = "ConfigService.ConfigChanged"

ALL_DETAIL_TYPES = (
    NEW_ORDER,
    WORKFLOW_STARTED,
    SHOP_UNAVAILABLE,
    PROCESSOR_WAITING_COMPLETION,
    ORDER_TIMED_OUT,
    ORDER_FINISHED,
    DRINK_CHOSEN,
    MANAGER_WAITING_COMPLETION,
    MAKE_ORDER,
    ORDER_UNCLAIMED,
    ORDER_COMPLETED,
    ORDER_CANCELLED,
    CONFIG_CHANGED,
)

# Fields that carry secrets: they ride on the bus for the callback pattern, and every reader that
# faces a person (journey, API, live topics) drops them.
SECRET_FIELDS = frozenset({"taskToken"})


def pattern(*detail_types: str) -> dict[str, Any]:
    """An EventBridge pattern for these detail-types from our source (shared by deploy and local)."""
    return {"source": [SOURCE], "detail-type": list(detail_types)}


ALL_EVENTS_PATTERN: dict[str, Any] = {"source": [SOURCE]}

# The rule of `start_order_workflow`, the function that starts each order's workflow under the order's id (a rule
# targeting the state machine directly cannot name the execution, so a redelivered NewOrder would start a second one).
WORKFLOW_TRIGGER_PATTERN = pattern(NEW_ORDER)


@dataclass(frozen=True)
class DomainEvent:
    detail_type: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"detailType": self.detail_type, "detail": self.detail}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DomainEvent:
        data = json.loads(text)
        return cls(data["detailType"], data["detail"])

    def to_entry(self, bus_name: str) -> dict[str, Any]:
        return {
            "Source": SOURCE,
            "DetailType": self.detail_type,
            "Detail": json.dumps(self.detail, separators=(",", ":"), sort_keys=True),
            "EventBusName": bus_name,
        }


def make_event(detail_type: str, idempotency_key: str, at: str, message: str, **fields: Any) -> DomainEvent:
    detail = {
        "schemaVersion": SCHEMA_VERSION,
        "idempotencyKey": idempotency_key,
        "at": at,
        "message": message,
        **fields,
    }
    return DomainEvent(detail_type, detail)


def public_detail(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if k not in SECRET_FIELDS}


# ----- what consumers receive: bus events decoded at the edge (chalicelib/handlers/decoders.py) -----


@dataclass(frozen=True)
class NewOrderPlaced:
    """A customer placed an order (Validator.NewOrder): its workflow starts, once, with the event as its input."""

    DETAIL_TYPE: ClassVar[str] = NEW_ORDER
    order_id: str
    event: Mapping[str, Any]  # the whole EventBridge event, as a rule target receives it


@dataclass(frozen=True)
class WorkflowStarted:
    """The workflow waits for the customer's drink; resuming that wait needs the task token."""

    DETAIL_TYPE: ClassVar[str] = WORKFLOW_STARTED
    order_id: str
    task_token: str


@dataclass(frozen=True)
class WorkflowWaitingCompletion:
    """The workflow numbered the order and waits for a barista (OrderProcessor.WaitingCompletion)."""

    DETAIL_TYPE: ClassVar[str] = PROCESSOR_WAITING_COMPLETION
    order_id: str
    number: int
    task_token: str


@dataclass(frozen=True)
class WorkflowTimedOut:
    """The customer or the baristas took too long (OrderProcessor.OrderTimeOut)."""

    DETAIL_TYPE: ClassVar[str] = ORDER_TIMED_OUT
    order_id: str
    reason: str | None


@dataclass(frozen=True)
class WorkflowShopUnavailable:
    """The workflow's gates refused the order: shop missing, closed or full."""

    DETAIL_TYPE: ClassVar[str] = SHOP_UNAVAILABLE
    order_id: str
    reason: str | None


@dataclass(frozen=True)
class ReceivedEvent:
    """Any event of our source, for the consumers of every event (read side, live updates).

    The envelope and every field those consumers read have their documented types; fields nobody
    reads pass through untouched, since consumers must tolerate additions.
    """

    detail_type: str
    detail: Mapping[str, Any]
