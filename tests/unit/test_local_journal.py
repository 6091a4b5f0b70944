"""The local runtime's DynamoDB journal: every successful write is journaled, and no failed call can stall the rest."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import handlers
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from serverlesspresso.journal import DynamoDBJournal

REGION = "us-east-1"
TABLE = "journal-test"


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBJournal]:
    """A journal installed on botocore's built-in handlers for this test only."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    saved = list(handlers.BUILTIN_HANDLERS)
    installed = DynamoDBJournal(tmp_path / "dynamodb.journal", fsync=False)
    installed.install()
    try:
        yield installed
    finally:
        handlers.BUILTIN_HANDLERS[:] = saved


def _client() -> Any:
    # A session of its own: boto3's default session may predate the journal's hooks.
    client = boto3.session.Session(region_name=REGION).client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


def _in_thread(call: Any, timeout: float = 5.0) -> bool:
    """Whether `call` returned within `timeout` (a stalled call is left behind on a daemon thread)."""
    done = threading.Event()

    def run() -> None:
        call()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(timeout)


def _journaled(journal: DynamoDBJournal) -> list[dict[str, Any]]:
    if not journal.path.exists():
        return []
    return [json.loads(line) for line in journal.path.read_text().splitlines()]


def test_a_call_refused_before_it_is_sent_does_not_stall_later_calls(journal: DynamoDBJournal) -> None:
    with mock_aws():
        client = _client()
        journal.enabled = True
        with pytest.raises(ParamValidationError):
            client.put_item(TableName=TABLE)  # no Item: botocore refuses it before sending
        item = {"PK": {"S": "after"}}
        assert _in_thread(lambda: client.put_item(TableName=TABLE, Item=item)), "the next call hung"
        assert _in_thread(lambda: client.get_item(TableName=TABLE, Key=item)), "a read hung"
    assert [entry["params"]["Item"] for entry in _journaled(journal)] == [item]


def test_a_refused_write_is_not_journaled_and_does_not_stall(journal: DynamoDBJournal) -> None:
    with mock_aws():
        client = _client()
        journal.enabled = True
        item = {"PK": {"S": "one"}}
        client.put_item(TableName=TABLE, Item=item)
        with pytest.raises(ClientError):
            client.put_item(TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(PK)")
        assert _in_thread(lambda: client.delete_item(TableName=TABLE, Key=item))
    assert [entry["op"] for entry in _journaled(journal)] == ["PutItem", "DeleteItem"]


def test_replay_rebuilds_the_table_and_compaction_keeps_only_live_items(journal: DynamoDBJournal) -> None:
    with mock_aws():
        client = _client()
        journal.enabled = True
        for key in ("a", "b", "c"):
            client.put_item(TableName=TABLE, Item={"PK": {"S": key}, "n": {"N": "1"}})
        client.update_item(
            TableName=TABLE,
            Key={"PK": {"S": "a"}},
            UpdateExpression="ADD n :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
        client.delete_item(TableName=TABLE, Key={"PK": {"S": "b"}})
    journal.enabled = False
    with mock_aws():
        client = _client()
        replayed = journal.replay(lambda op, params: getattr(client, _snake(op))(**params))
        items = client.scan(TableName=TABLE)["Items"]
        journal.compact({TABLE: items})
    assert replayed == 5
    assert sorted((i["PK"]["S"], i["n"]["N"]) for i in items) == [("a", "2"), ("c", "1")]
    assert [entry["op"] for entry in _journaled(journal)] == ["PutItem", "PutItem"]


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
