"""Workflow behaviour on the running stack: timeouts, cancel at every stage, gates, concurrency."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.support.stack import Api, error_code, new_customer, queued_order


def _finished_with(view: dict, outcome: str) -> bool:  # type: ignore[type-arg]
    """The workflow ended with `outcome` and the view shows it (the two events may arrive in either order)."""
    return view["state"] == outcome and any(
        e["type"] == "OrderProcessor.OrderFinished" and e["detail"].get("outcome") == outcome for e in view["journey"]
    )


def test_customer_who_never_chooses_a_drink_times_out(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin, customerTimeoutSeconds=2)
    customer = new_customer(api)
    order_id = api.place(shop_id, customer, admin)
    view = api.wait_for_view(order_id, customer, lambda v: v["state"] == "TIMED_OUT", timeout=30)
    assert view["reason"] == "You did not choose a drink in time"
    timeout_event = next(e for e in view["journey"] if e["type"] == "OrderProcessor.OrderTimeOut")
    assert timeout_event["detail"]["stage"] == "customer"
    api.wait_for_view(order_id, customer, lambda v: _finished_with(v, "TIMED_OUT"))
    # The order manager hears of the timeout through the bus too; once it has, a late choice is refused.
    deadline = time.monotonic() + 10
    while api.call("GET", f"/orders/{order_id}", customer).json()["state"] != "TIMED_OUT":
        assert time.monotonic() < deadline, "the write model never recorded the timeout"
        time.sleep(0.1)
    late = api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Espresso"})
    assert late.status_code == 409 and error_code(late) == "invalid_state"


def test_order_no_barista_makes_times_out(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin, baristaTimeoutSeconds=2)
    customer = new_customer(api)
    order_id = api.place(shop_id, customer, admin)
    api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Espresso"})
    view = api.wait_for_view(order_id, customer, lambda v: v["state"] == "TIMED_OUT", timeout=30)
    assert view["reason"] == "The baristas could not make your order in time"
    assert view["number"] is not None
    # The timed-out order gave back its daily slot: the customer may order again today.
    time.sleep(0.5)
    again = api.call("POST", f"/shops/{shop_id}/orders", customer, {"code": api.code(shop_id, admin)})
    assert again.status_code in (201, 409), again.text
    if again.status_code == 409:
        assert error_code(again) == "code_already_used"


def test_cancel_while_waiting_for_the_drink_ends_the_workflow(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id = api.place(shop_id, customer, admin)
    api.wait_for_view(
        order_id, customer, lambda v: "OrderProcessor.WorkflowStarted" in [e["type"] for e in v["journey"]]
    )
    cancelled = api.call("POST", f"/orders/{order_id}/cancel", customer)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "CANCELLED"
    view = api.wait_for_view(order_id, customer, lambda v: _finished_with(v, "CANCELLED"))
    assert view["state"] == "CANCELLED" and view["number"] is None  # never numbered, never queued


def test_cancel_right_after_placing_ends_the_workflow(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id = api.place(shop_id, customer, admin)
    assert api.call("POST", f"/orders/{order_id}/cancel", customer).status_code == 200
    view = api.wait_for_view(order_id, customer, lambda v: _finished_with(v, "CANCELLED"))
    assert view["state"] == "CANCELLED"


def test_cancel_while_queued_ends_the_workflow(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, _ = queued_order(api, shop_id, customer, admin)
    assert api.call("POST", f"/orders/{order_id}/cancel", customer).status_code == 200
    view = api.wait_for_view(order_id, customer, lambda v: _finished_with(v, "CANCELLED"))
    assert view["state"] == "CANCELLED"
    complete = api.call("POST", f"/orders/{order_id}/complete", admin)
    assert complete.status_code == 409 and error_code(complete) == "invalid_state"


def test_barista_cancels_while_in_production(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, _ = queued_order(api, shop_id, customer, admin)
    assert api.call("POST", f"/orders/{order_id}/claim", admin).status_code == 200
    cancelled = api.call("POST", f"/orders/{order_id}/cancel", admin)
    assert cancelled.status_code == 200
    assert cancelled.json()["reason"] == "Cancelled by a barista"
    view = api.wait_for_view(order_id, customer, lambda v: _finished_with(v, "CANCELLED"))
    assert view["state"] == "CANCELLED" and view["claimedBy"] is None


def test_full_queue_rejects_new_orders_and_frees_up_when_one_finishes(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin, maxOrdersInQueue=1)
    first, second, third = new_customer(api), new_customer(api), new_customer(api)
    first_order = api.place(shop_id, first, admin)
    api.wait_for_view(
        first_order, first, lambda v: "OrderProcessor.WorkflowStarted" in [e["type"] for e in v["journey"]]
    )
    second_order = api.place(shop_id, second, admin)
    rejected = api.wait_for_view(second_order, second, lambda v: v["state"] == "REJECTED")
    assert "too many orders" in rejected["reason"]
    api.call("POST", f"/orders/{first_order}/cancel", first)
    api.wait_for_view(first_order, first, lambda v: _finished_with(v, "CANCELLED"))
    third_order = api.place(shop_id, third, admin)
    accepted = api.wait_for_view(
        third_order, third, lambda v: "OrderProcessor.WorkflowStarted" in [e["type"] for e in v["journey"]]
    )
    assert accepted["state"] == "WAITING_FOR_DRINK"


def test_closed_shop_refuses_orders(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    code = api.code(shop_id, admin)
    assert api.call("PUT", f"/shops/{shop_id}/store", admin, {"open": False}).status_code == 200
    refused = api.call("POST", f"/shops/{shop_id}/orders", new_customer(api), {"code": code})
    assert refused.status_code == 409 and error_code(refused) == "store_closed"


def test_concurrent_scans_never_redeem_more_than_the_code_allows(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin, drinksPerCode=3)
    code = api.code(shop_id, admin)
    customers = [new_customer(api) for _ in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda c: api.call("POST", f"/shops/{shop_id}/orders", c, {"code": code}), customers))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 3, [r.text for r in responses]
    assert all(error_code(r) == "code_exhausted" for r in responses if r.status_code != 201)
    remaining = api.call("GET", f"/shops/{shop_id}/code", admin).json()["remaining"]
    assert remaining == 0


def test_two_baristas_claiming_at_once_exactly_one_wins(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, _ = queued_order(api, shop_id, customer, admin)
    baristas = [api.token(f"barista-{i}-{order_id[:6]}", admin=True) for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(lambda b: api.call("POST", f"/orders/{order_id}/claim", b), baristas))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409], [r.text for r in responses]
    assert all(error_code(r) == "already_claimed" for r in responses if r.status_code == 409)
    winner = baristas[[r.status_code for r in responses].index(200)]
    loser = next(b for b in baristas if b != winner)
    stolen = api.call("POST", f"/orders/{order_id}/complete", loser)
    assert stolen.status_code == 409 and error_code(stolen) == "already_claimed"
    assert api.call("POST", f"/orders/{order_id}/complete", winner).status_code == 200


def test_concurrent_complete_and_cancel_exactly_one_wins(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, _ = queued_order(api, shop_id, customer, admin)
    api.call("POST", f"/orders/{order_id}/claim", admin)
    with ThreadPoolExecutor(max_workers=2) as pool:
        complete = pool.submit(api.call, "POST", f"/orders/{order_id}/complete", admin)
        cancel = pool.submit(api.call, "POST", f"/orders/{order_id}/cancel", customer)
    results = sorted([complete.result().status_code, cancel.result().status_code])
    assert results == [200, 409]
    final = "COMPLETED" if complete.result().status_code == 200 else "CANCELLED"
    # The workflow's OrderFinished may reach the read side before the order manager's event does.
    view = api.wait_for_view(order_id, customer, lambda v: v["state"] == final and _finished_with(v, final))
    assert view["claimedBy"] is None if final == "CANCELLED" else view["claimedBy"] is not None
