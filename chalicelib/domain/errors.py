"""Domain errors: each carries the machine-readable code and HTTP status the API reports."""

from __future__ import annotations

from chalice.app import ChaliceUnhandledError


class DomainError(ChaliceUnhandledError):
    """Base of every expected failure; `code` is part of the public API contract.

    Chalice answers any exception a REST view raises with its own 500 before middleware sees it,
    except ChaliceUnhandledError; deriving from it lets the HTTP middleware map these errors in one
    place (chalicelib/handlers/http_support.py). It is a plain Exception everywhere else.
    """

    code = "domain_error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, object]:
        # graphql-core copies an original error's `extensions` into the GraphQL error it reports.
        return {"code": self.code}


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class ValidationError(DomainError):
    code = "validation_error"
    status = 400


class InvalidCode(DomainError):
    code = "invalid_code"
    status = 400


class CodeExhausted(DomainError):
    code = "code_exhausted"
    status = 409


class StoreClosed(DomainError):
    code = "store_closed"
    status = 409


class DailyLimitReached(DomainError):
    code = "daily_limit_reached"
    status = 429


class InvalidDrink(DomainError):
    code = "invalid_drink"
    status = 400


class InvalidState(DomainError):
    code = "invalid_state"
    status = 409


class AlreadyClaimed(DomainError):
    code = "already_claimed"
    status = 409


class AlreadyExists(DomainError):
    code = "already_exists"
    status = 409


class ConcurrentUpdate(Exception):
    """Raised by repositories when an optimistic-lock check fails; services retry."""


class CodeAlreadyUsed(DomainError):
    code = "code_already_used"
    status = 409


def quoted(text: str, limit: int = 40) -> str:
    """`text` quoted for a message, cut short: errors never echo a large input back."""
    return repr(text if len(text) <= limit else text[:limit] + "...")
