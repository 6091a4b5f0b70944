"""What `up` answers itself on the API's port: the apps' config, their pages, and bodies it refuses."""

from __future__ import annotations

import socket

import requests

from tests.support.stack import Stack


def test_the_apps_runtime_config_points_at_this_origin(stack: Stack) -> None:
    config = requests.get(f"{stack.base}/config.json", timeout=10).json()
    assert config["apiUrl"] == "" and config["mqttUrl"] == ""  # "this page's origin", whatever address it was
    assert config["auth"] == {
        "userPoolId": "local_serverlesspresso",
        "userPoolClientId": "serverlesspresso",
        "userPoolEndpoint": "/cognito",
    }


def test_the_qr_codes_address_opens_the_order_app(stack: Stack) -> None:
    from serverlesspresso.identity import LocalIdentityProvider

    admin = LocalIdentityProvider(stack.data_dir).issue("routes-admin", admin=True)
    code = requests.get(f"{stack.base}/shops/default/code", headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    order_url = code.json()["orderUrl"]
    assert order_url.startswith(f"{stack.base}/order?shop=default&code=")
    page = requests.get(order_url, timeout=10)
    assert page.status_code in (200, 503)  # 503: web/dist not built, with a page saying so
    assert page.headers["Content-Type"].startswith("text/html")


def raw_request(stack: Stack, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as connection:
        connection.sendall(head)
        return connection.recv(4096)


def test_a_local_route_refuses_a_bad_or_huge_body_without_reading_it(stack: Stack) -> None:
    huge = raw_request(stack, b"POST /cognito HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
    assert huge.startswith(b"HTTP/1.0 413") or huge.startswith(b"HTTP/1.1 413"), huge[:80]
    bad = raw_request(stack, b"POST /cognito HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n")
    assert bad.split(b" ", 2)[1] == b"400", bad[:80]
