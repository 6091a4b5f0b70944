"""Durability of the local runtime: acknowledged orders survive kill -9, and none is left stuck."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.stack import Api, Stack, new_customer, wait_queued


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path / "data")
    stack.start()
    yield stack
    stack.stop()


def test_kill_9_keeps_every_acknowledged_order_and_ends_interrupted_ones(own_stack: Stack) -> None:
    api = Api(own_stack)
    admin = api.token("barista", admin=True)
    shop_id = api.new_shop(admin)

    finished_customer, waiting_customer, queued_customer = new_customer(api), new_customer(api), new_customer(api)
    finished = api.place(shop_id, finished_customer, admin)
    api.call("PUT", f"/orders/{finished}/drink", finished_customer, {"drink": "Espresso"})
    wait_queued(api, finished, finished_customer)
    api.call("POST", f"/orders/{finished}/complete", admin)
    api.wait_for_view(finished, finished_customer, lambda v: v["state"] == "COMPLETED")
    waiting = api.place(shop_id, waiting_customer, admin)
    queued = api.place(shop_id, queued_customer, admin)
    api.call("PUT", f"/orders/{queued}/drink", queued_customer, {"drink": "Americano"})
    wait_queued(api, queued, queued_customer)

    own_stack.kill_hard()
    own_stack.start()

    restarted = Api(own_stack)
    after = restarted.wait_for_view(finished, finished_customer, lambda v: v["state"] == "COMPLETED")
    assert after["drink"] == "Espresso"
    for order_id, customer in ((waiting, waiting_customer), (queued, queued_customer)):
        ended = restarted.wait_for_view(
            order_id,
            customer,
            lambda v: v["state"] == "TIMED_OUT" and "OrderProcessor.OrderFinished" in [e["type"] for e in v["journey"]],
        )
        assert "restarted" in ended["reason"]
        types = [e["type"] for e in ended["journey"]]
        assert "OrderProcessor.OrderTimeOut" in types and "OrderProcessor.OrderFinished" in types
        assert restarted.call("GET", f"/orders/{order_id}", customer).json()["state"] == "TIMED_OUT"

    # The shop still works after the restart: its queue slots were given back and numbering goes on.
    shop = restarted.gql("query($s: ID!) { shop(id: $s) { open } }", {"s": shop_id})["data"]["shop"]
    assert shop["open"] is True
    newcomer = new_customer(restarted)
    fresh = restarted.place(shop_id, newcomer, admin)
    restarted.call("PUT", f"/orders/{fresh}/drink", newcomer, {"drink": "Espresso"})
    numbered = wait_queued(restarted, fresh, newcomer)
    assert numbered["number"] == 3
    assert "journaled writes replayed" in own_stack.log()


def test_graceful_stop_and_start_keeps_state(own_stack: Stack) -> None:
    api = Api(own_stack)
    admin = api.token("barista", admin=True)
    shop_id = api.new_shop(admin, drinksPerCode=7)
    own_stack.stop()
    own_stack.start()
    settings = Api(own_stack).gql("query($s: ID!) { shop(id: $s) { settings { drinksPerCode } } }", {"s": shop_id})
    assert settings["data"]["shop"]["settings"]["drinksPerCode"] == 7
