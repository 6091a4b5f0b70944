"""Fuzzing every REST route in process (Hypothesis): any body, path id, token and JSON label gives no 5xx, every
refusal is one error in our shape, and a refused request changes nothing."""

from __future__ import annotations

import json
from typing import Any

from app_testkit import ERROR_CODES, ROUTES, SHOP, Bar, new_bar, state_of
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib import bootstrap

# Bodies that broke JSON parsers or our own checks before (deep nesting, encodings, huge numbers, bounds).
NASTY = [
    b"",
    b"null",
    b"0",
    b"-1e999",
    b'"x"',
    b"[]",
    b"{}",
    b"[" * 5_000,
    b"[" * 60_000 + b"]" * 60_000,
    b'{"drinks":' * 30_000,
    b"9" * 5_000,
    b'{"code": ' + b"7" * 5_000 + b"}",
    b"\xff\xfe\x00",
    b"\xef\xbb\xbf{}",
    b'{"open": NaN}',
    b'{"drinksPerCode": 1e400}',
    b'{"drinksPerCode": -0}',
    b'{"code": "\\ud800"}',
    json.dumps({"drinks": [{"name": "d" * 61}]}).encode(),
    json.dumps({"drinks": [{"name": f"d{i}"} for i in range(51)]}).encode(),
    json.dumps({"drinks": [{"name": "Tea", "modifiers": [{"name": "M", "options": ["o" * 40] * 21}]}]}).encode(),
    json.dumps({"shopId": "a" * 41, "name": "x"}).encode(),
    json.dumps({"shopId": "ok", "name": "\U0001f600" * 101}).encode(),
    json.dumps({"drink": "Espresso", "modifiers": {f"g{i}": "x" for i in range(1_000)}}).encode(),
    json.dumps({"k" * 100_000: 1}).encode(),
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=30,
)
likely_keys = st.sampled_from(
    ["shopId", "name", "open", "drinks", "available", "modifiers", "options", "code", "drink", "Milk",
     "drinksPerCode", "codeIntervalSeconds", "maxOrdersInQueue", "customerTimeoutSeconds"]
)
likely_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 100_000) | st.sampled_from(["main", "Espresso", "Oat", "", " "])
    | st.text(max_size=45),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(likely_keys, inner, max_size=5),
    max_leaves=30,
)


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


@st.composite
def near(draw: st.DrawFn, valid: Any) -> Any:
    """The route's valid body, or it with one member replaced, dropped or added, so checks past the first run."""
    if not isinstance(valid, dict):
        return valid
    body = dict(valid)
    key = draw(st.sampled_from(sorted(body)))
    change = draw(st.sampled_from(["keep", "keep", "replace", "drop", "add", "nest"]))
    if change == "replace":
        body[key] = draw(likely_values)
    elif change == "drop":
        del body[key]
    elif change == "add":
        body[draw(likely_keys)] = draw(likely_values)
    elif change == "nest" and isinstance(body[key], list) and body[key]:
        item = dict(body[key][0]) if isinstance(body[key][0], dict) else {}
        item[draw(likely_keys)] = draw(likely_values)
        body[key] = [item, *body[key][1:]]
    return body


def bodies(valid: Any) -> st.SearchStrategy[bytes]:
    return st.one_of(
        near(valid).map(encoded),
        near(valid).map(encoded),
        near(valid).map(encoded),
        st.sampled_from(NASTY),
        json_values.map(encoded),
        likely_values.map(encoded),
        st.binary(max_size=300),
    )


# Path ids: mostly ones that exist, else anything a URL path segment can carry (not `/`, `?`, `#`).
segments = st.text(st.characters(blacklist_characters="/?#", blacklist_categories=["Cs"]), min_size=1, max_size=70)
shops = st.one_of(st.just(SHOP), st.just(SHOP), st.just(SHOP), st.just("nope"), segments)
orders = st.one_of(st.sampled_from(["waiting", "queued", "making"]), st.just("nope"), segments)
# Hypothesis leans to the first choices, so the tokens that get past authentication come first.
tokens = st.sampled_from(["admin-token", "alice-token", "admin-token", "bob-token", "alice-token", None, "not-a-token"])
labels = st.sampled_from(["application/json", "text/plain"])


def world() -> tuple[Bar, dict[str, str]]:
    """A shop with an order in each of the first states, so commands reach past their guards."""
    bar = new_bar()
    bar.shop()
    waiting = bar.place("alice-token")
    queued = bar.queued("bob-token", number=1)
    making = bar.queued("admin-token", number=2)
    assert bar.call("POST", f"/orders/{making}/claim", "admin-token").status == 200
    return bar, {"waiting": waiting, "queued": queued, "making": making}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(route=st.sampled_from(ROUTES), data=st.data())
def test_no_request_is_answered_with_a_5xx_and_a_refused_one_changes_nothing(route, data):
    method, template, valid_body = route
    bar, placed = world()
    try:
        if isinstance(valid_body, dict) and valid_body.get("code") == "{code}":
            valid_body = {"code": data.draw(st.sampled_from([bar.code(), "guessed", " " + bar.code()]))}
        shop, order = data.draw(shops, "shop"), data.draw(orders, "order")
        path = template.format(shop=shop, order=placed.get(order, order))
        raw = data.draw(bodies(valid_body), "body")
        token = data.draw(tokens, "token")
        label = "application/json" if method == "GET" else data.draw(labels, "label")
        before = state_of(bar.adapters)

        answer = bar.call(method, path, token, raw=raw, content_type=label)
    finally:
        bootstrap.use_services(None)

    event(f"{method} {template}: {answer.status} {answer.code or ''}")
    assert answer.status < 500, (answer, method, path, raw[:200])
    if answer.status >= 400:
        assert answer.code in ERROR_CODES, answer
        assert set(answer.body["error"]) == {"code", "message"} and len(answer.body["error"]["message"]) < 500
        assert state_of(bar.adapters) == before, (method, path, raw[:200])
