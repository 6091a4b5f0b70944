"""IotDataPublisher against moto's iot-data: what reaches the broker is what routing produced.

moto records each Publish as (topic, payload bytes) in its backend and ignores `qos` and `retain`
(it keeps no retained messages either), so those two are checked on the wire instead: the
signed request botocore sends carries them as `?qos=...&retain=...`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iotdata.models import iotdata_backends

from chalicelib.adapters.iot import IotDataPublisher
from chalicelib.domain import events as ev
from chalicelib.domain import live
from chalicelib.domain.live import LiveMessage

REGION = "us-east-1"
USER = "0b7e1f9c-3c2a-4d6e-9f10-2a3b4c5d6e7f"


class Broker:
    """A moto iot-data client, the requests it sent, and what moto recorded as published."""

    def __init__(self) -> None:
        self.client = boto3.client("iot-data", region_name=REGION)
        self.requests: list[dict[str, list[str]]] = []
        self.client.meta.events.register("before-sign.iot-data.Publish", self._record)

    def _record(self, request: Any, **_: Any) -> None:
        self.requests.append(parse_qs(urlsplit(request.url).query))

    @property
    def published(self) -> list[tuple[str, bytes]]:
        return list(iotdata_backends[DEFAULT_ACCOUNT_ID][REGION].published_payloads)


@pytest.fixture
def broker(aws_env: None) -> Iterator[Broker]:
    with mock_aws():
        yield Broker()


def test_a_message_is_published_to_its_topic_with_its_encoded_payload(broker: Broker) -> None:
    message = LiveMessage(live.user_topic(USER), {"type": ev.ORDER_COMPLETED, "at": "t", "detail": {"n": 1}})
    IotDataPublisher(broker.client).publish(message)
    assert broker.published == [(live.user_topic(USER), message.encode())]
    assert json.loads(broker.published[0][1]) == message.payload


def test_a_retained_message_is_sent_retained_at_qos_1(broker: Broker) -> None:
    snapshot = live.board_snapshot("s1", "t", waiting=[2], in_production=[1], ready=[])
    IotDataPublisher(broker.client).publish(snapshot)
    assert broker.published == [(live.board_topic("s1"), snapshot.encode())]
    assert broker.requests == [{"qos": ["1"], "retain": ["true"]}]


def test_a_moment_is_sent_not_retained_at_qos_1(broker: Broker) -> None:
    IotDataPublisher(broker.client).publish(LiveMessage(live.admin_topic("s1"), {"type": "x"}))
    assert broker.requests == [{"qos": ["1"], "retain": ["false"]}]


def test_every_routed_message_of_an_event_arrives_in_order(broker: Broker) -> None:
    detail = {
        "at": "2024-05-01T09:30:00+00:00",
        "orderId": "o-1",
        "shopId": "s1",
        "userId": USER,
        "number": 7,
        "state": "COMPLETED",
        "taskToken": "secret",
    }
    messages = live.route(ev.ORDER_COMPLETED, detail) + live.route(
        ev.CONFIG_CHANGED, {"shopId": "s1", "at": "t", "shop": {"open": True}}
    )
    publisher = IotDataPublisher(broker.client)
    for message in messages:
        publisher.publish(message)
    assert broker.published == [(m.topic, m.encode()) for m in messages]
    assert [r["retain"] for r in broker.requests] == [["true" if m.retain else "false"] for m in messages]
    assert all(b"secret" not in payload for _, payload in broker.published)


def test_topics_with_slashes_and_odd_characters_survive_the_url(broker: Broker) -> None:
    topic = "serverlesspresso/shops/café 1/config"
    IotDataPublisher(broker.client).publish(LiveMessage(topic, {"ok": True}, retain=True))
    assert broker.published == [(topic, b'{"ok":true}')]


class _Refusing:
    def publish(self, **_: Any) -> None:
        raise RuntimeError("ForbiddenException")


def test_a_refused_publish_is_not_swallowed() -> None:
    with pytest.raises(RuntimeError):
        IotDataPublisher(_Refusing()).publish(LiveMessage("t", {}))
