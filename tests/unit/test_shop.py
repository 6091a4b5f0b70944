"""Unit tests for the Shop aggregate and its rules for what an organiser may set (chalicelib.domain.shop)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidDrink, ValidationError
from chalicelib.domain.shop import (
    DEFAULT_MENU,
    DEFAULT_SETTINGS,
    MAX_DRINK_NAME,
    MAX_DRINKS,
    MAX_GROUP_NAME,
    MAX_MENU_BYTES,
    MAX_MODIFIER_GROUPS,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_SHOP_NAME,
    SETTING_BOUNDS,
    Drink,
    Modifier,
    Shop,
    check_menu,
    check_name,
    check_settings,
    check_shop_id,
    menu_bytes,
    menu_from_dicts,
)
from tests.support.menus import menu_of_size


def make_shop(**changes) -> Shop:
    return Shop(shop_id="shop-1", name="Corner Bar", **changes)


# ----- check_shop_id --------------------------------------------------------------------------------


@pytest.mark.parametrize("shop_id", ["a", "0", "shop-1", "re-invent-2024", "a-", "9lives", "a" * 40])
def test_valid_shop_ids_pass(shop_id):
    check_shop_id(shop_id)


@pytest.mark.parametrize("shop_id", ["", "-shop", "Shop", "shop_1", "shop 1", "shop.1", "café", "a" * 41])
def test_invalid_shop_ids_are_rejected(shop_id):
    with pytest.raises(ValidationError, match="shopId"):
        check_shop_id(shop_id)


@pytest.mark.parametrize("shop_id", ["shop-1\n", "a\n"])
def test_shop_id_with_trailing_newline_is_rejected(shop_id):
    # `$` in a pattern also matches before a final newline; the id must be matched in full.
    with pytest.raises(ValidationError):
        check_shop_id(shop_id)


# ----- check_name -----------------------------------------------------------------------------------


def test_a_name_of_100_characters_is_accepted():
    check_name("n" * MAX_SHOP_NAME)
    check_name("咖啡" * 50)


@pytest.mark.parametrize("name", ["", "n" * (MAX_SHOP_NAME + 1), " Corner Bar", "Corner Bar ", "Corner\nBar", "\x00"])
def test_invalid_names_are_rejected(name):
    with pytest.raises(ValidationError, match="name"):
        check_name(name)


# ----- check_menu -----------------------------------------------------------------------------------


def drink(name: str = "Tea", *groups: Modifier, available: bool = True) -> Drink:
    return Drink(name, available, groups)


def test_the_default_menu_passes():
    check_menu(DEFAULT_MENU)


def test_a_menu_at_every_count_and_length_bound_passes():
    options = tuple(f"{i:02d}" + "o" * (MAX_OPTION - 2) for i in range(MAX_OPTIONS))
    longest = drink("d" * MAX_DRINK_NAME, Modifier("g" * MAX_GROUP_NAME, options))
    many_groups = drink("Tea", *(Modifier(f"{i:02d}" + "g" * (MAX_GROUP_NAME - 2), ("a",)) for i in range(10)))
    menu = (longest, many_groups, *(drink(f"drink {i}") for i in range(MAX_DRINKS - 2)))
    assert len(many_groups.modifiers) == MAX_MODIFIER_GROUPS
    assert menu_bytes(menu) <= MAX_MENU_BYTES
    check_menu(menu)


@pytest.mark.parametrize(
    ("menu", "where"),
    [
        ((), "drinks"),
        (tuple(drink(f"d{i}") for i in range(MAX_DRINKS + 1)), "drinks"),
        ((drink(""),), r"drinks\[0\]\.name"),
        ((drink("Tea"), drink("d" * (MAX_DRINK_NAME + 1))), r"drinks\[1\]\.name"),
        ((drink("Tea\tTime"),), r"drinks\[0\]\.name"),
        ((drink("Tea", *(Modifier(f"g{i}", ("a",)) for i in range(MAX_MODIFIER_GROUPS + 1))),), r"modifiers"),
        ((drink("Tea", Modifier("", ("a",))),), r"drinks\[0\]\.modifiers\[0\]\.name"),
        ((drink("Tea", Modifier("g" * (MAX_GROUP_NAME + 1), ("a",))),), r"drinks\[0\]\.modifiers\[0\]\.name"),
        ((drink("Tea", Modifier("Milk", ())),), r"drinks\[0\]\.modifiers\[0\]\.options"),
        ((drink("Tea", Modifier("Milk", tuple(f"o{i}" for i in range(MAX_OPTIONS + 1)))),), r"modifiers\[0\]\.options"),
        ((drink("Tea", Modifier("Milk", ("Oat", "o" * (MAX_OPTION + 1)))),), r"modifiers\[0\]\.options\[1\]"),
        ((drink("Tea", Modifier("Milk", ("Oat", ""))),), r"drinks\[0\]\.modifiers\[0\]\.options\[1\]"),
        ((drink("Tea", Modifier("Milk", ("Oat", "Soy", "Oat"))),), r"options\[2\] repeats .*options\[0\]"),
        ((drink("Tea", Modifier("M", ("a",)), Modifier("M", ("b",))),), r"modifiers\[1\]\.name repeats"),
        ((drink("Tea"), drink("Coffee"), drink("Tea")), r"drinks\[2\]\.name repeats drinks\[0\]\.name"),
    ],
)
def test_an_invalid_menu_is_refused_naming_the_field(menu, where):
    with pytest.raises(ValidationError, match=where):
        check_menu(menu)


def test_a_menu_of_the_largest_size_passes_and_one_byte_more_is_refused():
    check_menu(menu_of_size(MAX_MENU_BYTES))
    with pytest.raises(ValidationError, match=f"{MAX_MENU_BYTES + 1} bytes .* at most {MAX_MENU_BYTES}"):
        check_menu(menu_of_size(MAX_MENU_BYTES + 1))


def test_a_menu_is_measured_as_events_carry_it():
    # Non-ASCII travels escaped (json's default), so a character can take 6 or 12 bytes.
    menu = (drink("Café 咖啡 ☕"),)
    assert menu_bytes(menu) == len(json.dumps([d.to_dict() for d in menu], separators=(",", ":")).encode())
    assert menu_bytes((drink("😀"),)) == menu_bytes((drink("x"),)) + 11


# ----- menu_from_dicts ------------------------------------------------------------------------------


def test_menu_from_dicts_round_trips_the_default_menu():
    assert menu_from_dicts([d.to_dict() for d in DEFAULT_MENU]) == DEFAULT_MENU


def test_menu_from_dicts_defaults_availability_and_modifiers():
    assert menu_from_dicts([{"name": "Tea"}]) == (Drink("Tea", True, ()),)


def test_a_stored_menu_reads_back_whatever_bounds_came_after_it():
    # A menu stored before today's bounds must not make its shop unreadable (or unfixable).
    stored = [{"name": f"drink {i}", "available": True, "modifiers": [{"name": "g", "options": ["o" * 500]}]}
              for i in range(200)]
    assert len(menu_from_dicts(stored)) == 200


# ----- check_settings -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SETTING_BOUNDS))
def test_setting_bounds_are_inclusive(key):
    low, high = SETTING_BOUNDS[key]
    check_settings({key: low})
    check_settings({key: high})
    for value in (low - 1, high + 1):
        with pytest.raises(ValidationError, match=key):
            check_settings({key: value})


def test_every_default_setting_has_bounds_that_contain_it():
    assert set(SETTING_BOUNDS) == set(DEFAULT_SETTINGS)
    check_settings(DEFAULT_SETTINGS)


def test_unknown_settings_are_rejected_by_name_without_echoing_a_long_one():
    with pytest.raises(ValidationError, match="unknown setting.*'bogus', 'zzz'"):
        check_settings({"zzz": 1, "drinksPerCode": 5, "bogus": 2})
    with pytest.raises(ValidationError) as refused:
        check_settings({"k" * 10_000: 1})
    assert len(refused.value.message) < 300


def test_an_unknown_setting_is_refused_without_naming_a_known_one():
    # The barista app highlights whichever setting a validation_error's message names.
    with pytest.raises(ValidationError) as refused:
        check_settings({"colour": 1, "drinksPerCode": 5})
    assert not any(key in refused.value.message for key in DEFAULT_SETTINGS)


def test_a_settings_change_names_at_least_one_setting():
    with pytest.raises(ValidationError):
        check_settings({})


# ----- Shop ---------------------------------------------------------------------------------------


def test_new_shop_is_closed_with_default_menu_and_settings():
    shop = make_shop()
    assert shop.open is False
    assert shop.menu == DEFAULT_MENU
    assert dict(shop.settings) == DEFAULT_SETTINGS
    assert shop.version == 0


def test_new_shops_do_not_share_their_settings_dict():
    first, second = make_shop(), make_shop()
    assert first.settings is not second.settings
    assert first.settings is not DEFAULT_SETTINGS


def test_setting_falls_back_to_the_default():
    shop = make_shop(settings={"drinksPerCode": 3})
    assert shop.setting("drinksPerCode") == 3
    assert shop.setting("maxOrdersInQueue") == DEFAULT_SETTINGS["maxOrdersInQueue"]


def test_setting_of_an_unknown_name_raises_key_error():
    with pytest.raises(KeyError):
        make_shop(settings={}).setting("nope")


def test_with_open_returns_a_new_shop():
    shop = make_shop()
    opened = shop.with_open(True)
    assert opened.open is True
    assert shop.open is False
    assert opened.with_open(False).open is False


def test_with_menu_replaces_the_menu():
    menu = (Drink("Tea", True),)
    shop = make_shop()
    assert shop.with_menu(menu).menu == menu
    assert shop.menu == DEFAULT_MENU


def test_with_settings_merges_changes_over_current_and_defaults():
    shop = make_shop(settings={"drinksPerCode": 3})
    changed = shop.with_settings({"maxOrdersInQueue": 50})
    assert dict(changed.settings) == {**DEFAULT_SETTINGS, "drinksPerCode": 3, "maxOrdersInQueue": 50}
    assert dict(shop.settings) == {"drinksPerCode": 3}
    assert dict(changed.with_settings({"drinksPerCode": 8}).settings)["drinksPerCode"] == 8


def test_shop_to_dict():
    menu = (Drink("Tea", False, (Modifier("Size", ("S", "L")),)),)
    shop = make_shop(open=True, menu=menu, settings={"drinksPerCode": 2})
    assert shop.to_dict() == {
        "shopId": "shop-1",
        "name": "Corner Bar",
        "open": True,
        "menu": [{"name": "Tea", "available": False, "modifiers": [{"name": "Size", "options": ["S", "L"]}]}],
        "settings": {**DEFAULT_SETTINGS, "drinksPerCode": 2},
        "version": 0,
    }


# ----- Shop.choose --------------------------------------------------------------------------------


def test_choose_returns_the_full_modifier_choice():
    assert make_shop().choose("Cappuccino", {"Milk": "Oat", "Size": "Large"}) == {"Milk": "Oat", "Size": "Large"}


def test_choose_fills_omitted_groups_with_their_first_option():
    assert make_shop().choose("Cappuccino", {"Size": "Large"}) == {"Milk": "Regular", "Size": "Large"}
    assert make_shop().choose("Americano", {}) == {"Milk": "None"}


def test_choose_a_drink_without_modifiers():
    assert make_shop().choose("Espresso", {}) == {}


def test_choose_does_not_return_the_callers_dict():
    given_modifiers = {"Milk": "Oat"}
    chosen = make_shop().choose("Flat White", given_modifiers)
    chosen["Milk"] = "Regular"
    assert given_modifiers == {"Milk": "Oat"}


@pytest.mark.parametrize("drink", ["Mocha", "espresso", "", "Espresso "])
def test_choose_rejects_drinks_not_on_the_menu(drink):
    with pytest.raises(InvalidDrink, match="not on the menu"):
        make_shop().choose(drink, {})


def test_choose_rejects_unavailable_drinks():
    with pytest.raises(InvalidDrink, match="not available"):
        make_shop().choose("Latte", {})


def test_choose_uses_the_shops_live_menu():
    shop = make_shop(menu=(Drink("Latte", True),))
    assert shop.choose("Latte", {}) == {}
    with pytest.raises(InvalidDrink):
        shop.choose("Espresso", {})


def test_choose_rejects_unknown_modifier_groups():
    with pytest.raises(InvalidDrink, match="'Sugar'"):
        make_shop().choose("Americano", {"Milk": "Oat", "Sugar": "Yes"})
    with pytest.raises(InvalidDrink):
        make_shop().choose("Espresso", {"Milk": "Oat"})


@pytest.mark.parametrize("option", ["Soy", "oat", "", 1, None])
def test_choose_rejects_options_not_in_the_group(option):
    with pytest.raises(InvalidDrink, match="not an option of Milk"):
        make_shop().choose("Flat White", {"Milk": option})


available_drinks = [d for d in DEFAULT_MENU if d.available]


@st.composite
def valid_choices(draw):
    drink = draw(st.sampled_from(available_drinks))
    chosen = {}
    for group in drink.modifiers:
        if draw(st.booleans()):
            chosen[group.name] = draw(st.sampled_from(group.options))
    return drink, chosen


@settings(max_examples=200, deadline=None)
@given(valid_choices())
def test_any_valid_choice_is_completed_to_one_option_per_group(choice):
    drink, given_modifiers = choice
    result = make_shop().choose(drink.name, given_modifiers)
    assert list(result) == [g.name for g in drink.modifiers]
    for group in drink.modifiers:
        assert result[group.name] == given_modifiers.get(group.name, group.options[0])
        assert result[group.name] in group.options
