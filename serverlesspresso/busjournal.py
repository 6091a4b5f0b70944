"""Durable EventBridge for the local runtime: a journal of every event put on the bus and each target's acknowledgement.

moto's EventBridge hands each event to one SQS queue per rule, and both live in memory: an event put on the bus but
not yet processed by every target was lost on `kill -9`, although whoever put it (an order's outbox, say) had
already been told it was delivered. So every `PutEvents` in this process (ours and the Step Functions interpreter's)
is journaled before the caller gets its answer, every target's success is journaled after it, and at start whatever a
target has not acknowledged is put back on that target's queue. That makes the local bus what EventBridge is:
at-least-once delivery of every event it accepted, to every target, through crashes.

The journal also remembers which orders' workflows are still running: one that emitted `Validator.NewOrder` and not yet
`OrderProcessor.OrderFinished`. moto's executions do not survive a restart, so at start those are the orders whose
workflow was lost (see recovery.py). A NewOrder's target is the `start_order_workflow` function, which starts the
execution named after the order (a second NewOrder for the order starts nothing), so an order with a NewOrder has one
workflow: started, or about to be when the target gets the event (which the journal redelivers if it had not).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore import handlers
from botocore.client import BaseClient

from chalicelib.domain import events as ev
from serverlesspresso.datadir import open_private

logger = logging.getLogger("serverlesspresso.events")

ACCOUNT_ID = "123456789012"
Event = dict[str, Any]  # as a target receives it: {"id", "detail-type", "source", "detail", ...}
# Targets renamed since a journal may have been written: the runtime used to start workflows from a target of its own;
# `start_order_workflow` reads the same rule, so whatever that target acknowledged, the function has had.
RENAMED_TARGETS = {"order-workflow-trigger": "start_order_workflow"}


def event_message(event_id: str, entry: Mapping[str, Any], region: str, at: datetime) -> Event:
    """The event a rule's target receives for one accepted PutEvents entry (moto's SQS message, as EventBridge's)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": ACCOUNT_ID,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(entry["Detail"]),
    }


@dataclass
class BusHistory:
    """What the journal says, folded: events not yet acknowledged by every target, and the workflows still running.

    Pure: records in, state out. Acknowledgements may come before their put (moto delivers during the PutEvents call
    itself, and the put is journaled when that call returns), so they are kept as a set.
    """

    events: dict[str, Event] = field(default_factory=dict)  # event id -> event, in the order they were put
    acknowledged: set[tuple[str, str]] = field(default_factory=set)  # (target, event id)
    running: dict[str, None] = field(default_factory=dict)  # order ids whose workflow has not finished, in order
    finished: set[str] = field(default_factory=set)  # so a NewOrder seen again does not count as a new workflow

    def apply(self, record: Mapping[str, Any]) -> None:
        if "put" in record:
            self._put(record["put"])
        elif "ack" in record:
            target, event_id = record["ack"]
            self.acknowledged.add((RENAMED_TARGETS.get(str(target), str(target)), str(event_id)))
        elif "running" in record:
            self.running.setdefault(str(record["running"]), None)
        elif "finished" in record:
            self._finish(str(record["finished"]))

    def _put(self, event: Event) -> None:
        self.events.setdefault(str(event["id"]), event)
        self.track(event)

    def track(self, event: Event) -> None:
        """Follow the workflows only (what a running process needs; the rest is read back from the file at start)."""
        order_id = event.get("detail", {}).get("orderId")
        if not isinstance(order_id, str):
            return
        if event.get("detail-type") == ev.NEW_ORDER and order_id not in self.finished:
            self.running.setdefault(order_id, None)
        elif event.get("detail-type") == ev.ORDER_FINISHED:
            self._finish(order_id)

    def _finish(self, order_id: str) -> None:
        self.finished.add(order_id)
        self.running.pop(order_id, None)

    def pending(self, targets: Mapping[str, Callable[[Event], bool]]) -> list[tuple[str, Event]]:
        """(target, event) for every event a target's rule matches and that target has not acknowledged, in order."""
        return [
            (target, event)
            for event_id, event in self.events.items()
            for target, matches in targets.items()
            if (target, event_id) not in self.acknowledged and matches(event)
        ]

    def compacted(self, targets: Mapping[str, Callable[[Event], bool]]) -> list[dict[str, Any]]:
        """The fewest records that fold into the same pending deliveries and running workflows."""
        pending = self.pending(targets)
        waiting = {(target, str(event["id"])) for target, event in pending}
        kept = [self.events[event_id] for event_id in dict.fromkeys(str(event["id"]) for _, event in pending)]
        records: list[dict[str, Any]] = []
        for event in kept:
            records.append({"put": event})
            # The targets that already have it, so a restart does not hand it to them again.
            records.extend(
                {"ack": [target, event["id"]]}
                for target, matches in targets.items()
                if matches(event) and (target, event["id"]) not in waiting
            )
        # A kept NewOrder must not reopen a workflow that has finished since.
        reopened = {event["detail"].get("orderId") for event in kept if event.get("detail-type") == ev.NEW_ORDER}
        records.extend({"finished": order_id} for order_id in sorted(reopened & self.finished))
        records.extend({"running": order_id} for order_id in self.running)
        return records


