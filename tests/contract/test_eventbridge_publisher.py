"""EventBridgePublisher against moto's EventBridge: what reaches a rule's SQS target is what was published."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.adapters.eventbridge import EventBridgePublisher, EventPublishFailed
from chalicelib.domain import events as ev
from chalicelib.domain.events import DomainEvent

REGION = "us-east-1"


class Bus:
    """The default bus with one rule forwarding `pattern` to an SQS queue, and a call counter."""

    def __init__(self, pattern: dict[str, Any]) -> None:
        self.events = boto3.client("events", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue_url = self.sqs.create_queue(QueueName="contract-target")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(Name="to-queue", EventBusName="default", EventPattern=json.dumps(pattern))
        self.events.put_targets(Rule="to-queue", EventBusName="default", Targets=[{"Id": "q", "Arn": queue_arn}])
        # What each PutEvents call carried, seen through botocore's own event hooks.
        self.batch_sizes: list[int] = []
        self.events.meta.events.register("before-parameter-build.events.PutEvents", self._count)

    def _count(self, params: dict[str, Any], **_: Any) -> None:
        self.batch_sizes.append(len(params["Entries"]))

    def delivered(self) -> list[dict[str, Any]]:
        bodies: list[dict[str, Any]] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


def new_order(n: int) -> DomainEvent:
    return ev.make_event(
        ev.NEW_ORDER,
        f"o-{n}:{ev.NEW_ORDER}:v1",
        "2026-11-23T09:00:00+00:00",
        f"Order {n} placed",
        orderId=f"o-{n}",
        shopId="bar-1",
        userId="alice",
        modifiers={"Milk": "Oat"},
    )


def test_twelve_events_reach_the_target_in_two_batches(aws: None) -> None:
    bus = Bus(ev.ALL_EVENTS_PATTERN)
    published = [new_order(n) for n in range(12)]

    EventBridgePublisher(bus.events, "default").publish(published)

    assert bus.batch_sizes == [10, 2]
    delivered = bus.delivered()
    assert len(delivered) == 12
    by_order = {body["detail"]["orderId"]: body for body in delivered}
    assert set(by_order) == {f"o-{n}" for n in range(12)}
    for event in published:
        body = by_order[event.detail["orderId"]]
        assert body["detail"] == event.detail
        assert body["detail-type"] == ev.NEW_ORDER
        assert body["source"] == ev.SOURCE


def test_batches_are_at_most_ten_entries(aws: None) -> None:
    bus = Bus(ev.ALL_EVENTS_PATTERN)

    EventBridgePublisher(bus.events, "default").publish([new_order(n) for n in range(20)])
    EventBridgePublisher(bus.events, "default").publish([new_order(n) for n in range(20, 21)])

    assert bus.batch_sizes == [10, 10, 1]
    assert len(bus.delivered()) == 21


def test_nothing_to_publish_makes_no_call(aws: None) -> None:
    bus = Bus(ev.ALL_EVENTS_PATTERN)

    EventBridgePublisher(bus.events, "default").publish([])

    assert bus.batch_sizes == []
    assert bus.delivered() == []


def test_source_and_detail_type_are_what_rules_match_on(aws: None) -> None:
    bus = Bus(ev.pattern(ev.ORDER_COMPLETED))
    completed = ev.make_event(
        ev.ORDER_COMPLETED, "o-1:done:v4", "2026-11-23T09:05:00+00:00", "ready", orderId="o-1", claimedBy="b-1"
    )

    EventBridgePublisher(bus.events, "default").publish([new_order(1), completed, new_order(2)])

    delivered = bus.delivered()
    assert [body["detail-type"] for body in delivered] == [ev.ORDER_COMPLETED]
    assert delivered[0]["detail"] == completed.detail


def test_an_entry_the_bus_refuses_raises_event_publish_failed(aws: None) -> None:
    bus = Bus(ev.ALL_EVENTS_PATTERN)

    with pytest.raises(EventPublishFailed, match="refused 1 event"):
        EventBridgePublisher(bus.events, "default").publish([DomainEvent("", {"orderId": "o-1"})])


def test_a_bus_that_does_not_exist_is_an_error_not_a_silent_drop(aws: None) -> None:
    bus = Bus(ev.ALL_EVENTS_PATTERN)

    with pytest.raises(ClientError) as raised:
        EventBridgePublisher(bus.events, "no-such-bus").publish([new_order(1)])

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert bus.delivered() == []
