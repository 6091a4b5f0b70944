"""Shop use cases: create, open/close, menu, settings, and the current QR code window."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.domain import events as ev
from chalicelib.domain.codes import CodeWindow, new_code, window_id_at
from chalicelib.domain.commands import CreateShop, SetMenu, SetStoreOpen, UpdateSettings
from chalicelib.domain.errors import ConcurrentUpdate, Forbidden, NotFound
from chalicelib.domain.order import Actor
from chalicelib.domain.shop import Shop
from chalicelib.ports import Clock, CodeWindowRepository, EventPublisher, ShopRepository

_MAX_ATTEMPTS = 10


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("this needs the 'admin' group (baristas and organisers)")


class ShopService:
    def __init__(
        self,
        shops: ShopRepository,
        windows: CodeWindowRepository,
        publisher: EventPublisher,
        clock: Clock,
        order_app_url: str,
    ) -> None:
        self._shops = shops
        self._windows = windows
        self._publisher = publisher
        self._clock = clock
        self._order_app_url = order_app_url

    def get(self, shop_id: str) -> Shop:
        shop = self._shops.get(shop_id)
        if shop is None:
            raise NotFound(f"there is no shop '{shop_id}'")
        return shop

    def create(self, actor: Actor, command: CreateShop) -> Shop:
        require_admin(actor)
        created = self._shops.create(Shop(shop_id=command.shop_id, name=command.name))
        self._announce(created, "created")
        return created

    def ensure(self, shop_id: str, name: str) -> Shop:
        """Create the shop unless it exists (used to seed the local default shop)."""
        existing = self._shops.get(shop_id)
        if existing is not None:
            return existing
        created = self._shops.create(Shop(shop_id=shop_id, name=name))
        self._announce(created, "created")
        return created

    def set_store_open(self, actor: Actor, command: SetStoreOpen) -> Shop:
        require_admin(actor)
        return self._change(command.shop_id, lambda s: s.with_open(command.open), "store")

    def set_menu(self, actor: Actor, command: SetMenu) -> Shop:
        require_admin(actor)
        return self._change(command.shop_id, lambda s: s.with_menu(command.drinks), "menu")

    def update_settings(self, actor: Actor, command: UpdateSettings) -> Shop:
        require_admin(actor)
        return self._change(command.shop_id, lambda s: s.with_settings(command.changes), "settings")

    def current_code(self, actor: Actor, shop_id: str) -> dict[str, Any]:
        require_admin(actor)
        window = self.current_window(shop_id)
        return {
            "code": window.code,
            "validUntil": window.valid_until_iso(),
            "remaining": window.remaining,
            "orderUrl": f"{self._order_app_url}?shop={shop_id}&code={window.code}",
        }

    def current_window(self, shop_id: str) -> CodeWindow:
        shop = self.get(shop_id)
        interval = shop.setting("codeIntervalSeconds")
        window_id = window_id_at(self._clock.now().timestamp(), interval)
        candidate = CodeWindow(shop_id, window_id, interval, new_code(), shop.setting("drinksPerCode"))
        return self._windows.get_or_create(candidate)

    def _change(self, shop_id: str, mutate: Callable[[Shop], Shop], change: str) -> Shop:
        for _ in range(_MAX_ATTEMPTS):
            shop = self.get(shop_id)
            try:
                saved = self._shops.save(mutate(shop))
            except ConcurrentUpdate:
                continue
            self._announce(saved, change)
            return saved
        raise ConcurrentUpdate(shop_id)

    def _announce(self, shop: Shop, change: str) -> None:
        at = self._clock.now().isoformat()
        self._publisher.publish(
            [
                ev.make_event(
                    ev.CONFIG_CHANGED,
                    f"shop:{shop.shop_id}:v{shop.version}",
                    at,
                    f"Shop '{shop.name}' {change} changed" if change != "created" else f"Shop '{shop.name}' created",
                    shopId=shop.shop_id,
                    change=change,
                    version=shop.version,
                    shop=shop.to_dict(),
                )
            ]
        )
