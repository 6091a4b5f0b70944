"""Load on the running stack: 200 customers at the same instant all get their answer, none is reset."""

from __future__ import annotations

import json
from collections import Counter

from tests.support.load import graphql_request, simultaneous
from tests.support.stack import Stack

CLIENTS = 200


def test_200_simultaneous_customers_are_all_answered_and_none_is_reset(stack: Stack) -> None:
    outcomes, elapsed = simultaneous(("127.0.0.1", stack.port), graphql_request("127.0.0.1"), CLIENTS, timeout=60)
    assert Counter(o.status for o in outcomes) == Counter({"200": CLIENTS})
    assert all(json.loads(o.body)["data"]["shop"]["name"] for o in outcomes)
    assert elapsed < 60
