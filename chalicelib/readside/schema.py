"""The GraphQL schema: public shop and board reads, owner/admin order reads with their journeys, admin stats."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, cast

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import ExecutionContext, Info

from chalicelib.domain.journey import OrderView
from chalicelib.domain.order import OrderState as DomainOrderState
from chalicelib.domain.shop import Shop as DomainShop
from chalicelib.domain.stats import ShopStats as DomainShopStats
from chalicelib.readside import errors as graphql_errors
from chalicelib.readside.limits import GraphQLLimits, QueryLimits, TimeBudget
from chalicelib.services.queries import OrderPage, QueryService

# What each state means to a client; every state must have one (a missing key fails at import).
STATE_MEANINGS: Mapping[DomainOrderState, str] = {
    DomainOrderState.WAITING_FOR_DRINK: (
        "The customer is choosing, or has chosen (`drink` and `queuedAt` are set) and the order is being "
        "numbered. No `number` yet, so the board does not show it."
    ),
    DomainOrderState.QUEUED: "Numbered (`number` is set) and waiting for a barista.",
    DomainOrderState.IN_PRODUCTION: "A barista (`claimedBy`) is making it; `number` is set.",
    DomainOrderState.COMPLETED: "Final: ready for pickup since `readyAt`.",
    DomainOrderState.CANCELLED: "Final: cancelled by the customer or a barista (`reason`).",
    DomainOrderState.TIMED_OUT: "Final: the customer did not choose, or the baristas did not finish, in time.",
    DomainOrderState.REJECTED: "Final: the shop could not take it, closed or queue full (`reason`).",
}


def _expose_order_states() -> None:
    # The domain's enum, exposed as is: one list of states, not two to keep in step. Strawberry takes
    # value descriptions only from strawberry.enum_value members, which the pure domain must not use,
    # so they are set on its definition here.
    strawberry.enum(
        DomainOrderState,
        name="OrderState",
        description="Where an order is in its lifecycle. QUEUED and IN_PRODUCTION always come with a number.",
    )
    for value in DomainOrderState.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = STATE_MEANINGS[DomainOrderState(value.value)]


_expose_order_states()


@strawberry.type
class Modifier:
    name: str
    options: list[str]


@strawberry.type
class Drink:
    name: str
    available: bool
    modifiers: list[Modifier]


@strawberry.type
class ShopSettings:
    drinks_per_code: int
    code_interval_seconds: int
    max_orders_in_queue: int
    max_orders_per_customer_per_day: int
    customer_timeout_seconds: int
    barista_timeout_seconds: int


@strawberry.type
class Shop:
    id: strawberry.ID
    name: str
    open: bool
    menu: list[Drink]
    settings: ShopSettings
    version: int = strawberry.field(description="Grows with every change; the newest view wins.")

    @classmethod
    def from_domain(cls, shop: DomainShop) -> Shop:
        return cls(
            id=strawberry.ID(shop.shop_id),
            name=shop.name,
            open=shop.open,
            version=shop.version,
            menu=[
                Drink(
                    name=d.name,
                    available=d.available,
                    modifiers=[Modifier(name=m.name, options=list(m.options)) for m in d.modifiers],
                )
                for d in shop.menu
            ],
            settings=ShopSettings(
                drinks_per_code=shop.setting("drinksPerCode"),
                code_interval_seconds=shop.setting("codeIntervalSeconds"),
                max_orders_in_queue=shop.setting("maxOrdersInQueue"),
                max_orders_per_customer_per_day=shop.setting("maxOrdersPerCustomerPerDay"),
                customer_timeout_seconds=shop.setting("customerTimeoutSeconds"),
                barista_timeout_seconds=shop.setting("baristaTimeoutSeconds"),
            ),
        )


@strawberry.type(description="One stored event of an order, in the order they happened.")
class JourneyEvent:
    type: str
    at: str
    message: str
    detail: JSON


@strawberry.type(description="One customer's drink at one shop, as the read side sees it.")
class Order:
    id: strawberry.ID = strawberry.field(description="The order id the REST API uses.")
    shop_id: strawberry.ID
    number: int | None = strawberry.field(
        description="The pickup number, once the workflow has numbered the order: always set when QUEUED, "
        "IN_PRODUCTION or COMPLETED."
    )
    state: DomainOrderState
    drink: str | None = strawberry.field(description="Set as soon as the customer has chosen.")
    modifiers: JSON
    created_at: str = strawberry.field(description="When the order was placed (ISO 8601, UTC).")
    updated_at: str = strawberry.field(description="When its latest event happened (ISO 8601, UTC).")
    queued_at: str | None = strawberry.field(
        description="When the customer chose the drink (ISO 8601, UTC); null before."
    )
    ready_at: str | None = strawberry.field(
        description="When a barista completed the order (ISO 8601, UTC); null unless COMPLETED."
    )
    claimed_by: strawberry.ID | None = strawberry.field(
        description="The barista (token subject) making or who made the drink."
    )
    reason: str | None = strawberry.field(description="Why it was cancelled, timed out or rejected.")

    @strawberry.field(description="Every event of this order, oldest first.")
    def journey(self, info: Info[Any, None]) -> list[JourneyEvent]:
        queries: QueryService = info.context["queries"]
        return [
            JourneyEvent(type=e.detail_type, at=e.at, message=e.message, detail=cast(JSON, e.detail))
            for e in queries.journey(str(self.id))
        ]

    @classmethod
    def from_view(cls, view: OrderView) -> Order:
        return cls(
            id=strawberry.ID(view.order_id),
            shop_id=strawberry.ID(view.shop_id),
            number=view.number,
            state=view.state,
            drink=view.drink,
            modifiers=cast(JSON, dict(view.modifiers)),
            created_at=view.created_at,
            updated_at=view.updated_at,
            queued_at=view.queued_at,
            ready_at=view.ready_at,
            claimed_by=strawberry.ID(view.claimed_by) if view.claimed_by is not None else None,
            reason=view.reason,
        )


# Strawberry's Relay types, without Relay's Node interface: order ids stay the plain ids of the REST
# API rather than global ids. NodeType is bound to Node for type checkers only.
@strawberry.type(description="A page of orders (Relay connection); `nodes` is `edges.node` without the cursors.")
class OrderConnection(relay.Connection[Order]):  # type: ignore[type-var]
    nodes: list[Order]

    @classmethod
    def of(cls, page: OrderPage) -> OrderConnection:
        orders = [Order.from_view(v) for v in page.views]
        edges = [
            relay.Edge(cursor=cursor, node=order)  # type: ignore[type-var]
            for cursor, order in zip(page.cursors, orders, strict=True)
        ]
        return cls(
            nodes=orders,
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


@strawberry.type(description="What the big screen shows: order numbers only, no personal data.")
class Board:
    shop_id: strawberry.ID
    waiting: list[int]
    in_production: list[int]
    ready: list[int]


@strawberry.type(description="A shop's day so far, from the orders placed that day.")
class ShopStats:
    shop_id: strawberry.ID
    day: str = strawberry.field(
        description="The UTC date (YYYY-MM-DD): today, the day the per-customer daily limit counts."
    )
    drinks_made: int = strawberry.field(description="Orders placed that day and COMPLETED.")
    average_wait_seconds: float | None = strawberry.field(
        description="Mean of readyAt - queuedAt over those orders; null when none was made."
    )

    @classmethod
    def from_domain(cls, stats: DomainShopStats) -> ShopStats:
        return cls(
            shop_id=strawberry.ID(stats.shop_id),
            day=stats.day,
            drinks_made=stats.drinks_made,
            average_wait_seconds=stats.average_wait_seconds,
        )


@strawberry.type
class Query:
    @strawberry.field(description="Public: a shop's name, store state, menu and settings.")
    def shop(self, info: Info[Any, None], id: strawberry.ID) -> Shop | None:  # noqa: A002 - GraphQL arg name
        shop = info.context["queries"].shop(str(id))
        return Shop.from_domain(shop) if shop else None

    @strawberry.field(description="The order's owner or an admin.")
    def order(self, info: Info[Any, None], id: strawberry.ID) -> Order | None:  # noqa: A002 - GraphQL arg name
        view = info.context["queries"].order(info.context["actor"], str(id))
        return Order.from_view(view) if view else None

    @strawberry.field(description="The signed-in customer's orders, newest first.")
    def my_orders(self, info: Info[Any, None], first: int = 20, after: str | None = None) -> OrderConnection:
        return OrderConnection.of(info.context["queries"].my_orders(info.context["actor"], first, after))

    @strawberry.field(
        description="Admin: a shop's orders by when they were placed, oldest first unless newestFirst, "
        "optionally only some states."
    )
    def orders(
        self,
        info: Info[Any, None],
        shop_id: strawberry.ID,
        states: list[DomainOrderState] | None = None,
        first: int = 20,
        after: str | None = None,
        newest_first: bool = False,
    ) -> OrderConnection:
        page = info.context["queries"].orders(
            info.context["actor"], str(shop_id), list(states) if states else None, first, after, newest_first
        )
        return OrderConnection.of(page)

    @strawberry.field(description="Public: order numbers waiting, in production and ready at a shop.")
    def board(self, info: Info[Any, None], shop_id: strawberry.ID) -> Board:
        board = info.context["queries"].board(str(shop_id))
        return Board(
            shop_id=strawberry.ID(board.shop_id),
            waiting=board.waiting,
            in_production=board.in_production,
            ready=board.ready,
        )

    @strawberry.field(description="Admin: today's drinks made and average wait at a shop.")
    def shop_stats(self, info: Info[Any, None], shop_id: strawberry.ID) -> ShopStats:
        return ShopStats.from_domain(info.context["queries"].shop_stats(info.context["actor"], str(shop_id)))


class ReadSideSchema(strawberry.Schema):
    """The schema with our error handling: codes on every error, one log line for the client's errors."""

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # Strawberry's default logs every error at ERROR with a traceback, domain refusals included.
        graphql_errors.process(errors)


def build_schema(limits: GraphQLLimits | None = None, clock: Callable[[], float] = time.monotonic) -> ReadSideSchema:
    limits = limits or GraphQLLimits()
    return ReadSideSchema(
        query=Query,
        extensions=[QueryLimits.factory(limits), TimeBudget.factory(limits.time_budget_seconds, clock)],
    )


schema = build_schema()
