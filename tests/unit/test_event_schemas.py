"""Unit tests for the event contracts (schemas/events, chalicelib.event_schemas) against what is really emitted.

The order manager and shop service are driven through whole journeys on the in-memory adapters, and the
workflow's events are built from the Detail templates in statemachine.json, so neither the Python
emitters nor the ASL can drift from the schemas unnoticed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from chalicelib import event_schemas
from chalicelib.adapters.memory import (
    FixedClock,
    InMemoryCodeWindows,
    InMemoryOrders,
    InMemoryShops,
    RecordingPublisher,
    RecordingWorkflow,
    SequentialIds,
)
from chalicelib.domain import events as ev
from chalicelib.domain.commands import ChooseDrink, CreateShop, PlaceOrder, SetMenu, SetStoreOpen, UpdateSettings
from chalicelib.domain.order import OUTCOME_CANCELLED, OUTCOME_COMPLETED, OUTCOME_DRINK_CHOSEN, Actor, OrderState
from chalicelib.domain.shop import menu_from_dicts
from chalicelib.event_schemas import schema_for, validate_event
from chalicelib.handlers import decoders as decode
from chalicelib.services.orders import OrderService
from chalicelib.services.shops import ShopService

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schemas" / "events"
ASL = json.loads((ROOT / "statemachine.json").read_text())

ORGANISER = Actor(sub="organiser-1", username="olga", is_admin=True)
BARISTA_A = Actor(sub="barista-a", username="anna", is_admin=True)
BARISTA_B = Actor(sub="barista-b", username="ben", is_admin=True)
SHOP_ID = "reinvent"
ENTERED_TIME = "2026-11-23T09:00:01.234Z"  # what $$.State.EnteredTime looks like


def customer(n: int) -> Actor:
    return Actor(sub=f"user-{n}", username=f"customer{n}", is_admin=False)


# ----- evaluating the ASL's Detail templates ------------------------------------------------------

_FORMAT = re.compile(r"States\.Format\('((?:[^'\\]|\\.)*)',\s*(.+)\)")


def _path(expr: str, state_input: dict[str, Any], context: dict[str, Any]) -> Any:
    if expr.startswith("$$."):
        value: Any = context
        parts = expr[3:].split(".")
    elif expr.startswith("$."):
        value = state_input
        parts = expr[2:].split(".")
    else:
        raise AssertionError(f"the test's ASL evaluator does not understand {expr!r}; teach it")
    for part in parts:
        value = value[part]
    return value


def _resolve(expr: str, state_input: dict[str, Any], context: dict[str, Any]) -> Any:
    match = _FORMAT.fullmatch(expr)
    if match is None:
        return _path(expr, state_input, context)
    text, args = match.group(1), [a.strip() for a in match.group(2).split(",")]
    for arg in args:
        text = text.replace("{}", str(_resolve(arg, state_input, context)), 1)
    return text


def evaluate(template: Any, state_input: dict[str, Any], context: dict[str, Any]) -> Any:
    """Evaluate a Parameters/Detail template: `"key.$": path` becomes `"key": value`."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _resolve(value, state_input, context)
            else:
                out[key] = evaluate(value, state_input, context)
        return out
    if isinstance(template, list):
        return [evaluate(item, state_input, context) for item in template]
    return template


def put_events_states() -> dict[str, dict[str, Any]]:
    return {
        name: state
        for name, state in ASL["States"].items()
        if str(state.get("Resource", "")).startswith("arn:aws:states:::events:putEvents")
    }


def entry_template(state_name: str, detail_type: str) -> dict[str, Any]:
    entries = ASL["States"][state_name]["Parameters"]["Entries"]
    (entry,) = [e for e in entries if e["DetailType"] == detail_type]
    return entry


