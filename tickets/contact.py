"""A resident's number for a call back (回电), checked and kept in one form."""

from __future__ import annotations

import phonenumbers

from tickets.errors import InvalidInput

REGION = "CN"  # a number without a country code is a mainland one


def check_phone(text: str) -> str:
    """The number in E.164 form (+8613800138000), or InvalidInput(reason="bad_phone") for
    anything that is not a valid mobile or landline number. The error never quotes the text."""
    try:
        number = phonenumbers.parse(text.strip()[:40], REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput("not a phone number", field="phone", reason="bad_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shown_phone(phone: str) -> str:
    """The stored number as people dial it: a mainland number in national form."""
    try:
        number = phonenumbers.parse(phone, REGION)
    except phonenumbers.NumberParseException:
        return phone
    if number.country_code == 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
