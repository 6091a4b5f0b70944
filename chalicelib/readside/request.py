"""Decodes a GraphQL HTTP request (a POST's JSON body or a GET's query string) into a typed request, or refuses it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import ValidationError


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any]
    operation_name: str | None


def from_body(raw: bytes | str | None) -> GraphQLRequest:
    """A POST body: one JSON object `{"query", "variables"?, "operationName"?}`; other members are ignored."""
    if raw is None or raw in (b"", ""):
        raise ValidationError("send a JSON object with a 'query'")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError("the request body is not UTF-8") from None
    data = _json(raw, "the request body")
    if not isinstance(data, dict):
        raise ValidationError("the request body must be a JSON object with a 'query' (batches are not supported)")
    return _request(data.get("query"), data.get("variables"), data.get("operationName"))


def from_query_string(params: Mapping[str, str] | None) -> GraphQLRequest:
    """A GET: `?query=...&variables=<JSON object>&operationName=...`."""
    params = params or {}
    variables: Any = params.get("variables")
    if variables:
        variables = _json(variables, "'variables'")
    return _request(params.get("query"), variables or None, params.get("operationName") or None)


def _request(query: Any, variables: Any, operation_name: Any) -> GraphQLRequest:
    if not isinstance(query, str) or not query.strip():
        raise ValidationError("'query' must be a non-empty string")
    if variables is not None and not isinstance(variables, dict):
        raise ValidationError("'variables' must be a JSON object or null")
    if operation_name is not None and not isinstance(operation_name, str):
        raise ValidationError("'operationName' must be a string or null")
    return GraphQLRequest(query, variables or {}, operation_name)


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise ValidationError(f"{what} is nested too deeply") from None
    except ValueError:
        raise ValidationError(f"{what} is not valid JSON") from None