def workflow_input(new_order_detail: dict[str, Any], settings: dict[str, int] | None = None) -> dict[str, Any]:
    """The execution input (the NewOrder event as EventBridge delivers it) plus what LoadShop adds."""
    settings = settings or {"maxOrdersInQueue": 20, "customerTimeoutSeconds": 300, "baristaTimeoutSeconds": 900}
    return {
        "version": "0",
        "source": ev.SOURCE,
        "detail-type": ev.NEW_ORDER,
        "detail": new_order_detail,
        "shop": {
            "open": True,
            "maxOrdersInQueue": settings["maxOrdersInQueue"],
            "customerTimeoutSeconds": settings["customerTimeoutSeconds"],
            "baristaTimeoutSeconds": settings["baristaTimeoutSeconds"],
        },
    }


def context_for(order_id: str, token: str = "unused") -> dict[str, Any]:
    return {"Execution": {"Name": order_id}, "State": {"EnteredTime": ENTERED_TIME}, "Task": {"Token": token}}


def _leads_to(start: str, target: str) -> bool:
    """Whether the unbranched Next chain from `start` reaches `target`."""
    seen = set()
    name: str | None = start
    while name is not None and name not in seen:
        if name == target:
            return True
        seen.add(name)
        name = ASL["States"][name].get("Next")
    return False


