"""Which IAM action on which resource each AWS call needs, and the committed evidence's format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from serverlesspresso import awscalls
from serverlesspresso.awscalls import Call, Resource, iam_calls

TABLE = Resource("table", "serverlesspresso")


def test_a_transaction_needs_each_item_s_own_action() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "serverlesspresso", "Item": {}}},
            {"Update": {"TableName": "serverlesspresso", "Key": {}}},
            {"ConditionCheck": {"TableName": "serverlesspresso", "Key": {}}},
            {"Delete": {"TableName": "other", "Key": {}}},
        ]
    }
    assert iam_calls("api_handler", "dynamodb", "TransactWriteItems", params) == [
        Call("api_handler", "dynamodb:PutItem", TABLE),
        Call("api_handler", "dynamodb:UpdateItem", TABLE),
        Call("api_handler", "dynamodb:ConditionCheckItem", TABLE),
        Call("api_handler", "dynamodb:DeleteItem", Resource("table", "other")),
    ]
    gets = {"TransactItems": [{"Get": {"TableName": "serverlesspresso", "Key": {}}}]}
    assert iam_calls("f", "dynamodb", "TransactGetItems", gets) == [Call("f", "dynamodb:GetItem", TABLE)]


def test_a_query_of_an_index_needs_the_index() -> None:
    assert iam_calls("f", "dynamodb", "Query", {"TableName": "serverlesspresso", "IndexName": "GSI1"}) == [
        Call("f", "dynamodb:Query", Resource("table-index", "serverlesspresso", "GSI1"))
    ]
    plain = {"TableName": "serverlesspresso"}
    assert iam_calls("f", "dynamodb", "Query", plain) == [Call("f", "dynamodb:Query", TABLE)]


def test_a_table_named_by_its_arn_is_named_by_its_name() -> None:
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/serverlesspresso"
    assert iam_calls("f", "dynamodb", "GetItem", {"TableName": arn}) == [Call("f", "dynamodb:GetItem", TABLE)]


def test_put_events_needs_each_bus_it_puts_on() -> None:
    entries = [{"EventBusName": "default"}, {}, {"EventBusName": "arn:aws:events:us-east-1:1:event-bus/other"}]
    assert iam_calls("f", "events", "PutEvents", {"Entries": entries}) == [
        Call("f", "events:PutEvents", Resource("event-bus", "default")),
        Call("f", "events:PutEvents", Resource("event-bus", "other")),
    ]


def test_step_functions_calls_name_the_machine_and_task_tokens_belong_to_the_workflow() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:serverlesspresso-orders"
    machine = Resource("state-machine", "serverlesspresso-orders")
    assert iam_calls("f", "stepfunctions", "StartExecution", {"stateMachineArn": arn, "name": "o1"}) == [
        Call("f", "states:StartExecution", machine)
    ]
    token = {"taskToken": "t", "output": "{}"}
    assert iam_calls("f", "stepfunctions", "SendTaskSuccess", token, "serverlesspresso-orders") == [
        Call("f", "states:SendTaskSuccess", machine)
    ]
    execution = "arn:aws:states:us-east-1:123456789012:execution:serverlesspresso-orders:o1"
    assert iam_calls("f", "stepfunctions", "DescribeExecution", {"executionArn": execution}) == [
        Call("f", "states:DescribeExecution", Resource("execution", "serverlesspresso-orders:{orderId}"))
    ]


def test_a_retained_publish_also_needs_retain_publish_on_a_topic_with_placeholders() -> None:
    config = Resource("iot-topic", "serverlesspresso/shops/{shopId}/config")
    published = {"topic": "serverlesspresso/shops/main/config", "retain": True, "qos": 1}
    assert iam_calls("f", "iot-data", "Publish", published) == [
        Call("f", "iot:Publish", config),
        Call("f", "iot:RetainPublish", config),
    ]
    user = {"topic": "serverlesspresso/users/8d7c-11", "retain": False}
    assert iam_calls("f", "iot-data", "Publish", user) == [
        Call("f", "iot:Publish", Resource("iot-topic", "serverlesspresso/users/{sub}"))
    ]


def test_other_calls_are_named_by_their_service_s_iam_prefix() -> None:
    assert iam_calls("f", "iot", "DescribeEndpoint", {"endpointType": "iot:Data-ATS"}) == [
        Call("f", "iot:DescribeEndpoint", Resource("iot-endpoint", "iot:Data-ATS"))
    ]
    assert iam_calls("f", "sqs", "SendMessage", {}) == [Call("f", "sqs:SendMessage", Resource("other", "*"))]


def test_an_unknown_resource_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown resource type"):
        Resource("bucket", "b")


def test_the_evidence_is_deduplicated_sorted_and_reads_back(tmp_path: Path) -> None:
    calls = [
        Call("b", "dynamodb:Query", Resource("table-index", "t", "GSI1")),
        Call("a", "events:PutEvents", Resource("event-bus", "default")),
        Call("b", "dynamodb:Query", Resource("table-index", "t", "GSI1")),
    ]
    path = tmp_path / "aws-calls.json"
    path.write_text(awscalls.dump(calls))
    bus = {"type": "event-bus", "name": "default", "index": None}
    index = {"type": "table-index", "name": "t", "index": "GSI1"}
    assert json.loads(path.read_text()) == {
        "calls": [
            {"function": "a", "action": "events:PutEvents", "resource": bus},
            {"function": "b", "action": "dynamodb:Query", "resource": index},
        ]
    }
    assert awscalls.load(path) == sorted(set(calls))
    assert awscalls.unlisted(calls + [Call("c", "iot:Publish", Resource("iot-topic", "x"))], awscalls.load(path)) == [
        Call("c", "iot:Publish", Resource("iot-topic", "x"))
    ]


def test_the_committed_evidence_is_as_make_aws_calls_writes_it() -> None:
    text = awscalls.EVIDENCE.read_text()
    calls = awscalls.load()
    assert text == awscalls.dump(calls)
    functions = {call.function for call in calls}
    assert {"api_handler", "statemachine", "start_order_workflow", "flush_outboxes"} <= functions
    assert not [call for call in calls if call.action.endswith(":*") or call.resource.name == "*"]
