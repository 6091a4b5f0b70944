"""Read-side projection: stores every order event (the journey) and folds it into order views."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.domain import events as ev
from chalicelib.domain.journey import entry_from_event, fold
from chalicelib.domain.shop import Shop, menu_from_dicts
from chalicelib.ports import ReadModelStore


class PresentStateListener(Protocol):
    def board_changed(self, shop_id: str) -> None: ...

    def shop_changed(self, shop: Shop) -> None: ...


class ProjectionService:
    def __init__(self, store: ReadModelStore, listener: PresentStateListener | None = None) -> None:
        self._store = store
        self._listener = listener

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
        written = bool(view.shop_id and view.user_id) and self._store.put_view_if_newer(view)
        if written and self._listener is not None and view.number is not None:
            self._listener.board_changed(view.shop_id)

    def _project_shop(self, detail: Mapping[str, Any]) -> None:
        data = detail["shop"]
        shop = Shop(
            shop_id=data["shopId"],
            name=data["name"],
            open=bool(data["open"]),
            menu=menu_from_dicts(data["menu"]),
            settings=data["settings"],
            version=int(detail["version"]),
        )
        # Only a newer shop replaces the view, so a late, older change never becomes "the present".
        if self._store.put_shop_if_newer(shop) and self._listener is not None:
            self._listener.shop_changed(shop)
