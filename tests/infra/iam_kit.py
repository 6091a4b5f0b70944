"""IAM for the infrastructure tests: which actions a set of policy statements allows on which ARN, as IAM decides.

Enough of IAM's evaluation for our policies: Allow and Deny statements with Action and Resource lists, where `*` in an
action or a resource matches any run of characters and `?` one (actions case-insensitively). A NotAction or
NotResource, which our policies never use, is refused rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

Statement = Mapping[str, Any]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: Mapping[str, Any]) -> list[Statement]:
    return [dict(s) for s in as_list(document.get("Statement", []))]


def _pattern(glob: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE)


def _matches(globs: Iterable[Any], value: str, case_sensitive: bool) -> bool:
    return any(isinstance(g, str) and _pattern(g, case_sensitive).fullmatch(value) for g in globs)


def glob_matches(glob: str, value: str) -> bool:
    """Whether an IAM resource pattern covers this ARN."""
    return _pattern(glob, case_sensitive=True).fullmatch(value) is not None


def allows(policy_statements: Iterable[Statement], action: str, resource: str) -> bool:
    allowed = False
    for statement in policy_statements:
        if "NotAction" in statement or "NotResource" in statement:
            raise ValueError(f"NotAction/NotResource is not evaluated here: {statement}")
        if not _matches(as_list(statement.get("Action", [])), action, case_sensitive=False):
            continue
        if not _matches(as_list(statement.get("Resource", [])), resource, case_sensitive=True):
            continue
        if statement.get("Condition"):
            continue  # conditional grants are not counted on: none of the calls we check relies on one
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed
