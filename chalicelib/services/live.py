"""Live updates: forwards bus events to MQTT topics, and keeps each shop's board and store state retained."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.domain import events as ev
from chalicelib.domain.live import LiveMessage, board_snapshot, config_topic, route
from chalicelib.domain.shop import Shop
from chalicelib.ports import Clock, LivePublisher
from chalicelib.services.queries import QueryService

logger = logging.getLogger(__name__)


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
        """Publish every shop's store state and board again (a broker that restarted lost them); returns how many
        shops went out whole. Each message stands alone: one the broker refuses (a payload over its limit, say)
        is logged and skipped, and keeps neither that shop's board nor any other shop dark."""
        whole = 0
        for shop in self._queries.shops():
            sent = [
                self._attempt(functools.partial(self._publish_config, shop), shop.shop_id, "store state"),
                self._attempt(functools.partial(self.board_changed, shop.shop_id), shop.shop_id, "board"),
            ]
            whole += all(sent)
        return whole

    @staticmethod
    def _attempt(publish: Callable[[], None], shop_id: str, what: str) -> bool:
        try:
            publish()
        except Exception:
            logger.exception("could not republish the %s of shop %s", what, shop_id)
            return False
        return True

    def board_changed(self, shop_id: str) -> None:
        board = self._queries.board(shop_id)
        at = self._clock.now().isoformat()
        self._publisher.publish(board_snapshot(shop_id, at, board.waiting, board.in_production, board.ready))

    def shop_changed(self, shop: Shop) -> None:
        self._publish_config(shop)
        # A display that subscribes to a shop's board gets its present state, even before any order.
        self.board_changed(shop.shop_id)

    def _publish_config(self, shop: Shop) -> None:
        payload = {
            "type": ev.CONFIG_CHANGED,
            "at": self._clock.now().isoformat(),
            "detail": {"shopId": shop.shop_id, "version": shop.version, "shop": shop.to_dict()},
        }
        self._publisher.publish(LiveMessage(config_topic(shop.shop_id), payload, retain=True))
