"""Decoders at the edge: REST bodies and path ids into commands, bus events into typed events.

Shape and types are checked here, with the path of the field at fault; the bounds are the domain's,
checked as each command is built. Either way a refusal is one ValidationError before any service runs.
"""

from __future__ import annotations

from chalicelib.domain import events as ev
from chalicelib.domain.commands import ChooseDrink, CreateShop, PlaceOrder, SetMenu, SetStoreOpen, UpdateSettings
from chalicelib.domain.errors import NotFound, ValidationError
from chalicelib.domain.order import is_order_id
from chalicelib.domain.shop import Drink, Modifier, is_shop_id
from chalicelib.handlers.json_input import Json, parse_body

# ----- path parameters: an id that cannot name anything is as unknown as one that names nothing ------


def shop_id(raw: str) -> str:
    if not is_shop_id(raw):
        raise NotFound("there is no shop with this id")
    return raw


def order_id(raw: str) -> str:
    if not is_order_id(raw):
        raise NotFound("there is no order with this id")
    return raw


# ----- REST bodies ----------------------------------------------------------------------------------


def create_shop(raw: bytes | None) -> CreateShop:
    body = parse_body(raw)
    return CreateShop(shop_id=body.field("shopId").string(), name=body.field("name").string().strip())


def set_store_open(shop: str, raw: bytes | None) -> SetStoreOpen:
    return SetStoreOpen(shop_id(shop), parse_body(raw).field("open").boolean())


def set_menu(shop: str, raw: bytes | None) -> SetMenu:
    checked = shop_id(shop)
    drinks = tuple(_drink(item) for item in parse_body(raw).field("drinks").items())
    return SetMenu(checked, drinks)


def _drink(item: Json) -> Drink:
    # Names are trimmed here, so the domain's uniqueness rules compare what people will see.
    available = item.field("available").boolean() if item.has("available") else True
    groups = item.field("modifiers").items() if item.has("modifiers") else []
    return Drink(item.field("name").string().strip(), available, tuple(_modifier(group) for group in groups))


def _modifier(group: Json) -> Modifier:
    options = tuple(option.string().strip() for option in group.field("options").items())
    return Modifier(group.field("name").string().strip(), options)


def update_settings(shop: str, raw: bytes | None) -> UpdateSettings:
    checked = shop_id(shop)
    return UpdateSettings(checked, {key: value.integer() for key, value in parse_body(raw).members()})


def place_order(shop: str, raw: bytes | None) -> PlaceOrder:
    checked = shop_id(shop)
    return PlaceOrder(checked, parse_body(raw).field("code").string().strip())


def choose_drink(order: str, raw: bytes | None) -> ChooseDrink:
    checked = order_id(order)
    body = parse_body(raw)
    drink = body.field("drink").string().strip()
    # The apps send `"modifiers": null` for a drink without any; both mean "the defaults".
    modifiers = body.field("modifiers") if body.has("modifiers") else None
    chosen = {} if modifiers is None or modifiers.is_null else {k: v.string() for k, v in modifiers.members()}
    return ChooseDrink(checked, drink, chosen)


# ----- bus events -----------------------------------------------------------------------------------
# A malformed event raises: the delivery is retried and then dead-lettered, where it can be read.


def _detail(detail_type: str, detail: object) -> Json:
    body = Json(detail, "", root=f"the detail of {detail_type}")
    body.object()  # or a refusal that names the event
    return body


def new_order(event: object) -> ev.NewOrderPlaced:
    """The event whole, since it is the workflow's input; the fields the workflow reads are checked."""
    envelope = Json(event, "", root=f"the {ev.NEW_ORDER} event")
    d = envelope.field("detail")
    raw_id = d.field("orderId").non_empty_string()
    if not is_order_id(raw_id):  # it names the execution
        raise ValidationError("detail.orderId must be an order id (1-64 letters, digits, '-' or '_')")
    d.field("shopId").non_empty_string()
    d.field("userId").non_empty_string()
    return ev.NewOrderPlaced(raw_id, envelope.object())


def workflow_started(detail: object) -> ev.WorkflowStarted:
    d = _detail(ev.WORKFLOW_STARTED, detail)
    return ev.WorkflowStarted(d.field("orderId").non_empty_string(), d.field("taskToken").non_empty_string())


def workflow_waiting_completion(detail: object) -> ev.WorkflowWaitingCompletion:
    d = _detail(ev.PROCESSOR_WAITING_COMPLETION, detail)
    return ev.WorkflowWaitingCompletion(
        d.field("orderId").non_empty_string(),
        d.field("number").integer(minimum=1),
        d.field("taskToken").non_empty_string(),
    )


def workflow_timed_out(detail: object) -> ev.WorkflowTimedOut:
    d = _detail(ev.ORDER_TIMED_OUT, detail)
    return ev.WorkflowTimedOut(d.field("orderId").non_empty_string(), _optional_string(d, "reason"))


def workflow_shop_unavailable(detail: object) -> ev.WorkflowShopUnavailable:
    d = _detail(ev.SHOP_UNAVAILABLE, detail)
    return ev.WorkflowShopUnavailable(d.field("orderId").non_empty_string(), _optional_string(d, "reason"))


def _optional_string(d: Json, key: str) -> str | None:
    if not d.has(key) or d.field(key).is_null:
        return None
    return d.field(key).string()


# Fields of an order event that the read side and live updates read, and what each must be.
_ORDER_STRINGS = ("shopId", "userId", "state", "drink", "claimedBy", "reason", "createdAt", "outcome")


def received(detail_type: str, detail: object) -> ev.ReceivedEvent:
    """Any event of our source, checked where its consumers read it (see ReceivedEvent)."""
    d = _detail(detail_type, detail)
    d.field("idempotencyKey").non_empty_string()
    d.field("at").string()
    _optional_string(d, "message")
    if detail_type == ev.CONFIG_CHANGED:
        _shop_change(d)
    elif d.has("orderId"):
        d.field("orderId").non_empty_string()
        for key in _ORDER_STRINGS:
            _optional_string(d, key)
        if d.has("number") and not d.field("number").is_null:
            d.field("number").integer(minimum=1)
        if d.has("modifiers") and not d.field("modifiers").is_null:
            for _, option in d.field("modifiers").members():
                option.string()
    return ev.ReceivedEvent(detail_type, d.object())


def _shop_change(d: Json) -> None:
    d.field("shopId").non_empty_string()
    d.field("version").integer(minimum=1)
    shop = d.field("shop")
    shop.field("shopId").non_empty_string()
    shop.field("name").string()
    shop.field("open").boolean()
    for item in shop.field("menu").items():
        # The shape only: a menu set before today's bounds must still reach the screens.
        item.field("name").string()
        if item.has("available"):
            item.field("available").boolean()
        for group in item.field("modifiers").items() if item.has("modifiers") else []:
            group.field("name").string()
            for option in group.field("options").items():
                option.string()
    for _, value in shop.field("settings").members():
        value.integer()

