"""The recorder against moto: each call attributed to the function making it (or to the state machine, by moto's key),
the runtime's own calls left out, and DynamoDB metered from the items as stored before and after."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import handlers
from botocore.exceptions import ClientError
from moto import mock_aws

from serverlesspresso.awscalls import read_record
from serverlesspresso.recorder import MOTO_INTERPRETER_ACCESS_KEY, AwsCallRecorder, acting_as

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def session() -> boto3.session.Session:
    # Its own session: boto3's default one would keep the recorder's hook for the rest of the test run.
    return boto3.session.Session(region_name=REGION)


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsCallRecorder]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    saved = list(handlers.BUILTIN_HANDLERS)
    recording = AwsCallRecorder(tmp_path / "aws-calls.jsonl", REGION, ACCOUNT)
    recording.install()
    try:
        with mock_aws():
            yield recording
    finally:
        recording.close()
        handlers.BUILTIN_HANDLERS[:] = saved


def _records(recorder: AwsCallRecorder, kind: str = "call") -> list[dict[str, Any]]:
    return [record for record in read_record(recorder.path) if record["kind"] == kind]


def _table(session: boto3.session.Session) -> Any:
    client = session.client("dynamodb")
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "GSI1PK", "GSI1SK")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _item(pk: str, **more: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": "ITEM"}, **{k: {"S": v} for k, v in more.items()}}


def test_calls_are_recorded_as_the_function_making_them_and_the_runtime_s_own_are_not(
    recorder: AwsCallRecorder, session: boto3.session.Session
) -> None:
    client = _table(session)  # the runtime's own call: no function
    with acting_as("read_side_projection"):
        client.put_item(TableName="t", Item=_item("a", GSI1PK="shop", GSI1SK="1"))
    client.get_item(TableName="t", Key={"PK": {"S": "a"}, "SK": {"S": "ITEM"}})

    (put,) = _records(recorder)
    assert put["function"] == "read_side_projection"
    assert put["calls"] == [
        {
            "function": "read_side_projection",
            "action": "dynamodb:PutItem",
            "resource": {"type": "table", "name": "t", "index": None},
        }
    ]
    assert put["meter"] == {"wru": 2.0}  # the item, and its entry in GSI1
    (invocation,) = _records(recorder, "invocation")
    assert invocation["function"] == "read_side_projection"


def test_the_state_machine_s_calls_are_known_by_moto_s_key(
    recorder: AwsCallRecorder, session: boto3.session.Session
) -> None:
    _table(session)
    interpreter = session.client("dynamodb", aws_access_key_id=MOTO_INTERPRETER_ACCESS_KEY, aws_secret_access_key="sk")
    with acting_as("start_order_workflow"):  # whatever thread it runs in, its key says who it is
        interpreter.update_item(
            TableName="t",
            Key={"PK": {"S": "SHOP#main"}, "SK": {"S": "COUNTERS"}},
            UpdateExpression="ADD activeOrders :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    (update,) = _records(recorder)
    assert update["function"] == "statemachine"
    assert [call["action"] for call in update["calls"]] == ["dynamodb:UpdateItem"]


def test_a_write_whose_condition_failed_is_recorded_with_its_error_and_costs_the_item(
    recorder: AwsCallRecorder, session: boto3.session.Session
) -> None:
    client = _table(session)
    client.put_item(TableName="t", Item=_item("a", GSI1PK="shop", GSI1SK="1", big="x" * 1500))
    with acting_as("api_handler"), pytest.raises(ClientError):
        client.put_item(TableName="t", Item=_item("a"), ConditionExpression="attribute_not_exists(PK)")
    (failed,) = _records(recorder)
    assert failed["error"] == "ConditionalCheckFailedException"
    assert failed["meter"] == {"wru": 2.0}  # the stored 1.5 KB item; no index write


def test_an_update_that_moves_an_item_in_an_index_costs_a_delete_and_a_put(
    recorder: AwsCallRecorder, session: boto3.session.Session
) -> None:
    client = _table(session)
    client.put_item(TableName="t", Item=_item("a", GSI1PK="shop", GSI1SK="1"))
    with acting_as("read_side_projection"):
        client.update_item(
            TableName="t",
            Key={"PK": {"S": "a"}, "SK": {"S": "ITEM"}},
            UpdateExpression="SET GSI1SK = :two",
            ExpressionAttributeValues={":two": {"S": "2"}},
        )
    (update,) = _records(recorder)
    assert update["meter"] == {"wru": 3.0}


def test_reads_are_metered_by_what_they_read_and_a_scan_by_the_whole_table(
    recorder: AwsCallRecorder, session: boto3.session.Session
) -> None:
    client = _table(session)
    for pk in ("a", "b", "c"):
        client.put_item(TableName="t", Item=_item(pk, GSI1PK="shop", GSI1SK=pk, pad="x" * 3000))
    with acting_as("flush_outboxes"):
        client.scan(TableName="t", FilterExpression="attribute_exists(nothing)")
    with acting_as("api_handler"):
        client.query(
            TableName="t",
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :s",
            ExpressionAttributeValues={":s": {"S": "shop"}},
        )
        client.get_item(TableName="t", Key={"PK": {"S": "a"}, "SK": {"S": "ITEM"}}, ConsistentRead=True)
    scan, query, get = _records(recorder)
    assert scan["meter"]["scanned_items"] == 3 and scan["meter"]["scanned_bytes"] > 9000
    assert scan["meter"]["rru"] == 1.5  # 9 KB in 4 KB units, eventually consistent
    assert query["calls"][0]["resource"] == {"type": "table-index", "name": "t", "index": "GSI1"}
    assert query["meter"] == {"rru": 1.5}
    assert get["meter"] == {"rru": 1.0}


def test_events_are_counted_by_detail_type(recorder: AwsCallRecorder, session: boto3.session.Session) -> None:
    events = session.client("events")
    entry = {"Source": "serverlesspresso", "DetailType": "OrderManager.OrderCompleted", "Detail": json.dumps({})}
    with acting_as("api_handler"):
        events.put_events(Entries=[entry, entry])
    (put,) = _records(recorder)
    assert put["meter"] == {"events": 2, "event_chunks": 2, "types": {"OrderManager.OrderCompleted": 2}}
    assert [c["resource"] for c in put["calls"]] == [{"type": "event-bus", "name": "default", "index": None}]


def test_an_invocation_records_its_duration_and_route(recorder: AwsCallRecorder) -> None:
    with acting_as("api_handler", "POST /graphql"):
        pass
    (invocation,) = _records(recorder, "invocation")
    assert invocation["route"] == "POST /graphql" and invocation["ms"] >= 0
