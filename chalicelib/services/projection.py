"""Read-side projection: stores every order event (the journey) and folds it into order views."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain import events as ev
from chalicelib.domain.journey import entry_from_event, fold
from chalicelib.domain.shop import Shop, menu_from_dicts
from chalicelib.ports import ReadModelStore


class ProjectionService:
    def __init__(self, store: ReadModelStore) -> None:
        self._store = store

    def on_event(self, detail_type: str, detail: Mapping[str, Any]) -> None:
        if detail_type == ev.CONFIG_CHANGED:
            self._project_shop(detail)
            return
        entry = entry_from_event(detail_type, dict(detail))
        if entry is None:
            return
        self._store.add_journey_entry(entry)
        # Refold from the stored journey, so late or duplicated deliveries converge on one view;
        # the store keeps whichever fold saw the most events.
        view = fold(entry.order_id, self._store.journey(entry.order_id))
        if view.shop_id and view.user_id:
            self._store.put_view_if_newer(view)

    def _project_shop(self, detail: Mapping[str, Any]) -> None:
        data = detail["shop"]
        self._store.put_shop_if_newer(
            Shop(
                shop_id=data["shopId"],
                name=data["name"],
                open=bool(data["open"]),
                menu=menu_from_dicts(data["menu"]),
                settings=data["settings"],
                version=int(detail["version"]),
            )
        )