def pass_variants(base: dict[str, Any], target: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The inputs `target` sees after each Pass state that leads to it (the reason/outcome it reports)."""
    barista_outcomes = (OUTCOME_COMPLETED, OUTCOME_CANCELLED)  # what the order manager resumes WaitForBarista with
    found = False
    for name, state in ASL["States"].items():
        if state["Type"] != "Pass" or not _leads_to(name, target):
            continue
        found = True
        outcomes = barista_outcomes if "Parameters" in state else (None,)
        for outcome in outcomes:
            state_input = copy.deepcopy(base)
            if outcome is not None:
                state_input["barista"] = {"outcome": outcome}
            result = state["Result"] if "Result" in state else evaluate(state["Parameters"], state_input, {})
            state_input[state["ResultPath"].removeprefix("$.")] = result
            yield (name if outcome is None else f"{name}({outcome})"), state_input
    if not found:
        yield "direct", copy.deepcopy(base)


SAMPLE_NEW_ORDER = {
    "schemaVersion": 1,
    "idempotencyKey": "order-7:Validator.NewOrder:v1",
    "at": "2026-11-23T09:00:00+00:00",
    "message": "Order placed with a QR code",
    "orderId": "order-7",
    "shopId": SHOP_ID,
    "userId": "user-1",
    "state": "WAITING_FOR_DRINK",
    "createdAt": "2026-11-23T09:00:00+00:00",
}


def asl_cases() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(state, detail-type, variant, Detail) for every putEvents entry of the ASL."""
    base = workflow_input(SAMPLE_NEW_ORDER)
    base["numbering"] = {"number": 7}
    base["customer"] = {"outcome": OUTCOME_DRINK_CHOSEN}
    cases = []
    for name, state in put_events_states().items():
        for variant, state_input in pass_variants(base, name):
            context = context_for("order-7", token="AQCEAAAAKgAAAAMAAAAAAAAAAR...")
            for entry in state["Parameters"]["Entries"]:
                cases.append((name, entry["DetailType"], variant, evaluate(entry["Detail"], state_input, context)))
    return cases


# ----- (a) one schema per detail-type, (b) every schema is a valid schema -------------------------


def test_every_detail_type_has_a_schema_and_nothing_else_does():
    files = {
        p.name.removesuffix(".schema.json") for p in SCHEMA_DIR.glob("*.schema.json") if not p.name.startswith("_")
    }
    assert len(ev.ALL_DETAIL_TYPES) == len(set(ev.ALL_DETAIL_TYPES))
    assert files == set(ev.ALL_DETAIL_TYPES)
    assert event_schemas.detail_types() == set(ev.ALL_DETAIL_TYPES)
    assert {p.name for p in SCHEMA_DIR.iterdir()} == {f"{t}.schema.json" for t in files} | {"_envelope.schema.json"}


@pytest.mark.parametrize("path", sorted(SCHEMA_DIR.glob("*.schema.json")), ids=lambda p: p.name)
def test_every_schema_is_a_valid_draft_2020_12_schema(path):
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/" + path.name)
    assert schema["title"] and len(schema["description"]) > 80


def _all_subschemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _all_subschemas(value)
    elif isinstance(node, list):
        for item in node:
            yield from _all_subschemas(item)


@pytest.mark.parametrize("detail_type", ev.ALL_DETAIL_TYPES)
def test_schemas_share_the_envelope_and_tolerate_additions(detail_type):
    schema = schema_for(detail_type)
    assert schema["title"] == detail_type
    assert {"$ref": "_envelope.schema.json"} in schema["allOf"]
    assert schema["additionalProperties"] is True
    for sub in _all_subschemas(schema):
        assert sub.get("additionalProperties") is not False and sub.get("unevaluatedProperties") is not False


def test_envelope_pins_schema_version_and_requires_its_fields():
    envelope = json.loads((SCHEMA_DIR / "_envelope.schema.json").read_text())
    assert envelope["properties"]["schemaVersion"]["const"] == ev.SCHEMA_VERSION == 1
    assert set(envelope["required"]) == {"schemaVersion", "idempotencyKey", "at", "message"}
    assert envelope["$defs"]["orderState"]["enum"] == [s.value for s in OrderState]


@pytest.mark.parametrize("detail_type", [ev.WORKFLOW_STARTED, ev.PROCESSOR_WAITING_COMPLETION])
def test_task_token_is_required_on_the_wait_events_and_documented_as_secret(detail_type):
    schema = schema_for(detail_type)
    assert "taskToken" in schema["required"]
    assert "taskToken" in ev.SECRET_FIELDS
    text = schema["description"].lower()
    assert "secret" in text and "strip" in text and "every reader that faces a person" in text


def test_schema_for_returns_a_copy_and_rejects_unknown_types():
    schema_for(ev.MAKE_ORDER)["required"].clear()
    assert schema_for(ev.MAKE_ORDER)["required"]
    with pytest.raises(KeyError):
        schema_for("OrderManager.Nope")
    with pytest.raises(KeyError):
        validate_event("OrderManager.Nope", dict(SAMPLE_NEW_ORDER))


# ----- (c) a whole bar's day through the services, every published event validated ----------------


class WorkflowDouble:
    """Plays the Step Functions workflow: builds its events from the ASL templates and delivers them."""

    def __init__(self, shops: ShopService, orders: OrderService, recording: RecordingWorkflow) -> None:
        self._shops = shops
        self._orders = orders
        self._recording = recording
        self.emitted: list[tuple[str, dict[str, Any]]] = []
        self._inputs: dict[str, dict[str, Any]] = {}

    def _emit(
        self, state: str, detail_type: str, order_id: str, state_input: dict[str, Any], token: str
    ) -> dict[str, Any]:
        detail = evaluate(entry_template(state, detail_type)["Detail"], state_input, context_for(order_id, token))
        validate_event(detail_type, detail)
        self.emitted.append((detail_type, detail))
        return detail

    def start(self, new_order: dict[str, Any]) -> str:
        """Validator.NewOrder started an execution: it waits for the customer."""
        settings = self._shops.get(new_order["shopId"]).settings
        state_input = workflow_input(new_order, dict(settings))
        self._inputs[new_order["orderId"]] = state_input
        token = f"token-{new_order['orderId']}-customer"
        self._recording.waiting.add(token)
        detail = self._emit("WaitForCustomer", ev.WORKFLOW_STARTED, new_order["orderId"], state_input, token)
        self._orders.on_workflow_started(decode.workflow_started(detail))
        return token

    def number(self, order_id: str, number: int) -> str:
        """The customer wait was resumed with DRINK_CHOSEN: number the order, wait for the barista."""
        state_input = {**self._inputs[order_id], "numbering": {"number": number}}
        token = f"token-{order_id}-barista"
        self._recording.waiting.add(token)
        detail = self._emit("WaitForBarista", ev.PROCESSOR_WAITING_COMPLETION, order_id, state_input, token)
        self._orders.on_waiting_completion(decode.workflow_waiting_completion(detail))
        return token

    def time_out(self, order_id: str, pass_state: str) -> None:
        token = f"token-{order_id}-customer"
        self._recording.waiting.discard(token)
        state_input = {**self._inputs[order_id], "timeout": ASL["States"][pass_state]["Result"]}
        detail = self._emit("EmitOrderTimedOut", ev.ORDER_TIMED_OUT, order_id, state_input, "unused")
        self._orders.on_timed_out(decode.workflow_timed_out(detail))

    def reject(self, new_order: dict[str, Any], pass_state: str) -> None:
        state_input = {**workflow_input(new_order), "rejection": ASL["States"][pass_state]["Result"]}
        detail = self._emit("EmitShopUnavailable", ev.SHOP_UNAVAILABLE, new_order["orderId"], state_input, "unused")
        self._orders.on_shop_unavailable(decode.workflow_shop_unavailable(detail))


@pytest.fixture
def bar():
    clock = FixedClock()
    windows = InMemoryCodeWindows()
    shops = InMemoryShops()
    orders = InMemoryOrders(windows)
    publisher = RecordingPublisher()
    recording = RecordingWorkflow()
    shop_service = ShopService(shops, windows, publisher, clock, "https://order.example/")
    order_service = OrderService(shops, windows, orders, publisher, recording, clock, SequentialIds("order-"))
    workflow = WorkflowDouble(shop_service, order_service, recording)
    return clock, shop_service, order_service, publisher, recording, workflow


def _place(bar, who: Actor) -> dict[str, Any]:
    clock, shops, orders, publisher, _, _ = bar
    code = shops.current_code(ORGANISER, SHOP_ID)["code"]
    order = orders.place(who, PlaceOrder(SHOP_ID, code))
    new_order = publisher.events[-1]
    assert new_order.detail_type == ev.NEW_ORDER and new_order.detail["orderId"] == order.order_id
    clock.advance(5)
    return new_order.detail


def test_a_whole_day_at_the_bar_publishes_only_events_that_fit_their_schemas(bar):
    clock, shops, orders, publisher, recording, workflow = bar

    shops.create(ORGANISER, CreateShop(SHOP_ID, "re:Invent Coffee"))
    shops.set_store_open(ORGANISER, SetStoreOpen(SHOP_ID, True))
    menu = [
        {"name": "Flat White", "modifiers": [{"name": "Milk", "options": ["Regular", "Oat"]}]},
        {"name": "Espresso"},
    ]
    shops.set_menu(ORGANISER, SetMenu(SHOP_ID, menu_from_dicts(menu)))
    timeouts = {"customerTimeoutSeconds": 120, "baristaTimeoutSeconds": 600}
    shops.update_settings(ORGANISER, UpdateSettings(SHOP_ID, timeouts))

    # 1: the happy path, with an unclaim on the way.
    first = _place(bar, customer(1))
    customer_token = workflow.start(first)
    orders.choose_drink(customer(1), ChooseDrink(first["orderId"], "Flat White", {"Milk": "Oat"}))
    assert (customer_token, OUTCOME_DRINK_CHOSEN) in recording.resumed
    barista_token = workflow.number(first["orderId"], 1)
    orders.claim(BARISTA_A, first["orderId"])
    orders.unclaim(BARISTA_A, first["orderId"])
    orders.claim(BARISTA_B, first["orderId"])
    done = orders.complete(BARISTA_B, first["orderId"])
    assert done.state is OrderState.COMPLETED
    assert (barista_token, OUTCOME_COMPLETED) in recording.resumed

    # 2: cancelled by the customer once queued.
    second = _place(bar, customer(2))
    workflow.start(second)
    orders.choose_drink(customer(2), ChooseDrink(second["orderId"], "Espresso", {}))
    barista_token = workflow.number(second["orderId"], 2)
    assert orders.cancel(customer(2), second["orderId"]).state is OrderState.CANCELLED
    assert (barista_token, OUTCOME_CANCELLED) in recording.resumed

    # 3: the customer never chooses; the workflow times the order out.
    third = _place(bar, customer(3))
    workflow.start(third)
    workflow.time_out(third["orderId"], "CustomerTimedOut")
    assert orders.get_for(ORGANISER, third["orderId"]).state is OrderState.TIMED_OUT

    # 4: the shop filled up before the workflow could start this one.
    fourth = _place(bar, customer(4))
    workflow.reject(fourth, "ShopFull")
    assert orders.get_for(ORGANISER, fourth["orderId"]).state is OrderState.REJECTED

    # 5: queued when the local runtime restarts; its execution is lost.
    fifth = _place(bar, customer(5))
    workflow.start(fifth)
    orders.choose_drink(customer(5), ChooseDrink(fifth["orderId"], "Espresso", {}))
    workflow.number(fifth["orderId"], 3)
    ended = orders.end_interrupted("The bar restarted before your order was made")
    assert [o.order_id for o in ended] == [fifth["orderId"]]
    assert orders.flush_outboxes() == 0

    published = [(e.detail_type, e.detail) for e in publisher.events]
    for detail_type, detail in published:
        validate_event(detail_type, detail)
        # ... and as consumers receive it, after the trip through EventBridge's JSON.
        entry = ev.DomainEvent(detail_type, detail).to_entry("bus")
        validate_event(entry["DetailType"], json.loads(entry["Detail"]))
    for detail_type, detail in workflow.emitted:
        validate_event(detail_type, detail)
    for detail_type, detail in published + workflow.emitted:
        # The consumers of every event (read side, live updates) decode each one at their edge.
        assert decode.received(detail_type, json.loads(json.dumps(detail))).detail == detail

    assert {t for t, _ in published} == {
        ev.CONFIG_CHANGED,
        ev.NEW_ORDER,
        ev.DRINK_CHOSEN,
        ev.MANAGER_WAITING_COMPLETION,
        ev.MAKE_ORDER,
        ev.ORDER_UNCLAIMED,
        ev.ORDER_COMPLETED,
        ev.ORDER_CANCELLED,
        ev.ORDER_TIMED_OUT,
        ev.ORDER_FINISHED,
    }
    assert {t for t, _ in workflow.emitted} == {
        ev.WORKFLOW_STARTED,
        ev.PROCESSOR_WAITING_COMPLETION,
        ev.ORDER_TIMED_OUT,
        ev.SHOP_UNAVAILABLE,
    }
    config = [d for t, d in published if t == ev.CONFIG_CHANGED]
    assert [d["change"] for d in config] == ["created", "store", "menu", "settings"]
    assert all(d["shop"]["shopId"] == d["shopId"] == SHOP_ID for d in config)
    # Each change has its own key; the same change always gets the same one.
    keys = [d["idempotencyKey"] for _, d in published + workflow.emitted]
    assert len(keys) == len(set(keys))
    # The task token stays between the workflow and the order manager.
    assert not [t for t, d in published if ev.SECRET_FIELDS & d.keys()]


# ----- (d) what the schemas reject ------------------------------------------------------------------

VALID_MAKE_ORDER = {
    "schemaVersion": 1,
    "idempotencyKey": "order-7:OrderManager.MakeOrder:v4",
    "at": "2026-11-23T09:03:00+00:00",
    "message": "A barista is making order #7",
    "orderId": "order-7",
    "shopId": SHOP_ID,
    "userId": "user-1",
    "state": "IN_PRODUCTION",
    "number": 7,
    "drink": "Flat White",
    "modifiers": {"Milk": "Oat"},
    "claimedBy": "barista-a",
}


def _without(detail: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in detail.items() if k != key}


@pytest.mark.parametrize(
    ("detail_type", "valid"),
    [(ev.MAKE_ORDER, VALID_MAKE_ORDER), (ev.NEW_ORDER, SAMPLE_NEW_ORDER)],
    ids=["MakeOrder", "NewOrder"],
)
@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda d: _without(d, "idempotencyKey"), id="missing-idempotencyKey"),
        pytest.param(lambda d: {**d, "idempotencyKey": ""}, id="empty-idempotencyKey"),
        pytest.param(lambda d: {**d, "schemaVersion": 2}, id="schemaVersion-2"),
        pytest.param(lambda d: {**d, "schemaVersion": "1"}, id="schemaVersion-string"),
        pytest.param(lambda d: {**d, "schemaVersion": True}, id="schemaVersion-bool"),
        pytest.param(lambda d: {**d, "state": "BREWING"}, id="bad-state"),
        pytest.param(lambda d: _without(d, "orderId"), id="missing-orderId"),
        pytest.param(lambda d: _without(d, "message"), id="missing-message"),
        pytest.param(lambda d: {**d, "at": "2026-11-23 09:03"}, id="at-not-iso"),
        pytest.param(lambda d: {**d, "at": "2026-11-23T09:03:00"}, id="at-without-offset"),
        pytest.param(lambda d: {**d, "at": "2026-11-23T10:03:00+01:00"}, id="at-not-utc"),
        pytest.param(lambda d: {**d, "taskToken": "AQCE..."}, id="leaks-taskToken"),
    ],
)
def test_broken_details_fail_validation(detail_type, valid, breakage):
    validate_event(detail_type, dict(valid))
    with pytest.raises(ValidationError):
        validate_event(detail_type, breakage(dict(valid)))


