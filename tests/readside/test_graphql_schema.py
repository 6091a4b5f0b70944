"""The Strawberry schema executed in-process over QueryService and the in-memory read model.

Also runs the operation files the apps use (graphql/operations/*.graphql) with real variables.
"""

from __future__ import annotations

from typing import Any

import pytest
from app_operations import document
from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType

from chalicelib.adapters.memory import FixedClock, InMemoryReadModel
from chalicelib.domain import events as ev
from chalicelib.domain.journey import OrderView, entry_from_event
from chalicelib.domain.order import Actor, OrderState
from chalicelib.domain.shop import DEFAULT_MENU, DEFAULT_SETTINGS, Shop
from chalicelib.readside.schema import schema
from chalicelib.services.queries import QueryService

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
            queued_at=at(3), ready_at=at(9),
        ),
        order_view(2, user=BOB, state=OrderState.IN_PRODUCTION, number=2, drink="Espresso", claimed_by=ADMIN.sub),
        order_view(3, state=OrderState.CANCELLED, reason="Cancelled by the customer"),
        order_view(4, user=BOB, state=OrderState.QUEUED, number=3, drink="Americano", modifiers={"Milk": "None"}),
        order_view(5, state=OrderState.QUEUED, number=4, drink="Espresso"),
        order_view(6, user=BOB, state=OrderState.WAITING_FOR_DRINK, drink="Latte", queued_at=at(7)),
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
        query,
        variable_values=variables or None,
        # The clock's day is the one the fixture's orders were placed on.
        context_value={"actor": actor, "queries": QueryService(store, FixedClock())},
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
    """An app's operation file, with the shared fragments it spreads."""
    return document(name)


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def end_cursor(connection: dict[str, Any]) -> str:
    """The page's endCursor, which is its last edge's cursor (Relay), on the last page too."""
    cursor: str = connection["pageInfo"]["endCursor"]
    assert cursor == connection["edges"][-1]["cursor"]
    return cursor


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
    assert (order["queuedAt"], order["readyAt"]) == (at(3), at(9))
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
    assert [n["id"] for n in nodes(first_page)] == ["order-0005", "order-0003"]
    cursors = [edge["cursor"] for edge in first_page["edges"]]
    assert first_page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": cursors[0],
        "endCursor": cursors[1],
    }

    cursor = first_page["pageInfo"]["endCursor"]
    second_page = ok(store, ALICE, operation("myOrders"), first=2, after=cursor)["myOrders"]
    assert [n["id"] for n in nodes(second_page)] == ["order-0001"]
    last_cursor = second_page["edges"][0]["cursor"]
    assert second_page["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": last_cursor,
        "endCursor": last_cursor,
    }
    assert nodes(second_page)[0]["state"] == "COMPLETED"


def test_a_page_after_the_last_order_is_empty_without_cursors(store):
    every = ok(store, BOB, operation("myOrders"), first=3)["myOrders"]
    assert every["pageInfo"]["hasNextPage"] is False

    empty = ok(store, BOB, operation("myOrders"), after=end_cursor(every))["myOrders"]

    assert empty["edges"] == []
    assert empty["pageInfo"] == {"hasNextPage": False, "hasPreviousPage": True, "startCursor": None, "endCursor": None}


def test_nodes_are_the_edges_nodes_for_convenience(store):
    data = ok(store, BOB, "{ myOrders { nodes { id state } edges { node { id state } } pageInfo { hasNextPage } } }")
    assert data["myOrders"]["nodes"] == [
        {"id": "order-0006", "state": "WAITING_FOR_DRINK"},
        {"id": "order-0004", "state": "QUEUED"},
        {"id": "order-0002", "state": "IN_PRODUCTION"},
    ]
    assert nodes(data["myOrders"]) == data["myOrders"]["nodes"]


def test_a_chosen_drink_being_numbered_is_waiting_with_its_drink(store):
    data = ok(store, BOB, operation("order"), id="order-0006")
    assert (data["order"]["state"], data["order"]["number"]) == ("WAITING_FOR_DRINK", None)
    assert (data["order"]["drink"], data["order"]["queuedAt"], data["order"]["readyAt"]) == ("Latte", at(7), None)


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
    assert [(n["id"], n["state"]) for n in nodes(first_page)] == [
        ("order-0002", "IN_PRODUCTION"),
        ("order-0004", "QUEUED"),
    ]
    assert first_page["pageInfo"]["hasNextPage"] is True

    after = first_page["pageInfo"]["endCursor"]
    second_page = ok(store, ADMIN, operation("orders"), shopId=SHOP, states=states, first=2, after=after)["orders"]
    assert [n["id"] for n in nodes(second_page)] == ["order-0005"]
    assert (second_page["pageInfo"]["hasNextPage"], second_page["pageInfo"]["hasPreviousPage"]) == (False, True)
    # The last page's endCursor is its last order's cursor: nothing follows it.
    polled = ok(store, ADMIN, operation("orders"), shopId=SHOP, states=states, after=end_cursor(second_page))
    assert polled["orders"]["edges"] == []


