"""HTTP plumbing shared by the REST routes: identity from the bearer token, JSON bodies, error shape."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from chalice import Blueprint, Response  # type: ignore[attr-defined]

from chalicelib.adapters.auth import bearer_token
from chalicelib.bootstrap import services
from chalicelib.domain.errors import DomainError, Unauthorized, ValidationError
from chalicelib.domain.order import Actor

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def _header(bp: Blueprint, name: str) -> str | None:
    headers = bp.current_request.headers
    return headers.get(name) if headers is not None else None


def optional_actor(bp: Blueprint) -> Actor | None:
    token = bearer_token(_header(bp, "authorization"))
    return services().verifier.verify(token) if token else None


def actor(bp: Blueprint) -> Actor:
    found = optional_actor(bp)
    if found is None:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <token>'")
    return found


def raw_body(bp: Blueprint) -> bytes | None:
    body = bp.current_request.raw_body
    return body if isinstance(body, bytes) or body is None else body.encode()


def json_body(bp: Blueprint) -> Any:
    raw = bp.current_request.raw_body
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("the request body is not valid JSON") from None


def error_response(error: DomainError) -> Response:
    return Response(
        body={"error": {"code": error.code, "message": error.message}},
        status_code=error.status,
        headers={"Content-Type": "application/json"},
    )


def api_call(view: F) -> F:
    """Turn domain errors into `{"error": {"code", "message"}}` with their status."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DomainError as error:
            return error_response(error)
        except Exception:
            logger.exception("unhandled error")
            return Response(
                body={"error": {"code": "internal_error", "message": "something went wrong on our side"}},
                status_code=500,
            )

    return wrapper  # type: ignore[return-value]
