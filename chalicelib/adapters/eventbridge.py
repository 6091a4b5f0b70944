"""EventBridge adapter: publishes domain events to the bus through an injected boto3 client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.domain.events import DomainEvent

_MAX_ENTRIES_PER_CALL = 10


class EventPublishFailed(RuntimeError):
    """Raised when the bus refused an entry: the caller's work must not be acknowledged as done."""


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, events: Sequence[DomainEvent]) -> None:
        entries = [e.to_entry(self._bus_name) for e in events]
        for start in range(0, len(entries), _MAX_ENTRIES_PER_CALL):
            batch = entries[start : start + _MAX_ENTRIES_PER_CALL]
            response = self._client.put_events(Entries=batch)
            if response.get("FailedEntryCount", 0):
                failed = [e for e in response.get("Entries", []) if e.get("ErrorCode")]
                raise EventPublishFailed(f"EventBridge refused {len(failed)} event(s): {failed}")