def test_without_states_every_order_is_listed_oldest_first(store):
    data = ok(store, ADMIN, operation("orders"), shopId=SHOP)
    assert [n["id"] for n in nodes(data["orders"])] == [f"order-{n:04d}" for n in range(1, 7)]
    assert nodes(data["orders"])[0]["modifiers"] == {"Milk": "Oat", "Size": "Small"}


def test_newest_first_gives_the_tablet_the_latest_ready_orders(store):
    store.put_view_if_newer(
        order_view(7, state=OrderState.COMPLETED, number=5, drink="Mocha", queued_at=at(8), ready_at=at(12))
    )

    data = ok(store, ADMIN, operation("orders"), shopId=SHOP, states=["COMPLETED"], first=1, newestFirst=True)

    [ready] = nodes(data["orders"])
    assert (ready["id"], ready["number"], ready["queuedAt"], ready["readyAt"]) == ("order-0007", 5, at(8), at(12))
    assert data["orders"]["pageInfo"]["hasNextPage"] is True
    older = ok(
        store, ADMIN, operation("orders"),
        shopId=SHOP, states=["COMPLETED"], newestFirst=True, after=data["orders"]["pageInfo"]["endCursor"],
    )
    assert [n["id"] for n in nodes(older["orders"])] == ["order-0001"]


def test_a_customer_may_not_list_a_shops_orders(store):
    result = run(store, ALICE, operation("orders"), shopId=SHOP)
    assert result.data is None
    assert error_codes(result) == ["forbidden"]


def test_an_unknown_state_is_rejected_by_the_schema(store):
    result = run(store, ADMIN, operation("orders"), shopId=SHOP, states=["BREWING"])
    assert result.errors
    assert "BREWING" in result.errors[0].message


# ----- shop stats -----------------------------------------------------------------------------------


def test_an_admin_reads_todays_stats(store):
    data = ok(store, ADMIN, operation("shopStats"), shopId=SHOP)
    # Only order-0001 is completed: chosen at 09:03, ready at 09:09.
    assert data == {"shopStats": {"shopId": SHOP, "day": "2026-11-23", "drinksMade": 1, "averageWaitSeconds": 360.0}}


@pytest.mark.parametrize(
    ("actor", "shop_id", "code"),
    [(None, SHOP, "unauthorized"), (ALICE, SHOP, "forbidden"), (ADMIN, "nope", "not_found")],
)
def test_stats_are_for_admins_of_a_known_shop(store, actor, shop_id, code):
    result = run(store, actor, operation("shopStats"), shopId=shop_id)
    assert result.data is None
    assert error_codes(result) == [code]


# ----- the schema's shape ---------------------------------------------------------------------------


def named(field_type: Any) -> Any:
    while isinstance(field_type, GraphQLNonNull | GraphQLList):
        field_type = field_type.of_type
    return field_type


IDENTIFIERS = {"id", "shopId", "claimedBy"}


def test_every_identifier_field_and_argument_is_an_id():
    seen = []
    for type_ in schema._schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            if name in IDENTIFIERS:
                seen.append(f"{type_.name}.{name}")
                assert named(field.type).name == "ID", f"{type_.name}.{name}"
            for arg_name, arg in field.args.items():
                if arg_name in IDENTIFIERS:
                    seen.append(f"{type_.name}.{name}({arg_name})")
                    assert named(arg.type).name == "ID", f"{type_.name}.{name}({arg_name})"
    assert {"Order.shopId", "Board.shopId", "ShopStats.shopId", "Query.orders(shopId)", "Query.board(shopId)",
            "Query.shopStats(shopId)", "Order.claimedBy"} <= set(seen)


def test_every_order_state_says_what_it_means_to_a_client():
    states = schema._schema.type_map["OrderState"]
    assert isinstance(states, GraphQLEnumType)
    assert set(states.values) == {s.value for s in OrderState}
    assert all(value.description for value in states.values.values())
    assert "being numbered" in (states.values["WAITING_FOR_DRINK"].description or "")


def test_connections_follow_the_relay_shape():
    connection = schema._schema.type_map["OrderConnection"]
    edge = schema._schema.type_map["OrderEdge"]
    page_info = schema._schema.type_map["PageInfo"]
    assert isinstance(connection, GraphQLObjectType) and isinstance(edge, GraphQLObjectType)
    assert isinstance(page_info, GraphQLObjectType)
    assert {"edges", "pageInfo", "nodes"} == set(connection.fields)
    assert str(connection.fields["edges"].type) == "[OrderEdge!]!"
    assert {name: str(f.type) for name, f in edge.fields.items()} == {"node": "Order!", "cursor": "String!"}
    assert {name: str(f.type) for name, f in page_info.fields.items()} == {
        "hasNextPage": "Boolean!",
        "hasPreviousPage": "Boolean!",
        "startCursor": "String",
        "endCursor": "String",
    }


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
