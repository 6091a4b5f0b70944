"""The committed SDL (graphql/schema.graphql) and the apps' operations must match the Strawberry schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate
from strawberry.printer import print_schema

from chalicelib.readside.schema import schema

ROOT = Path(__file__).resolve().parents[2]
SDL = ROOT / "graphql" / "schema.graphql"
OPERATIONS = sorted((ROOT / "graphql" / "operations").glob("*.graphql"))
REGENERATE = (
    "graphql/schema.graphql is out of date with chalicelib/readside/schema.py. Regenerate it with\n"
    "    python -m strawberry export-schema chalicelib.readside.schema:schema --output graphql/schema.graphql\n"
    "(needs the strawberry-graphql[cli] extra) or, with the plain requirements, `python bin/export-schema`."
)


def test_the_committed_sdl_matches_the_schema():
    committed = SDL.read_text(encoding="utf-8") if SDL.exists() else ""
    assert committed == print_schema(schema) + "\n", REGENERATE


def test_every_app_operation_is_there():
    assert {p.stem for p in OPERATIONS} == {"shop", "order", "myOrders", "orders", "board"}


@pytest.mark.parametrize("path", OPERATIONS, ids=lambda p: p.name)
def test_an_operation_validates_against_the_schema(path: Path):
    document = parse(path.read_text(encoding="utf-8"))

    assert validate(schema._schema, document) == []
    # The committed SDL is what the apps' tooling reads; it must accept the operation too.
    assert validate(build_schema(SDL.read_text(encoding="utf-8")), document) == []


@pytest.mark.parametrize("path", OPERATIONS, ids=lambda p: p.name)
def test_each_file_holds_one_named_query(path: Path):
    definitions = parse(path.read_text(encoding="utf-8")).definitions
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1
    [op] = operations
    assert op.operation.value == "query"
    assert op.name is not None and op.name.value.lower() == path.stem.lower()


def test_the_operations_use_every_root_field():
    used: set[str] = set()
    for path in OPERATIONS:
        for definition in parse(path.read_text(encoding="utf-8")).definitions:
            if isinstance(definition, OperationDefinitionNode):
                used |= {s.name.value for s in definition.selection_set.selections}  # type: ignore[attr-defined]
    assert used == set(schema._schema.query_type.fields)
