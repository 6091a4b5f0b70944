"""Who may call what, in process: every route for nobody, a bad token, the order's customer, another customer and
an admin. A refused call changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from app_testkit import ROUTES, SHOP, Bar, state_of

WHO = {"nobody": None, "bad token": "not-a-token", "owner": "alice-token", "other customer": "bob-token",
       "admin": "admin-token"}

# Expected status per route for (owner, other customer, admin); nobody and a bad token always get 401.
EXPECTED: dict[tuple[str, str], tuple[int, int, int]] = {
    ("POST", "/shops"): (403, 403, 201),
    ("PUT", "/shops/{shop}/store"): (403, 403, 200),
    ("PUT", "/shops/{shop}/menu"): (403, 403, 200),
    ("PATCH", "/shops/{shop}/settings"): (403, 403, 200),
    ("GET", "/shops/{shop}/code"): (403, 403, 200),
    ("POST", "/shops/{shop}/orders"): (201, 201, 201),
    ("GET", "/orders/{order}"): (200, 403, 200),
    ("PUT", "/orders/{order}/drink"): (200, 403, 403),
    ("POST", "/orders/{order}/cancel"): (200, 403, 200),
    ("POST", "/orders/{order}/claim"): (403, 403, 200),
    ("POST", "/orders/{order}/unclaim"): (403, 403, 200),
    ("POST", "/orders/{order}/complete"): (403, 403, 200),
}


def prepare(bar: Bar, method: str, template: str, body: Any) -> tuple[str, Any]:
    """The shop (and the order the route needs, placed by the owner), and the concrete path and body."""
    bar.shop()
    order_id = ""
    if template.startswith("/orders/"):
        action = template.rsplit("/", 1)[-1]
        if action in ("claim", "unclaim", "complete"):
            order_id = bar.queued()
            if action == "unclaim":
                assert bar.call("POST", f"/orders/{order_id}/claim", "admin-token").status == 200
        else:
            order_id = bar.place()
    if isinstance(body, dict) and body.get("code") == "{code}":
        body = {"code": bar.code()}
    return template.format(shop=SHOP, order=order_id), body


def test_every_route_is_in_the_table():
    assert {(method, template) for method, template, _ in ROUTES} == set(EXPECTED)


@pytest.mark.parametrize("who", list(WHO))
@pytest.mark.parametrize(("method", "template", "body"), ROUTES, ids=[f"{m} {t}" for m, t, _ in ROUTES])
def test_who_may_call_each_route(bar: Bar, who: str, method: str, template: str, body: Any):
    path, body = prepare(bar, method, template, body)
    owner, other, admin = EXPECTED[(method, template)]
    expected = {"nobody": 401, "bad token": 401, "owner": owner, "other customer": other, "admin": admin}[who]
    before = state_of(bar.adapters)

    answer = bar.call(method, path, WHO[who], body)

    assert answer.status == expected, answer
    if expected >= 400:
        assert answer.code == {401: "unauthorized", 403: "forbidden"}[expected]
        assert state_of(bar.adapters) == before, "a refused call changed something"


@pytest.mark.parametrize(("who", "status"), [("nobody", 200), ("bad token", 401), ("owner", 200), ("admin", 200)])
def test_graphql_is_public_but_refuses_a_bad_token(bar: Bar, who: str, status: int):
    answer = bar.call("POST", "/graphql", WHO[who], {"query": '{ shop(id: "main") { name } }'})
    assert answer.status == status
