"""The evidence of AWS calls (infra/aws-calls.json): which function needs which IAM action on which resource.

`iam_calls` turns one botocore call into the IAM actions it needs (a transaction needs each item's action, an IoT
publish with the retain flag needs `iot:RetainPublish` too) on resources named the way the infrastructure names them
(the table and its index, the bus, the state machine, topics with `{shopId}`/`{sub}` placeholders). The recorder
(recorder.py) writes what a run called; `from_record` reads that back, and `load`/`dump` read and write the committed
evidence, deduplicated and sorted, which the IAM test of the infrastructure reads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
EVIDENCE = REPO_ROOT / "infra" / "aws-calls.json"
RESOURCE_TYPES = frozenset(
    {"table", "table-index", "event-bus", "state-machine", "execution", "iot-topic", "iot-endpoint", "other"}
)

# botocore's service name -> the IAM service prefix, where they differ.
_IAM_PREFIX = {"stepfunctions": "states", "iot-data": "iot"}
_TOPIC_ROOT = "serverlesspresso"


@dataclass(frozen=True, order=True)
class Resource:
    type: str
    name: str
    index: str | None = None

    def __post_init__(self) -> None:
        if self.type not in RESOURCE_TYPES:
            raise ValueError(f"unknown resource type {self.type!r}")

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "index": self.index}


@dataclass(frozen=True, order=True)
class Call:
    """One function's need of one IAM action on one resource."""

    function: str
    action: str
    resource: Resource

    def to_json(self) -> dict[str, Any]:
        return {"function": self.function, "action": self.action, "resource": self.resource.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Call:
        resource = data["resource"]
        return cls(
            str(data["function"]),
            str(data["action"]),
            Resource(str(resource["type"]), str(resource["name"]), resource.get("index")),
        )


def generic_topic(topic: str) -> str:
    """A topic with its shop id or user id replaced by the placeholder IAM policies use."""
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == _TOPIC_ROOT and parts[1] in ("shops", "users"):
        parts[2] = "{shopId}" if parts[1] == "shops" else "{sub}"
    return "/".join(parts)


def iam_calls(
    function: str, service: str, operation: str, params: Mapping[str, Any], state_machine: str = "*"
) -> list[Call]:
    """The IAM actions and resources one API call needs (`state_machine`: the one task tokens belong to)."""
    prefix = _IAM_PREFIX.get(service, service)
    return [Call(function, action, resource) for action, resource in _needs(prefix, operation, params, state_machine)]


def _needs(
    prefix: str, operation: str, params: Mapping[str, Any], state_machine: str
) -> Iterator[tuple[str, Resource]]:
    if prefix == "dynamodb":
        yield from _dynamodb(operation, params)
    elif prefix == "events" and operation == "PutEvents":
        for bus in sorted({_last(str(entry.get("EventBusName") or "default")) for entry in params.get("Entries", [])}):
            yield "events:PutEvents", Resource("event-bus", bus)
    elif prefix == "states":
        yield f"states:{operation}", _states_resource(operation, params, state_machine)
    elif prefix == "iot" and operation == "Publish":
        topic = Resource("iot-topic", generic_topic(str(params.get("topic", ""))))
        yield "iot:Publish", topic
        if params.get("retain"):
            yield "iot:RetainPublish", topic
    elif prefix == "iot" and operation == "DescribeEndpoint":
        yield "iot:DescribeEndpoint", Resource("iot-endpoint", str(params.get("endpointType", "iot:Data")))
    else:
        yield f"{prefix}:{operation}", Resource("other", "*")


# Items of a transaction are authorised as the single-item action each one is.
_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _dynamodb(operation: str, params: Mapping[str, Any]) -> Iterator[tuple[str, Resource]]:
    if operation == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            for kind, request in entry.items():
                yield f"dynamodb:{_TRANSACT_WRITE[kind]}", Resource("table", _last(str(request["TableName"])))
    elif operation == "TransactGetItems":
        for entry in params.get("TransactItems", []):
            yield "dynamodb:GetItem", Resource("table", _last(str(entry["Get"]["TableName"])))
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table in params.get("RequestItems", {}):
            yield f"dynamodb:{operation}", Resource("table", _last(str(table)))
    elif params.get("IndexName"):
        yield (
            f"dynamodb:{operation}",
            Resource("table-index", _last(str(params["TableName"])), str(params["IndexName"])),
        )
    else:
        yield f"dynamodb:{operation}", Resource("table", _last(str(params.get("TableName", "*"))))


def _states_resource(operation: str, params: Mapping[str, Any], state_machine: str) -> Resource:
    if "stateMachineArn" in params:
        return Resource("state-machine", _last(str(params["stateMachineArn"])))
    if "executionArn" in params:
        # arn:aws:states:region:account:execution:machine:name; names are order ids.
        machine = str(params["executionArn"]).split(":")[6]
        return Resource("execution", f"{machine}:{{orderId}}")
    if "taskToken" in params:
        return Resource("state-machine", state_machine)  # a token names no resource; it belongs to the workflow
    return Resource("other", "*")


def _last(name_or_arn: str) -> str:
    """The name in an ARN (`...:table/name`, `...:stateMachine:name`, `...:event-bus/name`), or the name itself."""
    if not name_or_arn.startswith("arn:"):
        return name_or_arn
    return name_or_arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


# ----- the record and the evidence ------------------------------------------------------------------------------


def read_record(path: Path) -> list[dict[str, Any]]:
    """The recorder's lines (a torn last line, from a crash mid-write, is dropped)."""
    records = []
    with open(path, encoding="utf-8") as record:
        for line in record:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return records


def from_record(records: Iterable[Mapping[str, Any]]) -> list[Call]:
    """Every distinct call of a recorded run, sorted."""
    calls = {
        Call.from_json({"function": record["function"], **needed})
        for record in records
        if record.get("kind") == "call"
        for needed in record["calls"]
    }
    return sorted(calls)


def dump(calls: Iterable[Call]) -> str:
    return json.dumps({"calls": [call.to_json() for call in sorted(set(calls))]}, indent=2) + "\n"


def load(path: Path = EVIDENCE) -> list[Call]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return sorted({Call.from_json(call) for call in data["calls"]})


def unlisted(made: Iterable[Call], evidence: Iterable[Call]) -> list[Call]:
    """The calls made that the evidence does not list."""
    listed = set(evidence)
    return sorted(set(made) - listed)


def by_function(calls: Iterable[Call]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        counts[call.function] = counts.get(call.function, 0) + 1
    return dict(sorted(counts.items()))


def describe(call: Call) -> str:
    index = f" index {call.resource.index}" if call.resource.index else ""
    return f"{call.function}: {call.action} on {call.resource.type} {call.resource.name}{index}"
