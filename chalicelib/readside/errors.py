"""GraphQL errors as clients and logs see them: every error gets `extensions.code`; expected ones log one line.

Expected errors are the client's: a domain refusal (not found, forbidden, ...), a query that does not parse or
validate, a limit. They are summed up in one INFO line per request, however many there are. Anything else is
a bug: logged at ERROR with its traceback (once per distinct error in a request) and shown to the client as
`internal_error`, without the exception's text.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from graphql import GraphQLError

from chalicelib.domain.errors import DomainError

logger = logging.getLogger(__name__)

VALIDATION = "validation_error"
INTERNAL = "internal_error"
INTERNAL_MESSAGE = "something went wrong on our side"


def expected_code(error: GraphQLError) -> str | None:
    """The code of an error the client caused, or None for a bug."""
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code
    if original is None or isinstance(original, GraphQLError):
        # Our limits carry their code; the rest is a query that did not parse, validate or coerce its variables.
        code = (error.extensions or {}).get("code")
        return code if isinstance(code, str) else VALIDATION
    return None


def process(errors: Sequence[GraphQLError], log: logging.Logger = logger) -> None:
    """Set each error's code, hide what a bug says, and log: one INFO line for the client's errors, a traceback
    for each distinct bug."""
    expected: Counter[str] = Counter()
    bugs: dict[tuple[type[BaseException], str], int] = {}
    for error in errors:
        code = expected_code(error)
        if code is not None:
            error.extensions = {**(error.extensions or {}), "code": code}
            expected[code] += 1
            continue
        original = error.original_error
        assert original is not None
        key = (type(original), str(original))
        if key not in bugs:
            bugs[key] = 0
            log.error("GraphQL field %s failed", ".".join(map(str, error.path or ())) or "-", exc_info=original)
        bugs[key] += 1
        error.message = INTERNAL_MESSAGE
        error.extensions = {"code": INTERNAL}
    if expected:
        summary = ", ".join(f"{code} x{count}" for code, count in sorted(expected.items()))
        log.info("GraphQL request refused in part or whole: %s", summary)
    repeated = sum(bugs.values()) - len(bugs)
    if repeated:
        log.error("%d more GraphQL error(s) repeated the ones above", repeated)
