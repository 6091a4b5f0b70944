"""The GraphQL schema: public shop and board reads, owner/admin order reads with their journeys."""

from __future__ import annotations

from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from chalicelib.domain.journey import OrderView
from chalicelib.domain.order import OrderState as DomainOrderState
from chalicelib.domain.shop import Shop as DomainShop
from chalicelib.services.queries import QueryService

# The domain's enum, exposed as is: one list of states, not two to keep in step.
strawberry.enum(
    DomainOrderState, name="OrderState", description="Where an order is in its lifecycle; the last four are final."
)


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


@strawberry.type
class Order:
    id: strawberry.ID
    shop_id: str
    number: int | None
    state: DomainOrderState
    drink: str | None
    modifiers: JSON
    created_at: str
    updated_at: str
    claimed_by: str | None
    reason: str | None

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
            shop_id=view.shop_id,
            number=view.number,
            state=view.state,
            drink=view.drink,
            modifiers=cast(JSON, dict(view.modifiers)),
            created_at=view.created_at,
            updated_at=view.updated_at,
            claimed_by=view.claimed_by,
            reason=view.reason,
        )


@strawberry.type
class PageInfo:
    end_cursor: str | None
    has_next_page: bool


@strawberry.type
class OrderConnection:
    nodes: list[Order]
    page_info: PageInfo

    @classmethod
    def of(cls, views: list[OrderView], cursor: str | None) -> OrderConnection:
        return cls(
            nodes=[Order.from_view(v) for v in views],
            page_info=PageInfo(end_cursor=cursor, has_next_page=cursor is not None),
        )


@strawberry.type(description="What the big screen shows: order numbers only, no personal data.")
class Board:
    shop_id: str
    waiting: list[int]
    in_production: list[int]
    ready: list[int]


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
        views, cursor = info.context["queries"].my_orders(info.context["actor"], first, after)
        return OrderConnection.of(views, cursor)

    @strawberry.field(description="Admin: a shop's orders, oldest first, optionally only some states.")
    def orders(
        self,
        info: Info[Any, None],
        shop_id: str,
        states: list[DomainOrderState] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> OrderConnection:
        domain_states = list(states) if states else None
        views, cursor = info.context["queries"].orders(info.context["actor"], shop_id, domain_states, first, after)
        return OrderConnection.of(views, cursor)

    @strawberry.field(description="Public: order numbers waiting, in production and ready at a shop.")
    def board(self, info: Info[Any, None], shop_id: str) -> Board:
        board = info.context["queries"].board(shop_id)
        return Board(
            shop_id=board.shop_id, waiting=board.waiting, in_production=board.in_production, ready=board.ready
        )


schema = strawberry.Schema(query=Query)
