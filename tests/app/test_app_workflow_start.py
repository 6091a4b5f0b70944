"""`start_order_workflow` in process: each order's NewOrder starts one execution named after the order, however often
it arrives, with the event as the workflow's input."""

from __future__ import annotations

import json

import pytest
from app_testkit import Bar

from chalicelib.domain import events as ev
from chalicelib.domain.errors import ValidationError


def _new_order(bar: Bar, order_id: str) -> dict[str, object]:
    published = [e for e in bar.adapters.publisher.events if e.detail_type == ev.NEW_ORDER]
    return next(e.detail for e in published if e.detail["orderId"] == order_id)


def test_a_new_order_starts_its_workflow_named_after_it_with_the_event_as_input(bar: Bar) -> None:
    bar.shop()
    order_id = bar.place()
    detail = _new_order(bar, order_id)

    bar.invoke("start_order_workflow", ev.NEW_ORDER, detail)

    workflow = bar.adapters.workflow
    assert list(workflow.executions) == [order_id]
    workflow_input = json.loads(workflow.executions[order_id])
    # What statemachine.json reads ($.detail.orderId, shopId, userId), inside the whole event as a rule delivers it.
    assert workflow_input["detail"] == detail
    assert workflow_input["detail-type"] == ev.NEW_ORDER
    assert workflow_input["source"] == ev.SOURCE


def test_a_duplicate_new_order_starts_one_execution(bar: Bar) -> None:
    bar.shop()
    order_id = bar.place()
    detail = _new_order(bar, order_id)

    bar.invoke("start_order_workflow", ev.NEW_ORDER, detail)  # delivered
    bar.invoke("start_order_workflow", ev.NEW_ORDER, detail)  # delivered again, or republished by the outbox
    bar.invoke("start_order_workflow", ev.NEW_ORDER, detail)

    workflow = bar.adapters.workflow
    assert workflow.start_calls == 3
    assert list(workflow.executions) == [order_id]


def test_each_order_gets_its_own_execution(bar: Bar) -> None:
    bar.shop()
    first, second = bar.place("alice-token"), bar.place("bob-token")

    for order_id in (first, second):
        bar.invoke("start_order_workflow", ev.NEW_ORDER, _new_order(bar, order_id))

    assert list(bar.adapters.workflow.executions) == [first, second]


@pytest.mark.parametrize(
    "detail",
    [
        {"shopId": "main", "userId": "u"},
        {"orderId": "", "shopId": "main", "userId": "u"},
        {"orderId": "has spaces", "shopId": "main", "userId": "u"},  # it would name the execution
        {"orderId": "o-1", "userId": "u"},
        {"orderId": "o-1", "shopId": "main", "userId": 7},
    ],
)
def test_a_malformed_new_order_is_refused_before_anything_starts(bar: Bar, detail: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="detail"):
        bar.invoke("start_order_workflow", ev.NEW_ORDER, detail)

    assert bar.adapters.workflow.start_calls == 0
