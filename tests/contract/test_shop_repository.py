"""ShopRepository contract: create, optimistic save, get, and a faithful round-trip of menu and settings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.domain.errors import AlreadyExists, ConcurrentUpdate
from chalicelib.domain.shop import DEFAULT_SETTINGS, Drink, Modifier, Shop


def test_create_stores_version_1(shops: Any) -> None:
    created = shops.create(Shop("bar-1", "Bar One"))

    assert created.version == 1
    assert shops.get("bar-1") == created


def test_create_ignores_the_version_it_is_given(shops: Any) -> None:
    assert shops.create(Shop("bar-1", "Bar One", version=7)).version == 1
    assert shops.get("bar-1").version == 1


def test_create_of_a_taken_id_raises_already_exists_and_keeps_the_first(shops: Any) -> None:
    shops.create(Shop("bar-1", "Bar One"))

    with pytest.raises(AlreadyExists):
        shops.create(Shop("bar-1", "Impostor", open=True))

    stored = shops.get("bar-1")
    assert stored.name == "Bar One"
    assert stored.open is False
    assert stored.version == 1


def test_get_unknown_returns_none(shops: Any) -> None:
    assert shops.get("nowhere") is None


def test_save_bumps_the_version_and_stores_the_change(shops: Any) -> None:
    created = shops.create(Shop("bar-1", "Bar One"))

    saved = shops.save(created.with_open(True))

    assert saved.version == 2
    assert saved.open is True
    assert shops.get("bar-1") == saved
    assert shops.save(saved.with_open(False)).version == 3
    assert shops.get("bar-1").open is False


def test_save_of_a_stale_version_raises_concurrent_update_and_changes_nothing(shops: Any) -> None:
    created = shops.create(Shop("bar-1", "Bar One"))
    shops.save(created.with_open(True))  # another writer got there first

    with pytest.raises(ConcurrentUpdate):
        shops.save(replace(created, name="Lost update"))

    stored = shops.get("bar-1")
    assert stored.version == 2
    assert stored.name == "Bar One"
    assert stored.open is True


def test_save_of_a_version_from_the_future_raises_concurrent_update(shops: Any) -> None:
    created = shops.create(Shop("bar-1", "Bar One"))

    with pytest.raises(ConcurrentUpdate):
        shops.save(replace(created, version=5, name="Skipped ahead"))

    assert shops.get("bar-1") == created


@pytest.mark.parametrize("version", [0, 1])
def test_save_of_a_shop_never_created_raises_concurrent_update(shops: Any, version: int) -> None:
    # save() stores a change to a shop as read; only create() makes a new one.
    with pytest.raises(ConcurrentUpdate):
        shops.save(Shop("ghost", "Ghost", version=version))

    assert shops.get("ghost") is None


def test_settings_and_menu_round_trip(shops: Any) -> None:
    menu = (
        Drink("Mocha", True, (Modifier("Milk", ("Regular", "Oat", "Soy")), Modifier("Shots", ("1", "2")))),
        Drink("Tea", False),
    )
    settings = {"drinksPerCode": 3, "codeIntervalSeconds": 60, "maxOrdersPerCustomerPerDay": 4}
    created = shops.create(Shop("bar-1", "Bar One").with_menu(menu).with_settings(settings))

    stored = shops.get("bar-1")
    assert stored == created
    assert stored.menu == menu
    assert dict(stored.settings) == {**DEFAULT_SETTINGS, **settings}

    changed = shops.save(stored.with_settings({"maxOrdersInQueue": 7}).with_menu(menu[:1]).with_open(True))
    again = shops.get("bar-1")
    assert again == changed
    assert again.menu == menu[:1]
    assert again.setting("maxOrdersInQueue") == 7
    assert again.setting("drinksPerCode") == 3
    assert again.open is True


def test_a_partial_settings_mapping_is_stored_as_the_full_effective_settings(shops: Any) -> None:
    # Shops built without with_settings carry only some keys; what is stored is every effective value.
    created = shops.create(Shop("bar-1", "Bar One", settings={"drinksPerCode": 2}))

    expected = {**DEFAULT_SETTINGS, "drinksPerCode": 2}
    assert dict(created.settings) == expected
    assert dict(shops.get("bar-1").settings) == expected
    saved = shops.save(replace(created, settings={"baristaTimeoutSeconds": 60}))
    assert dict(saved.settings) == {**DEFAULT_SETTINGS, "baristaTimeoutSeconds": 60}
    assert shops.get("bar-1") == saved
