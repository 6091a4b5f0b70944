"""Read-side queries behind GraphQL: answered from the projection, never from the write model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.domain.errors import Forbidden, NotFound, Unauthorized, ValidationError
from chalicelib.domain.journey import JourneyEntry, OrderView
from chalicelib.domain.order import Actor, OrderState, order_day
from chalicelib.domain.shop import Shop
from chalicelib.domain.stats import ShopStats, day_stats
from chalicelib.paging import encode_cursor
from chalicelib.ports import Clock, ReadModelStore

MAX_PAGE = 100


@dataclass(frozen=True)
class Board:
    shop_id: str
    waiting: list[int]
    in_production: list[int]
    ready: list[int]


@dataclass(frozen=True)
class OrderPage:
    """One page of a listing, in a Relay connection's terms."""

    views: list[OrderView]
    has_next_page: bool
    # Forward paging only: true when the page was asked for after a cursor (an order came before it).
    has_previous_page: bool

    @property
    def cursors(self) -> list[str]:
        """Each view's cursor; `after` one of them continues right after that view."""
        return [encode_cursor(v.created_at, v.order_id) for v in self.views]


def _page(listed: tuple[list[OrderView], str | None], after: str | None) -> OrderPage:
    views, next_cursor = listed
    return OrderPage(views, has_next_page=next_cursor is not None, has_previous_page=after is not None)


def _check_first(first: int) -> int:
    if not 1 <= first <= MAX_PAGE:
        raise ValidationError(f"first must be between 1 and {MAX_PAGE}")
    return first


def _signed_in(actor: Actor | None) -> Actor:
    if actor is None:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <token>'")
    return actor


def _admin(actor: Actor | None, what: str) -> Actor:
    actor = _signed_in(actor)
    if not actor.is_admin:
        raise Forbidden(f"{what} needs the 'admin' group")
    return actor


class QueryService:
    def __init__(self, store: ReadModelStore, clock: Clock, board_ready_limit: int = 10) -> None:
        self._store = store
        self._clock = clock
        self._board_ready_limit = board_ready_limit

    def shop(self, shop_id: str) -> Shop | None:
        return self._store.get_shop(shop_id)

    def shops(self) -> list[Shop]:
        return self._store.list_shops()

    def order(self, actor: Actor | None, order_id: str) -> OrderView | None:
        actor = _signed_in(actor)
        view = self._store.get_view(order_id)
        if view is None:
            return None
        if not (actor.is_admin or view.user_id == actor.sub):
            raise Forbidden("only the customer who placed this order or an admin may read it")
        return view

    def journey(self, order_id: str) -> list[JourneyEntry]:
        return self._store.journey(order_id)

    def my_orders(self, actor: Actor | None, first: int, after: str | None) -> OrderPage:
        actor = _signed_in(actor)
        return _page(self._store.user_orders(actor.sub, _check_first(first), after), after)

    def orders(
        self,
        actor: Actor | None,
        shop_id: str,
        states: Sequence[OrderState] | None,
        first: int,
        after: str | None,
        newest_first: bool = False,
    ) -> OrderPage:
        _admin(actor, "listing a shop's orders")
        listed = self._store.shop_orders(shop_id, states, _check_first(first), after, newest_first=newest_first)
        return _page(listed, after)

    def shop_stats(self, actor: Actor | None, shop_id: str) -> ShopStats:
        _admin(actor, "reading a shop's stats")
        if self._store.get_shop(shop_id) is None:
            raise NotFound(f"there is no shop '{shop_id}'")
        # Today as the daily limit counts it; only today's orders are read, not the shop's history.
        day = order_day(self._clock.now())
        return day_stats(shop_id, day, self._store.shop_orders_placed_on(shop_id, day, [OrderState.COMPLETED]))

    def board(self, shop_id: str) -> Board:
        if self._store.get_shop(shop_id) is None:
            raise NotFound(f"there is no shop '{shop_id}'")
        # The store keeps the board's views apart from the shop's history, so this reads them only.
        active, ready = self._store.board_views(shop_id, self._board_ready_limit)
        return Board(
            shop_id,
            waiting=[v.number for v in active if v.state is OrderState.QUEUED and v.number is not None],
            in_production=[v.number for v in active if v.state is OrderState.IN_PRODUCTION and v.number is not None],
            ready=[v.number for v in ready if v.number is not None],
        )
