"""Durable DynamoDB for the local runtime: a write-ahead journal of every successful write, replayed at start.

moto keeps its tables in memory. Every DynamoDB write in this process (our adapters, PynamoDB, and the
Step Functions interpreter's own DynamoDB tasks) goes through botocore, so botocore's event hooks see
them all. Writes are serialised while they run, which makes the journal's order the execution order,
and each entry is flushed and fsynced before the caller gets its answer: an acknowledged write
survives `kill -9`. At start the journal is replayed into fresh moto tables, then compacted.
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

logger = logging.getLogger(__name__)

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_CONTEXT_KEY = "serverlesspresso_journal"


class DynamoDBJournal:
    def __init__(self, path: Path, fsync: bool = True) -> None:
        self.path = path
        self._fsync = fsync
        self._write_lock = threading.Lock()
        self._file: Any = None
        self.enabled = False
        self.entries_written = 0

    # ----- botocore hooks ---------------------------------------------------------------------

    def install(self) -> None:
        """Register on every botocore session created from now on (as moto does for its stubber)."""
        handlers.BUILTIN_HANDLERS.append(("before-parameter-build.dynamodb", self._before))
        handlers.BUILTIN_HANDLERS.append(("after-call.dynamodb", self._after))
        handlers.BUILTIN_HANDLERS.append(("after-call-error.dynamodb", self._after_error))

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self.enabled:
            return
        # Reads take the lock too: moto is not thread-safe, and a read walking a table while another
        # thread writes it fails with "dictionary changed size during iteration".
        self._write_lock.acquire()
        write = (model.name, copy.deepcopy(params)) if model.name in WRITE_OPERATIONS else None
        context[_CONTEXT_KEY] = write

    def _after(self, http_response: Any, model: Any, context: dict[str, Any], **_: Any) -> None:
        if _CONTEXT_KEY not in context:
            return
        pending = context.pop(_CONTEXT_KEY)
        try:
            if pending is not None and http_response.status_code < 300:
                self._append({"op": pending[0], "params": pending[1]})
        finally:
            self._write_lock.release()

    def _after_error(self, context: dict[str, Any], **_: Any) -> None:
        if _CONTEXT_KEY in context:
            context.pop(_CONTEXT_KEY)
            self._write_lock.release()

    def _append(self, entry: dict[str, Any]) -> None:
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the process
        self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
        self._file.flush()
        if self._fsync:
            os.fsync(self._file.fileno())
        self.entries_written += 1

    # ----- start-up ---------------------------------------------------------------------------

    def replay(self, call: Callable[[str, dict[str, Any]], Any]) -> int:
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
        with open(tmp, "w", encoding="utf-8") as out:
            for table, items in items_by_table.items():
                for item in items:
                    out.write(json.dumps({"op": "PutItem", "params": {"TableName": table, "Item": item}}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(self.path)
        if self._file is not None:
            self._file.close()
            self._file = None
