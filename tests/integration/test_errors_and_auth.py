"""Every error code of the REST contract, from the running stack, and proof that refused requests change nothing."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from serverlesspresso.identity import AUDIENCE, ISSUER
from tests.support.stack import Api, error_code, new_customer, queued_order


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "someone",
        "cognito:username": "someone",
        "cognito:groups": ["admin"],
        "token_use": "id",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    return claims


def _signed_by_us(api: Api, **overrides: object) -> str:
    kid = api.identity.jwks()["keys"][0]["kid"]
    return jwt.encode(_claims(**overrides), api.identity.private_key_path.read_bytes(), "RS256", headers={"kid": kid})


@pytest.mark.parametrize(
    "describe",
    ["no token", "garbage", "foreign key", "expired", "wrong issuer", "wrong audience", "access token", "not bearer"],
)
def test_bad_credentials_are_401_and_change_nothing(api: Api, describe: str) -> None:
    kid = api.identity.jwks()["keys"][0]["kid"]
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = {
        "no token": None,
        "garbage": "not-a-jwt",
        "foreign key": jwt.encode(_claims(), foreign, "RS256", headers={"kid": kid}),
        "expired": _signed_by_us(api, exp=int(time.time()) - 5),
        "wrong issuer": _signed_by_us(api, iss="https://evil.example"),
        "wrong audience": _signed_by_us(api, aud="someone-else"),
        "access token": _signed_by_us(api, token_use="access"),
    }
    shop_id = f"never-{int(time.time() * 1000)}"
    if describe == "not bearer":
        response = api.session.post(
            f"{api.stack.base}/shops",
            headers={"Authorization": "Basic abc", "Content-Type": "application/json"},
            json={"shopId": shop_id, "name": "x"},
        )
    else:
        response = api.call("POST", "/shops", tokens[describe], {"shopId": shop_id, "name": "x"})
    assert response.status_code == 401, response.text
    assert error_code(response) == "unauthorized"
    assert response.json()["error"]["message"]
    shop = api.gql("query($s: ID!) { shop(id: $s) { name } }", {"s": shop_id})
    assert shop["data"]["shop"] is None


def test_graphql_rejects_a_bad_token_with_401(api: Api) -> None:
    response = api.call("POST", "/graphql", "not-a-jwt", {"query": '{ board(shopId: "default") { waiting } }'})
    assert response.status_code == 401 and error_code(response) == "unauthorized"


def test_jwks_is_served_for_verifiers(api: Api) -> None:
    keys = api.session.get(f"{api.stack.base}/.well-known/jwks.json", timeout=5).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and "d" not in keys[0]


def test_customers_cannot_run_admin_commands(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    for method, path, body in [
        ("POST", "/shops", {"shopId": "mine", "name": "Mine"}),
        ("PUT", f"/shops/{shop_id}/store", {"open": False}),
        ("PUT", f"/shops/{shop_id}/menu", {"drinks": [{"name": "Tea", "available": True, "modifiers": []}]}),
        ("PATCH", f"/shops/{shop_id}/settings", {"drinksPerCode": 99}),
        ("GET", f"/shops/{shop_id}/code", None),
    ]:
        response = api.call(method, path, customer, body)
        assert response.status_code == 403 and error_code(response) == "forbidden", (method, path, response.text)
    shop = api.gql("query($s: ID!) { shop(id: $s) { open settings { drinksPerCode } menu { name } } }", {"s": shop_id})
    assert shop["data"]["shop"]["open"] is True
    assert shop["data"]["shop"]["settings"]["drinksPerCode"] == 10
    assert "Tea" not in [d["name"] for d in shop["data"]["shop"]["menu"]]


def test_customers_cannot_run_barista_commands(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id, _ = queued_order(api, shop_id, customer, admin)
    for action in ("claim", "unclaim", "complete"):
        response = api.call("POST", f"/orders/{order_id}/{action}", customer)
        assert response.status_code == 403 and error_code(response) == "forbidden", action
    stranger = api.call("POST", f"/orders/{order_id}/cancel", new_customer(api))
    assert stranger.status_code == 403 and error_code(stranger) == "forbidden"
    assert api.call("GET", f"/orders/{order_id}", customer).json()["state"] == "QUEUED"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/shops/nope/store", {"open": True}),
        ("GET", "/shops/nope/code", None),
        ("POST", "/orders/nope/claim", None),
        ("GET", "/orders/nope", None),
    ],
)
def test_unknown_things_are_404(api: Api, admin: str, method: str, path: str, body: object) -> None:
    response = api.call(method, path, admin, body)
    assert response.status_code == 404 and error_code(response) == "not_found"


@pytest.mark.parametrize(
    ("path", "body", "raw"),
    [
        ("/shops", None, "{not json"),
        ("/shops", {"shopId": "Bad Id!", "name": "x"}, None),
        ("/shops", {"shopId": "ok-id"}, None),
        ("/shops/{shop}/settings", {"drinksPerCode": 0}, None),
        ("/shops/{shop}/settings", {"colour": 1}, None),
        ("/shops/{shop}/store", {"open": "yes"}, None),
        ("/shops/{shop}/menu", {"drinks": []}, None),
    ],
)
def test_malformed_requests_are_validation_errors(
    api: Api, admin: str, path: str, body: object, raw: str | None
) -> None:
    shop_id = api.new_shop(admin)
    method = {"/shops": "POST", "/shops/{shop}/settings": "PATCH"}.get(path, "PUT")
    response = api.call(method, path.replace("{shop}", shop_id), admin, body, raw=raw)
    assert response.status_code == 400, response.text
    assert error_code(response) == "validation_error"
    shop = api.gql("query($s: ID!) { shop(id: $s) { open settings { drinksPerCode } } }", {"s": shop_id})
    assert shop["data"]["shop"] == {"open": True, "settings": {"drinksPerCode": 10}}


def test_duplicate_shop_is_refused(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    again = api.call("POST", "/shops", admin, {"shopId": shop_id, "name": "Again"})
    assert again.status_code == 409 and error_code(again) == "already_exists"


def test_code_errors(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin, drinksPerCode=1)
    customer = new_customer(api)
    wrong = api.call("POST", f"/shops/{shop_id}/orders", customer, {"code": "guessed-code"})
    assert wrong.status_code == 400 and error_code(wrong) == "invalid_code"
    missing = api.call("POST", f"/shops/{shop_id}/orders", customer, {})
    assert missing.status_code == 400 and error_code(missing) == "validation_error"
    code = api.code(shop_id, admin)
    assert api.call("POST", f"/shops/{shop_id}/orders", customer, {"code": code}).status_code == 201
    again = api.call("POST", f"/shops/{shop_id}/orders", customer, {"code": code})
    assert again.status_code == 409 and error_code(again) == "code_already_used"
    exhausted = api.call("POST", f"/shops/{shop_id}/orders", new_customer(api), {"code": code})
    assert exhausted.status_code == 409 and error_code(exhausted) == "code_exhausted"
    assert api.call("GET", f"/shops/{shop_id}/code", admin).json()["remaining"] == 0


def test_daily_limit_applies_to_customers_not_admins(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin, codeIntervalSeconds=10)
    customer = new_customer(api)
    first = api.place(shop_id, customer, admin)
    api.call("PUT", f"/orders/{first}/drink", customer, {"drink": "Espresso"})
    time.sleep(10 - time.time() % 10 + 0.2)  # the next code window
    limited = api.call("POST", f"/shops/{shop_id}/orders", customer, {"code": api.code(shop_id, admin)})
    assert limited.status_code == 429 and error_code(limited) == "daily_limit_reached"
    barista = api.token("thirsty-barista", admin=True)
    assert api.call("POST", f"/shops/{shop_id}/orders", barista, {"code": api.code(shop_id, admin)}).status_code == 201


def test_drink_errors_and_guards(api: Api, admin: str) -> None:
    shop_id = api.new_shop(admin)
    customer = new_customer(api)
    order_id = api.place(shop_id, customer, admin)
    for body in (
        {"drink": "Mocha"},
        {"drink": "Latte"},  # on the menu but not available
        {"drink": "Americano", "modifiers": {"Milk": "Goat"}},
        {"drink": "Americano", "modifiers": {"Sugar": "Lots"}},
    ):
        response = api.call("PUT", f"/orders/{order_id}/drink", customer, body)
        assert response.status_code == 400 and error_code(response) == "invalid_drink", body
    malformed = api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": 7})
    assert malformed.status_code == 400 and error_code(malformed) == "validation_error"
    assert api.call("GET", f"/orders/{order_id}", customer).json()["state"] == "WAITING_FOR_DRINK"
    not_yours = api.call("PUT", f"/orders/{order_id}/drink", new_customer(api), {"drink": "Espresso"})
    assert not_yours.status_code == 403 and error_code(not_yours) == "forbidden"
    assert api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Espresso"}).status_code == 200
    change = api.call("PUT", f"/orders/{order_id}/drink", customer, {"drink": "Americano"})
    assert change.status_code == 409 and error_code(change) == "invalid_state"
    assert api.call("GET", f"/orders/{order_id}", customer).json()["drink"] == "Espresso"
