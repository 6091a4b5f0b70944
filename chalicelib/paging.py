"""Opaque cursors for GraphQL pagination over lists ordered by (createdAt, orderId)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Protocol, TypeVar

from chalicelib.domain.errors import ValidationError


class Pageable(Protocol):
    @property
    def created_at(self) -> str: ...

    @property
    def order_id(self) -> str: ...


P = TypeVar("P", bound=Pageable)


def encode_cursor(created_at: str, order_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at}|{order_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        created_at, order_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("'after' is not a cursor this API returned") from None
    return created_at, order_id


def page(items: Sequence[P], first: int, after: str | None, reverse: bool) -> tuple[list[P], str | None]:
    """Slice an already-sorted list after `after`; return the page and the cursor of its last item."""
    if after is not None:
        position = decode_cursor(after)
        if reverse:
            items = [i for i in items if (i.created_at, i.order_id) < position]
        else:
            items = [i for i in items if (i.created_at, i.order_id) > position]
    chunk = list(items[:first])
    has_more = len(items) > first
    last = chunk[-1] if chunk and has_more else None
    return chunk, (encode_cursor(last.created_at, last.order_id) if last else None)
