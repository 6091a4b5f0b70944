"""Records the AWS calls made in this process (a botocore hook), each attributed to the Chalice function making it.

The local runtime runs every Lambda of the app in one process, so it says which one it is invoking (`acting_as`): the
REST and GraphQL routes are the API Lambda (`api_handler`), each `@on_cw_event`, `@schedule` and `@lambda_function`
has its name. Calls made by moto's Step Functions interpreter for the workflow's service integrations are the state
machine's (`statemachine`): the interpreter builds its clients with moto's own access key, which nothing else uses.
Calls made by the runtime itself (replaying the journal, polling the SQS queues that stand in for EventBridge
targets) belong to no function and are not recorded.

Each call becomes one JSON line in the record: the IAM actions and resources it needs (`awscalls.iam_calls`) and
what AWS would meter for it (DynamoDB request units from the item sizes, before and after, read from moto's tables;
events; IoT messages), with a line per function invocation (its duration) and, when the runtime stops, a line per
workflow execution (its state transitions, from the history moto keeps) and one for the table's size.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore import handlers
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from serverlesspresso import awscalls
from serverlesspresso.cost import dynamodb_read_units, dynamodb_write_units, item_size
from serverlesspresso.datadir import open_private

logger = logging.getLogger("serverlesspresso")

API_HANDLER = "api_handler"
STATE_MACHINE = "statemachine"
# moto/stepfunctions/parser/asl/utils/boto_client.py builds the interpreter's clients with this key.
MOTO_INTERPRETER_ACCESS_KEY = "ak"
# What the runtime publishes to the broker is also published through the deployed adapter to moto's iot-data (which
# accepts only this address), so the call IoT Core would get is on the record.
MOTO_IOT_DATA_ENDPOINT = "https://data-ats.iot.us-east-1.amazonaws.com"

_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("serverlesspresso_function", default=None)
_active: list[AwsCallRecorder] = []


@contextmanager
def acting_as(function: str, route: str | None = None) -> Iterator[None]:
    """Run the body as the Lambda function `function`: its AWS calls (and the invocation itself) are recorded as its."""
    token = _function.set(function)
    started = time.perf_counter()
    try:
        yield
    finally:
        _function.reset(token)
        if _active:
            _active[0].invoked(function, time.perf_counter() - started, route)


def api_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice `http` middleware: every route runs in the API Lambda."""
    route = f"{event.method} {event.context.get('resourcePath', '?')}"
    with acting_as(API_HANDLER, route):
        return get_response(event)


