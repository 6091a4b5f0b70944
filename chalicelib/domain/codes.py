"""QR code windows: clock-aligned intervals, each with a random code and a redemption allowance."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.domain.errors import InvalidCode, ValidationError


@dataclass(frozen=True)
class CodeWindow:
    shop_id: str
    window_id: int
    interval_seconds: int
    code: str
    remaining: int

    @property
    def valid_from(self) -> int:
        return self.window_id * self.interval_seconds

    @property
    def valid_until(self) -> int:
        return (self.window_id + 1) * self.interval_seconds

    def valid_until_iso(self) -> str:
        return datetime.fromtimestamp(self.valid_until, tz=UTC).isoformat()


def window_id_at(epoch_seconds: float, interval_seconds: int) -> int:
    """Windows are aligned to the epoch, so every display and the API agree on the current one."""
    return int(epoch_seconds // interval_seconds)


def new_code() -> str:
    # 12 url-safe characters carry 72 random bits: unguessable within a window of minutes.
    return secrets.token_urlsafe(9)


# A code is 12 characters (new_code); anything much longer cannot be one, and is not worth a lookup.
MAX_CODE_LENGTH = 64


def check_code(code: str) -> None:
    if not code:
        raise ValidationError("code must be the code from the QR")
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidCode("this code is not valid")
