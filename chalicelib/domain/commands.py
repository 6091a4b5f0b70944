"""Commands: what people ask the shop and order services to do, typed, and checked against the domain's bounds.

A command that exists is valid: each checks its rules when it is built (at the edge, before any service
runs), so services take them as they are. Who may run a command, and whether the shop or order allows
it now, are decided by the services and aggregates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.domain.codes import check_code
from chalicelib.domain.errors import ValidationError
from chalicelib.domain.shop import (
    MAX_DRINK_NAME,
    MAX_GROUP_NAME,
    MAX_MODIFIER_GROUPS,
    MAX_OPTION,
    Drink,
    check_menu,
    check_name,
    check_settings,
    check_shop_id,
)

# ----- shops (organisers) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateShop:
    shop_id: str
    name: str

    def __post_init__(self) -> None:
        check_shop_id(self.shop_id)
        check_name(self.name)


@dataclass(frozen=True)
class SetStoreOpen:
    shop_id: str
    open: bool


@dataclass(frozen=True)
class SetMenu:
    shop_id: str
    drinks: tuple[Drink, ...]

    def __post_init__(self) -> None:
        check_menu(self.drinks)


@dataclass(frozen=True)
class UpdateSettings:
    shop_id: str
    changes: Mapping[str, int]

    def __post_init__(self) -> None:
        check_settings(self.changes)


# ----- orders (customers) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlaceOrder:
    shop_id: str
    code: str

    def __post_init__(self) -> None:
        check_code(self.code)


@dataclass(frozen=True)
class ChooseDrink:
    """A choice as the customer made it; the shop's live menu decides whether it can be made."""

    order_id: str
    drink: str
    modifiers: Mapping[str, str]

    def __post_init__(self) -> None:
        # A choice no menu can hold is refused as malformed, so an error never echoes a large input.
        if not self.drink or len(self.drink) > MAX_DRINK_NAME:
            raise ValidationError(f"drink must be 1 to {MAX_DRINK_NAME} characters")
        if len(self.modifiers) > MAX_MODIFIER_GROUPS:
            raise ValidationError(f"modifiers may choose in at most {MAX_MODIFIER_GROUPS} groups")
        for group, option in self.modifiers.items():
            if len(group) > MAX_GROUP_NAME or len(option) > MAX_OPTION:
                raise ValidationError(
                    f"modifiers: a group name has at most {MAX_GROUP_NAME} characters, an option {MAX_OPTION}"
                )
