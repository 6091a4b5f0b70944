"""Shop aggregate: store state, menu and limits, with the validation rules for each."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.domain.errors import InvalidDrink, ValidationError, quoted

SHOP_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")

# Bounds on what an organiser types. Each keeps a screen, a card or a receipt readable. The menu's
# encoded size is what keeps a whole shop small: its ConfigChanged event carries the whole shop, and
# must fit MQTT (IoT Core: 128 KB a message) and EventBridge (256 KB an entry) with room to spare.
MAX_SHOP_NAME = 100
MAX_DRINKS = 50
MAX_DRINK_NAME = 60
MAX_MODIFIER_GROUPS = 10
MAX_GROUP_NAME = 40
MAX_OPTIONS = 20
MAX_OPTION = 40
# The menu as events carry it: compact JSON with non-ASCII escaped, so characters are bytes.
MAX_MENU_BYTES = 64 * 1024

# Defaults mirror the original Serverlesspresso bar (10 drinks per 5-minute code, 20 in queue).
DEFAULT_SETTINGS: dict[str, int] = {
    "drinksPerCode": 10,
    "codeIntervalSeconds": 300,
    "maxOrdersInQueue": 20,
    "maxOrdersPerCustomerPerDay": 1,
    "customerTimeoutSeconds": 300,
    "baristaTimeoutSeconds": 900,
}

# Inclusive bounds; the lower ones allow the short timeouts the tests and demos use.
SETTING_BOUNDS: dict[str, tuple[int, int]] = {
    "drinksPerCode": (1, 10_000),
    "codeIntervalSeconds": (10, 86_400),
    "maxOrdersInQueue": (1, 10_000),
    "maxOrdersPerCustomerPerDay": (1, 1_000),
    "customerTimeoutSeconds": (1, 86_400),
    "baristaTimeoutSeconds": (1, 86_400),
}


@dataclass(frozen=True)
class Modifier:
    name: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class Drink:
    name: str
    available: bool
    modifiers: tuple[Modifier, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "available": self.available,
            "modifiers": [{"name": m.name, "options": list(m.options)} for m in self.modifiers],
        }


DEFAULT_MENU: tuple[Drink, ...] = (
    Drink("Espresso", True),
    Drink("Americano", True, (Modifier("Milk", ("None", "Regular", "Oat")),)),
    Drink("Flat White", True, (Modifier("Milk", ("Regular", "Oat")),)),
    Drink("Cappuccino", True, (Modifier("Milk", ("Regular", "Oat")), Modifier("Size", ("Small", "Large")))),
    Drink("Latte", False, (Modifier("Milk", ("Regular", "Oat")),)),
)


@dataclass(frozen=True)
class Shop:
    shop_id: str
    name: str
    open: bool = False
    menu: tuple[Drink, ...] = DEFAULT_MENU
    settings: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    version: int = 0

    def setting(self, name: str) -> int:
        return int(self.settings.get(name, DEFAULT_SETTINGS[name]))

    def with_open(self, is_open: bool) -> Shop:
        return replace(self, open=is_open)

    def with_menu(self, menu: tuple[Drink, ...]) -> Shop:
        return replace(self, menu=menu)

    def with_settings(self, changes: Mapping[str, int]) -> Shop:
        return replace(self, settings={**DEFAULT_SETTINGS, **self.settings, **changes})

    def choose(self, drink_name: str, modifiers: Mapping[str, str]) -> dict[str, str]:
        """Check a customer's choice against the live menu; return the full modifier choice.

        Groups the customer left out take their first option, as the original app pre-selected them.
        """
        drink = next((d for d in self.menu if d.name == drink_name), None)
        if drink is None:
            raise InvalidDrink(f"'{drink_name}' is not on the menu of shop '{self.shop_id}'")
        if not drink.available:
            raise InvalidDrink(f"'{drink_name}' is not available right now")
        groups = {m.name: m for m in drink.modifiers}
        unknown = sorted(set(modifiers) - set(groups))
        if unknown:
            raise InvalidDrink(f"'{drink_name}' has no modifier {', '.join(map(repr, unknown))}")
        chosen: dict[str, str] = {}
        for group in drink.modifiers:
            option = modifiers.get(group.name, group.options[0])
            if option not in group.options:
                raise InvalidDrink(
                    f"'{option}' is not an option of {group.name} (choose from {', '.join(group.options)})"
                )
            chosen[group.name] = option
        return chosen

    def to_dict(self) -> dict[str, Any]:
        return {
            "shopId": self.shop_id,
            "name": self.name,
            "open": self.open,
            "menu": [d.to_dict() for d in self.menu],
            "settings": {k: self.setting(k) for k in DEFAULT_SETTINGS},
            "version": self.version,
        }


# ----- rules for what an organiser may set (stored shops are trusted: they passed these once) -------


def check_shop_id(shop_id: str) -> None:
    if not SHOP_ID_PATTERN.fullmatch(shop_id):
        raise ValidationError(
            "shopId must be 1-40 lowercase letters, digits or dashes, starting with a letter or digit"
        )


def is_shop_id(text: str) -> bool:
    return SHOP_ID_PATTERN.fullmatch(text) is not None


def check_text(text: str, where: str, limit: int) -> None:
    """A name people read: 1 to `limit` characters, trimmed, with no control characters."""
    if not text or len(text) > limit or text != text.strip():
        raise ValidationError(f"{where} must be 1 to {limit} characters, without spaces around it")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise ValidationError(f"{where} must not contain control characters (such as line breaks)")


def check_name(name: str) -> None:
    check_text(name, "name", MAX_SHOP_NAME)


def menu_bytes(menu: Sequence[Drink]) -> int:
    return len(json.dumps([d.to_dict() for d in menu], separators=(",", ":")))


def _check_distinct(names: Sequence[str], where: str) -> None:
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise ValidationError(f"{where.format(index)} repeats {where.format(seen[name])}")
        seen[name] = index


def check_menu(menu: Sequence[Drink]) -> None:
    if not 1 <= len(menu) <= MAX_DRINKS:
        raise ValidationError(f"drinks must list 1 to {MAX_DRINKS} drinks")
    for index, drink in enumerate(menu):
        where = f"drinks[{index}]"
        check_text(drink.name, f"{where}.name", MAX_DRINK_NAME)
        if len(drink.modifiers) > MAX_MODIFIER_GROUPS:
            raise ValidationError(f"{where}.modifiers must list at most {MAX_MODIFIER_GROUPS} groups")
        for m_index, group in enumerate(drink.modifiers):
            m_where = f"{where}.modifiers[{m_index}]"
            check_text(group.name, f"{m_where}.name", MAX_GROUP_NAME)
            if not 1 <= len(group.options) <= MAX_OPTIONS:
                raise ValidationError(f"{m_where}.options must list 1 to {MAX_OPTIONS} options")
            for o_index, option in enumerate(group.options):
                check_text(option, f"{m_where}.options[{o_index}]", MAX_OPTION)
            _check_distinct(group.options, m_where + ".options[{}]")
        _check_distinct([g.name for g in drink.modifiers], where + ".modifiers[{}].name")
    _check_distinct([d.name for d in menu], "drinks[{}].name")
    size = menu_bytes(menu)
    if size > MAX_MENU_BYTES:
        raise ValidationError(f"drinks take {size} bytes as JSON; a menu may take at most {MAX_MENU_BYTES}")


def check_settings(changes: Mapping[str, int]) -> None:
    if not changes:
        raise ValidationError(f"give at least one of: {', '.join(DEFAULT_SETTINGS)}")
    unknown = sorted(set(changes) - set(DEFAULT_SETTINGS))
    if unknown:
        # Only the unknown names: the barista app reads the setting at fault from the message.
        raise ValidationError(f"unknown setting(s): {', '.join(quoted(name) for name in unknown[:5])}")
    for key, value in changes.items():
        low, high = SETTING_BOUNDS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"{key} must be an integer from {low} to {high}")


def menu_from_dicts(items: Sequence[Mapping[str, Any]]) -> tuple[Drink, ...]:
    """A menu as stored or carried by an event. Trusted: it passed check_menu when it was set, and
    bounds added since must not make an existing shop unreadable."""
    return tuple(
        Drink(
            str(item["name"]),
            bool(item.get("available", True)),
            tuple(Modifier(str(m["name"]), tuple(str(o) for o in m["options"])) for m in item.get("modifiers", [])),
        )
        for item in items
    )
