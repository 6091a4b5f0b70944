"""What one GraphQL request may cost: tokens, depth, aliases, store reads and time, refused with a code before
the store is read; and how errors are logged (one INFO line for the client's, a traceback for a bug)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import pytest
from app_operations import document, files
from graphql import parse

from chalicelib.adapters.memory import FixedClock, InMemoryReadModel
from chalicelib.domain.journey import JourneyEntry, OrderView
from chalicelib.domain.order import Actor, OrderState
from chalicelib.domain.shop import Shop
from chalicelib.readside.limits import FIELD_COST, GraphQLLimits, QueryShape, count_tokens, measure
from chalicelib.readside.schema import build_schema, schema
from chalicelib.services.queries import QueryService

SHOP = "main"
ADMIN = Actor(sub="barista-1", username="anna", is_admin=True)


class CountingStore(InMemoryReadModel):
    """The in-memory read model, counting the calls that read it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_shop(self, shop_id: str) -> Shop | None:
        self.reads += 1
        return super().get_shop(shop_id)

    def get_view(self, order_id: str) -> OrderView | None:
        self.reads += 1
        return super().get_view(order_id)

    def journey(self, order_id: str) -> list[JourneyEntry]:
        self.reads += 1
        return super().journey(order_id)

    def shop_orders(self, *args: Any, **kwargs: Any) -> tuple[list[OrderView], str | None]:
        self.reads += 1
        return super().shop_orders(*args, **kwargs)


@pytest.fixture
def store() -> CountingStore:
    store = CountingStore()
    store.put_shop_if_newer(Shop(shop_id=SHOP, name="Main Bar", open=True, version=1))
    for n in range(1, 6):
        at = f"2026-11-23T09:0{n}:00+00:00"
        store.put_view_if_newer(
            OrderView(
                f"o-{n}", SHOP, "alice", OrderState.COMPLETED, number=n, created_at=at, updated_at=at, ready_at=at,
                event_count=3,
            )
        )
    return store


def run(store: InMemoryReadModel, query: str, actor: Actor | None = None, the_schema: Any = schema, **variables: Any):
    return the_schema.execute_sync(
        query,
        variable_values=variables or None,
        context_value={"actor": actor, "queries": QueryService(store, FixedClock())},
    )


def codes(result: Any) -> list[str]:
    return [(e.extensions or {}).get("code") for e in result.errors or []]


def aliases(count: int, field: str = 'board(shopId: "main") { ready }') -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }"


# ----- limits -------------------------------------------------------------------------------------------


def test_a_thousand_board_aliases_are_refused_before_the_store_is_read(store: CountingStore) -> None:
    started = time.perf_counter()
    result = run(store, aliases(1000))

    assert codes(result) == ["query_too_complex"] and result.data is None
    assert store.reads == 0
    assert time.perf_counter() - started < 1


def test_ten_aliases_are_allowed(store: CountingStore) -> None:
    result = run(store, aliases(10))
    assert result.errors is None and len(result.data) == 10


def test_too_many_tokens_are_refused_before_parsing(store: CountingStore) -> None:
    query = "{ shop(id: \"main\") { " + "name " * 1200 + "} }"
    result = run(store, query)
    assert codes(result) == ["query_too_complex"] and "tokens" in result.errors[0].message
    assert store.reads == 0


def test_a_query_too_deep_is_refused(store: CountingStore) -> None:
    deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }"
    result = run(store, deep)
    assert codes(result) == ["query_too_complex"] and "deep" in result.errors[0].message


@pytest.mark.parametrize("first", [51, 100])
def test_a_page_of_orders_each_with_its_journey_is_too_costly(store: CountingStore, first: int) -> None:
    query = "query($n: Int!) { orders(shopId: \"main\", first: $n) { nodes { id journey { type } } } }"
    result = run(store, query, ADMIN, n=first)
    assert codes(result) == ["query_too_complex"] and "cost" in result.errors[0].message
    assert store.reads == 0


def test_a_small_page_with_journeys_is_allowed(store: CountingStore) -> None:
    query = "query($n: Int!) { orders(shopId: \"main\", first: $n) { nodes { id journey { type } } } }"
    result = run(store, query, ADMIN, n=10)
    assert result.errors is None and len(result.data["orders"]["nodes"]) == 5


@pytest.mark.parametrize("path", files(), ids=lambda p: p.stem)
def test_every_app_operation_is_well_within_the_limits(path: Any) -> None:
    if path.stem == "orderFields":
        return  # a fragment, measured with the operations that spread it
    limits = GraphQLLimits()
    text = document(path.stem)
    assert count_tokens(text, limits.max_tokens) <= limits.max_tokens // 5
    shape = measure(schema._schema, parse(text), {"first": 100})
    assert shape.depth <= limits.max_depth // 2 and shape.aliases == 0 and shape.cost <= 5