class AwsCallRecorder:
    """Appends one JSON line per attributed AWS call, invocation, execution and table to `path` (truncated at start)."""

    def __init__(self, path: Path, region: str, account_id: str) -> None:
        self.path = path
        self.region = region
        self.account_id = account_id
        self._lock = threading.Lock()
        self._file: Any = None
        self.state_machine_name = "*"

    def install(self) -> None:
        """Record every client created from now on (before the journals install, so it runs inside their locks)."""
        self._file = open_private(self.path, "w")
        _active[:] = [self]
        handlers.BUILTIN_HANDLERS.append(("creating-client-class", self._add_mixin))

    def close(self) -> None:
        _active.clear()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    # ----- botocore ---------------------------------------------------------------------------

    def _add_mixin(self, base_classes: list[type], **_: Any) -> None:
        recorder = self

        class Recorded(BaseClient):
            def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
                function = recorder.attribute(self)
                if function is None:
                    return super()._make_api_call(operation_name, api_params)
                service = self.meta.service_model.service_name
                before = recorder.safely(lambda: recorder.stored_items(service, operation_name, api_params), {})
                error: str | None = None
                response: Any = None
                try:
                    response = super()._make_api_call(operation_name, api_params)
                except ClientError as failure:
                    error = str(failure.response.get("Error", {}).get("Code") or type(failure).__name__)
                    raise
                except Exception as failure:
                    error = type(failure).__name__  # refused before it reached AWS: nothing written
                    raise
                finally:
                    recorder.safely(
                        lambda: recorder.call(function, service, operation_name, api_params, response, error, before),
                        None,
                    )
                return response

        # Innermost, just above BaseClient: the journals' mixins (outer) hold their locks while it reads moto's tables.
        base_classes.insert(len(base_classes) - 1, Recorded)

    def attribute(self, client: BaseClient) -> str | None:
        if _active[:1] != [self]:
            return None  # closed: clients made meanwhile keep the mixin, which then only passes calls through
        signer = getattr(client, "_request_signer", None)
        credentials = getattr(signer, "_credentials", None)
        if getattr(credentials, "access_key", None) == MOTO_INTERPRETER_ACCESS_KEY:
            return STATE_MACHINE
        return _function.get()

    def safely(self, measure: Callable[[], Any], fallback: Any) -> Any:
        # The record must never change what the app sees.
        try:
            return measure()
        except Exception:  # noqa: BLE001 - logged; the call itself goes on
            logger.exception("could not record an AWS call")
            return fallback

    # ----- what a call needs and meters -------------------------------------------------------

    def call(
        self,
        function: str,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        response: Mapping[str, Any] | None,
        error: str | None,
        before: Mapping[str, Any],
    ) -> None:
        needs = awscalls.iam_calls(function, service, operation, params, self.state_machine_name)
        record: dict[str, Any] = {
            "kind": "call",
            "function": function,
            "service": service,
            "operation": operation,
            "calls": [call.to_json() for call in needs],
        }
        if error:
            record["error"] = error
        meter = self.meter(service, operation, params, response or {}, error, before)
        if meter:
            record["meter"] = meter
        self._write(record)

    def meter(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any],
        response: Mapping[str, Any],
        error: str | None,
        before: Mapping[str, Any],
    ) -> dict[str, Any]:
        if service == "dynamodb":
            return self._dynamodb_meter(operation, params, response, error, before)
        if service == "events" and operation == "PutEvents":
            entries = params.get("Entries", [])
            types: dict[str, int] = {}
            for entry in entries:
                types[str(entry.get("DetailType"))] = types.get(str(entry.get("DetailType")), 0) + 1
            return {
                "events": len(entries),
                "event_chunks": sum(_event_chunks(entry) for entry in entries),
                "types": types,
            }
        if service == "iot-data" and operation == "Publish":
            payload = params.get("payload", b"")
            size = len(payload.encode() if isinstance(payload, str) else payload)
            topic = awscalls.generic_topic(str(params.get("topic", "")))
            return {"messages": max(1, -(-size // 5120)), "bytes": size, "topic": topic}
        return {}

    def _dynamodb_meter(
        self,
        operation: str,
        params: Mapping[str, Any],
        response: Mapping[str, Any],
        error: str | None,
        before: Mapping[str, Any],
    ) -> dict[str, Any]:
        consistent = bool(params.get("ConsistentRead"))
        if operation == "GetItem":
            item = response.get("Item")
            return {"rru": dynamodb_read_units([item_size(item)] if item else [], consistent)}
        if operation == "Query":
            sizes = [item_size(item) for item in response.get("Items", [])]
            scanned = int(response.get("ScannedCount", len(sizes)))
            if sizes and scanned > len(sizes):  # a filter dropped some; they were read all the same
                sizes = sizes + [sum(sizes) // len(sizes)] * (scanned - len(sizes))
            return {"rru": dynamodb_read_units(sizes, consistent, whole=True)}
        if operation == "Scan":
            table_bytes, items = self.table_size(str(params["TableName"]))
            return {
                "rru": dynamodb_read_units([table_bytes], consistent, whole=True),
                "scanned_bytes": table_bytes,
                "scanned_items": items,
            }
        if operation in ("BatchGetItem", "TransactGetItems"):
            found = _found_items(operation, response)
            transactional = operation == "TransactGetItems"
            return {"rru": dynamodb_read_units([item_size(i) for i in found], consistent, transactional=transactional)}
        if operation in _WRITES:
            after = {} if error else self.stored_items("dynamodb", operation, params)
            return {"wru": self._write_units(operation, before, after, failed=error is not None)}
        return {}

    def _write_units(self, operation: str, before: Mapping[str, Any], after: Mapping[str, Any], failed: bool) -> float:
        total = 0.0
        for key, (table_name, old) in before.items():
            new = None if failed else after.get(key, (table_name, None))[1]
            indexes = self.index_keys(table_name)
            total += dynamodb_write_units(
                old, new, indexes, transactional=operation == "TransactWriteItems", failed=failed
            )
        return total

    # ----- moto's tables, read directly (inside the journal's lock) ----------------------------

    def _table(self, name: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self.account_id][self.region].get_table(name)

    def index_keys(self, table_name: str) -> dict[str, list[str]]:
        """Each global secondary index's key attributes."""
        table = self._table(table_name)
        return {index.name: [key["AttributeName"] for key in index.schema] for index in table.global_indexes}

    def table_size(self, table_name: str) -> tuple[int, int]:
        table = self._table(table_name)
        sizes = [item_size(item.to_json()["Attributes"]) for item in table.all_items()]
        return sum(sizes), len(sizes)

    def stored_items(
        self, service: str, operation: str, params: Mapping[str, Any]
    ) -> dict[str, tuple[str, dict[str, Any] | None]]:
        """The items a write touches, as stored now: {key: (table, item or None)}."""
        if service != "dynamodb" or operation not in _WRITES:
            return {}
        from moto.dynamodb.models.dynamo_type import DynamoType

        stored: dict[str, tuple[str, dict[str, Any] | None]] = {}
        for table_name, key in _written_keys(operation, params, self._key_names):
            table = self._table(table_name)
            range_value = key.get(table.range_key_attr) if table.range_key_attr else None
            item = table.get_item(
                DynamoType(key[table.hash_key_attr]), DynamoType(range_value) if range_value else None
            )
            name = json.dumps([table_name, key], sort_keys=True)
            stored[name] = (table_name, item.to_json()["Attributes"] if item is not None else None)
        return stored

    def _key_names(self, table_name: str) -> list[str]:
        table = self._table(table_name)
        return [name for name in (table.hash_key_attr, table.range_key_attr) if name]

    # ----- invocations, executions, the table -------------------------------------------------

    def invoked(self, function: str, seconds: float, route: str | None = None) -> None:
        record: dict[str, Any] = {"kind": "invocation", "function": function, "ms": round(seconds * 1000, 3)}
        if route:
            record["route"] = route
        self._write(record)

    def finish(self, sfn: Any, state_machine_arn: str, table_name: str) -> None:
        """At stop: each execution's state transitions (from moto's history) and the table's size."""
        executions = 0
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn):
            for execution in page["executions"]:
                transitions = 0
                for history in sfn.get_paginator("get_execution_history").paginate(
                    executionArn=execution["executionArn"]
                ):
                    transitions += sum(1 for e in history["events"] if e["type"].endswith("StateEntered"))
                self._write(
                    {
                        "kind": "execution",
                        "name": execution["name"],
                        "status": execution["status"],
                        "transitions": transitions,
                    }
                )
                executions += 1
        table_bytes, items = self.table_size(table_name)
        self._write({"kind": "table", "name": table_name, "bytes": table_bytes, "items": items})
        logger.info("recorded the AWS calls, %d executions and the table's size in %s", executions, self.path)

    def _write(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        with self._lock:
            if self._file is not None:
                self._file.write(line)
                self._file.flush()


_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


def _written_keys(
    operation: str, params: Mapping[str, Any], key_names: Callable[[str], list[str]]
) -> list[tuple[str, dict[str, Any]]]:
    """(table, primary key) of every item a write names."""

    def key_of(table_name: str, request: Mapping[str, Any]) -> dict[str, Any]:
        if "Key" in request:
            return dict(request["Key"])
        item = request["Item"]
        return {name: item[name] for name in key_names(table_name)}

    if operation == "TransactWriteItems":
        keys = []
        for entry in params.get("TransactItems", []):
            ((_, request),) = entry.items()
            keys.append((str(request["TableName"]), key_of(str(request["TableName"]), request)))
        return keys
    if operation == "BatchWriteItem":
        return [
            (str(table), key_of(str(table), next(iter(request.values()))))
            for table, requests in params.get("RequestItems", {}).items()
            for request in requests
        ]
    return [(str(params["TableName"]), key_of(str(params["TableName"]), params))]


def _found_items(operation: str, response: Mapping[str, Any]) -> list[dict[str, Any]]:
    if operation == "TransactGetItems":
        return [r["Item"] for r in response.get("Responses", []) if r.get("Item")]
    return [item for items in response.get("Responses", {}).values() for item in items]


def _event_chunks(entry: Mapping[str, Any]) -> int:
    """EventBridge bills each event in 64 KB chunks of its payload."""
    size = sum(len(str(entry.get(field, "")).encode()) for field in ("Source", "DetailType", "Detail"))
    size += sum(len(str(resource).encode()) for resource in entry.get("Resources") or [])
    return max(1, -(-size // 65_536))


def publisher_to_moto(region: str) -> Any:
    """The deployed IoT adapter over moto's iot-data: what IoT Core would have been asked, on the record."""
    import boto3

    from chalicelib.adapters.iot import IotDataPublisher

    return IotDataPublisher(boto3.client("iot-data", region_name=region, endpoint_url=MOTO_IOT_DATA_ENDPOINT))


class BothPublishers:
    """A LivePublisher that hands each message to the local broker (the screens) and to the deployed adapter."""

    def __init__(self, *publishers: Any) -> None:
        self._publishers = publishers

    def publish(self, message: Any) -> None:
        for publisher in self._publishers:
            publisher.publish(message)
