"""The apps' operation files (graphql/operations): each query with the shared fragments it spreads."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    Node,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

ROOT = Path(__file__).resolve().parents[2]
GRAPHQL_DIR = ROOT / "graphql"
OPERATIONS_DIR = GRAPHQL_DIR / "operations"


def files() -> list[Path]:
    return sorted(OPERATIONS_DIR.glob("*.graphql"))


def parsed(path: Path) -> DocumentNode:
    return parse(path.read_text(encoding="utf-8"))


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def fragments(document: DocumentNode) -> list[FragmentDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]


def all_fragments() -> dict[str, FragmentDefinitionNode]:
    return {f.name.value: f for path in files() for f in fragments(parsed(path))}


def spreads(node: Node) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: object) -> None:
            names.add(spread.name.value)

    visit(node, Collect())
    return names


def whole_set() -> str:
    """Every file together: what the apps' codegen reads."""
    return "\n".join(path.read_text(encoding="utf-8") for path in files())


def document(stem: str) -> str:
    """The operation file `stem`.graphql plus the fragments it spreads, directly or through other fragments."""
    text = (OPERATIONS_DIR / f"{stem}.graphql").read_text(encoding="utf-8")
    known = all_fragments()
    own = {f.name.value for f in fragments(parse(text))}
    needed: set[str] = set()
    pending = spreads(parse(text)) - own
    while pending:
        name = pending.pop()
        needed.add(name)
        pending |= spreads(known[name]) - needed - own
    return "\n".join([text, *(print_ast(known[name]) for name in sorted(needed))])
