"""HTTP plumbing shared by the routes: identity from the bearer token, and the middleware that shapes errors."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalice import Blueprint, Response  # type: ignore[attr-defined]
from chalice.app import Request

from chalicelib.adapters.auth import bearer_token
from chalicelib.bootstrap import services
from chalicelib.domain.errors import DomainError, Unauthorized
from chalicelib.domain.order import Actor

logger = logging.getLogger(__name__)

INTERNAL_ERROR = {"error": {"code": "internal_error", "message": "something went wrong on our side"}}
_JSON = {"Content-Type": "application/json"}


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


def error_response(error: DomainError) -> Response:
    return Response(
        body={"error": {"code": error.code, "message": error.message}},
        status_code=error.status,
        headers=dict(_JSON),
    )


def error_responses(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware for every route ('http'): errors leave in one shape, `{"error": {code, message}}`.

    A DomainError reaches this middleware because it is a ChaliceUnhandledError (see domain/errors.py);
    it is the client's doing, so one INFO line is enough. Chalice answers any other exception from a view
    with its own 500 after logging it once, with its traceback; here it only gets our shape. An exception
    from outside the views (routing) arrives here unlogged, and is logged once, with its traceback.
    """
    try:
        response = get_response(request)
    except DomainError as error:
        logger.info("%s %s: %d %s: %s", request.method, request.path, error.status, error.code, error.message)
        return error_response(error)
    except Exception:
        logger.exception("%s %s failed", request.method, request.path)
        return Response(body=INTERNAL_ERROR, status_code=500, headers=dict(_JSON))
    if response.status_code >= 500:
        return Response(body=INTERNAL_ERROR, status_code=response.status_code, headers=dict(_JSON))
    return response