@pytest.mark.parametrize(
    ("detail_type", "key"),
    [(ev.MAKE_ORDER, "claimedBy"), (ev.MAKE_ORDER, "number"), (ev.MAKE_ORDER, "state"), (ev.MAKE_ORDER, "modifiers")],
)
def test_event_specific_required_fields(detail_type, key):
    with pytest.raises(ValidationError):
        validate_event(detail_type, _without(VALID_MAKE_ORDER, key))


def test_a_wait_event_without_its_task_token_fails():
    (detail,) = [d for _, t, _, d in asl_cases() if t == ev.WORKFLOW_STARTED]
    validate_event(ev.WORKFLOW_STARTED, detail)
    with pytest.raises(ValidationError):
        validate_event(ev.WORKFLOW_STARTED, _without(detail, "taskToken"))


def test_a_bad_outcome_fails():
    (_, _, _, detail) = next(c for c in asl_cases() if c[1] == ev.ORDER_FINISHED)
    with pytest.raises(ValidationError):
        validate_event(ev.ORDER_FINISHED, {**detail, "outcome": "DRINK_CHOSEN"})


def test_unknown_fields_are_tolerated():
    validate_event(ev.MAKE_ORDER, {**VALID_MAKE_ORDER, "cupSize": "large", "loyalty": {"stamps": 3}})


