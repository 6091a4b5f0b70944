"""What one GraphQL request may cost: size, depth, aliases, a read cost per field, and a time budget.

`measure` is pure: it walks the parsed document once (each fragment once, however often it is spread), with the
request's variables, and returns the query's shape. `QueryLimits` and `TimeBudget` are the Strawberry extensions
that refuse a request over the limits, with `extensions.code` set, before any resolver reads the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    TokenKind,
    VariableNode,
    get_named_type,
)
from graphql.language import Lexer
from strawberry.extensions import SchemaExtension

TOO_COMPLEX = "query_too_complex"
TIMED_OUT = "time_budget_exceeded"

# Reads of the store each field makes, by "Type.field" (GraphQL names). Every Query field must be here (a test
# checks it); the rest cost nothing: they are answered from what their parent already read.
FIELD_COST: Mapping[str, int] = {
    "Query.shop": 1,
    "Query.board": 2,  # the shop, then its numbered orders and latest ready ones (one index query each)
    "Query.order": 1,
    "Query.myOrders": 1,
    "Query.orders": 1,
    "Query.shopStats": 5,  # the shop, then the day's orders: up to a few hundred views
    "Order.journey": 1,
}
# Fields whose selections are repeated once per item of the page they return, and the argument that sizes it.
PAGE_ARGUMENT: Mapping[str, str] = {"Query.myOrders": "first", "Query.orders": "first"}
MAX_PAGE = 100


@dataclass(frozen=True)
class GraphQLLimits:
    max_chars: int = 20_000  # the apps' largest operation has about 1,100 (lexing a long string costs too)
    max_tokens: int = 1000  # the apps' largest operation has 95
    max_depth: int = 8  # the apps' deepest has 4 (orders > edges > node > id)
    max_aliases: int = 10  # the apps use none
    max_cost: int = 50  # store reads; a page of 100 orders with their journeys would be 101
    time_budget_seconds: float = 5.0


@dataclass(frozen=True)
class QueryShape:
    depth: int = 0
    aliases: int = 0
    cost: int = 0

    def __add__(self, other: QueryShape) -> QueryShape:
        return QueryShape(max(self.depth, other.depth), self.aliases + other.aliases, self.cost + other.cost)


def too_complex(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": TOO_COMPLEX})


def count_tokens(query: str, limit: int) -> int:
    """Tokens of the query (comments excluded), counting no further than `limit` + 1; a lexical error ends
    the count early (the parser reports it)."""
    lexer = Lexer(Source(query))
    count = 0
    try:
        while count <= limit and lexer.advance().kind is not TokenKind.EOF:
            count += 1
    except GraphQLError:
        pass
    return count


def measure(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> QueryShape:
    """Depth, aliases and store reads of the operation that would run (every operation if it cannot tell)."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in operations if operation_name is None or (o.name and o.name.value == operation_name)]
    walker = _Walker(schema, fragments, dict(variables or {}))
    shape = QueryShape()
    for operation in chosen or operations:
        walker.defaults = {
            d.variable.name.value: d.default_value.value
            for d in operation.variable_definitions or ()
            if isinstance(d.default_value, IntValueNode)
        }
        root = schema.get_root_type(operation.operation)
        if root is not None:
            shape = shape + walker.selections(operation.selection_set, root)
    return shape


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: dict[str, Any]
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = variables
        self._memo: dict[str, QueryShape] = {}
        self._walking: set[str] = set()
        self.defaults: dict[str, str] = {}

    def selections(self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType | None) -> QueryShape:
        shape = QueryShape()
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                shape = shape + self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self._object_type(condition.name.value) if condition else parent
                shape = shape + self.selections(selection.selection_set, inner)
            elif isinstance(selection, FragmentSpreadNode):
                shape = shape + self._spread(selection.name.value)
        return shape

    def _spread(self, name: str) -> QueryShape:
        if name in self._memo:
            return self._memo[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._walking:
            return QueryShape()  # validation refuses unknown and cyclic fragments
        self._walking.add(name)
        shape = self.selections(fragment.selection_set, self._object_type(fragment.type_condition.name.value))
        self._walking.discard(name)
        self._memo[name] = shape
        return shape

    def _field(self, node: FieldNode, parent: GraphQLObjectType | None) -> QueryShape:
        name = node.name.value
        definition = parent.fields.get(name) if parent is not None else None
        key = f"{parent.name}.{name}" if parent is not None else name
        child_type = get_named_type(definition.type) if definition is not None else None
        children = self.selections(
            node.selection_set, child_type if isinstance(child_type, GraphQLObjectType) else None
        )
        repeat = self._page_size(node, PAGE_ARGUMENT[key]) if key in PAGE_ARGUMENT else 1
        return QueryShape(
            depth=1 + children.depth,
            aliases=(1 if node.alias else 0) + children.aliases,
            cost=FIELD_COST.get(key, 0) + repeat * children.cost,
        )

    def _page_size(self, node: FieldNode, argument: str) -> int:
        size: Any = 20  # the schema's default page
        for arg in node.arguments or ():
            if arg.name.value != argument:
                continue
            if isinstance(arg.value, IntValueNode):
                size = arg.value.value
            elif isinstance(arg.value, VariableNode):
                variable = arg.value.name.value
                size = self._variables.get(variable, self.defaults.get(variable, size))
        try:
            return max(1, min(int(size), MAX_PAGE))  # the resolver refuses sizes out of range
        except (TypeError, ValueError):
            return MAX_PAGE

    def _object_type(self, name: str) -> GraphQLObjectType | None:
        found = self._schema.get_type(name)
        return found if isinstance(found, GraphQLObjectType) else None


class QueryLimits(SchemaExtension):
    """Refuses, before parsing, a query too long or of too many tokens; before validating, one too deep, with too
    many aliases or too costly. A new instance serves each request (Strawberry shares instances between threads)."""

    def __init__(self, limits: GraphQLLimits) -> None:
        self._limits = limits

    @classmethod
    def factory(cls, limits: GraphQLLimits) -> Callable[[], QueryLimits]:
        return partial(cls, limits)

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query or ""
        if len(query) > self._limits.max_chars:
            raise too_complex(f"the query is longer than {self._limits.max_chars} characters")
        if count_tokens(query, self._limits.max_tokens) > self._limits.max_tokens:
            raise too_complex(f"the query has more than {self._limits.max_tokens} tokens")
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            shape = measure(
                context.schema._schema, context.graphql_document, context.variables, context.operation_name
            )
            limits = self._limits
            if shape.depth > limits.max_depth:
                raise too_complex(f"the query is {shape.depth} fields deep; the limit is {limits.max_depth}")
            if shape.aliases > limits.max_aliases:
                raise too_complex(f"the query has {shape.aliases} aliases; the limit is {limits.max_aliases}")
            if shape.cost > limits.max_cost:
                raise too_complex(f"the query would cost {shape.cost} reads; the limit is {limits.max_cost}")
        yield


class TimeBudget(SchemaExtension):
    """Ends a request that runs past its budget: every field resolved after the deadline is an error."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._deadline = float("inf")

    @classmethod
    def factory(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Callable[[], TimeBudget]:
        return partial(cls, seconds, clock)

    def on_execute(self) -> Iterator[None]:
        self._deadline = self._clock() + self._seconds
        yield

    def resolve(self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if self._clock() > self._deadline:
            raise GraphQLError(
                f"the request ran past its time budget of {self._seconds:g} s", extensions={"code": TIMED_OUT}
            )
        return _next(root, info, *args, **kwargs)
