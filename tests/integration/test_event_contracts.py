"""Every event the running stack emits (services and the Step Functions workflow) matches its JSON Schema."""

from __future__ import annotations

import json
import time

from chalicelib.domain import events as ev
from chalicelib.event_schemas import validate_event
from tests.support.stack import Api, new_customer, wait_queued


def test_every_event_on_the_bus_validates_against_its_schema(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin, maxOrdersInQueue=1, customerTimeoutSeconds=3)
    completed_by, cancelled_by, timed_out_by, rejected_by = (new_customer(api) for _ in range(4))

    completed = api.place(shop_id, completed_by, admin)
    api.call("PUT", f"/orders/{completed}/drink", completed_by, {"drink": "Americano", "modifiers": {"Milk": "Oat"}})
    wait_queued(api, completed, completed_by)
    api.call("POST", f"/orders/{completed}/claim", admin)
    api.call("POST", f"/orders/{completed}/unclaim", admin)
    api.call("POST", f"/orders/{completed}/claim", admin)
    api.call("POST", f"/orders/{completed}/complete", admin)
    api.wait_for_view(completed, completed_by, lambda v: _finished(v))

    cancelled = api.place(shop_id, cancelled_by, admin)
    api.call("POST", f"/orders/{cancelled}/cancel", cancelled_by)
    api.wait_for_view(cancelled, cancelled_by, lambda v: _finished(v))
    timed_out = api.place(shop_id, timed_out_by, admin)
    # This order holds the only queue slot until it times out: the next is turned away by the capacity gate.
    api.wait_for_view(timed_out, timed_out_by, lambda v: len(v["journey"]) >= 2)
    rejected = api.place(shop_id, rejected_by, admin)
    api.wait_for_view(rejected, rejected_by, lambda v: v["state"] == "REJECTED")
    api.wait_for_view(timed_out, timed_out_by, lambda v: v["state"] == "TIMED_OUT", timeout=30)
    api.wait_for_view(timed_out, timed_out_by, lambda v: _finished(v))
    time.sleep(0.5)  # the archive is one more target of the same events

    ours = {completed, cancelled, timed_out, rejected}
    archived = [json.loads(line) for line in (api.stack.data_dir / "events.jsonl").read_text().splitlines()]
    mine = [e for e in archived if e["detail"].get("orderId") in ours or e["detail"].get("shopId") == shop_id]
    seen = {e["detail-type"] for e in mine}
    assert seen == set(ev.ALL_DETAIL_TYPES), sorted(set(ev.ALL_DETAIL_TYPES) - seen)
    for event in mine:
        assert event["source"] == ev.SOURCE
        validate_event(event["detail-type"], event["detail"])


def _finished(view: dict) -> bool:  # type: ignore[type-arg]
    final = view["state"] in ("COMPLETED", "CANCELLED", "TIMED_OUT", "REJECTED")
    return final and "OrderProcessor.OrderFinished" in [e["type"] for e in view["journey"]]
