"""Decoding a GraphQL HTTP request: one JSON object with a query, or a refusal as validation_error; nothing else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import ValidationError
from chalicelib.readside.request import GraphQLRequest, from_body, from_query_string


def test_a_request_with_variables_and_an_operation_name() -> None:
    body = json.dumps({"query": "query Q { __typename }", "variables": {"a": 1}, "operationName": "Q"})
    assert from_body(body.encode()) == GraphQLRequest("query Q { __typename }", {"a": 1}, "Q")


def test_null_variables_and_other_members_are_fine() -> None:
    body = json.dumps({"query": "{ a }", "variables": None, "operationName": None, "extensions": {"x": 1}})
    assert from_body(body) == GraphQLRequest("{ a }", {}, None)


@pytest.mark.parametrize(
    "body",
    [None, b"", b"null", b"1", b'"q"', b"[]", b"{}", b'{"query": 1}', b'{"query": "  "}', b"\xff",
     b'{"query": "{ a }", "variables": []}', b'{"query": "{ a }", "operationName": 1}', b"[" * 100_000, b"{"],
)
def test_anything_else_is_a_validation_error(body: bytes | None) -> None:
    with pytest.raises(ValidationError):
        from_body(body)


def test_a_get_reads_the_query_string() -> None:
    assert from_query_string({"query": "{ a }", "variables": '{"x": 2}'}) == GraphQLRequest("{ a }", {"x": 2}, None)
    with pytest.raises(ValidationError):
        from_query_string({"query": "{ a }", "variables": "[1]"})
    with pytest.raises(ValidationError):
        from_query_string(None)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_any_bytes_decode_or_are_refused_as_validation_error(raw: bytes) -> None:
    try:
        decoded = from_body(raw)
    except ValidationError:
        return
    assert isinstance(decoded.query, str) and isinstance(decoded.variables, dict)
