"""Live updates: forwards bus events to MQTT topics, and keeps each shop's board and store state retained."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain import events as ev
from chalicelib.domain.live import LiveMessage, board_snapshot, config_topic, route
from chalicelib.domain.shop import Shop
from chalicelib.ports import Clock, LivePublisher
from chalicelib.services.queries import QueryService


class LiveUpdatesService:
    """Two duties: forward each event as it comes (the `live_updates` consumer), and publish the
    present state (retained) whenever the read side's view of it changes (called by the projection)."""

    def __init__(self, publisher: LivePublisher, queries: QueryService, clock: Clock) -> None:
        self._publisher = publisher
        self._queries = queries
        self._clock = clock

    def forward(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        for message in route(detail_type, detail):
            if message.retain:
                continue  # the store state is published by shop_changed, from the newest view only
            self._publisher.publish(message)

    def republish_present_state(self) -> int:
        """Publish every shop's store state and board again (a broker that restarted lost them)."""
        shops = self._queries.shops()
        for shop in shops:
            self.shop_changed(shop)
        return len(shops)

    def board_changed(self, shop_id: str) -> None:
        board = self._queries.board(shop_id)
        at = self._clock.now().isoformat()
        self._publisher.publish(board_snapshot(shop_id, at, board.waiting, board.in_production, board.ready))

    def shop_changed(self, shop: Shop) -> None:
        payload = {
            "type": ev.CONFIG_CHANGED,
            "at": self._clock.now().isoformat(),
            "detail": {"shopId": shop.shop_id, "version": shop.version, "shop": shop.to_dict()},
        }
        self._publisher.publish(LiveMessage(config_topic(shop.shop_id), payload, retain=True))
        # A display that subscribes to a shop's board gets its present state, even before any order.
        self.board_changed(shop.shop_id)
