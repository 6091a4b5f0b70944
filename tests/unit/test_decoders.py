"""The edge's decoders (chalicelib.handlers.decoders): REST bodies and path ids into commands, bus events into
typed events. Whatever arrives, the outcome is a command or one domain error that names the field."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import events as ev
from chalicelib.domain.commands import ChooseDrink, CreateShop, PlaceOrder, SetMenu, SetStoreOpen, UpdateSettings
from chalicelib.domain.errors import DomainError, InvalidCode, NotFound, ValidationError
from chalicelib.domain.shop import DEFAULT_MENU, Drink, Modifier
from chalicelib.handlers import decoders as decode
from chalicelib.handlers.json_input import MAX_BODY_BYTES


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


# ----- bodies that are not the JSON we want ---------------------------------------------------------

NOT_OBJECTS = [
    pytest.param(b"", id="empty"),
    pytest.param(b"null", id="null"),
    pytest.param(b"42", id="number"),
    pytest.param(b"1e999", id="infinite number"),
    pytest.param(b'"text"', id="string"),
    pytest.param(b"[]", id="list"),
    pytest.param(b"true", id="boolean"),
]
NOT_JSON = [
    pytest.param(b"{not json", "not valid JSON", id="syntax"),
    pytest.param(b"\xff\xfe{}", "not UTF-8", id="invalid UTF-8"),
    pytest.param(b'{"name": "caf\xe9"}', "not UTF-8", id="latin-1"),
    pytest.param(b"[" * 100_000 + b"]" * 100_000, "nests too deeply", id="deep list"),
    pytest.param(b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "nests too deeply", id="deep object"),
    pytest.param(b"1" * 5_000, "not valid JSON", id="huge integer"),
    pytest.param(b'{"drinksPerCode": ' + b"9" * 5_000 + b"}", "not valid JSON", id="huge integer inside"),
    pytest.param(b"\xef\xbb\xbf{}", "not valid JSON", id="byte order mark"),
    pytest.param(b" " * (MAX_BODY_BYTES + 1), f"over {MAX_BODY_BYTES} bytes", id="too large"),
]
ALL_BODY_DECODERS = [
    decode.create_shop,
    lambda raw: decode.set_store_open("main", raw),
    lambda raw: decode.set_menu("main", raw),
    lambda raw: decode.update_settings("main", raw),
    lambda raw: decode.place_order("main", raw),
    lambda raw: decode.choose_drink("order-1", raw),
]


@pytest.mark.parametrize("decoder", ALL_BODY_DECODERS)
@pytest.mark.parametrize("raw", NOT_OBJECTS)
def test_a_body_that_is_not_an_object_is_a_validation_error(decoder, raw):
    with pytest.raises(ValidationError, match="the request body must be a JSON object"):
        decoder(raw)


@pytest.mark.parametrize("decoder", ALL_BODY_DECODERS)
@pytest.mark.parametrize(("raw", "says"), NOT_JSON)
def test_a_body_that_is_not_json_is_a_validation_error(decoder, raw, says):
    with pytest.raises(ValidationError, match=says):
        decoder(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_decode_to_a_command_or_one_domain_error(raw):
    for decoder in ALL_BODY_DECODERS:
        with contextlib.suppress(DomainError):
            decoder(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
likely_keys = st.sampled_from(["shopId", "name", "open", "drinks", "available", "modifiers", "options", "code",
                               "drink", "drinksPerCode", "Milk"])
shaped_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(likely_keys, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(json_values | shaped_values)
def test_any_json_decodes_to_a_command_or_one_domain_error(value):
    for decoder in ALL_BODY_DECODERS:
        with contextlib.suppress(DomainError):
            decoder(body(value))


# ----- shops ------------------------------------------------------------------------------------------


def test_create_shop_trims_the_name():
    assert decode.create_shop(body({"shopId": "main", "name": "  Main Bar "})) == CreateShop("main", "Main Bar")


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"name": "x"}, "shopId is required"),
        ({"shopId": 7, "name": "x"}, "shopId must be a string"),
        ({"shopId": "Bad Id!", "name": "x"}, "shopId must be 1-40 lowercase"),
        ({"shopId": "ok"}, "name is required"),
        ({"shopId": "ok", "name": None}, "name must be a string"),
        ({"shopId": "ok", "name": "   "}, "name must be 1 to 100 characters"),
        ({"shopId": "ok", "name": "n" * 101}, "name must be 1 to 100 characters"),
    ],
)
def test_create_shop_refusals_name_the_field(value, says):
    with pytest.raises(ValidationError, match=says):
        decode.create_shop(body(value))


@pytest.mark.parametrize("is_open", [True, False])
def test_set_store_open(is_open):
    assert decode.set_store_open("main", body({"open": is_open})) == SetStoreOpen("main", is_open)


@pytest.mark.parametrize("value", [{}, {"open": "true"}, {"open": 1}, {"open": None}, {"closed": True}])
def test_the_store_state_must_be_a_boolean(value):
    with pytest.raises(ValidationError, match="open"):
        decode.set_store_open("main", body(value))


def test_set_menu_builds_drinks_trims_names_and_defaults_availability():
    value = {
        "drinks": [
            {"name": " Mocha ", "available": False, "modifiers": [{"name": " Milk", "options": [" Oat", "Soy "]}]},
            {"name": "Espresso"},
        ]
    }
    assert decode.set_menu("main", body(value)) == SetMenu(
        "main", (Drink("Mocha", False, (Modifier("Milk", ("Oat", "Soy")),)), Drink("Espresso", True, ()))
    )


def test_set_menu_round_trips_the_default_menu():
    assert decode.set_menu("main", body({"drinks": [d.to_dict() for d in DEFAULT_MENU]})).drinks == DEFAULT_MENU


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({}, r"^drinks is required"),
        ({"drinks": "Espresso"}, r"^drinks must be a list"),
        ({"drinks": []}, r"^drinks must list 1 to 50"),
        ({"drinks": ["Espresso"]}, r"^drinks\[0\] must be a JSON object"),
        ({"drinks": [{}]}, r"^drinks\[0\]\.name is required"),
        ({"drinks": [{"name": 5}]}, r"^drinks\[0\]\.name must be a string"),
        ({"drinks": [{"name": "Tea", "available": "yes"}]}, r"^drinks\[0\]\.available must be true or false"),
        ({"drinks": [{"name": "Tea", "available": None}]}, r"^drinks\[0\]\.available must be true or false"),
        ({"drinks": [{"name": "Tea", "modifiers": {"name": "Milk"}}]}, r"^drinks\[0\]\.modifiers must be a list"),
        ({"drinks": [{"name": "Tea", "modifiers": [{"options": ["Oat"]}]}]}, r"^drinks\[0\]\.modifiers\[0\]\.name"),
        (
            {"drinks": [{"name": "a"}, {"name": "b"},
                        {"name": "c", "modifiers": [{"name": "M", "options": ["x", 3]}]}]},
            r"^drinks\[2\]\.modifiers\[0\]\.options\[1\] must be a string",
        ),
        ({"drinks": [{"name": "Tea"}, {"name": "Tea "}]}, r"^drinks\[1\]\.name repeats drinks\[0\]\.name"),
        (
            {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": ["Oat", " Oat"]}]}]},
            r"^drinks\[0\]\.modifiers\[0\]\.options\[1\] repeats",
        ),
    ],
)
def test_menu_refusals_name_the_field(value, path):
    with pytest.raises(ValidationError, match=path):
        decode.set_menu("main", body(value))


def test_update_settings_takes_integers():
    assert decode.update_settings("main", body({"drinksPerCode": 5})) == UpdateSettings("main", {"drinksPerCode": 5})


@pytest.mark.parametrize("value", [True, 5.0, "5", None, [5], {"n": 5}])
def test_a_setting_must_be_an_integer(value):
    with pytest.raises(ValidationError, match="drinksPerCode must be an integer"):
        decode.update_settings("main", body({"drinksPerCode": value}))


def test_a_long_unknown_key_is_not_echoed():
    with pytest.raises(ValidationError) as refused:
        decode.update_settings("main", body({"k" * 100_000: "x"}))
    assert len(refused.value.message) < 200


# ----- orders -----------------------------------------------------------------------------------------


def test_place_order_trims_the_code():
    assert decode.place_order("main", body({"code": " abc "})) == PlaceOrder("main", "abc")


@pytest.mark.parametrize("value", [{}, {"code": None}, {"code": 123}, {"code": ""}, {"code": "   "}, {"qr": "x"}])
def test_an_order_needs_a_code(value):
    with pytest.raises(ValidationError, match="code"):
        decode.place_order("main", body(value))


def test_a_code_too_long_to_be_one_is_an_invalid_code():
    with pytest.raises(InvalidCode):
        decode.place_order("main", body({"code": "c" * 65}))


@pytest.mark.parametrize(
    ("value", "command"),
    [
        ({"drink": " Latte "}, ChooseDrink("order-1", "Latte", {})),
        ({"drink": "Latte", "modifiers": None}, ChooseDrink("order-1", "Latte", {})),
        ({"drink": "Latte", "modifiers": {"Milk": "Oat"}}, ChooseDrink("order-1", "Latte", {"Milk": "Oat"})),
    ],
)
def test_choose_drink(value, command):
    assert decode.choose_drink("order-1", body(value)) == command


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({}, "drink is required"),
        ({"drink": 3}, "drink must be a string"),
        ({"drink": " "}, "drink must be 1 to 60"),
        ({"drink": "d" * 61}, "drink must be 1 to 60"),
        ({"drink": "Latte", "modifiers": ["Oat"]}, "modifiers must be a JSON object"),
        ({"drink": "Latte", "modifiers": {"Milk": 1}}, r"modifiers\.Milk must be a string"),
        ({"drink": "Latte", "modifiers": {"Lait écrémé": 1}}, r'modifiers\["Lait \\u00e9cr\\u00e9m\\u00e9"\]'),
        ({"drink": "Latte", "modifiers": {f"g{i}": "x" for i in range(11)}}, "at most 10 groups"),
        ({"drink": "Latte", "modifiers": {"Milk": "o" * 41}}, "an option 40"),
    ],
)
def test_a_malformed_choice_names_the_field(value, says):
    with pytest.raises(ValidationError, match=says):
        decode.choose_drink("order-1", body(value))


# ----- path ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "Main", "a" * 41, "main/x", "ma in", "ca\u0301fe", "\x00"])
def test_a_shop_id_that_cannot_name_a_shop_is_not_found(raw):
    with pytest.raises(NotFound):
        decode.shop_id(raw)
    with pytest.raises(NotFound):
        decode.set_menu(raw, body({"drinks": [{"name": "Tea"}]}))


@pytest.mark.parametrize("raw", ["", "o" * 65, "a b", "x/y", "é", "id\n"])
def test_an_order_id_that_cannot_name_an_order_is_not_found(raw):
    with pytest.raises(NotFound):
        decode.order_id(raw)


def test_the_path_is_checked_before_the_body():
    with pytest.raises(NotFound):
        decode.place_order("Not A Shop", b"{not json")


# ----- the workflow's events (as statemachine.json writes them) ---------------------------------------

ENVELOPE = {"schemaVersion": 1, "idempotencyKey": "o-1:WorkflowStarted", "at": "2026-12-02T10:00:00Z", "message": "m"}
REF = {"orderId": "o-1", "shopId": "main", "userId": "u-1"}


def test_the_workflow_events_decode():
    assert decode.workflow_started({**ENVELOPE, **REF, "taskToken": "t", "timeoutSeconds": 300}) == (
        ev.WorkflowStarted("o-1", "t")
    )
    numbered = {**ENVELOPE, **REF, "number": 7, "taskToken": "t", "timeoutSeconds": 900}
    assert decode.workflow_waiting_completion(numbered) == ev.WorkflowWaitingCompletion("o-1", 7, "t")
    late = {**REF, "reason": "late", "stage": "customer"}
    assert decode.workflow_timed_out(late) == ev.WorkflowTimedOut("o-1", "late")
    assert decode.workflow_timed_out({**REF, "reason": None}) == ev.WorkflowTimedOut("o-1", None)
    assert decode.workflow_shop_unavailable({**REF}) == ev.WorkflowShopUnavailable("o-1", None)


@pytest.mark.parametrize(
    ("decoder", "detail", "says"),
    [
        (decode.workflow_started, None, "the detail of OrderProcessor.WorkflowStarted must be a JSON object"),
        (decode.workflow_started, {**REF}, "taskToken is required"),
        (decode.workflow_started, {**REF, "taskToken": ""}, "taskToken must be a non-empty string"),
        (decode.workflow_started, {"taskToken": "t"}, "orderId is required"),
        (decode.workflow_waiting_completion, {**REF, "taskToken": "t", "number": "7"}, "number must be an integer"),
        (decode.workflow_waiting_completion, {**REF, "taskToken": "t", "number": True}, "number must be an integer"),
        (decode.workflow_waiting_completion, {**REF, "taskToken": "t", "number": 0}, "number must be an integer of"),
        (decode.workflow_timed_out, {**REF, "reason": 5}, "reason must be a string"),
        (decode.workflow_shop_unavailable, [], "must be a JSON object"),
    ],
)
def test_a_malformed_workflow_event_is_refused_naming_the_field(decoder, detail, says):
    with pytest.raises(ValidationError, match=says):
        decoder(detail)


# ----- any event, as the read side and live updates receive it ----------------------------------------


def test_an_order_event_passes_through_untouched():
    detail = {**ENVELOPE, **REF, "state": "QUEUED", "number": 7, "drink": "Latte", "modifiers": {"Milk": "Oat"},
              "somethingNew": {"any": ["shape"]}}
    received = decode.received(ev.MANAGER_WAITING_COMPLETION, detail)
    assert received == ev.ReceivedEvent(ev.MANAGER_WAITING_COMPLETION, detail)


def test_a_config_change_with_a_menu_from_before_the_bounds_is_received():
    menu = [{"name": f"drink {i}", "available": True, "modifiers": [{"name": "g", "options": ["o" * 500]}]}
            for i in range(100)]
    shop = {"shopId": "main", "name": "Main", "open": True, "menu": menu, "settings": {"drinksPerCode": 10}}
    detail = {**ENVELOPE, "shopId": "main", "change": "menu", "version": 3, "shop": shop}
    assert decode.received(ev.CONFIG_CHANGED, detail).detail == detail


def test_an_unknown_detail_type_is_received_for_consumers_to_ignore():
    assert decode.received("Someone.Else", {**ENVELOPE}).detail_type == "Someone.Else"


@pytest.mark.parametrize(
    ("detail_type", "detail", "says"),
    [
        (ev.MAKE_ORDER, "text", "must be a JSON object"),
        (ev.MAKE_ORDER, {**REF, "at": "t"}, "idempotencyKey is required"),
        (ev.MAKE_ORDER, {**ENVELOPE, **REF, "number": "7"}, "number must be an integer"),
        (ev.MAKE_ORDER, {**ENVELOPE, **REF, "orderId": ""}, "orderId must be a non-empty string"),
        (ev.MAKE_ORDER, {**ENVELOPE, **REF, "modifiers": {"Milk": 1}}, r"modifiers\.Milk must be a string"),
        (ev.CONFIG_CHANGED, {**ENVELOPE, "shopId": "main", "version": 2}, "shop is required"),
        (
            ev.CONFIG_CHANGED,
            {**ENVELOPE, "shopId": "main", "version": 2,
             "shop": {"shopId": "main", "name": "M", "open": True, "menu": [{"name": 1}], "settings": {}}},
            r"shop\.menu\[0\]\.name must be a string",
        ),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(detail_type, detail, says):
    with pytest.raises(ValidationError, match=says):
        decode.received(detail_type, detail)