def test_every_query_field_has_a_read_cost() -> None:
    query_fields = schema._schema.query_type.fields
    assert {f"Query.{name}" for name in query_fields} <= set(FIELD_COST)


# ----- the measure ------------------------------------------------------------------------------------------


def shape_of(query: str, **variables: Any) -> QueryShape:
    return measure(schema._schema, parse(query), variables)


def test_the_cost_multiplies_a_pages_selections_by_its_size() -> None:
    listing = "query($n: Int! = 7) { myOrders(first: $n) { nodes { journey { type } } } }"
    assert shape_of(listing).cost == 1 + 7
    assert shape_of(listing, n=30).cost == 1 + 30
    assert shape_of("{ myOrders { nodes { journey { type } } } }").cost == 1 + 20  # the default page
    assert shape_of("{ myOrders(first: 100000) { nodes { journey { type } } } }").cost == 1 + 100


def test_fragments_count_each_time_they_are_spread_and_are_measured_once() -> None:
    query = "{ ...A ...A } fragment A on Query { x: board(shopId: \"s\") { ready } y: shop(id: \"s\") { name } }"
    assert shape_of(query) == QueryShape(depth=2, aliases=4, cost=6)
    # 60 levels of fragments spreading the next one twice: 2**60 boards, measured without walking them.
    chain = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(60))
    started = time.perf_counter()
    shape = shape_of("{ ...F0 } " + chain + ' fragment F60 on Query { board(shopId: "s") { ready } }')
    assert shape.cost == 2 * 2**60 and time.perf_counter() - started < 1


def test_cyclic_and_unknown_fragments_do_not_break_the_measure() -> None:
    assert shape_of("{ ...A ...Nope } fragment A on Query { ...A board(shopId: \"s\") { ready } }").cost == 2


def test_the_count_of_tokens_stops_past_the_limit() -> None:
    assert count_tokens("{ a b c }", 100) == 5
    assert count_tokens("# a comment\n{ a }", 100) == 3
    assert count_tokens("{ " + "a " * 10_000 + "}", 100) == 101
    assert count_tokens('{ a(x: "unterminated', 100) <= 5


# ----- time budget --------------------------------------------------------------------------------------


class SteppingClock:
    """Each reading is a second later than the one before."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_fields_resolved_past_the_time_budget_are_errors(store: CountingStore) -> None:
    slow = build_schema(GraphQLLimits(time_budget_seconds=3), clock=SteppingClock())
    result = run(store, aliases(6, 'shop(id: "main") { name }'), the_schema=slow)

    assert result.data is not None
    answered = [key for key, value in result.data.items() if value is not None]
    assert 0 < len(answered) < 6
    assert set(codes(result)) == {"time_budget_exceeded"}


# ----- logging --------------------------------------------------------------------------------------------


def records(caplog: pytest.LogCaptureFixture) -> Sequence[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(("chalicelib", "strawberry"))]


def test_the_clients_errors_are_one_info_line_without_a_traceback(
    store: CountingStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = run(store, aliases(10, 'order(id: "o-1") { id }'))  # anonymous: 10 x unauthorized

    assert codes(result) == ["unauthorized"] * 10
    logged = records(caplog)
    assert len(logged) == 1 and logged[0].levelno == logging.INFO and logged[0].exc_info is None
    assert "unauthorized x10" in logged[0].getMessage()


@pytest.mark.parametrize("query", ["{ shop(id: ", "{ nope }", aliases(11)])
def test_queries_that_do_not_parse_validate_or_fit_log_one_info_line(
    store: CountingStore, caplog: pytest.LogCaptureFixture, query: str
) -> None:
    caplog.set_level(logging.DEBUG)
    result = run(store, query)

    assert codes(result) in (["validation_error"], ["query_too_complex"])
    assert [r.levelno for r in records(caplog)] == [logging.INFO]


class BrokenStore(CountingStore):
    def get_shop(self, shop_id: str) -> Shop | None:
        raise RuntimeError("dictionary changed size during iteration")


def test_a_bug_is_logged_once_with_its_traceback_and_hidden_from_the_client(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = run(BrokenStore(), aliases(3, 'shop(id: "main") { name }'))

    assert codes(result) == ["internal_error"] * 3
    assert {e.message for e in result.errors} == {"something went wrong on our side"}
    errors = [r for r in records(caplog) if r.levelno >= logging.ERROR]
    assert errors[0].exc_info is not None and "dictionary changed size" in str(errors[0].exc_info[1])
    assert len([r for r in errors if r.exc_info]) == 1  # the same bug three times: one traceback
