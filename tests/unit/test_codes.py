"""Unit tests for QR code windows and codes (chalicelib.domain.codes), and codes as the API decodes them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.codes import MAX_CODE_LENGTH, CodeWindow, check_code, new_code, window_id_at
from chalicelib.domain.errors import InvalidCode, ValidationError
from chalicelib.handlers import decoders as decode

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


# ----- window_id_at -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "epoch, interval, expected",
    [
        (0, 300, 0),
        (299, 300, 0),
        (299.999, 300, 0),
        (300, 300, 1),
        (301.5, 300, 1),
        (1_700_000_000, 300, 5_666_666),
        (1_700_000_000, 10, 170_000_000),
        (-1, 300, -1),
    ],
)
def test_window_id_at(epoch, interval, expected):
    assert window_id_at(epoch, interval) == expected
    assert isinstance(window_id_at(epoch, interval), int)


@settings(max_examples=200, deadline=None)
@given(
    epoch=st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False, allow_infinity=False),
    interval=st.integers(min_value=10, max_value=86_400),
)
def test_the_window_at_a_time_contains_that_time(epoch, interval):
    window = CodeWindow("shop-1", window_id_at(epoch, interval), interval, "code", 10)
    assert window.valid_from <= epoch < window.valid_until
    assert window.valid_until - window.valid_from == interval


@settings(max_examples=200, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=4_102_444_800),
    later=st.integers(min_value=0, max_value=10**6),
    interval=st.integers(min_value=10, max_value=86_400),
)
def test_window_ids_never_go_backwards(start, later, interval):
    assert window_id_at(start + later, interval) >= window_id_at(start, interval)


# ----- CodeWindow ---------------------------------------------------------------------------------


def test_code_window_bounds_are_aligned_to_the_epoch():
    window = CodeWindow(shop_id="shop-1", window_id=5_666_666, interval_seconds=300, code="abc", remaining=10)
    assert window.valid_from == 1_699_999_800
    assert window.valid_until == 1_700_000_100
    assert window.valid_until == CodeWindow("shop-1", 5_666_667, 300, "xyz", 1).valid_from


def test_valid_until_iso_is_utc_iso_8601():
    window = CodeWindow("shop-1", 5_666_666, 300, "abc", 10)
    assert window.valid_until_iso() == "2023-11-14T22:15:00+00:00"
    parsed = datetime.fromisoformat(window.valid_until_iso())
    assert parsed.tzinfo is not None and parsed.utcoffset().total_seconds() == 0
    assert parsed == datetime.fromtimestamp(window.valid_until, tz=UTC)


def test_code_window_is_immutable():
    window = CodeWindow("shop-1", 1, 300, "abc", 10)
    with pytest.raises(AttributeError):
        window.remaining = 9  # type: ignore[misc]


# ----- new_code -----------------------------------------------------------------------------------


def test_new_code_is_12_url_safe_characters():
    for _ in range(50):
        code = new_code()
        assert len(code) == 12
        assert URL_SAFE.match(code)


def test_new_codes_are_unique():
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500


def test_a_new_code_survives_parse_code():
    code = new_code()
    assert parse_code({"code": code}) == code


# ----- check_code, and a code as `POST /shops/{id}/orders` decodes it ---------------------------------


def parse_code(body: object) -> str:
    return decode.place_order("main", json.dumps(body).encode()).code


def test_check_code_bounds():
    check_code("c" * MAX_CODE_LENGTH)
    with pytest.raises(InvalidCode):
        check_code("c" * (MAX_CODE_LENGTH + 1))
    with pytest.raises(ValidationError):
        check_code("")


def test_parse_code_strips_whitespace():
    assert parse_code({"code": "  abc123 \n"}) == "abc123"


def test_parse_code_accepts_64_characters():
    assert parse_code({"code": "c" * 64}) == "c" * 64
    assert parse_code({"code": "  " + "c" * 64 + "  "}) == "c" * 64


def test_parse_code_rejects_longer_codes_as_invalid_code():
    with pytest.raises(InvalidCode) as excinfo:
        parse_code({"code": "c" * 65})
    assert excinfo.value.code == "invalid_code"
    assert excinfo.value.status == 400


@pytest.mark.parametrize(
    "body",
    [None, "abc", ["abc"], {}, {"code": None}, {"code": 123}, {"code": ""}, {"code": "   "}, {"qr": "abc"}],
)
def test_parse_code_rejects_malformed_bodies(body):
    with pytest.raises(ValidationError) as excinfo:
        parse_code(body)
    assert excinfo.value.code == "validation_error"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=64).filter(lambda s: s.strip()))
def test_parse_code_returns_the_stripped_code(raw):
    assert parse_code({"code": raw}) == raw.strip()
