"""The local bus's journal: what was put, what each target acknowledged, which workflows still run, and what a restart
redelivers and ends."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import handlers
from moto import mock_aws

from chalicelib.domain import events as ev
from chalicelib.domain.order import Order, OrderState
from chalicelib.event_schemas import validate_event
from serverlesspresso.busjournal import BusHistory, BusJournal
from serverlesspresso.emulator import matcher
from serverlesspresso.recovery import lost_workflow_ending

REGION = "us-east-1"
TARGETS = {
    "start_order_workflow": matcher(ev.WORKFLOW_TRIGGER_PATTERN),
    "projection": matcher(ev.ALL_EVENTS_PATTERN),
    "finished-only": matcher(ev.pattern(ev.ORDER_FINISHED)),
}


def _event(event_id: str, detail_type: str, order_id: str = "o1") -> dict[str, Any]:
    return {
        "id": event_id,
        "source": ev.SOURCE,
        "detail-type": detail_type,
        "detail": {"orderId": order_id, "shopId": "s", "userId": "u"},
    }


def _fold(records: list[dict[str, Any]]) -> BusHistory:
    history = BusHistory()
    for record in records:
        history.apply(record)
    return history


def test_pending_is_every_matching_target_that_has_not_acknowledged_in_put_order() -> None:
    history = _fold(
        [
            {"ack": ["projection", "e2"]},  # acknowledged before its put was journaled: moto delivers during the call
            {"put": _event("e1", ev.NEW_ORDER)},
            {"put": _event("e2", ev.ORDER_FINISHED)},
            {"ack": ["start_order_workflow", "e1"]},
        ]
    )
    pending = [(target, event["id"]) for target, event in history.pending(TARGETS)]
    assert pending == [("projection", "e1"), ("finished-only", "e2")]


def test_a_workflow_runs_from_its_new_order_to_its_order_finished() -> None:
    history = _fold(
        [
            {"put": _event("a1", ev.NEW_ORDER, "a")},
            {"put": _event("b1", ev.NEW_ORDER, "b")},
            {"put": _event("a2", ev.ORDER_COMPLETED, "a")},
            {"put": _event("b2", ev.ORDER_FINISHED, "b")},
            {"put": _event("b3", ev.NEW_ORDER, "b")},  # a NewOrder republished late does not start it again
        ]
    )
    assert list(history.running) == ["a"]


def test_what_the_runtime_s_former_workflow_target_acknowledged_start_order_workflow_has_had() -> None:
    # Journals written before start_order_workflow started the workflows name the runtime's own target, which read the
    # same rule: its acknowledgements stand, or an upgrade would hand every order's NewOrder to the function again.
    history = _fold(
        [
            {"put": _event("a1", ev.NEW_ORDER, "a")},
            {"ack": ["order-workflow-trigger", "a1"]},
            {"ack": ["projection", "a1"]},
            {"put": _event("b1", ev.NEW_ORDER, "b")},
            {"ack": ["projection", "b1"]},
        ]
    )
    pending = [(target, event["id"]) for target, event in history.pending(TARGETS)]
    assert pending == [("start_order_workflow", "b1")]


def test_compaction_keeps_exactly_what_is_pending_and_running() -> None:
    records = [
        {"put": _event("a1", ev.NEW_ORDER, "a")},
        {"ack": ["start_order_workflow", "a1"]},
        {"ack": ["projection", "a1"]},
        {"put": _event("b1", ev.NEW_ORDER, "b")},
        {"ack": ["projection", "b1"]},  # start_order_workflow never got it
        {"put": _event("b2", ev.ORDER_FINISHED, "b")},
        {"ack": ["projection", "b2"]},
        {"ack": ["finished-only", "b2"]},
        {"put": _event("c1", ev.ORDER_COMPLETED, "c")},  # nobody has it yet
    ]
    history = _fold(records)
    compacted = history.compacted(TARGETS)
    again = _fold(compacted)
    assert again.pending(TARGETS) == history.pending(TARGETS)
    assert list(again.running) == list(history.running) == ["a"]
    assert [r["put"]["id"] for r in compacted if "put" in r] == ["b1", "c1"]  # a1 and b2 are done everywhere
    assert again.compacted(TARGETS) == compacted


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BusJournal]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    saved = list(handlers.BUILTIN_HANDLERS)
    journal = BusJournal(tmp_path / "bus.journal", REGION, fsync=False)
    journal.install()
    journal.enabled = True
    try:
        yield journal
    finally:
        handlers.BUILTIN_HANDLERS[:] = saved


def test_every_accepted_put_is_journaled_with_the_id_its_targets_receive(installed: BusJournal) -> None:
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        sqs, events = session.client("sqs"), session.client("events")
        queue = sqs.create_queue(QueueName="projection")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="projection", EventPattern=json.dumps(ev.ALL_EVENTS_PATTERN))
        events.put_targets(Rule="projection", Targets=[{"Id": "1", "Arn": arn}])
        accepted = ev.make_event(
            ev.NEW_ORDER, "o1:Validator.NewOrder:v1", "2026-12-02T10:00:00+00:00", "m", orderId="o1"
        )
        refused = {"Source": ev.SOURCE, "DetailType": ev.NEW_ORDER, "Detail": "not json", "EventBusName": "default"}
        events.put_events(Entries=[accepted.to_entry("default"), refused])
        delivered = json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    installed.acknowledge("projection", delivered["id"])
    history = BusJournal(installed.path, REGION).load()
    assert [event["id"] for event in history.events.values()] == [delivered["id"]]
    assert history.events[delivered["id"]]["detail"] == accepted.detail
    assert history.pending({"projection": TARGETS["projection"]}) == []
    assert list(history.running) == ["o1"]
    assert stat.S_IMODE(installed.path.stat().st_mode) == 0o600


def test_a_torn_last_line_is_ignored_and_compaction_rewrites_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bus.journal"
    lines = [
        {"put": _event("e1", ev.NEW_ORDER)},
        {"ack": ["start_order_workflow", "e1"]},
        {"ack": ["projection", "e1"]},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + '{"put": {"id": "e2", "det')
    journal = BusJournal(path, REGION, fsync=False)
    assert journal.load().pending(TARGETS) == []
    journal.compact(TARGETS)
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"running": "o1"}]
    assert journal.running_workflows() == ["o1"]


def _order(state: OrderState) -> Order:
    return Order(order_id="o1", shop_id="s1", user_id="u1", created_at="2026-12-02T10:00:00+00:00", state=state)


@pytest.mark.parametrize("state", [OrderState.COMPLETED, OrderState.CANCELLED, OrderState.TIMED_OUT])
def test_a_lost_workflow_of_a_final_order_ends_as_the_workflow_would_have(state: OrderState) -> None:
    event = lost_workflow_ending(_order(state), "2026-12-02T10:05:00+00:00")
    assert event is not None and event.detail_type == ev.ORDER_FINISHED
    # The key statemachine.json's EmitOrderFinished uses: a copy delivered before the crash is the same event.
    assert event.detail["idempotencyKey"] == "o1:OrderFinished"
    assert event.detail["outcome"] == state.value
    validate_event(event.detail_type, event.detail)


def test_an_unfinished_order_is_left_to_end_interrupted() -> None:
    assert lost_workflow_ending(_order(OrderState.QUEUED), "2026-12-02T10:05:00+00:00") is None
