"""Phone numbers: strict E.164 for the protocol, forgiving typing on the command line, Cognito's mask."""

from __future__ import annotations

import pytest

from serverlesspresso.signin.phone import InvalidPhoneNumber, mask, parse_e164, parse_typed


@pytest.mark.parametrize("number", ["+14155550123", "+33612345678", "+4915112345678", "+12025550199"])
def test_valid_e164_numbers_are_kept_as_they_are(number: str) -> None:
    assert parse_e164(number) == number


@pytest.mark.parametrize(
    "raw, says",
    [
        ("14155550123", "E.164"),  # no plus
        ("+1 415 555 0123", "digits only"),
        ("+1415555012", "not a valid phone number"),  # too short for the US
        ("+15555550123", "not a valid phone number"),  # 555 is no US area code
        ("+999123", "not a phone number"),
        ("+", "not a phone number"),
        ("", "E.164"),
        ("+1abc", "not a phone number"),
    ],
)
def test_anything_else_is_refused_with_a_human_message(raw: str, says: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match=says) as refused:
        parse_e164(raw)
    assert "e.g. +14155550123" in str(refused.value) or "country code" in str(refused.value)


def test_messages_never_repeat_the_whole_number() -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        parse_e164("+1 202 555 0199")
    assert "2025550199" not in str(refused.value) and "+*******0199" in str(refused.value)


def test_typed_numbers_may_have_spaces_dashes_and_brackets() -> None:
    assert parse_typed(" +1 (415) 555-0123 ") == "+14155550123"
    assert parse_typed("+33 6.12.34.56.78") == "+33612345678"
    with pytest.raises(InvalidPhoneNumber):
        parse_typed("415 555 0123")


def test_mask_keeps_the_plus_and_the_last_four_digits() -> None:
    assert mask("+14155554567") == "+*******4567"
    assert mask("+4915112345678") == "+*********5678"
