"""Durable DynamoDB for the local runtime: a write-ahead journal of every successful write, replayed at start.

moto keeps its tables in memory. Every DynamoDB write in this process (our adapters, PynamoDB, and the
Step Functions interpreter's own DynamoDB tasks) goes through a botocore client's `_make_api_call`, so a
mixin that botocore puts under every DynamoDB client class sees them all. Calls are serialised while they
run, which makes the journal's order the execution order, and each entry is flushed and fsynced before
the caller gets its answer: an acknowledged write survives `kill -9`. At start the journal is replayed
into fresh moto tables, then compacted.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore import handlers
from botocore.client import BaseClient

from serverlesspresso.datadir import open_private

logger = logging.getLogger(__name__)

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
ApiCall = Callable[[str, dict[str, Any]], Any]


class DynamoDBJournal:
    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.path = path
        self._fsync = fsync
        self._lock = threading.Lock()
        self._file: Any = None
        self.enabled = False
        self.entries_written = 0
        self._handler: Any = None

    # ----- botocore ---------------------------------------------------------------------------

    def install(self) -> None:
        """Journal every DynamoDB client created from now on (registered as moto registers its stubber)."""
        self._handler = ("creating-client-class.dynamodb", self._add_mixin)
        handlers.BUILTIN_HANDLERS.append(self._handler)

    def _add_mixin(self, base_classes: list[type], **_: Any) -> None:
        journal = self

        class JournaledDynamoDB(BaseClient):
            def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
                return journal.call(operation_name, api_params, super()._make_api_call)

        base_classes.insert(0, JournaledDynamoDB)

    def call(self, operation: str, params: dict[str, Any], send: ApiCall) -> Any:
        """Run one client call under the journal's lock; journal it if it is a write that succeeded.

        The lock is a `with` around the whole call, so nothing botocore raises (a parameter refused before
        sending, a handler's error, a throttle) can leave it held. Reads take it too: moto is not
        thread-safe, and a read walking a table while another thread writes it fails with "dictionary
        changed size during iteration".
        """
        if not self.enabled:
            return send(operation, params)
        # Copied before botocore's handlers see the dict (they add defaults to it in place).
        write = copy.deepcopy(params) if operation in WRITE_OPERATIONS else None
        with self._lock:
            result = send(operation, params)
            if write is not None:
                self._append({"op": operation, "params": write})
            return result

    def _append(self, entry: dict[str, Any]) -> None:
        if self._file is None:
            self._file = open_private(self.path, "a")
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())
        self.entries_written += 1

    # ----- start-up ---------------------------------------------------------------------------

    def replay(self, call: ApiCall) -> int:
        """Re-apply every journaled write, in order; a torn last line (crash mid-write) is dropped."""
        if not self.path.exists():
            return 0
        replayed = 0
        with open(self.path, encoding="utf-8") as journal:
            for number, line in enumerate(journal, start=1):
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    logger.warning("journal line %d is incomplete (a crash mid-write); ignoring it", number)
                    continue
                try:
                    call(entry["op"], entry["params"])
                except Exception as error:  # noqa: BLE001 - report and go on: one bad entry must not lose the rest
                    logger.error("journal line %d (%s) could not be replayed: %s", number, entry["op"], error)
                    continue
                replayed += 1
        return replayed

    def compact(self, items_by_table: dict[str, list[dict[str, Any]]]) -> None:
        """Rewrite the journal as one PutItem per live item, atomically."""
        tmp = self.path.with_suffix(".compacting")
        with open_private(tmp, "w") as out:
            for table, items in items_by_table.items():
                for item in items:
                    out.write(json.dumps({"op": "PutItem", "params": {"TableName": table, "Item": item}}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)
        if self._file is not None:
            self._file.close()
            self._file = None
