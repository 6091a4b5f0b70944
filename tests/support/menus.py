"""Menus at the size bound: the largest a shop may have, to test that its events still fit."""

from __future__ import annotations

from chalicelib.domain.shop import (
    MAX_DRINKS,
    MAX_MODIFIER_GROUPS,
    MAX_OPTION,
    MAX_OPTIONS,
    Drink,
    Modifier,
    menu_bytes,
)


def _option(index: int, length: int) -> str:
    return f"{index:02d}" + "o" * (length - 2)  # the prefix keeps options of a group distinct


def _full_drink(index: int) -> Drink:
    options = tuple(_option(i, MAX_OPTION) for i in range(MAX_OPTIONS))
    return Drink(f"drink {index}", True, tuple(Modifier(f"group {g}", options) for g in range(MAX_MODIFIER_GROUPS)))


def menu_of_size(size: int) -> tuple[Drink, ...]:
    """A valid menu whose encoding (menu_bytes) is exactly `size` bytes, for sizes from 1 KB."""
    drinks: list[Drink] = []
    while menu_bytes((*drinks, _full_drink(len(drinks)))) <= size - 12_000:
        drinks.append(_full_drink(len(drinks)))
    # The rest in options of at most 40 characters, each costing its length + 3 bytes (quotes, comma)
    # in a group that has one already. A group or drink is opened only while 200 bytes remain, so the
    # last few options always find room in the current group, and the last one fits exactly.
    tail: list[list[list[str]]] = []

    def menu() -> tuple[Drink, ...]:
        extra = tuple(
            Drink(f"tail {d}", True, tuple(Modifier(f"group {g}", tuple(o)) for g, o in enumerate(groups)))
            for d, groups in enumerate(tail)
        )
        return (*drinks, *extra)

    def add_option(length: int, remaining: int) -> None:
        if not tail:
            tail.append([[]])
        elif len(tail[-1][-1]) >= MAX_OPTIONS - 6 and remaining >= 200:
            if len(tail[-1]) == MAX_MODIFIER_GROUPS:
                tail.append([[]])
            else:
                tail[-1].append([])
        group = tail[-1][-1]
        group.append(_option(len(group), length))

    while (remaining := size - menu_bytes(menu())) > 43:
        add_option(min(MAX_OPTION, remaining - 7), remaining)
    add_option(remaining - 3, remaining)
    result = menu()
    assert len(result) <= MAX_DRINKS and menu_bytes(result) == size, (len(result), menu_bytes(result), size)
    return result
