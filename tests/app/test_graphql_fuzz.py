"""Fuzzing POST and GET /graphql in process (Hypothesis): any body, query, variables and token give no 5xx; a
GraphQL answer's every error has a code; a refusal before GraphQL runs is one error in our shape."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from app_testkit import ERROR_CODES, Bar
from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType, GraphQLType
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chalicelib import bootstrap
from chalicelib.readside.schema import schema

GRAPHQL_CODES = ERROR_CODES | {"query_too_complex", "time_budget_exceeded"}
NASTY = [
    b"",
    b"null",
    b"0",
    b"-1e999",
    b'"x"',
    b"[]",
    b"{}",
    b"[" * 60_000 + b"]" * 60_000,
    b'{"query": ' * 20_000,
    b"\xff\xfe\x00",
    b"\xef\xbb\xbf{}",
    b'{"query": "{ __typename }", "variables": NaN}',
    b'{"query": "\\ud800"}',
    b'{"query": "{ __typename }", "variables": {"x": ' + b"[" * 40_000 + b"]" * 40_000 + b"}}",
    json.dumps({"query": "{ " + "board(shopId: \"main\") { ready } " * 400 + "}"}).encode(),
    json.dumps({"query": "{" * 5_000 + "}" * 5_000}).encode(),
    json.dumps({"query": "query($a: [[[[[[Int]]]]]]) { __typename }", "variables": {"a": [[[[[[1]]]]]]}}).encode(),
    json.dumps({"query": "fragment A on Query { ...A } { ...A }"}).encode(),
]
ROOT: GraphQLObjectType = schema._schema.query_type  # type: ignore[assignment]
tokens = st.sampled_from(["admin-token", "alice-token", "bob-token", None, "not-a-token"])
scalars = st.one_of(
    st.sampled_from(["main", "nope", "order-000001", "order-000002", "", "COMPLETED", "QUEUED"]),
    st.integers(-5, 200),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, str) and value.isidentifier() and value.isupper():
        return value  # an enum value
    return json.dumps(value)


@st.composite
def argument_value(draw: st.DrawFn, kind: GraphQLType) -> str:
    """Mostly a value of the argument's type, sometimes anything, sometimes a variable."""
    if draw(st.integers(0, 29)) == 0:
        return "$" + draw(st.sampled_from(["v", "first", "x"]))  # never declared
    named = kind
    while isinstance(named, GraphQLNonNull | GraphQLList):
        named = named.of_type
    if draw(st.integers(0, 7)) == 0:
        return literal(draw(st.one_of(scalars, st.lists(scalars, max_size=3))))
    if isinstance(named, GraphQLEnumType):
        values = st.sampled_from([*named.values, *named.values, "BREWING"])
        return literal(draw(st.lists(values, max_size=3))) if isinstance(kind, GraphQLList) else draw(values)
    if isinstance(named, GraphQLScalarType) and named.name == "Int":
        return str(draw(st.one_of(st.integers(1, 100), st.integers(1, 100), st.integers(-2, 150))))
    if isinstance(named, GraphQLScalarType) and named.name == "Boolean":
        return draw(st.sampled_from(["true", "false"]))
    return literal(draw(st.sampled_from(["main", "nope", "order-000001", "order-000003", "", "x" * 300])))


