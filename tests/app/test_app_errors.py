"""Error mapping in process: every error code of docs/api.md from its route, in one shape, logged as it deserves."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from app_testkit import ERROR_CODES, SHOP, Bar, new_bar, state_of

from chalicelib import bootstrap
from chalicelib.adapters.memory import InMemoryShops
from chalicelib.domain.shop import Shop

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def assert_refused(bar: Bar, method: str, path: str, token: str | None, body: object, status: int, code: str) -> None:
    before = state_of(bar.adapters)
    answer = bar.call(method, path, token, body)
    assert (answer.status, answer.code) == (status, code), answer
    assert set(answer.body["error"]) == {"code", "message"} and answer.body["error"]["message"]
    assert answer.headers.get("Content-Type") == "application/json"
    assert state_of(bar.adapters) == before, "a refused request changed something"


def test_the_codes_tested_here_are_the_codes_the_api_documents():
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", API_DOC.read_text(), re.MULTILINE)
    assert {code for code, _ in rows} == ERROR_CODES | {"internal_error"}


def test_unauthorized(bar: Bar):
    assert_refused(bar, "POST", "/shops", None, {"shopId": "x", "name": "x"}, 401, "unauthorized")
    assert_refused(bar, "POST", "/shops", "not-a-token", {"shopId": "x", "name": "x"}, 401, "unauthorized")
    answer = bar.call("POST", "/shops", authorization="Basic abc", body={"shopId": "x", "name": "x"})
    assert (answer.status, answer.code) == (401, "unauthorized")


def test_forbidden(bar: Bar):
    bar.shop()
    assert_refused(bar, "PUT", f"/shops/{SHOP}/store", "alice-token", {"open": False}, 403, "forbidden")
    order_id = bar.place()
    assert_refused(bar, "GET", f"/orders/{order_id}", "bob-token", None, 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/shops/nope/store"),
        ("GET", "/shops/nope/code"),
        ("POST", "/shops/nope/orders"),
        ("GET", "/shops/Not%20an%20id/code"),
        ("GET", "/orders/nope"),
        ("POST", "/orders/nope/claim"),
        ("GET", "/orders/" + "x" * 65),
    ],
)
def test_not_found(bar: Bar, method: str, path: str):
    body = {"open": True} if path.endswith("store") else {"code": "abc"} if path.endswith("orders") else None
    assert_refused(bar, method, path, "admin-token", body, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "raw", "message"),
    [
        ("POST", "/shops", b"{not json", "not valid JSON"),
        ("POST", "/shops", b"null", "must be a JSON object"),
        ("POST", "/shops", b"[" * 50_000, "nests too deeply"),
        ("POST", "/shops", b"\xc3\x28", "not UTF-8"),
        ("POST", "/shops", b"9" * 10_000, "not valid JSON"),
        ("PATCH", f"/shops/{SHOP}/settings", b'{"drinksPerCode": 0}', "drinksPerCode must be an integer from 1"),
        ("PUT", f"/shops/{SHOP}/menu", b'{"drinks": [{"name": "Tea", "modifiers": [{"name": "M", "options": [1]}]}]}',
         r"drinks[0].modifiers[0].options[0] must be a string"),
        ("PUT", f"/shops/{SHOP}/store", b'{"open": "yes"}', "open must be true or false"),
        ("POST", f"/shops/{SHOP}/orders", b"{}", "code is required"),
    ],
)
def test_validation_error(bar: Bar, method: str, path: str, raw: bytes, message: str):
    bar.shop()
    before = state_of(bar.adapters)
    answer = bar.call(method, path, "admin-token", raw=raw)
    assert (answer.status, answer.code) == (400, "validation_error"), answer
    assert message in answer.body["error"]["message"]
    assert state_of(bar.adapters) == before


def test_invalid_code(bar: Bar):
    bar.shop()
    bar.code()
    assert_refused(bar, "POST", f"/shops/{SHOP}/orders", "alice-token", {"code": "guessed"}, 400, "invalid_code")


def test_code_exhausted_and_already_used(bar: Bar):
    bar.shop(drinksPerCode=1, maxOrdersPerCustomerPerDay=5)
    code = bar.code()
    assert bar.call("POST", f"/shops/{SHOP}/orders", "alice-token", {"code": code}).status == 201
    assert_refused(bar, "POST", f"/shops/{SHOP}/orders", "alice-token", {"code": code}, 409, "code_already_used")
    assert_refused(bar, "POST", f"/shops/{SHOP}/orders", "bob-token", {"code": code}, 409, "code_exhausted")


def test_store_closed(bar: Bar):
    bar.shop()
    code = bar.code()
    bar.call("PUT", f"/shops/{SHOP}/store", "admin-token", {"open": False})
    assert_refused(bar, "POST", f"/shops/{SHOP}/orders", "alice-token", {"code": code}, 409, "store_closed")


def test_daily_limit_reached(bar: Bar):
    bar.shop()
    bar.place()
    bar.clock.advance(300)
    code = bar.code()
    assert_refused(bar, "POST", f"/shops/{SHOP}/orders", "alice-token", {"code": code}, 429, "daily_limit_reached")


def test_invalid_drink_and_invalid_state(bar: Bar):
    bar.shop()
    order_id = bar.place()
    assert_refused(bar, "PUT", f"/orders/{order_id}/drink", "alice-token", {"drink": "Mocha"}, 400, "invalid_drink")
    assert bar.call("PUT", f"/orders/{order_id}/drink", "alice-token", {"drink": "Espresso"}).status == 200
    assert_refused(bar, "PUT", f"/orders/{order_id}/drink", "alice-token", {"drink": "Americano"}, 409, "invalid_state")


def test_already_claimed(bar: Bar):
    bar.shop()
    order_id = bar.queued()
    assert bar.call("POST", f"/orders/{order_id}/claim", "admin-token").status == 200
    assert_refused(bar, "POST", f"/orders/{order_id}/claim", "barista-2-token", None, 409, "already_claimed")


def test_already_exists(bar: Bar):
    bar.shop()
    assert_refused(bar, "POST", "/shops", "admin-token", {"shopId": SHOP, "name": "Again"}, 409, "already_exists")


# ----- the middleware: one shape, and logs that fit the cause ---------------------------------------------


class BrokenShops(InMemoryShops):
    def get(self, shop_id: str) -> Shop | None:
        raise RuntimeError("the table is on fire")


def test_an_unexpected_error_is_a_500_in_our_shape_logged_once_with_its_traceback(caplog: pytest.LogCaptureFixture):
    chalice_log = logging.getLogger("serverlesspresso")  # Chalice's app logger, which does not propagate
    chalice_log.addHandler(caplog.handler)
    try:
        bar = new_bar()
        adapters = bootstrap.InMemoryAdapters(verifier=bar.adapters.verifier, shops=BrokenShops())
        bootstrap.use_services(bootstrap.build_in_memory(adapters))
        with caplog.at_level(logging.INFO):
            answer = bar.call("PUT", f"/shops/{SHOP}/store", "admin-token", {"open": True})
    finally:
        chalice_log.removeHandler(caplog.handler)
        bootstrap.use_services(None)
    assert answer.status == 500
    assert answer.body == {"error": {"code": "internal_error", "message": "something went wrong on our side"}}
    assert "fire" not in str(answer.body)
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "the table is on fire" in caplog.text


def test_a_client_error_is_logged_as_one_info_line_without_a_traceback(bar: Bar, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.DEBUG):
        answer = bar.call("GET", "/orders/nope", "alice-token")
    assert answer.code == "not_found"
    ours = [r for r in caplog.records if r.name.startswith("chalicelib")]
    assert [(r.levelno, r.exc_info) for r in ours] == [(logging.INFO, None)]
    assert "404 not_found" in ours[0].getMessage()


def test_graphql_answers_a_bad_token_through_the_same_middleware(bar: Bar):
    answer = bar.call("POST", "/graphql", "not-a-token", {"query": "{ board(shopId: \"main\") { waiting } }"})
    assert (answer.status, answer.code) == (401, "unauthorized")
