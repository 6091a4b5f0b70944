"""DynamoDB adapters (PynamoDB, single table): shops, code windows, orders and the read model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.codes import CodeWindow
from chalicelib.domain.errors import (
    AlreadyExists,
    CodeAlreadyUsed,
    CodeExhausted,
    ConcurrentUpdate,
    DailyLimitReached,
    InvalidCode,
)
from chalicelib.domain.journey import JourneyEntry, OrderView
from chalicelib.domain.order import Order, OrderState
from chalicelib.domain.shop import Shop, menu_from_dicts
from chalicelib.paging import decode_cursor, encode_cursor
from chalicelib.ports import Redemption
from chalicelib.readside.board import BoardList, board_list, ready_time

# ----- keys: every PK/SK shape of the single table lives here ------------------------------------


def shop_pk(shop_id: str) -> str:
    return f"SHOP#{shop_id}"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


SHOP_SK = "SHOP"
COUNTERS_SK = "COUNTERS"  # activeOrders and lastNumber, written by the workflow's DynamoDB tasks
ORDER_SK = "ORDER"
VIEW_SK = "VIEW"


def code_sk(window_id: int) -> str:
    return f"CODE#{window_id:012d}"


def day_sk(shop_id: str, day: str) -> str:
    return f"DAY#{shop_id}#{day}"


def journey_sk(entry: JourneyEntry) -> str:
    # Keyed by idempotency key, so a redelivered event lands on its first copy.
    return f"EVENT#{entry.idempotency_key}"


def shop_listing_pk(shop_id: str) -> str:
    return f"{shop_pk(shop_id)}#ORDERS"


def listing_sk(created_at: str, order_id: str) -> str:
    return f"{created_at}#{order_id}"


def board_pk(shop_id: str, which: BoardList) -> str:
    return f"{shop_pk(shop_id)}#BOARD#{which.value}"


def board_keys(view: OrderView) -> tuple[str | None, str | None]:
    """The view's keys in the board index: placement order while active, ready time once ready; none off it."""
    which = board_list(view)
    if which is None:
        return None, None
    sort_time = view.created_at if which is BoardList.ACTIVE else ready_time(view)
    return board_pk(view.shop_id, which), listing_sk(sort_time, view.order_id)


# ----- models -------------------------------------------------------------------------------------


class ShopOrdersIndex(GlobalSecondaryIndex["OrderViewItem"]):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class UserOrdersIndex(GlobalSecondaryIndex["OrderViewItem"]):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True, attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(range_key=True, attr_name="GSI2SK")


class BoardIndex(GlobalSecondaryIndex["OrderViewItem"]):
    """Sparse: only views on the public board have its keys, so the board reads them and nothing else."""

    class Meta:
        index_name = "GSI3"
        projection = AllProjection()

    gsi3pk = UnicodeAttribute(hash_key=True, attr_name="GSI3PK")
    gsi3sk = UnicodeAttribute(range_key=True, attr_name="GSI3SK")


class BaseItem(Model):
    class Meta:
        table_name = "serverlesspresso"
        region = "us-east-1"
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK")
    kind = DiscriminatorAttribute(attr_name="kind")


class ShopItem(BaseItem, discriminator="Shop"):
    name = UnicodeAttribute()
    is_open = BooleanAttribute(attr_name="open")
    menu = JSONAttribute()
    # Flat numeric attributes, because the workflow reads them with a DynamoDB GetItem task.
    drinks_per_code = NumberAttribute(attr_name="drinksPerCode")
    code_interval_seconds = NumberAttribute(attr_name="codeIntervalSeconds")
    max_orders_in_queue = NumberAttribute(attr_name="maxOrdersInQueue")
    max_orders_per_customer_per_day = NumberAttribute(attr_name="maxOrdersPerCustomerPerDay")
    customer_timeout_seconds = NumberAttribute(attr_name="customerTimeoutSeconds")
    barista_timeout_seconds = NumberAttribute(attr_name="baristaTimeoutSeconds")
    version = VersionAttribute()


class ShopViewItem(BaseItem, discriminator="ShopView"):
    shop = JSONAttribute()
    shop_version = NumberAttribute(attr_name="shopVersion")


