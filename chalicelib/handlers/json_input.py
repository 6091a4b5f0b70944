"""Reading JSON at the edge: parse a body without surprises, then walk it so every refusal names its field."""

from __future__ import annotations

import json
import re

from chalicelib.domain.errors import ValidationError

# Four times the largest document a valid request needs (a full menu), so a pretty-printed menu passes
# and a large body is refused before it is parsed.
MAX_BODY_BYTES = 256 * 1024

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
_MISSING = object()


def parse_body(raw: bytes | str | None) -> Json:
    """The request body as JSON. Whatever it holds, the outcome is a value or a ValidationError."""
    if raw is None or raw in (b"", ""):
        return Json(None)
    data = raw.encode() if isinstance(raw, str) else raw
    if len(data) > MAX_BODY_BYTES:
        raise ValidationError(f"the request body is over {MAX_BODY_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("the request body is not UTF-8") from None
    try:
        return Json(json.loads(text))
    except RecursionError:
        # json's C parser recurses once per level: deep nesting is refused here, not answered with a 500.
        raise ValidationError("the request body nests too deeply") from None
    except ValueError:
        # Includes integers of more than 4,300 digits, which Python refuses to convert.
        raise ValidationError("the request body is not valid JSON") from None


class Json:
    """A decoded JSON value and where it sits in its document (`drinks[2].modifiers[0]`)."""

    __slots__ = ("value", "path", "root")

    def __init__(self, value: object, path: str = "", root: str = "the request body") -> None:
        self.value = value
        self.path = path
        self.root = root

    @property
    def where(self) -> str:
        return self.path or self.root

    def _child(self, value: object, path: str) -> Json:
        return Json(value, path, self.root)

    def _refuse(self, wanted: str) -> ValidationError:
        if self.value is _MISSING:
            return ValidationError(f"{self.where} is required")
        return ValidationError(f"{self.where} must be {wanted}")

    def _member_path(self, key: str) -> str:
        if _PLAIN_KEY.fullmatch(key):
            return f"{self.path}.{key}" if self.path else key
        # Any other key is quoted, and cut short: a message never echoes a large input.
        return f"{self.path}[{json.dumps(key[:40] + ('...' if len(key) > 40 else ''))}]"

    # ----- objects and lists --------------------------------------------------------------------

    def object(self) -> dict[str, object]:
        if not isinstance(self.value, dict):
            raise self._refuse("a JSON object")
        return self.value

    def field(self, key: str) -> Json:
        """A member of this object; reading a missing one says it is required."""
        return self._child(self.object().get(key, _MISSING), self._member_path(key))

    def has(self, key: str) -> bool:
        return key in self.object()

    def members(self) -> list[tuple[str, Json]]:
        return [(key, self._child(value, self._member_path(key))) for key, value in self.object().items()]

    def items(self) -> list[Json]:
        if not isinstance(self.value, list):
            raise self._refuse("a list")
        return [self._child(value, f"{self.path}[{index}]") for index, value in enumerate(self.value)]

    # ----- scalars ------------------------------------------------------------------------------

    @property
    def is_null(self) -> bool:
        return self.value is None

    def string(self) -> str:
        if not isinstance(self.value, str):
            raise self._refuse("a string")
        return self.value

    def non_empty_string(self) -> str:
        if not isinstance(self.value, str) or not self.value:
            raise self._refuse("a non-empty string")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self._refuse("true or false")
        return self.value

    def integer(self, minimum: int | None = None) -> int:
        # bool is an int in Python, not in JSON; 5.0 is a number, not an integer, in our contract.
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self._refuse("an integer")
        if minimum is not None and self.value < minimum:
            raise self._refuse(f"an integer of at least {minimum}")
        return self.value
