"""REST commands: shops (admin) and orders (customers and baristas). Each route decodes, calls one service, encodes."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response  # type: ignore[attr-defined]

from chalicelib.bootstrap import services
from chalicelib.handlers import decoders as decode
from chalicelib.handlers.encoders import order_json, placed_json, shop_json
from chalicelib.handlers.http_support import actor, raw_body

bp = Blueprint(__name__)

# Bodies are parsed as JSON whatever the client labels them, so a mislabelled body gets our
# validation_error rather than API Gateway's bare 415.
JSON_LIKE = ["application/json", "text/plain", "application/x-www-form-urlencoded"]

# Every route checks in the same order: the token (401), the path and body (404, 400), then the
# service: who may do it (403) and whether the shop or order allows it now (404, 409, ...).


@bp.route("/shops", methods=["POST"], content_types=JSON_LIKE)
def create_shop() -> Response:
    shop = services().shops.create(actor(bp), decode.create_shop(raw_body(bp)))
    return Response(body=shop_json(shop), status_code=201)


@bp.route("/shops/{shop_id}/store", methods=["PUT"], content_types=JSON_LIKE)
def set_store(shop_id: str) -> dict[str, Any]:
    return shop_json(services().shops.set_store_open(actor(bp), decode.set_store_open(shop_id, raw_body(bp))))


@bp.route("/shops/{shop_id}/menu", methods=["PUT"], content_types=JSON_LIKE)
def set_menu(shop_id: str) -> dict[str, Any]:
    return shop_json(services().shops.set_menu(actor(bp), decode.set_menu(shop_id, raw_body(bp))))


@bp.route("/shops/{shop_id}/settings", methods=["PATCH"], content_types=JSON_LIKE)
def update_settings(shop_id: str) -> dict[str, Any]:
    return shop_json(services().shops.update_settings(actor(bp), decode.update_settings(shop_id, raw_body(bp))))


@bp.route("/shops/{shop_id}/code", methods=["GET"])
def current_code(shop_id: str) -> dict[str, Any]:
    return services().shops.current_code(actor(bp), decode.shop_id(shop_id))


@bp.route("/shops/{shop_id}/orders", methods=["POST"], content_types=JSON_LIKE)
def place_order(shop_id: str) -> Response:
    order = services().orders.place(actor(bp), decode.place_order(shop_id, raw_body(bp)))
    return Response(body=placed_json(order), status_code=201)


@bp.route("/orders/{order_id}", methods=["GET"])
def get_order(order_id: str) -> dict[str, Any]:
    return order_json(services().orders.get_for(actor(bp), decode.order_id(order_id)))


@bp.route("/orders/{order_id}/drink", methods=["PUT"], content_types=JSON_LIKE)
def choose_drink(order_id: str) -> dict[str, Any]:
    return order_json(services().orders.choose_drink(actor(bp), decode.choose_drink(order_id, raw_body(bp))))


# The barista's and the cancel commands take no body; whatever a client sends with them is ignored.


@bp.route("/orders/{order_id}/cancel", methods=["POST"], content_types=JSON_LIKE)
def cancel_order(order_id: str) -> dict[str, Any]:
    return order_json(services().orders.cancel(actor(bp), decode.order_id(order_id)))


@bp.route("/orders/{order_id}/claim", methods=["POST"], content_types=JSON_LIKE)
def claim_order(order_id: str) -> dict[str, Any]:
    return order_json(services().orders.claim(actor(bp), decode.order_id(order_id)))


@bp.route("/orders/{order_id}/unclaim", methods=["POST"], content_types=JSON_LIKE)
def unclaim_order(order_id: str) -> dict[str, Any]:
    return order_json(services().orders.unclaim(actor(bp), decode.order_id(order_id)))


@bp.route("/orders/{order_id}/complete", methods=["POST"], content_types=JSON_LIKE)
def complete_order(order_id: str) -> dict[str, Any]:
    return order_json(services().orders.complete(actor(bp), decode.order_id(order_id)))
