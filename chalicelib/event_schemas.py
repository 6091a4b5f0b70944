"""Event contracts: loads schemas/events/*.schema.json and validates an event detail against its detail-type.

One JSON Schema (draft 2020-12) per detail-type, named `<DetailType>.schema.json`; files starting with
`_` (the shared `_envelope.schema.json`) are referenced by the others through a `referencing` Registry
and are not detail-types themselves. The schemas live at the repository root (`schemas/events`), next
to `statemachine.json`, because the workflow's events are part of the same contract.

This module needs `jsonschema`, a development dependency (tests and tooling); the Lambda handlers do
not import it.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "events"
SUFFIX = ".schema.json"


def _read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("$id"), str):
        raise ValueError(f"{path} is not a JSON Schema object with an $id")
    return data


@cache
def _load() -> tuple[dict[str, dict[str, Any]], Registry[Any]]:
    """Every schema file by detail-type, and a registry holding all of them (shared ones included)."""
    by_type: dict[str, dict[str, Any]] = {}
    resources: list[tuple[str, Resource[Any]]] = []
    for path in sorted(SCHEMA_DIR.glob(f"*{SUFFIX}")):
        schema = _read(path)
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012)))
        if not path.name.startswith("_"):
            by_type[path.name[: -len(SUFFIX)]] = schema
    return by_type, Registry().with_resources(resources)


def detail_types() -> frozenset[str]:
    """The detail-types that have a schema."""
    return frozenset(_load()[0])


def schema_for(detail_type: str) -> dict[str, Any]:
    """The schema of one detail-type (a copy); KeyError if it has none."""
    by_type, _ = _load()
    if detail_type not in by_type:
        raise KeyError(f"no event schema for detail-type {detail_type!r} in {SCHEMA_DIR}")
    return copy.deepcopy(by_type[detail_type])


@cache
def _validator(detail_type: str) -> Draft202012Validator:
    by_type, registry = _load()
    if detail_type not in by_type:
        raise KeyError(f"no event schema for detail-type {detail_type!r} in {SCHEMA_DIR}")
    return Draft202012Validator(
        by_type[detail_type], registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def validate_event(detail_type: str, detail: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError (the most relevant error) unless `detail` fits its detail-type's schema.

    An unknown detail-type raises KeyError: every event on the bus must have a schema.
    """
    _validator(detail_type).validate(detail)
