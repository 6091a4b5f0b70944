"""Unit tests for the Shop aggregate and the shop request parsers (chalicelib.domain.shop)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.errors import InvalidDrink, ValidationError
from chalicelib.domain.shop import (
    DEFAULT_MENU,
    DEFAULT_SETTINGS,
    SETTING_BOUNDS,
    Drink,
    Modifier,
    Shop,
    menu_from_dicts,
    parse_menu,
    parse_settings,
    parse_store_state,
    validate_name,
    validate_shop_id,
)


def make_shop(**changes) -> Shop:
    return Shop(shop_id="shop-1", name="Corner Bar", **changes)


# ----- validate_shop_id ---------------------------------------------------------------------------


@pytest.mark.parametrize("shop_id", ["a", "0", "shop-1", "re-invent-2024", "a-", "9lives", "a" * 40])
def test_valid_shop_ids_are_returned_unchanged(shop_id):
    assert validate_shop_id(shop_id) == shop_id


@pytest.mark.parametrize(
    "shop_id",
    ["", "-shop", "Shop", "shop_1", "shop 1", "shop.1", "café", "a" * 41, None, 123, ["shop"]],
)
def test_invalid_shop_ids_are_rejected(shop_id):
    with pytest.raises(ValidationError):
        validate_shop_id(shop_id)


@pytest.mark.parametrize("shop_id", ["shop-1\n", "a\n"])
def test_shop_id_with_trailing_newline_is_rejected(shop_id):
    # `$` in the pattern also matches before a final newline; the id must be matched in full.
    with pytest.raises(ValidationError):
        validate_shop_id(shop_id)


# ----- validate_name ------------------------------------------------------------------------------


def test_name_is_stripped():
    assert validate_name("  Corner Bar \t") == "Corner Bar"


def test_name_of_100_characters_is_accepted():
    assert validate_name("n" * 100) == "n" * 100


@pytest.mark.parametrize("name", ["", "   ", "n" * 101, None, 42])
def test_invalid_names_are_rejected(name):
    with pytest.raises(ValidationError):
        validate_name(name)


# ----- parse_menu ---------------------------------------------------------------------------------


def test_parse_menu_builds_drinks_with_modifiers():
    menu = parse_menu(
        {
            "drinks": [
                {"name": "Mocha", "available": False, "modifiers": [{"name": "Milk", "options": ["Oat", "Soy"]}]},
                {"name": "Espresso"},
            ]
        }
    )
    assert menu == (
        Drink("Mocha", False, (Modifier("Milk", ("Oat", "Soy")),)),
        Drink("Espresso", True, ()),
    )


def test_parse_menu_strips_names_and_options():
    drink = {"name": "  Mocha ", "modifiers": [{"name": " Milk ", "options": [" Oat", "Soy "]}]}
    menu = parse_menu({"drinks": [drink]})
    assert menu == (Drink("Mocha", True, (Modifier("Milk", ("Oat", "Soy")),)),)


def test_parse_menu_round_trips_the_default_menu():
    assert parse_menu({"drinks": [d.to_dict() for d in DEFAULT_MENU]}) == DEFAULT_MENU


def test_menu_from_dicts_is_parse_menu_of_a_drinks_list():
    items = [{"name": "Tea", "modifiers": [{"name": "Size", "options": ["Small"]}]}]
    assert menu_from_dicts(items) == parse_menu({"drinks": items})
    with pytest.raises(ValidationError):
        menu_from_dicts([])


def test_drink_name_of_60_characters_is_accepted():
    assert parse_menu({"drinks": [{"name": "d" * 60}]})[0].name == "d" * 60


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"drinks": []},
        {"drinks": "Espresso"},
        {"drinks": ["Espresso"]},
        {"drinks": [{}]},
        {"drinks": [{"name": ""}]},
        {"drinks": [{"name": "   "}]},
        {"drinks": [{"name": 5}]},
        {"drinks": [{"name": "d" * 61}]},
        {"drinks": [{"name": "Tea", "available": "yes"}]},
        {"drinks": [{"name": "Tea", "available": 1}]},
        {"drinks": [{"name": "Tea", "modifiers": {"name": "Milk"}}]},
        {"drinks": [{"name": "Tea", "modifiers": ["Milk"]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"options": ["Oat"]}]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": " ", "options": ["Oat"]}]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk"}]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": []}]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": "Oat"}]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": ["Oat", 3]}]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": ["Oat", " "]}]}]},
        {"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": ["Oat", "Oat"]}]}]},
        {
            "drinks": [
                {
                    "name": "Tea",
                    "modifiers": [{"name": "Milk", "options": ["Oat"]}, {"name": " Milk", "options": ["Soy"]}],
                }
            ]
        },
        {"drinks": [{"name": "Tea"}, {"name": "Tea "}]},
    ],
)
def test_invalid_menus_are_rejected(body):
    with pytest.raises(ValidationError):
        parse_menu(body)


def test_options_that_are_duplicates_after_stripping_are_rejected():
    # Options are stored stripped, so "Oat" and " Oat" would become two identical options.
    with pytest.raises(ValidationError):
        parse_menu({"drinks": [{"name": "Tea", "modifiers": [{"name": "Milk", "options": ["Oat", " Oat"]}]}]})


def test_menu_errors_name_the_offending_field():
    with pytest.raises(ValidationError, match=r"drinks\[1\]\.modifiers\[0\]\.options"):
        parse_menu({"drinks": [{"name": "Tea"}, {"name": "Coffee", "modifiers": [{"name": "Milk", "options": []}]}]})


# ----- parse_settings -----------------------------------------------------------------------------


def test_parse_settings_returns_only_the_given_settings():
    assert parse_settings({"drinksPerCode": 5, "maxOrdersInQueue": 30}) == {"drinksPerCode": 5, "maxOrdersInQueue": 30}


@pytest.mark.parametrize("key", sorted(SETTING_BOUNDS))
def test_setting_bounds_are_inclusive(key):
    low, high = SETTING_BOUNDS[key]
    assert parse_settings({key: low}) == {key: low}
    assert parse_settings({key: high}) == {key: high}
    for value in (low - 1, high + 1):
        with pytest.raises(ValidationError, match=key):
            parse_settings({key: value})


def test_every_default_setting_has_bounds_that_contain_it():
    assert set(SETTING_BOUNDS) == set(DEFAULT_SETTINGS)
    assert parse_settings(dict(DEFAULT_SETTINGS)) == DEFAULT_SETTINGS


@pytest.mark.parametrize("value", [True, False, 5.0, "5", None, [5]])
def test_non_integer_settings_are_rejected(value):
    with pytest.raises(ValidationError):
        parse_settings({"drinksPerCode": value})


def test_unknown_settings_are_rejected_by_name():
    with pytest.raises(ValidationError, match="unknown setting.*bogus, zzz"):
        parse_settings({"zzz": 1, "drinksPerCode": 5, "bogus": 2})


@pytest.mark.parametrize("body", [None, {}, [], "drinksPerCode=5"])
def test_settings_body_must_be_a_non_empty_object(body):
    with pytest.raises(ValidationError):
        parse_settings(body)


# ----- parse_store_state --------------------------------------------------------------------------


@pytest.mark.parametrize("is_open", [True, False])
def test_parse_store_state(is_open):
    assert parse_store_state({"open": is_open}) is is_open


@pytest.mark.parametrize("body", [None, {}, {"open": "true"}, {"open": 1}, {"open": None}, [True], {"closed": True}])
def test_invalid_store_state_is_rejected(body):
    with pytest.raises(ValidationError):
        parse_store_state(body)


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
