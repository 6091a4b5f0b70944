"""The address `up` prints and puts in QR codes."""

from __future__ import annotations

from serverlesspresso.runtime import _default_public_url


def test_a_named_host_is_used_as_it_is() -> None:
    assert _default_public_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert _default_public_url("bar.local", 9000) == "http://bar.local:9000"
    assert _default_public_url("::1", 8000) == "http://[::1]:8000"


def test_every_interface_becomes_an_address_a_phone_can_reach() -> None:
    url = _default_public_url("0.0.0.0", 8000)
    assert url.startswith("http://") and url.endswith(":8000")
    assert "0.0.0.0" not in url  # a phone cannot open 0.0.0.0: the LAN address (or loopback without a network)