class CodeWindowItem(BaseItem, discriminator="CodeWindow"):
    code = UnicodeAttribute()
    remaining = NumberAttribute()
    interval_seconds = NumberAttribute(attr_name="intervalSeconds")
    redeemed_by = UnicodeSetAttribute(attr_name="redeemedBy", null=True)
    expires_at = NumberAttribute(attr_name="expiresAt")  # TTL attribute on AWS


class DailyCountItem(BaseItem, discriminator="DailyCount"):
    # Not `count`: that name is Model.count(), and shadowing it breaks PynamoDB.
    placed = NumberAttribute(attr_name="placed", null=True)


class OrderItem(BaseItem, discriminator="Order"):
    shop_id = UnicodeAttribute(attr_name="shopId")
    user_id = UnicodeAttribute(attr_name="userId")
    created_at = UnicodeAttribute(attr_name="createdAt")
    state = UnicodeAttribute()
    drink = UnicodeAttribute(null=True)
    modifiers = JSONAttribute(null=True)
    number = NumberAttribute(null=True)
    claimed_by = UnicodeAttribute(attr_name="claimedBy", null=True)
    reason = UnicodeAttribute(null=True)
    counts_toward_daily_limit = BooleanAttribute(attr_name="countsTowardDailyLimit")
    customer_token = UnicodeAttribute(attr_name="customerToken", null=True)
    barista_token = UnicodeAttribute(attr_name="baristaToken", null=True)
    outbox = ListAttribute(of=UnicodeAttribute, null=True)  # type: ignore[var-annotated]
    version = VersionAttribute()


