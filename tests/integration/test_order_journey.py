"""The whole order journey against the running local stack: REST commands, workflow, GraphQL read side."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.support.stack import Api, error_code, new_customer, operation, queued_order, wait_queued


def test_customer_orders_and_barista_completes_the_full_journey(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)

    order_id = api.place(shop_id, customer, admin)
    # The drink goes in straight after the 201, before the workflow can have stored its task token:
    # the original's most reported bug was this request failing.
    chosen = api.call(
        "PUT", f"/orders/{order_id}/drink", customer, {"drink": "Cappuccino", "modifiers": {"Milk": "Oat"}}
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["state"] == "QUEUED"
    assert chosen.json()["modifiers"] == {"Milk": "Oat", "Size": "Small"}

    queued = wait_queued(api, order_id, customer)
    assert queued["state"] == "QUEUED"

    claimed = api.call("POST", f"/orders/{order_id}/claim", admin)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["state"] == "IN_PRODUCTION"
    completed = api.call("POST", f"/orders/{order_id}/complete", admin)
    assert completed.status_code == 200, completed.text

    done = api.wait_for_view(
        order_id, customer, lambda v: v["state"] == "COMPLETED" and "OrderProcessor.OrderFinished" in _types(v)
    )
    assert done["drink"] == "Cappuccino"
    assert done["number"] == queued["number"]
    types = _types(done)
    for earlier, later in [
        ("Validator.NewOrder", "OrderProcessor.WorkflowStarted"),
        ("OrderProcessor.WorkflowStarted", "OrderProcessor.WaitingCompletion"),
        ("OrderManager.DrinkChosen", "OrderProcessor.WaitingCompletion"),
        ("OrderProcessor.WaitingCompletion", "OrderManager.WaitingCompletion"),
        ("OrderManager.WaitingCompletion", "OrderManager.MakeOrder"),
        ("OrderManager.MakeOrder", "OrderManager.OrderCompleted"),
        ("OrderManager.OrderCompleted", "OrderProcessor.OrderFinished"),
    ]:
        assert types.index(earlier) < types.index(later), types
    assert [e["at"] for e in done["journey"]] == sorted(e["at"] for e in done["journey"])
    finished = next(e for e in done["journey"] if e["type"] == "OrderProcessor.OrderFinished")
    assert finished["detail"]["outcome"] == "COMPLETED"


def test_order_numbers_count_up_per_shop(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    numbers = []
    for _ in range(3):
        customer = new_customer(api)
        order_id = api.place(shop_id, customer, admin)
        assert api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Espresso"}).status_code == 200
        numbers.append(wait_queued(api, order_id, customer)["number"])
    assert numbers == [1, 2, 3]


def test_task_tokens_never_reach_a_client(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, _ = queued_order(api, shop_id, customer, admin)
    api.call("POST", f"/orders/{order_id}/claim", admin)
    api.call("GET", f"/orders/{order_id}", customer)
    listed = api.gql("query($s: ID!) { orders(shopId: $s) { nodes { id journey { detail } } } }", {"s": shop_id}, admin)
    assert "errors" not in listed, listed
    api.order_view(order_id, customer)
    assert api.responses, "the test made no requests"
    for body in api.responses:
        assert "taskToken" not in body
        assert "customerToken" not in body and "baristaToken" not in body


def test_rest_order_read_is_limited_to_owner_and_admins(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    owner, stranger = new_customer(api), new_customer(api)
    order_id = api.place(shop_id, owner, admin)
    assert api.call("GET", f"/orders/{order_id}", owner).status_code == 200
    assert api.call("GET", f"/orders/{order_id}", admin).status_code == 200
    denied = api.call("GET", f"/orders/{order_id}", stranger)
    assert denied.status_code == 403 and error_code(denied) == "forbidden"


def test_graphql_lists_a_shops_orders_oldest_first_with_pages(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    placed = []
    for _ in range(3):
        customer = new_customer(api)
        order_id = api.place(shop_id, customer, admin)
        api.wait_for_view(order_id, customer, lambda v: True)
        placed.append(order_id)
    query = (
        "query($s: ID!, $after: String) { orders(shopId: $s, states: [WAITING_FOR_DRINK], first: 2, after: $after)"
        " { nodes { id state } pageInfo { endCursor hasNextPage } } }"
    )
    first = api.gql(query, {"s": shop_id}, admin)["data"]["orders"]
    assert [n["id"] for n in first["nodes"]] == placed[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    second = api.gql(query, {"s": shop_id, "after": first["pageInfo"]["endCursor"]}, admin)["data"]["orders"]
    assert [n["id"] for n in second["nodes"]] == placed[2:]
    assert second["pageInfo"]["hasNextPage"] is False

    customer_view = api.gql(query, {"s": shop_id}, new_customer(api))
    assert customer_view["errors"][0]["extensions"]["code"] == "forbidden"


def test_board_and_shop_are_public(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, queued = queued_order(api, shop_id, customer, admin)
    number = queued["number"]

    def board() -> dict[str, list[int]]:
        result = api.gql("query($s: ID!) { board(shopId: $s) { waiting inProduction ready } }", {"s": shop_id})
        return result["data"]["board"]  # type: ignore[no-any-return]

    assert board()["waiting"] == [number]
    api.call("POST", f"/orders/{order_id}/claim", admin)
    api.wait_for_view(order_id, customer, lambda v: v["state"] == "IN_PRODUCTION")
    assert board()["inProduction"] == [number]
    shop = api.gql(
        "query($s: ID!) { shop(id: $s) { name open menu { name available } settings { drinksPerCode } } }",
        {"s": shop_id},
    )
    assert shop["data"]["shop"]["open"] is True
    assert shop["data"]["shop"]["settings"]["drinksPerCode"] == 10
    assert "Espresso" in [d["name"] for d in shop["data"]["shop"]["menu"]]


def test_my_orders_lists_only_the_callers_orders_newest_first(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin, maxOrdersPerCustomerPerDay=5, codeIntervalSeconds=10)
    customer, other = new_customer(api), new_customer(api)
    mine = []
    for attempt in range(2):
        if attempt:
            time.sleep(10 - time.time() % 10 + 0.2)  # one redemption per customer per code window
        order_id = api.place(shop_id, customer, admin)
        api.wait_for_view(order_id, customer, lambda v: True)
        mine.append(order_id)
        api.call("POST", f"/orders/{order_id}/cancel", customer)
    theirs = api.place(shop_id, other, admin)
    api.wait_for_view(theirs, other, lambda v: True)
    listed = api.gql("{ myOrders(first: 10) { nodes { id } } }", token=customer)["data"]["myOrders"]["nodes"]
    assert [n["id"] for n in listed] == list(reversed(mine))


def test_a_chosen_drink_is_never_queued_without_its_number(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id = api.place(shop_id, customer, admin)
    chosen = api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Americano"})
    assert chosen.status_code == 200, chosen.text

    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        view = api.order_view(order_id, customer)
        if view is not None:
            seen.append((view["state"], view["number"], view["drink"]))
            if view["number"] is not None:
                break
        time.sleep(0.02)
    assert seen and seen[-1][0] == "QUEUED", seen
    for state, number, drink in seen:
        assert state in ("WAITING_FOR_DRINK", "QUEUED"), seen
        assert number is not None or state == "WAITING_FOR_DRINK", seen
        assert drink in (None, "Americano")


def test_the_apps_operations_against_the_running_stack(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, queued = queued_order(api, shop_id, customer, admin)
    assert queued["queuedAt"] is not None and queued["readyAt"] is None
    before = datetime.now(UTC).date()
    assert api.call("POST", f"/orders/{order_id}/complete", admin).status_code == 200
    done = api.wait_for_view(order_id, customer, lambda v: v["state"] == "COMPLETED")
    assert done["readyAt"] is not None and done["readyAt"] >= done["queuedAt"]

    def run(name: str, token: str | None, **variables: object) -> dict:  # type: ignore[type-arg]
        result = api.gql(operation(name), variables, token)
        assert "errors" not in result, result
        return result["data"]  # type: ignore[no-any-return]

    assert run("Shop", None, id=shop_id)["shop"]["id"] == shop_id
    assert run("Board", None, shopId=shop_id)["board"]["ready"] == [queued["number"]]
    mine = run("MyOrders", customer, first=5)["myOrders"]
    assert [e["node"]["id"] for e in mine["edges"]] == [order_id]
    assert mine["pageInfo"]["endCursor"] == mine["edges"][0]["cursor"]
    ready = run("Orders", admin, shopId=shop_id, states=["COMPLETED"], first=1, newestFirst=True)["orders"]
    assert [(e["node"]["id"], e["node"]["readyAt"]) for e in ready["edges"]] == [(order_id, done["readyAt"])]
    one = run("Order", customer, id=order_id)["order"]
    assert (one["number"], one["state"]) == (queued["number"], "COMPLETED")

    stats = run("ShopStats", admin, shopId=shop_id)["shopStats"]
    assert stats["day"] in {before.isoformat(), (before + timedelta(days=1)).isoformat()}
    assert stats["drinksMade"] == 1
    wait = (datetime.fromisoformat(done["readyAt"]) - datetime.fromisoformat(done["queuedAt"])).total_seconds()
    assert abs(stats["averageWaitSeconds"] - wait) < 1e-6


def _types(view: dict) -> list[str]:  # type: ignore[type-arg]
    return [e["type"] for e in view["journey"]]