# ----- (e) the ASL's putEvents entries fit the schemas -----------------------------------------------


@pytest.mark.parametrize(
    ("detail_type", "detail"),
    [pytest.param(t, d, id=f"{state}-{t}-{variant}") for state, t, variant, d in asl_cases()],
)
def test_every_workflow_put_events_detail_fits_its_schema(detail_type, detail):
    validate_event(detail_type, detail)


def test_the_workflow_emits_exactly_the_order_processor_events_from_our_source():
    entries = [e for state in put_events_states().values() for e in state["Parameters"]["Entries"]]
    assert {e["Source"] for e in entries} == {ev.SOURCE}
    assert {e["DetailType"] for e in entries} == {t for t in ev.ALL_DETAIL_TYPES if t.startswith("OrderProcessor.")}
    outcomes = {d["outcome"] for _, t, _, d in asl_cases() if t == ev.ORDER_FINISHED}
    # Every outcome the workflow can report is in the schema's enum, and nothing else is.
    envelope = json.loads((SCHEMA_DIR / "_envelope.schema.json").read_text())
    assert outcomes == set(envelope["$defs"]["outcome"]["enum"])


# ----- docs ------------------------------------------------------------------------------------------


def test_the_event_catalogue_documents_every_detail_type():
    text = (ROOT / "docs" / "events.md").read_text()
    for detail_type in ev.ALL_DETAIL_TYPES:
        assert f"`{detail_type}`" in text, detail_type