class OrderViewItem(BaseItem, discriminator="OrderView"):
    view = JSONAttribute()
    event_count = NumberAttribute(attr_name="eventCount")
    gsi1pk = UnicodeAttribute(attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK")
    gsi2pk = UnicodeAttribute(attr_name="GSI2PK")
    gsi2sk = UnicodeAttribute(attr_name="GSI2SK")
    state = UnicodeAttribute()
    gsi3pk = UnicodeAttribute(attr_name="GSI3PK", null=True)
    gsi3sk = UnicodeAttribute(attr_name="GSI3SK", null=True)
    shop_orders = ShopOrdersIndex()
    user_orders = UserOrdersIndex()
    board = BoardIndex()


class JourneyItem(BaseItem, discriminator="JourneyEntry"):
    entry = JSONAttribute()


ALL_MODELS: tuple[type[BaseItem], ...] = (
    ShopItem,
    ShopViewItem,
    CodeWindowItem,
    DailyCountItem,
    OrderItem,
    OrderViewItem,
    JourneyItem,
)


def bind_table(table_name: str, region: str, host: str | None = None) -> None:
    """Point every model at the configured table (PynamoDB reads Meta lazily per connection)."""
    models: tuple[type[Model], ...] = (BaseItem, *ALL_MODELS)
    for model in models:
        model.Meta.table_name = table_name
        model.Meta.region = region
        model.Meta.host = host  # type: ignore[attr-defined]
        model._connection = None


def create_table() -> None:
    if not OrderViewItem.exists():
        OrderViewItem.create_table(wait=True, billing_mode=PAY_PER_REQUEST_BILLING_MODE)


def _conditional_failed(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


# ----- shops ----------------------------------------------------------------------------------------

_SETTING_ATTRS = {
    "drinksPerCode": "drinks_per_code",
    "codeIntervalSeconds": "code_interval_seconds",
    "maxOrdersInQueue": "max_orders_in_queue",
    "maxOrdersPerCustomerPerDay": "max_orders_per_customer_per_day",
    "customerTimeoutSeconds": "customer_timeout_seconds",
    "baristaTimeoutSeconds": "barista_timeout_seconds",
}


def _shop_to_item(shop: Shop) -> ShopItem:
    item = ShopItem(
        shop_pk(shop.shop_id),
        SHOP_SK,
        name=shop.name,
        is_open=shop.open,
        menu=[d.to_dict() for d in shop.menu],
    )
    if shop.version:
        item.version = shop.version
    for key, attr in _SETTING_ATTRS.items():
        setattr(item, attr, shop.setting(key))
    return item


def _shop_from_item(item: ShopItem) -> Shop:
    return Shop(
        shop_id=item.pk.removeprefix("SHOP#"),
        name=item.name,
        open=bool(item.is_open),
        menu=menu_from_dicts(item.menu),
        settings={key: int(getattr(item, attr)) for key, attr in _SETTING_ATTRS.items()},
        version=int(item.version or 0),
    )


class DynamoDBShops:
    def get(self, shop_id: str) -> Shop | None:
        try:
            return _shop_from_item(ShopItem.get(shop_pk(shop_id), SHOP_SK, consistent_read=True))
        except ShopItem.DoesNotExist:
            return None

    def create(self, shop: Shop) -> Shop:
        item = _shop_to_item(replace(shop, version=0))
        try:
            item.save(condition=ShopItem.pk.does_not_exist())
        except PutError as error:
            if _conditional_failed(error):
                raise AlreadyExists(f"shop '{shop.shop_id}' already exists") from None
            raise
        return _shop_from_item(item)

    def save(self, shop: Shop) -> Shop:
        item = _shop_to_item(shop)
        try:
            # pk.exists(): at version 0 the version check alone would let save() create the shop.
            item.save(condition=ShopItem.pk.exists())
        except PutError as error:
            if _conditional_failed(error):
                raise ConcurrentUpdate(shop.shop_id) from None
            raise
        return _shop_from_item(item)


# ----- code windows ---------------------------------------------------------------------------------


def _window_from_item(item: CodeWindowItem) -> CodeWindow:
    return CodeWindow(
        shop_id=item.pk.removeprefix("SHOP#"),
        window_id=int(item.sk.removeprefix("CODE#")),
        interval_seconds=int(item.interval_seconds),
        code=item.code,
        remaining=int(item.remaining),
    )


class DynamoDBCodeWindows:
    def get(self, shop_id: str, window_id: int) -> CodeWindow | None:
        try:
            item = CodeWindowItem.get(shop_pk(shop_id), code_sk(window_id), consistent_read=True)
        except CodeWindowItem.DoesNotExist:
            return None
        return _window_from_item(item)

    def get_or_create(self, candidate: CodeWindow) -> CodeWindow:
        item = CodeWindowItem(
            shop_pk(candidate.shop_id),
            code_sk(candidate.window_id),
            code=candidate.code,
            remaining=candidate.remaining,
            interval_seconds=candidate.interval_seconds,
            expires_at=candidate.valid_until + 86_400,
        )
        try:
            # Conditional, so two displays asking at once agree on one code (the original overwrote).
            item.save(condition=CodeWindowItem.pk.does_not_exist())
            return candidate
        except PutError as error:
            if not _conditional_failed(error):
                raise
        stored = self.get(candidate.shop_id, candidate.window_id)
        assert stored is not None
        return stored


# ----- orders (write model) -------------------------------------------------------------------------


def _order_to_item(order: Order) -> OrderItem:
    item = OrderItem(
        order_pk(order.order_id),
        ORDER_SK,
        shop_id=order.shop_id,
        user_id=order.user_id,
        created_at=order.created_at,
        state=order.state.value,
        drink=order.drink,
        modifiers=dict(order.modifiers) if order.modifiers else None,
        number=order.number,
        claimed_by=order.claimed_by,
        reason=order.reason,
        counts_toward_daily_limit=order.counts_toward_daily_limit,
        customer_token=order.customer_token,
        barista_token=order.barista_token,
        outbox=list(order.outbox) or None,
    )
    if order.version:
        item.version = order.version
    return item


def _order_from_item(item: OrderItem) -> Order:
    return Order(
        order_id=item.pk.removeprefix("ORDER#"),
        shop_id=item.shop_id,
        user_id=item.user_id,
        created_at=item.created_at,
        state=OrderState(item.state),
        drink=item.drink,
        modifiers=dict(item.modifiers or {}),
        number=int(item.number) if item.number is not None else None,
        claimed_by=item.claimed_by,
        reason=item.reason,
        counts_toward_daily_limit=bool(item.counts_toward_daily_limit),
        customer_token=item.customer_token,
        barista_token=item.barista_token,
        outbox=tuple(str(text) for text in (item.outbox or ())),
        version=int(item.version or 0),
    )


class DynamoDBOrders:
    def __init__(self, region: str) -> None:
        self._region = region

    def _connection(self) -> Connection:
        # The models' shared connection: a new Connection per call built a new botocore client
        # (~150 ms of service-model loading) on every place() and release.
        return OrderItem._get_connection().connection

    def get(self, order_id: str) -> Order | None:
        try:
            return _order_from_item(OrderItem.get(order_pk(order_id), ORDER_SK, consistent_read=True))
        except OrderItem.DoesNotExist:
            return None

    def place(self, redemption: Redemption) -> Order:
        order, window = redemption.order, redemption.window
        counts = redemption.daily_limit is not None
        item = _order_to_item(replace(order, version=0, counts_toward_daily_limit=counts))
        window_key = CodeWindowItem(shop_pk(window.shop_id), code_sk(window.window_id))
        try:
            with TransactWrite(connection=self._connection()) as transaction:
                transaction.update(
                    window_key,
                    actions=[
                        CodeWindowItem.remaining.add(-1),
                        CodeWindowItem.redeemed_by.add({order.user_id}),
                    ],
                    condition=(CodeWindowItem.code == redemption.code)
                    & (CodeWindowItem.remaining > 0)
                    & ~CodeWindowItem.redeemed_by.contains(order.user_id),
                )
                if redemption.daily_limit is not None:
                    transaction.update(
                        DailyCountItem(user_pk(order.user_id), day_sk(order.shop_id, redemption.day)),
                        actions=[DailyCountItem.placed.add(1)],
                        condition=DailyCountItem.placed.does_not_exist()
                        | (DailyCountItem.placed < redemption.daily_limit),
                    )
                transaction.save(item, condition=OrderItem.pk.does_not_exist())
        except TransactWriteError as error:
            raise self._why_not_placed(error, redemption) from None
        return _order_from_item(item)

    def _why_not_placed(self, error: TransactWriteError, redemption: Redemption) -> Exception:
        # PynamoDB reorders a transaction's items (puts before updates), so the cancellation
        # reasons' positions are not ours to rely on: read back what refused instead.
        reasons = [getattr(r, "code", None) for r in (error.cancellation_reasons or []) if r]
        if "ConditionalCheckFailed" not in reasons:
            return error
        order, window = redemption.order, redemption.window
        try:
            stored = CodeWindowItem.get(shop_pk(window.shop_id), code_sk(window.window_id), consistent_read=True)
        except CodeWindowItem.DoesNotExist:
            return InvalidCode("this code is wrong or has expired")
        if stored.code != redemption.code:
            return InvalidCode("this code is wrong or has expired")
        if order.user_id in (stored.redeemed_by or set()):
            return CodeAlreadyUsed("you have already ordered with this code")
        if int(stored.remaining) < 1:
            return CodeExhausted("every drink of this code has been ordered; wait for the next code")
        if redemption.daily_limit is not None and self.daily_count(
            order.user_id, order.shop_id, redemption.day
        ) >= redemption.daily_limit:
            return DailyLimitReached("you have reached today's limit of drinks at this shop")
        return AlreadyExists(f"order '{order.order_id}' already exists")

    def save(self, order: Order, release_daily_slot_of_day: str | None = None) -> Order:
        item = _order_to_item(order)
        try:
            # pk.exists(): at version 0 the version check alone would let save() create the order.
            if release_daily_slot_of_day is None:
                item.save(condition=OrderItem.pk.exists())
            else:
                with TransactWrite(connection=self._connection()) as transaction:
                    transaction.save(item, condition=OrderItem.pk.exists())
                    transaction.update(
                        DailyCountItem(user_pk(order.user_id), day_sk(order.shop_id, release_daily_slot_of_day)),
                        actions=[DailyCountItem.placed.add(-1)],
                    )
        except PutError as error:
            if _conditional_failed(error):
                raise ConcurrentUpdate(order.order_id) from None
            raise
        except TransactWriteError as error:
            # The order's version check is the transaction's only condition.
            if any(getattr(r, "code", None) == "ConditionalCheckFailed" for r in error.cancellation_reasons or [] if r):
                raise ConcurrentUpdate(order.order_id) from None
            raise
        return replace(order, version=int(item.version or 0))

    def list_unfinished(self) -> list[Order]:
        # Only the local runtime's restart recovery calls this; a scan is fine at a pop-up bar's scale.
        finals = [s.value for s in OrderState if s.is_final]
        return [_order_from_item(i) for i in OrderItem.scan(~OrderItem.state.is_in(*finals))]

    def list_with_outbox(self) -> list[Order]:
        return [_order_from_item(i) for i in OrderItem.scan(OrderItem.outbox.exists())]

    def clear_outbox(self, order_id: str, version: int) -> bool:
        try:
            # Low-level update: the model-level one would bump the version, which is not a change.
            OrderItem._get_connection().update_item(
                order_pk(order_id),
                range_key=ORDER_SK,
                actions=[OrderItem.outbox.remove()],
                condition=OrderItem.version == version,
            )
        except UpdateError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def daily_count(self, user_id: str, shop_id: str, day: str) -> int:
        try:
            item = DailyCountItem.get(user_pk(user_id), day_sk(shop_id, day), consistent_read=True)
        except DailyCountItem.DoesNotExist:
            return 0
        return int(item.placed or 0)


# ----- read model ---------------------------------------------------------------------------------


def _entry_to_json(entry: JourneyEntry) -> dict[str, Any]:
    return {
        "orderId": entry.order_id,
        "type": entry.detail_type,
        "at": entry.at,
        "message": entry.message,
        "idempotencyKey": entry.idempotency_key,
        "detail": entry.detail,
    }


def _entry_from_json(data: dict[str, Any]) -> JourneyEntry:
    return JourneyEntry(
        order_id=data["orderId"],
        detail_type=data["type"],
        at=data["at"],
        message=data["message"],
        idempotency_key=data["idempotencyKey"],
        detail=data.get("detail", {}),
    )


def _state_filter(states: Sequence[OrderState] | None) -> Any:
    return OrderViewItem.state.is_in(*[s.value for s in states]) if states else None


def _view_to_json(view: OrderView) -> dict[str, Any]:
    return {
        "orderId": view.order_id,
        "shopId": view.shop_id,
        "userId": view.user_id,
        "state": view.state.value,
        "number": view.number,
        "drink": view.drink,
        "modifiers": view.modifiers,
        "createdAt": view.created_at,
        "updatedAt": view.updated_at,
        "claimedBy": view.claimed_by,
        "reason": view.reason,
        "queuedAt": view.queued_at,
        "readyAt": view.ready_at,
        "eventCount": view.event_count,
    }


def _view_from_json(data: dict[str, Any]) -> OrderView:
    return OrderView(
        order_id=data["orderId"],
        shop_id=data["shopId"],
        user_id=data["userId"],
        state=OrderState(data["state"]),
        number=data.get("number"),
        drink=data.get("drink"),
        modifiers=dict(data.get("modifiers") or {}),
        created_at=data["createdAt"],
        updated_at=data["updatedAt"],
        claimed_by=data.get("claimedBy"),
        reason=data.get("reason"),
        queued_at=data.get("queuedAt"),
        ready_at=data.get("readyAt"),
        event_count=int(data.get("eventCount", 0)),
    )


class DynamoDBReadModel:
    def add_journey_entry(self, entry: JourneyEntry) -> None:
        item = JourneyItem(order_pk(entry.order_id), journey_sk(entry), entry=_entry_to_json(entry))
        try:
            item.save(condition=JourneyItem.pk.does_not_exist())
        except PutError as error:
            if not _conditional_failed(error):
                raise

    def journey(self, order_id: str) -> list[JourneyEntry]:
        items = JourneyItem.query(
            order_pk(order_id), JourneyItem.sk.startswith("EVENT#"), consistent_read=True
        )
        return sorted((_entry_from_json(i.entry) for i in items), key=lambda e: e.sort_key)

    def put_view_if_newer(self, view: OrderView) -> bool:
        sk = listing_sk(view.created_at, view.order_id)
        item = OrderViewItem(
            order_pk(view.order_id),
            VIEW_SK,
            view=_view_to_json(view),
            event_count=view.event_count,
            gsi1pk=shop_listing_pk(view.shop_id),
            gsi1sk=sk,
            gsi2pk=f"{user_pk(view.user_id)}#ORDERS",
            gsi2sk=sk,
            state=view.state.value,
        )
        # A save writes the whole item, so a view that leaves the board also leaves its index.
        item.gsi3pk, item.gsi3sk = board_keys(view)
        try:
            item.save(
                condition=OrderViewItem.pk.does_not_exist() | (OrderViewItem.event_count < view.event_count)
            )
        except PutError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def get_view(self, order_id: str) -> OrderView | None:
        try:
            return _view_from_json(OrderViewItem.get(order_pk(order_id), VIEW_SK, consistent_read=True).view)
        except OrderViewItem.DoesNotExist:
            return None

    def shop_orders(
        self,
        shop_id: str,
        states: Sequence[OrderState] | None,
        first: int,
        after: str | None,
        newest_first: bool = False,
    ) -> tuple[list[OrderView], str | None]:
        range_condition = None
        if after is not None:
            position = listing_sk(*decode_cursor(after))
            range_condition = OrderViewItem.gsi1sk < position if newest_first else OrderViewItem.gsi1sk > position
        items = OrderViewItem.shop_orders.query(
            shop_listing_pk(shop_id),
            range_condition,
            filter_condition=_state_filter(states),
            scan_index_forward=not newest_first,
        )
        return self._take(items, first)

    def shop_orders_placed_on(
        self, shop_id: str, day: str, states: Sequence[OrderState] | None = None
    ) -> list[OrderView]:
        # The listing's sort key begins with createdAt, so one day is one key range of the index.
        items = OrderViewItem.shop_orders.query(
            shop_listing_pk(shop_id),
            OrderViewItem.gsi1sk.startswith(f"{day}T"),
            filter_condition=_state_filter(states),
            scan_index_forward=True,
        )
        return [_view_from_json(item.view) for item in items]

    def user_orders(self, user_id: str, first: int, after: str | None) -> tuple[list[OrderView], str | None]:
        range_condition = None
        if after is not None:
            range_condition = OrderViewItem.gsi2sk < listing_sk(*decode_cursor(after))
        items = OrderViewItem.user_orders.query(
            f"{user_pk(user_id)}#ORDERS", range_condition, scan_index_forward=False
        )
        return self._take(items, first)

    def board_views(self, shop_id: str, ready_limit: int) -> tuple[list[OrderView], list[OrderView]]:
        active = OrderViewItem.board.query(board_pk(shop_id, BoardList.ACTIVE), scan_index_forward=True)
        ready = (
            OrderViewItem.board.query(board_pk(shop_id, BoardList.READY), scan_index_forward=False, limit=ready_limit)
            if ready_limit > 0
            else []
        )
        return [_view_from_json(i.view) for i in active], [_view_from_json(i.view) for i in ready]

    @staticmethod
    def _take(items: Any, first: int) -> tuple[list[OrderView], str | None]:
        views: list[OrderView] = []
        for item in items:
            if len(views) == first:
                last = views[-1]
                return views, encode_cursor(last.created_at, last.order_id)
            views.append(_view_from_json(item.view))
        return views, None

    def put_shop_if_newer(self, shop: Shop) -> bool:
        item = ShopViewItem(shop_pk(shop.shop_id), VIEW_SK, shop=_shop_json(shop), shop_version=shop.version)
        try:
            item.save(condition=ShopViewItem.pk.does_not_exist() | (ShopViewItem.shop_version < shop.version))
        except PutError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def get_shop(self, shop_id: str) -> Shop | None:
        try:
            item = ShopViewItem.get(shop_pk(shop_id), VIEW_SK, consistent_read=True)
        except ShopViewItem.DoesNotExist:
            return None
        return _shop_view_from_item(item)

    def list_shops(self) -> list[Shop]:
        # A handful of shops per deployment: a filtered scan is the simple answer.
        return sorted((_shop_view_from_item(i) for i in ShopViewItem.scan()), key=lambda shop: shop.shop_id)


def _shop_view_from_item(item: ShopViewItem) -> Shop:
    data = item.shop
    return Shop(
        shop_id=data["shopId"],
        name=data["name"],
        open=data["open"],
        menu=menu_from_dicts(data["menu"]),
        settings=data["settings"],
        version=int(item.shop_version),
    )


def _shop_json(shop: Shop) -> dict[str, Any]:
    return json.loads(json.dumps(shop.to_dict()))
