"""Phone numbers: E.164 validation (the `phonenumbers` library) and the masked form shown and logged."""

from __future__ import annotations

import re

import phonenumbers

EXAMPLE = "+14155550123"
_TYPING = re.compile(r"[\s().\-]")


class InvalidPhoneNumber(ValueError):
    pass


def parse_e164(raw: str) -> str:
    """The number itself when `raw` is a valid phone number written in E.164 (`+`, country code, number)."""
    if not raw.startswith("+"):
        raise InvalidPhoneNumber(
            f"The phone number must be in E.164 format: a + then the country code and the number, e.g. {EXAMPLE}."
        )
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(f"That is not a phone number: write it in E.164 format, e.g. {EXAMPLE}.") from None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if raw != e164:
        raise InvalidPhoneNumber(
            f"The phone number must be in E.164 format, digits only after the +, e.g. {EXAMPLE} "
            f"(this one would be {mask(e164)})."
        )
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(
            f"{mask(e164)} is not a valid phone number for its country code (+{number.country_code})."
        )
    return e164


def parse_typed(raw: str) -> str:
    """As `parse_e164`, forgiving the spaces, dashes, dots and brackets people type on a command line."""
    return parse_e164(_TYPING.sub("", raw.strip()))


def mask(phone: str) -> str:
    """Cognito's CODE_DELIVERY_DESTINATION: the plus, then stars, then the last four digits."""
    digits = phone.lstrip("+")
    return "+" + "*" * max(0, len(digits) - 4) + digits[-4:]
