"""The committed SDL (graphql/schema.graphql) and the apps' operations must match the Strawberry schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_operations import GRAPHQL_DIR, document, files, fragments, operations, parsed, whole_set
from graphql import build_schema, parse, validate
from strawberry.printer import print_schema

from chalicelib.readside.schema import schema

SDL = GRAPHQL_DIR / "schema.graphql"
REGENERATE = (
    "graphql/schema.graphql is out of date with chalicelib/readside/schema.py. Regenerate it with\n"
    "    python -m strawberry export-schema chalicelib.readside.schema:schema --output graphql/schema.graphql\n"
    "(needs the strawberry-graphql[cli] extra) or, with the plain requirements, `python bin/export-schema`."
)
OPERATION_FILES = [p for p in files() if operations(parsed(p))]


def schemas() -> list[object]:
    # The served schema, and the committed SDL the apps' tooling reads.
    return [schema._schema, build_schema(SDL.read_text(encoding="utf-8"))]


def test_the_committed_sdl_matches_the_schema():
    committed = SDL.read_text(encoding="utf-8") if SDL.exists() else ""
    assert committed == print_schema(schema) + "\n", REGENERATE


def test_every_app_operation_and_fragment_is_there():
    assert {op.name.value for p in files() for op in operations(parsed(p)) if op.name} == {
        "Shop",
        "Board",
        "Order",
        "MyOrders",
        "Orders",
        "ShopStats",
    }
    assert {f.name.value for p in files() for f in fragments(parsed(p))} == {"OrderFields"}


def test_graphql_holds_graphql_files_only():
    stray = [p for p in GRAPHQL_DIR.rglob("*") if p.is_file() and p.suffix != ".graphql"]
    assert stray == []


@pytest.mark.parametrize("path", OPERATION_FILES, ids=lambda p: p.name)
def test_an_operation_validates_against_the_schema(path: Path):
    operation = parse(document(path.stem))

    for target in schemas():
        assert validate(target, operation) == []  # type: ignore[arg-type]


def test_the_whole_set_validates_as_one_document():
    # Codegen reads every file at once: names must be unique and every fragment used.
    whole = parse(whole_set())

    for target in schemas():
        assert validate(target, whole) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("path", files(), ids=lambda p: p.name)
def test_each_file_holds_one_named_query_or_only_fragments(path: Path):
    definitions = parsed(path)
    ops = operations(definitions)
    if not ops:
        assert fragments(definitions), f"{path.name} holds neither an operation nor a fragment"
        assert [f.name.value.lower() for f in fragments(definitions)] == [path.stem.lower()]
        return
    assert len(ops) == 1
    [op] = ops
    assert op.operation.value == "query"
    assert op.name is not None and op.name.value.lower() == path.stem.lower()
    assert fragments(definitions) == [], "shared fragments live in their own file, defined once"


def test_the_operations_use_every_root_field():
    used: set[str] = set()
    for path in OPERATION_FILES:
        for op in operations(parsed(path)):
            used |= {s.name.value for s in op.selection_set.selections}  # type: ignore[attr-defined]
    assert used == set(schema._schema.query_type.fields)
