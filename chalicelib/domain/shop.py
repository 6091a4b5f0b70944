"""Shop aggregate: store state, menu and limits, with the validation rules for each."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.domain.errors import InvalidDrink, ValidationError

SHOP_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")

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


def validate_shop_id(shop_id: Any) -> str:
    if not isinstance(shop_id, str) or not SHOP_ID_PATTERN.fullmatch(shop_id):
        raise ValidationError(
            "shopId must be 1-40 lowercase letters, digits or dashes, starting with a letter or digit"
        )
    return shop_id


def validate_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ValidationError("name must be a non-empty string of at most 100 characters")
    return name.strip()


def parse_menu(body: Any) -> tuple[Drink, ...]:
    if not isinstance(body, dict) or not isinstance(body.get("drinks"), list) or not body["drinks"]:
        raise ValidationError("body must be {\"drinks\": [...]} with at least one drink")
    drinks: list[Drink] = []
    for index, raw in enumerate(body["drinks"]):
        where = f"drinks[{index}]"
        if not isinstance(raw, dict):
            raise ValidationError(f"{where} must be an object")
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 60:
            raise ValidationError(f"{where}.name must be a non-empty string of at most 60 characters")
        available = raw.get("available", True)
        if not isinstance(available, bool):
            raise ValidationError(f"{where}.available must be true or false")
        raw_modifiers = raw.get("modifiers", [])
        if not isinstance(raw_modifiers, list):
            raise ValidationError(f"{where}.modifiers must be a list")
        modifiers: list[Modifier] = []
        for m_index, raw_modifier in enumerate(raw_modifiers):
            m_where = f"{where}.modifiers[{m_index}]"
            if not isinstance(raw_modifier, dict):
                raise ValidationError(f"{m_where} must be an object")
            m_name = raw_modifier.get("name")
            options = raw_modifier.get("options")
            if not isinstance(m_name, str) or not m_name.strip():
                raise ValidationError(f"{m_where}.name must be a non-empty string")
            if not isinstance(options, list) or not all(isinstance(o, str) and o.strip() for o in options or [""]):
                raise ValidationError(f"{m_where}.options must be a non-empty list of distinct strings")
            stripped = tuple(o.strip() for o in options)
            if len(set(stripped)) != len(stripped):
                raise ValidationError(f"{m_where}.options must be a non-empty list of distinct strings")
            modifiers.append(Modifier(m_name.strip(), stripped))
        if len({m.name for m in modifiers}) != len(modifiers):
            raise ValidationError(f"{where}.modifiers has two groups with the same name")
        drinks.append(Drink(name.strip(), available, tuple(modifiers)))
    if len({d.name for d in drinks}) != len(drinks):
        raise ValidationError("two drinks have the same name")
    return tuple(drinks)


def parse_settings(body: Any) -> dict[str, int]:
    if not isinstance(body, dict) or not body:
        raise ValidationError(f"body must be an object with any of: {', '.join(DEFAULT_SETTINGS)}")
    unknown = sorted(set(body) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ValidationError(f"unknown setting(s): {', '.join(unknown)}")
    changes: dict[str, int] = {}
    for key, value in body.items():
        low, high = SETTING_BOUNDS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"{key} must be an integer from {low} to {high}")
        changes[key] = value
    return changes


def parse_store_state(body: Any) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("open"), bool):
        raise ValidationError("body must be {\"open\": true|false}")
    return bool(body["open"])


def menu_from_dicts(items: list[dict[str, Any]]) -> tuple[Drink, ...]:
    return parse_menu({"drinks": items})
