"""Live-update routing: which MQTT topic gets which event, in what shape, with no secrets in any payload."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import events as ev

TOPIC_ROOT = "serverlesspresso"

# Order events that change what the big screen shows, and the column they move a number to.
BOARD_EVENTS = {
    ev.MANAGER_WAITING_COMPLETION: "QUEUED",
    ev.MAKE_ORDER: "IN_PRODUCTION",
    ev.ORDER_UNCLAIMED: "QUEUED",
    ev.ORDER_COMPLETED: "COMPLETED",
    ev.ORDER_CANCELLED: "CANCELLED",
    ev.ORDER_TIMED_OUT: "TIMED_OUT",
}
BOARD_SNAPSHOT_TYPE = "Board.Current"

# Fields that never leave the backend: task tokens (the callback pattern's secret) and QR codes.
_NEVER_PUBLISHED = frozenset({"taskToken", "code"})


def config_topic(shop_id: str) -> str:
    return f"{TOPIC_ROOT}/shops/{shop_id}/config"


def board_topic(shop_id: str) -> str:
    return f"{TOPIC_ROOT}/shops/{shop_id}/board"


def admin_topic(shop_id: str) -> str:
    return f"{TOPIC_ROOT}/shops/{shop_id}/admin"


def user_topic(sub: str) -> str:
    return f"{TOPIC_ROOT}/users/{sub}"


@dataclass(frozen=True)
class LiveMessage:
    topic: str
    payload: dict[str, Any]
    retain: bool = False

    def encode(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":"), sort_keys=True).encode()


def _message(detail_type: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    clean = {k: v for k, v in detail.items() if k not in _NEVER_PUBLISHED}
    return {"type": detail_type, "at": str(detail.get("at", "")), "detail": clean}


def route(detail_type: str, detail: Mapping[str, Any]) -> list[LiveMessage]:
    """The messages one bus event becomes (the board's retained snapshot is added by the service)."""
    shop_id = detail.get("shopId")
    if not isinstance(shop_id, str) or not shop_id:
        return []
    if detail_type == ev.CONFIG_CHANGED:
        # The event carries the whole shop, so it is also the retained "present state" of the store.
        return [LiveMessage(config_topic(shop_id), _message(detail_type, detail), retain=True)]
    if "orderId" not in detail:
        return []
    full = _message(detail_type, detail)
    messages = [LiveMessage(admin_topic(shop_id), full)]
    user_id = detail.get("userId")
    if isinstance(user_id, str) and user_id:
        messages.append(LiveMessage(user_topic(user_id), full))
    number = detail.get("number")
    if detail_type in BOARD_EVENTS and isinstance(number, int) and not isinstance(number, bool):
        public = {"shopId": shop_id, "number": number, "state": BOARD_EVENTS[detail_type]}
        messages.append(LiveMessage(board_topic(shop_id), {"type": detail_type, "at": full["at"], "detail": public}))
    return messages


def affects_board(detail_type: str) -> bool:
    return detail_type in BOARD_EVENTS


def board_snapshot(
    shop_id: str, at: str, waiting: list[int], in_production: list[int], ready: list[int]
) -> LiveMessage:
    detail = {"shopId": shop_id, "waiting": waiting, "inProduction": in_production, "ready": ready}
    return LiveMessage(board_topic(shop_id), {"type": BOARD_SNAPSHOT_TYPE, "at": at, "detail": detail}, retain=True)


# ----- who may subscribe to what (the same rules for the local broker and the IoT Core policy) ------


def allowed_subscriptions(sub: str, is_admin: bool) -> list[str]:
    """Topic filters a signed-in person may subscribe to."""
    filters = [f"{TOPIC_ROOT}/shops/+/config", f"{TOPIC_ROOT}/shops/+/board"]
    # A subject that is not one plain topic level would turn their user topic into a wildcard.
    if sub and not any(c in sub for c in "/+#\x00"):
        filters.insert(0, user_topic(sub))
    if is_admin:
        filters.append(f"{TOPIC_ROOT}/shops/+/admin")
    return filters


def filter_covers(allowed: str, requested: str) -> bool:
    """True if every topic `requested` can match is matched by `allowed` (MQTT wildcard rules)."""
    allowed_levels, requested_levels = allowed.split("/"), requested.split("/")
    for index, level in enumerate(allowed_levels):
        if level == "#":
            return True
        if index >= len(requested_levels):
            return False
        wanted = requested_levels[index]
        if wanted == "#":
            return False
        if level == "+":
            continue
        if wanted == "+" or wanted != level:
            return False
    return len(requested_levels) == len(allowed_levels)


def may_subscribe(sub: str, is_admin: bool, topic_filter: str) -> bool:
    return any(filter_covers(allowed, topic_filter) for allowed in allowed_subscriptions(sub, is_admin))
