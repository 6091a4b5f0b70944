"""Routing through the whole Chalice app in process: every route, the event handlers, and what they answer."""

from __future__ import annotations

import pytest
from app_testkit import ADMIN, ALICE, SHOP, Bar

from chalicelib.domain import events as ev
from chalicelib.domain.errors import ValidationError


def test_a_whole_order_through_the_routes_and_the_event_handlers(bar: Bar):
    # An organiser opens a shop with a menu
    created = bar.call("POST", "/shops", "admin-token", {"shopId": SHOP, "name": "Main Bar"})
    assert (created.status, created.body["shopId"], created.body["open"]) == (201, SHOP, False)
    menu = {"drinks": [{"name": "Flat White", "modifiers": [{"name": "Milk", "options": ["Regular", "Oat"]}]}]}
    assert bar.call("PUT", f"/shops/{SHOP}/menu", "admin-token", menu).body["menu"][0]["name"] == "Flat White"
    assert bar.call("PATCH", f"/shops/{SHOP}/settings", "admin-token", {"drinksPerCode": 3}).status == 200
    assert bar.call("PUT", f"/shops/{SHOP}/store", "admin-token", {"open": True}).body["open"] is True
    code = bar.call("GET", f"/shops/{SHOP}/code", "admin-token").body
    assert code["remaining"] == 3 and code["orderUrl"].endswith(f"?shop={SHOP}&code={code['code']}")

    # A customer orders; the workflow's events reach the order manager through its handlers
    placed = bar.call("POST", f"/shops/{SHOP}/orders", "alice-token", {"code": code["code"]})
    assert placed.status == 201 and placed.body["state"] == "WAITING_FOR_DRINK"
    order_id = placed.body["orderId"]
    customer_token = bar.workflow_started(order_id)
    chosen = bar.call("PUT", f"/orders/{order_id}/drink", "alice-token", {"drink": "Flat White", "modifiers": None})
    assert (chosen.status, chosen.body["state"], chosen.body["modifiers"]) == (200, "QUEUED", {"Milk": "Regular"})
    barista_token = bar.workflow_numbered(order_id, 1)

    # A barista makes it
    assert bar.call("POST", f"/orders/{order_id}/claim", "admin-token").body["state"] == "IN_PRODUCTION"
    assert bar.call("POST", f"/orders/{order_id}/unclaim", "admin-token").body["state"] == "QUEUED"
    assert bar.call("POST", f"/orders/{order_id}/claim", "admin-token").status == 200
    done = bar.call("POST", f"/orders/{order_id}/complete", "admin-token")
    assert (done.status, done.body["state"], done.body["claimedBy"], done.body["number"]) == (
        200, "COMPLETED", ADMIN.sub, 1
    )
    assert bar.adapters.workflow.resumed == [(customer_token, "DRINK_CHOSEN"), (barista_token, "COMPLETED")]

    # Every event the app emitted passes the read side's and live updates' edge, and GraphQL sees the order
    assert bar.deliver() > 0
    read = bar.call(
        "POST", "/graphql", "alice-token", {"query": f'{{ order(id: "{order_id}") {{ state number drink }} }}'}
    )
    assert read.body == {"data": {"order": {"state": "COMPLETED", "number": 1, "drink": "Flat White"}}}
    assert bar.call("GET", f"/orders/{order_id}", "alice-token").body["userId"] == ALICE.sub


def test_responses_never_carry_task_tokens(bar: Bar):
    bar.shop()
    order_id = bar.queued()
    for answer in (
        bar.call("GET", f"/orders/{order_id}", "alice-token"),
        bar.call("POST", f"/orders/{order_id}/claim", "admin-token"),
    ):
        assert "token" not in str(answer.body).lower()


def test_a_body_with_a_text_content_type_is_read_as_json(bar: Bar):
    answer = bar.call("POST", "/shops", "admin-token", {"shopId": SHOP, "name": "Bar"}, content_type="text/plain")
    assert answer.status == 201


def test_a_body_of_another_media_type_is_refused_by_chalice(bar: Bar):
    answer = bar.call("POST", "/shops", "admin-token", raw=b"x", content_type="multipart/form-data")
    assert answer.status == 415


def test_a_method_a_route_does_not_have_is_405(bar: Bar):
    assert bar.call("DELETE", f"/shops/{SHOP}/menu", "admin-token").status == 405


@pytest.mark.parametrize("route", ["/orders/{id}/cancel", "/orders/{id}/claim"])
def test_a_body_sent_to_a_command_without_one_is_ignored(bar: Bar, route: str):
    bar.shop()
    order_id = bar.queued()
    token = "alice-token" if route.endswith("cancel") else "admin-token"
    answer = bar.call("POST", route.format(id=order_id), token, raw=b"[[[not json")
    assert answer.status == 200


def test_a_malformed_workflow_event_is_refused_before_the_order_manager_runs(bar: Bar):
    bar.shop()
    order_id = bar.place()
    before = bar.adapters.orders.get(order_id) if bar.adapters.orders else None
    with pytest.raises(ValidationError, match="taskToken"):
        bar.invoke("order_manager_workflow_started", ev.WORKFLOW_STARTED, {"orderId": order_id})
    assert (bar.adapters.orders.get(order_id) if bar.adapters.orders else None) == before


def test_a_malformed_event_is_refused_by_the_read_side(bar: Bar):
    with pytest.raises(ValidationError, match="shop is required"):
        detail = {"idempotencyKey": "k", "at": "t", "shopId": "x", "version": 2}
        bar.invoke("read_side_projection", ev.CONFIG_CHANGED, detail)
    assert bar.adapters.read_model.list_shops() == []
