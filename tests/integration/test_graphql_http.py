"""POST /graphql over HTTP on the running stack: bodies that are not a GraphQL request are 400s in the API's error
shape, the limits answer with codes, and unknown routes are 404s that never echo a token."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from tests.support.stack import Api, Stack

BOARD = '{ board(shopId: "default") { waiting inProduction ready } }'


def post(stack: Stack, body: bytes, content_type: str = "application/json", token: str | None = None) -> Any:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(f"{stack.base}/graphql", data=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    "body",
    [
        b"null",
        b"1",
        b"-3.5e300",
        b'"a string"',
        b"true",
        b"[]",
        b'[{"query": "{ __typename }"}]',
        b"{}",
        b'{"query": null}',
        b'{"query": 12}',
        b'{"query": ""}',
        b'{"query": "{ __typename }", "variables": 3}',
        b'{"query": "{ __typename }", "variables": "{}"}',
        b'{"query": "{ __typename }", "operationName": 7}',
        b"\xff\xfe\x00{",
        b'{"query": "\xc3\x28"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}",
        b"{" * 10_000,
        b"",
        b"not json",
    ],
    ids=lambda body: repr(body[:40]),
)
def test_a_body_that_is_not_a_graphql_request_is_a_400_validation_error(stack: Stack, body: bytes) -> None:
    response = post(stack, body)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"]["code"] == "validation_error"


def test_a_query_over_the_size_limit_is_refused(stack: Stack) -> None:
    response = post(stack, json.dumps({"query": "{ __typename }" + " " * 30_000}).encode())
    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["query_too_complex"]


def test_a_body_over_the_servers_limit_is_413(stack: Stack) -> None:
    response = post(stack, b'{"query": "' + b" " * (2 << 20) + b'"}')
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"


def test_get_reads_with_the_query_string(stack: Stack) -> None:
    ok = requests.get(f"{stack.base}/graphql", params={"query": BOARD}, timeout=30)
    assert ok.status_code == 200 and ok.json()["data"]["board"] is not None
    bad = requests.get(f"{stack.base}/graphql", params={"query": BOARD, "variables": "[[["}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


def test_an_operation_that_is_not_there_or_not_a_query_is_refused(stack: Stack) -> None:
    unknown = post(stack, json.dumps({"query": "query A { __typename }", "operationName": "B"}).encode())
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "validation_error"
    mutation = post(stack, json.dumps({"query": "mutation { x }"}).encode())
    assert mutation.status_code == 400 and mutation.json()["error"]["code"] == "validation_error"


def test_a_thousand_board_aliases_are_refused_at_once(stack: Stack) -> None:
    query = "{ " + " ".join(f"a{i}: board(shopId: \"default\") {{ ready }}" for i in range(1000)) + " }"
    started = time.monotonic()
    response = post(stack, json.dumps({"query": query}).encode())
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["query_too_complex"]


def test_every_graphql_error_has_a_code(api: Api) -> None:
    result = api.gql('{ order(id: "nope") { id } board(shopId: "nope") { ready } }')
    assert {e["extensions"]["code"] for e in result["errors"]} == {"unauthorized", "not_found"}


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_an_unknown_route_is_404_and_does_not_echo_the_token(api: Api, method: str) -> None:
    token = api.token("route-prober")
    response = api.session.request(
        method, f"{api.stack.base}/no/such/route", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code == 404
    assert token not in response.text and token.split(".")[1] not in response.text
    assert response.json()["error"]["code"] == "not_found"
