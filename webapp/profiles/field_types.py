"""The registry of field types: how each one validates and coerces a value before it is stored.

``coerce(field_type, value, options)`` returns the JSON value to store (``None`` for empty) or raises
``FieldValueError`` with a message for the user. Stored forms are chosen to sort and compare well:
dates as ``YYYY-MM-DD``, datetimes as ``YYYY-MM-DD HH:MM:SS``, phones in E.164, countries as ISO 3166-1
alpha-2, decimals as JSON numbers (rounded half up to the field's ``decimals`` option when it has one).

``format_value(field, value)`` is a stored value as it leaves the product (exports, admin pages, REST, SOAP,
personalisation, callbacks, the import preview): a decimal with a ``decimals`` option keeps its scale there
(``499.00``); everything else is the stored value itself. Sorting and comparisons use the stored number.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any, Protocol

import phonenumbers
import pycountry
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l


class FieldValueError(ValueError):
    """A value that does not fit its field; the message names the problem, the caller names the field."""


@dataclass(frozen=True)
class FieldType:
    name: str
    label: Any
    coerce: Callable[[Any, dict], Any]
    # How an expression index and a sort compare stored values: "text", "number" or "raw"
    sort_as: str = "text"


DEFAULT_TEXT_LENGTH = 255
LARGE_TEXT_LENGTH = 65535


def _as_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise FieldValueError(_l("must be text"))
    text = str(value).strip()
    if "\x00" in text:
        # PostgreSQL stores no zero byte in text or JSON; it would fail the whole write, not just this value.
        raise FieldValueError(_l("contains a zero byte (NUL character), which cannot be stored"))
    return text


def coerce_text(value: Any, options: dict) -> str:
    text = _as_text(value)
    limit = int(options.get("length") or DEFAULT_TEXT_LENGTH)
    if len(text) > limit:
        raise FieldValueError(_l("is longer than %(limit)s characters", limit=limit))
    if "\n" in text or "\r" in text:
        raise FieldValueError(_l("must be a single line (use a large text field for more)"))
    return text


def coerce_large_text(value: Any, options: dict) -> str:
    text = _as_text(value)
    if len(text) > LARGE_TEXT_LENGTH:
        raise FieldValueError(_l("is longer than %(limit)s characters", limit=LARGE_TEXT_LENGTH))
    return text.replace("\r\n", "\n")


# The common shape of an address, which ``validate_email`` accepts and normalises by lower-casing the domain
# alone: an ASCII dot-atom local part of these characters, a domain of letter-digit-hyphen labels (no "--", so
# no IDNA) ending in an alphabetic top-level label. Anything else goes through ``validate_email`` itself.
# tests/services/test_field_types.py compares both on many generated addresses.
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_+=-]+(?:\.[A-Za-z0-9_+=-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def _plain_email(text: str) -> str | None:
    """``validate_email(text).normalized`` for an address of the common shape; ``None`` for any other."""
    if len(text) > 254 or "--" in text or not _PLAIN_EMAIL.fullmatch(text):
        return None
    local, _, domain = text.partition("@")
    domain = domain.lower()
    labels = domain.split(".")
    if len(local) > 64 or any(".".join(labels[start:]) in _SPECIAL_USE for start in range(len(labels))):
        return None
    return f"{local}@{domain}"


def coerce_email(value: Any, options: dict) -> str:
    text = _as_text(value)
    plain = _plain_email(text)
    if plain is not None:
        return plain
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise FieldValueError(_l("is not a valid email address, like name@example.com")) from None


def coerce_phone(value: Any, options: dict) -> str:
    text = _as_text(value)
    region = options.get("region") or None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        if region is None and not text.startswith(("+", "00")):
            raise FieldValueError(_l("must be an international number, like +31 20 123 4567")) from None
        raise FieldValueError(_l("is not a phone number")) from None
    if not phonenumbers.is_possible_number(number):
        raise FieldValueError(_l("is not a possible phone number"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_INTEGER = re.compile(r"^[+-]?\d+$")
# Far beyond any count, amount or id, far below Python's int digit limit (4,300 digits, a plain ValueError):
# a longer number is a field error in every door, never a crash.
MAX_NUMBER_DIGITS = 30
MAX_DECIMAL_LENGTH = 100
# The ``decimals`` option of a decimal field: digits after the point, kept on the way out.
MAX_DECIMALS = 10


def decimals_of(options: dict | None) -> int | None:
    """The ``decimals`` option of a decimal field (0–10), or None: keep the number as it was given."""
    raw = (options or {}).get("decimals")
    if raw is None or raw == "" or isinstance(raw, bool):
        return None
    return int(raw)


# Every digit of a finite float (at most 309 before the point) plus the decimals: a quantize never overflows.
_SCALE_PRECISION = 309 + MAX_DECIMALS + 2


def _scaled(number: Decimal, decimals: int) -> Decimal:
    """``number`` rounded half up to ``decimals`` digits after the point (with room for every digit we accept)."""
    with localcontext() as context:
        context.prec = _SCALE_PRECISION
        return number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def coerce_number(value: Any, options: dict) -> int:
    if isinstance(value, bool):
        raise FieldValueError(_l("must be a whole number"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        if len(value.strip().lstrip("+-")) > MAX_NUMBER_DIGITS:
            raise FieldValueError(_l("is too long: at most %(count)s digits", count=MAX_NUMBER_DIGITS))
        value = int(value.strip())
    if isinstance(value, int):
        if abs(value) >= 10**MAX_NUMBER_DIGITS:
            raise FieldValueError(_l("is too long: at most %(count)s digits", count=MAX_NUMBER_DIGITS))
        return value
    raise FieldValueError(_l("must be a whole number"))


def coerce_decimal(value: Any, options: dict) -> int | float:
    if isinstance(value, bool):
        raise FieldValueError(_l("must be a number"))
    if isinstance(value, int) and abs(value) >= 10**MAX_DECIMAL_LENGTH:  # str() of it could raise ValueError
        raise FieldValueError(_l("is too long: at most %(count)s characters", count=MAX_DECIMAL_LENGTH))
    text = str(value).strip() if isinstance(value, str | int | float | Decimal) else ""
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    if len(text) > MAX_DECIMAL_LENGTH:
        raise FieldValueError(_l("is too long: at most %(count)s characters", count=MAX_DECIMAL_LENGTH))
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FieldValueError(_l("must be a number")) from None
    if not number.is_finite():
        raise FieldValueError(_l("must be a number"))
    if math.isinf(float(number)):
        raise FieldValueError(_l("is too large"))
    decimals = decimals_of(options)
    if decimals is not None:
        number = _scaled(number, decimals)
    stored = float(number)
    if math.isinf(stored):
        raise FieldValueError(_l("is too large"))
    return int(stored) if stored.is_integer() and abs(stored) < 2**53 else stored


def coerce_date(value: Any, options: dict) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _as_text(value)
    try:
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise FieldValueError(_l("must be a date like 2024-12-31")) from None


def coerce_datetime(value: Any, options: dict) -> str:
    if not isinstance(value, datetime):
        text = _as_text(value)
        if not re.match(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$", text):
            raise FieldValueError(_l("must be a date and time like 2024-12-31 23:59:00"))
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise FieldValueError(_l("must be a date and time like 2024-12-31 23:59:00")) from None
    return value.replace(microsecond=0, tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")


def coerce_country(value: Any, options: dict) -> str:
    text = _as_text(value)
    country = None
    if len(text) == 2:
        country = pycountry.countries.get(alpha_2=text.upper())
    elif len(text) == 3:
        country = pycountry.countries.get(alpha_3=text.upper())
    if country is None:
        try:
            country = pycountry.countries.lookup(text)
        except LookupError:
            raise FieldValueError(_l("is not an ISO 3166 country code, like NL")) from None
    return country.alpha_2


def coerce_choice(value: Any, options: dict) -> str | list[str]:
    choices = [str(choice) for choice in options.get("choices") or []]
    by_folded = {choice.casefold(): choice for choice in choices}

    def one(item: Any) -> str:
        text = _as_text(item)
        if text not in choices and text.casefold() not in by_folded:
            raise FieldValueError(_l("must be one of: %(choices)s", choices=", ".join(choices)))
        return text if text in choices else by_folded[text.casefold()]

    if options.get("multiple"):
        items = value if isinstance(value, list | tuple) else [v for v in _as_text(value).split(",") if v.strip()]
        picked = {one(item) for item in items}
        return [choice for choice in choices if choice in picked]
    if isinstance(value, list | tuple):
        raise FieldValueError(_l("takes one choice"))
    return one(value)


def coerce_reference(value: Any, options: dict) -> int:
    """Shape only: that the profile exists in the referenced database is checked by the profiles service."""
    try:
        number = coerce_number(value, options)
    except FieldValueError:
        raise FieldValueError(_l("must be the id of a profile")) from None
    if number <= 0:
        raise FieldValueError(_l("must be the id of a profile"))
    return number


FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        FieldType("text", _l("Text"), coerce_text),
        FieldType("email", _l("Email address"), coerce_email),
        FieldType("phone", _l("Phone number"), coerce_phone),
        FieldType("number", _l("Whole number"), coerce_number, sort_as="number"),
        FieldType("decimal", _l("Decimal number"), coerce_decimal, sort_as="number"),
        FieldType("date", _l("Date"), coerce_date, sort_as="raw"),
        FieldType("datetime", _l("Date and time"), coerce_datetime, sort_as="raw"),
        FieldType("country", _l("Country code (ISO 3166)"), coerce_country, sort_as="raw"),
        FieldType("choice", _l("Multiple choice"), coerce_choice),
        FieldType("large_text", _l("Large text"), coerce_large_text),
        FieldType("reference", _l("Reference to a profile"), coerce_reference, sort_as="number"),
    )
}


def get_field_type(name: str) -> FieldType:
    try:
        return FIELD_TYPES[name]
    except KeyError:
        raise FieldValueError(_l("unknown field type %(name)s", name=name)) from None


class _Typed(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def options(self) -> dict[str, Any]: ...


def format_value(field: _Typed, value: Any) -> Any:
    """A stored value as it leaves the product. A decimal field with a ``decimals`` option gives the text of the
    number with exactly that many digits after the point (``499`` stored, ``"499.00"`` out); any other value,
    and an empty one, is returned as stored."""
    if field.type != "decimal" or isinstance(value, bool) or not isinstance(value, int | float):
        return value
    decimals = decimals_of(field.options)
    if decimals is None or (isinstance(value, float) and not math.isfinite(value)):
        return value
    return f"{_scaled(Decimal(str(value)), decimals):f}"


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def coerce(type_name: str, value: Any, options: dict) -> Any:
    """Validate and coerce one value; empty input becomes ``None``."""
    if is_empty(value):
        return None
    return get_field_type(type_name).coerce(value, options or {})