@st.composite
def selection(draw: st.DrawFn, parent: GraphQLObjectType, depth: int) -> str:
    """Some of the type's fields (now and then one it does not have), with arguments (the required ones mostly
    there), aliases and inline fragments."""
    names = draw(st.lists(st.sampled_from([*parent.fields, "__typename"]), min_size=1, max_size=4, unique=True))
    if draw(st.integers(0, 9)) == 0:
        names.append("nope")
    parts = []
    for index, name in enumerate(names):
        field = parent.fields.get(name)
        alias = f"a{depth}x{index}: " if draw(st.integers(0, 3)) == 0 else ""
        args = ""
        if field is not None and field.args:
            required = [a for a in sorted(field.args) if isinstance(field.args[a].type, GraphQLNonNull)]
            optional = draw(st.lists(st.sampled_from(sorted(field.args)), max_size=len(field.args), unique=True))
            chosen = list(dict.fromkeys(required + optional)) if draw(st.integers(0, 9)) else optional
            if chosen:
                args = "(" + ", ".join(f"{a}: {draw(argument_value(field.args[a].type))}" for a in chosen) + ")"
        inner = ""
        named = field.type if field is not None else None
        while isinstance(named, GraphQLNonNull | GraphQLList):
            named = named.of_type
        if isinstance(named, GraphQLObjectType):
            inner = " { " + (draw(selection(named, depth + 1)) if depth < 6 else "__typename") + " }"
        parts.append(f"{alias}{name}{args}{inner}")
    if draw(st.integers(0, 6)) == 0:
        parts.append("... on " + parent.name + " { __typename }")
    return " ".join(parts)


@st.composite
def queries(draw: st.DrawFn) -> str:
    body = draw(selection(ROOT, 1))
    header = draw(st.sampled_from(["", "", "query Q ", "query Q ", "mutation "]))
    text = f"{header}{{ {body} }}"
    if draw(st.integers(0, 7)) == 0:  # a typo somewhere
        at = draw(st.integers(0, len(text)))
        typo = draw(st.sampled_from(["", "{", "}", "(", ")", ":", "$", "@skip", "...", '"']))
        text = text[:at] + typo + text[at + 1 :]
    return text


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes, str]:
    """(method, body or query string, content type)."""
    shape = draw(st.sampled_from(["query"] * 6 + ["nasty", "json", "bytes", "get"]))
    if shape == "nasty":
        return "POST", draw(st.sampled_from(NASTY)), "application/json"
    if shape == "json":
        return "POST", json.dumps(draw(json_values)).encode(), "application/json"
    if shape == "bytes":
        label = draw(st.sampled_from(["application/json", "text/plain", "application/xml", "multipart/form-data"]))
        return "POST", draw(st.binary(max_size=200)), label
    request: dict[str, Any] = {"query": draw(queries())}
    if draw(st.booleans()):
        request["variables"] = draw(st.dictionaries(st.sampled_from(["v", "first", "x"]), scalars, max_size=3))
    if draw(st.integers(0, 5)) == 0:
        request["operationName"] = draw(st.sampled_from(["Q", "Nope", 3]))
    if shape == "get":
        params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in request.items()}
        return "GET", urlencode(params).encode(), "application/json"
    return "POST", json.dumps(request).encode(), "application/json"


def world() -> Bar:
    """A shop with orders queued and completed, as the read side shows them."""
    from app_testkit import new_bar

    bar = new_bar()
    bar.shop()
    done = bar.queued("alice-token", number=1)
    assert bar.call("POST", f"/orders/{done}/claim", "admin-token").status == 200
    assert bar.call("POST", f"/orders/{done}/complete", "admin-token").status == 200
    bar.queued("bob-token", number=2)
    bar.deliver()
    return bar


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(request=requests(), token=tokens)
def test_no_graphql_request_is_answered_with_a_5xx_and_every_error_has_a_code(
    request: tuple[str, bytes, str], token: str | None
) -> None:
    method, payload, content_type = request
    bar = world()
    try:
        if method == "GET":
            answer = bar.call("GET", "/graphql?" + payload.decode(), token, content_type=content_type)
        else:
            answer = bar.call("POST", "/graphql", token, raw=payload, content_type=content_type)
    finally:
        bootstrap.use_services(None)

    assert answer.status < 500, (answer, payload[:300])
    if answer.status == 200:
        assert isinstance(answer.body, dict) and ("data" in answer.body or "errors" in answer.body), answer
        codes = [e.get("extensions", {}).get("code") for e in answer.body.get("errors") or []]
        assert set(codes) <= GRAPHQL_CODES, (codes, payload[:300])
        event("200 " + ",".join(sorted(set(map(str, codes)))))
    else:
        assert isinstance(answer.body, dict) and answer.code in GRAPHQL_CODES, answer
        event(f"{answer.status} {answer.code}")
