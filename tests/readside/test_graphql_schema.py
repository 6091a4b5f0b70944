"""The Strawberry schema executed in-process over QueryService and the in-memory read model.

Also runs the operation files the apps use (graphql/operations/*.graphql) with real variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.memory import InMemoryReadModel
from chalicelib.domain import events as ev
from chalicelib.domain.journey import OrderView, entry_from_event
from chalicelib.domain.order import Actor, OrderState
from chalicelib.domain.shop import DEFAULT_MENU, DEFAULT_SETTINGS, Shop
from chalicelib.readside.schema import schema
from chalicelib.services.queries import QueryService

OPERATIONS = Path(__file__).resolve().parents[2] / "graphql" / "operations"
SHOP = "main"
ADMIN = Actor(sub="barista-1", username="anna", is_admin=True)
ALICE = Actor(sub="user-alice", username="alice", is_admin=False)
BOB = Actor(sub="user-bob", username="bob", is_admin=False)
SECRET = "secret-task-token"


def at(minute: int) -> str:
    return f"2026-11-23T09:{minute:02d}:00+00:00"


def order_view(n: int, user: Actor = ALICE, state: OrderState = OrderState.QUEUED, **changes: Any) -> OrderView:
    fields: dict[str, Any] = {
        "order_id": f"order-{n:04d}",
        "shop_id": SHOP,
        "user_id": user.sub,
        "state": state,
        "created_at": at(n),
        "updated_at": at(n),
        "event_count": 1,
        **changes,
    }
    return OrderView(**fields)


@pytest.fixture
def store() -> InMemoryReadModel:
    """Given a shop and orders of Alice and Bob in several states."""
    store = InMemoryReadModel()
    store.put_shop_if_newer(Shop(shop_id=SHOP, name="Main Bar", open=True, settings={"drinksPerCode": 5}, version=3))
    views = [
        order_view(
            1, state=OrderState.COMPLETED, number=1, drink="Cappuccino",
            modifiers={"Milk": "Oat", "Size": "Small"}, claimed_by=ADMIN.sub, updated_at=at(9),
        ),
        order_view(2, user=BOB, state=OrderState.IN_PRODUCTION, number=2, drink="Espresso", claimed_by=ADMIN.sub),
        order_view(3, state=OrderState.CANCELLED, reason="Cancelled by the customer"),
        order_view(4, user=BOB, state=OrderState.QUEUED, number=3, drink="Americano", modifiers={"Milk": "None"}),
        order_view(5, state=OrderState.QUEUED, number=4, drink="Espresso"),
        order_view(6, user=BOB, state=OrderState.WAITING_FOR_DRINK),
    ]
    for v in views:
        store.put_view_if_newer(v)
    base = {"schemaVersion": 1, "orderId": "order-0001", "shopId": SHOP, "userId": ALICE.sub}
    journey = [
        (ev.NEW_ORDER, {**base, "idempotencyKey": "k1", "at": at(1), "message": "Order placed with a QR code"}),
        (ev.WORKFLOW_STARTED, {**base, "idempotencyKey": "k2", "at": at(2), "message": "Waiting", "taskToken": SECRET}),
        (ev.DRINK_CHOSEN, {**base, "idempotencyKey": "k3", "at": at(3), "message": "Drink chosen: Cappuccino",
                           "drink": "Cappuccino", "modifiers": {"Milk": "Oat", "Size": "Small"}}),
        (ev.ORDER_COMPLETED, {**base, "idempotencyKey": "k4", "at": at(9), "message": "Order #1 is ready for pickup",
                              "number": 1}),
    ]
    for detail_type, detail in reversed(journey):
        entry = entry_from_event(detail_type, detail)
        assert entry is not None
        store.add_journey_entry(entry)
    return store


def run(store: InMemoryReadModel, actor: Actor | None, query: str, **variables: Any):
    result = schema.execute_sync(
        query, variable_values=variables or None, context_value={"actor": actor, "queries": QueryService(store)}
    )
    return result


def ok(store: InMemoryReadModel, actor: Actor | None, query: str, **variables: Any) -> dict[str, Any]:
    result = run(store, actor, query, **variables)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


def error_codes(result) -> list[str | None]:
    return [(e.extensions or {}).get("code") for e in result.errors or []]


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text(encoding="utf-8")


# ----- shop -----------------------------------------------------------------------------------------


def test_a_shop_is_public(store):
    data = ok(store, None, operation("shop"), id=SHOP)

    shop = data["shop"]
    assert (shop["id"], shop["name"], shop["open"]) == (SHOP, "Main Bar", True)
    assert [d["name"] for d in shop["menu"]] == [d.name for d in DEFAULT_MENU]
    cappuccino = next(d for d in shop["menu"] if d["name"] == "Cappuccino")
    assert cappuccino["modifiers"] == [
        {"name": "Milk", "options": ["Regular", "Oat"]},
        {"name": "Size", "options": ["Small", "Large"]},
    ]
    assert shop["settings"]["drinksPerCode"] == 5
    assert shop["settings"]["codeIntervalSeconds"] == DEFAULT_SETTINGS["codeIntervalSeconds"]


def test_an_unknown_shop_is_null(store):
    assert ok(store, None, "{ shop(id: \"nope\") { id } }") == {"shop": None}


# ----- one order ------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [ALICE, ADMIN])
def test_an_order_with_its_journey(store, reader):
    data = ok(store, reader, operation("order"), id="order-0001")

    order = data["order"]
    assert order["id"] == "order-0001"
    assert (order["state"], order["number"], order["drink"]) == ("COMPLETED", 1, "Cappuccino")
    assert order["modifiers"] == {"Milk": "Oat", "Size": "Small"}
    assert (order["shopId"], order["claimedBy"], order["reason"]) == (SHOP, ADMIN.sub, None)
    assert (order["createdAt"], order["updatedAt"]) == (at(1), at(9))
    journey = order["journey"]
    assert [e["type"] for e in journey] == [ev.NEW_ORDER, ev.WORKFLOW_STARTED, ev.DRINK_CHOSEN, ev.ORDER_COMPLETED]
    assert [e["at"] for e in journey] == [at(1), at(2), at(3), at(9)]
    assert journey[2]["message"] == "Drink chosen: Cappuccino"
    assert journey[2]["detail"]["modifiers"] == {"Milk": "Oat", "Size": "Small"}
    for entry in journey:
        assert "taskToken" not in entry["detail"]
        assert SECRET not in str(entry)


def test_another_customer_gets_forbidden(store):
    result = run(store, BOB, operation("order"), id="order-0001")
    assert result.data == {"order": None}
    assert error_codes(result) == ["forbidden"]
    assert result.errors[0].path == ["order"]


def test_an_anonymous_caller_gets_unauthorized(store):
    result = run(store, None, operation("order"), id="order-0001")
    assert result.data == {"order": None}
    assert error_codes(result) == ["unauthorized"]


def test_an_unknown_order_is_null(store):
    assert ok(store, ALICE, "{ order(id: \"order-9999\") { id } }") == {"order": None}


# ----- my orders ------------------------------------------------------------------------------------


def test_my_orders_newest_first_page_by_page(store):
    first_page = ok(store, ALICE, operation("myOrders"), first=2)["myOrders"]
    assert [n["id"] for n in first_page["nodes"]] == ["order-0005", "order-0003"]
    assert first_page["pageInfo"]["hasNextPage"] is True

    cursor = first_page["pageInfo"]["endCursor"]
    second_page = ok(store, ALICE, operation("myOrders"), first=2, after=cursor)["myOrders"]
    assert [n["id"] for n in second_page["nodes"]] == ["order-0001"]
    assert second_page["pageInfo"] == {"endCursor": None, "hasNextPage": False}
    assert second_page["nodes"][0]["state"] == "COMPLETED"


def test_my_orders_defaults_to_twenty(store):
    data = ok(store, BOB, "{ myOrders { nodes { id state } pageInfo { hasNextPage } } }")
    assert data["myOrders"]["nodes"] == [
        {"id": "order-0006", "state": "WAITING_FOR_DRINK"},
        {"id": "order-0004", "state": "QUEUED"},
        {"id": "order-0002", "state": "IN_PRODUCTION"},
    ]


def test_my_orders_needs_a_signed_in_caller(store):
    result = run(store, None, operation("myOrders"))
    assert result.data is None  # myOrders is non-null, so the whole response is null
    assert error_codes(result) == ["unauthorized"]


@pytest.mark.parametrize(("first", "after"), [(0, None), (101, None), (5, "not-a-cursor!")])
def test_bad_paging_arguments_are_validation_errors(store, first, after):
    result = run(store, ALICE, operation("myOrders"), first=first, after=after)
    assert error_codes(result) == ["validation_error"]


# ----- a shop's orders ------------------------------------------------------------------------------


def test_an_admin_lists_a_shops_active_orders_page_by_page(store):
    states = ["QUEUED", "IN_PRODUCTION"]
    first_page = ok(store, ADMIN, operation("orders"), shopId=SHOP, states=states, first=2)["orders"]
    assert [(n["id"], n["state"]) for n in first_page["nodes"]] == [
        ("order-0002", "IN_PRODUCTION"),
        ("order-0004", "QUEUED"),
    ]
    assert first_page["pageInfo"]["hasNextPage"] is True

    after = first_page["pageInfo"]["endCursor"]
    second_page = ok(store, ADMIN, operation("orders"), shopId=SHOP, states=states, first=2, after=after)["orders"]
    assert [n["id"] for n in second_page["nodes"]] == ["order-0005"]
    assert second_page["pageInfo"] == {"endCursor": None, "hasNextPage": False}


def test_without_states_every_order_is_listed_oldest_first(store):
    data = ok(store, ADMIN, operation("orders"), shopId=SHOP)
    assert [n["id"] for n in data["orders"]["nodes"]] == [f"order-{n:04d}" for n in range(1, 7)]
    assert data["orders"]["nodes"][0]["modifiers"] == {"Milk": "Oat", "Size": "Small"}


def test_a_customer_may_not_list_a_shops_orders(store):
    result = run(store, ALICE, operation("orders"), shopId=SHOP)
    assert result.data is None
    assert error_codes(result) == ["forbidden"]


def test_an_unknown_state_is_rejected_by_the_schema(store):
    result = run(store, ADMIN, operation("orders"), shopId=SHOP, states=["BREWING"])
    assert result.errors
    assert "BREWING" in result.errors[0].message


# ----- board ----------------------------------------------------------------------------------------


def test_the_board_is_public_and_shows_numbers_only(store):
    data = ok(store, None, operation("board"), shopId=SHOP)
    assert data == {"board": {"shopId": SHOP, "waiting": [3, 4], "inProduction": [2], "ready": [1]}}


def test_the_board_of_an_unknown_shop_is_not_found(store):
    result = run(store, None, operation("board"), shopId="nope")
    assert error_codes(result) == ["not_found"]


def test_the_board_type_exposes_no_personal_fields():
    fields = set(schema._schema.type_map["Board"].fields)
    assert fields == {"shopId", "waiting", "inProduction", "ready"}