class BusJournal:
    """The file behind BusHistory: appends puts (fsynced, like the DynamoDB journal) and acknowledgements."""

    def __init__(self, path: Path, region: str, fsync: bool = True) -> None:
        self.path = path
        self.region = region
        self._fsync = fsync
        self._lock = threading.Lock()
        self._file: Any = None
        self.enabled = False
        self.history = BusHistory()

    # ----- botocore ---------------------------------------------------------------------------

    def install(self) -> None:
        """Journal every EventBridge client created from now on (as the DynamoDB journal does)."""
        handlers.BUILTIN_HANDLERS.append(("creating-client-class.eventbridge", self._add_mixin))

    def _add_mixin(self, base_classes: list[type], **_: Any) -> None:
        journal = self

        class JournaledEventBridge(BaseClient):
            def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
                response = super()._make_api_call(operation_name, api_params)
                if operation_name == "PutEvents":
                    journal.accepted(api_params.get("Entries", []), response.get("Entries", []))
                return response

        base_classes.insert(0, JournaledEventBridge)

    def accepted(self, entries: Iterable[Mapping[str, Any]], results: Iterable[Mapping[str, Any]]) -> None:
        """Journal the entries the bus accepted (those it gave an EventId), before PutEvents returns to the caller."""
        if not self.enabled:
            return
        now = datetime.now(UTC)
        events = [
            event_message(str(result["EventId"]), entry, self.region, now)
            for entry, result in zip(entries, results, strict=False)
            if result.get("EventId")
        ]
        if events:
            self._append([{"put": event} for event in events], durable=True)

    def acknowledge(self, target: str, event_id: str) -> None:
        """A target processed the event. Not fsynced: losing this line only means one more (idempotent) delivery."""
        if self.enabled:
            self._append([{"ack": [target, event_id]}], durable=False)

    def running_workflows(self) -> list[str]:
        with self._lock:
            return list(self.history.running)

    def _append(self, records: list[dict[str, Any]], durable: bool) -> None:
        lines = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records)
        with self._lock:
            for record in records:
                if "put" in record:
                    self.history.track(record["put"])
            if self._file is None:
                self._file = open_private(self.path, "a")
            self._file.write(lines)
            self._file.flush()
            if durable and self._fsync:
                os.fsync(self._file.fileno())

    # ----- start-up ---------------------------------------------------------------------------

    def load(self) -> BusHistory:
        """Fold the journal (a torn last line, from a crash mid-write, is dropped)."""
        history = BusHistory()
        if self.path.exists():
            with open(self.path, encoding="utf-8") as journal:
                for number, line in enumerate(journal, start=1):
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError:
                        logger.warning("bus journal line %d is incomplete (a crash mid-write); ignoring it", number)
                        continue
                    history.apply(record)
        self.history = history
        return history

    def compact(self, targets: Mapping[str, Callable[[Event], bool]]) -> int:
        """Rewrite the journal as what is still pending and still running, atomically; returns the records kept."""
        records = self.history.compacted(targets)
        tmp = self.path.with_suffix(".compacting")
        with open_private(tmp, "w") as out:
            for record in records:
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            self.history = BusHistory()
            for record in records:
                self.history.apply(record)
        return len(records)
