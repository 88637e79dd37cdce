"""Validating an import's cells in bulk: each distinct cell value of a column is coerced once.

An import file repeats itself (a city, a country, a yes/no, a date, a domain name), so ``CellCoercer``
keeps, per field, what each distinct raw cell became — the stored value, or the error message — and a
million lines cost a dictionary look-up per cell for most columns. Email addresses are mostly distinct:
for them a fast path accepts the common shape (an ASCII dot-atom before the ``@``, within the length
limit) when ``email_validator`` accepts the part after the ``@``, which it checks once per distinct domain;
every other address goes through ``email_validator`` whole. The result is the same as
``field_types.coerce`` gives, value for value (``tests/services/test_imports_values.py`` compares them).
"""

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT, EMAIL_MAX_LENGTH

from webapp.models import Field
from webapp.profiles.field_types import FieldValueError, coerce, decimals_of

# Distinct values remembered per field; beyond this a column is mostly unique and the cache stops growing.
CACHE_LIMIT = 10_000
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class EmailFastPath:
    """``coerce_email`` for the common shape of address, with the domain checked once per distinct domain."""

    def __init__(self):
        self.domains: dict[str, str | None] = {}

    def __call__(self, text: str) -> str | None:
        """The normalized address, or None when only ``email_validator`` can tell (it may still be valid)."""
        local, at, domain = text.rpartition("@")
        if not at or len(text) > EMAIL_MAX_LENGTH or not text.isascii() or not DOT_ATOM_TEXT.match(local):
            return None
        if domain not in self.domains:
            try:
                checked = validate_email(f"a@{domain}", check_deliverability=False).domain
            except EmailNotValidError:
                checked = None
            if len(self.domains) < CACHE_LIMIT:
                self.domains[domain] = checked
            return f"{local}@{checked}" if checked else None
        checked = self.domains[domain]
        return f"{local}@{checked}" if checked else None


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\Z")
_PLAIN_DECIMAL = re.compile(r"-?\d{1,15}(?:\.\d{1,15})?\Z")


def _fast_date(raw: str) -> str | None:
    """A date already stored as ``coerce_date`` stores it: itself, if it exists."""
    if _ISO_DATE.match(raw):
        try:
            date.fromisoformat(raw)
        except ValueError:
            return None
        return raw
    return None


def _fast_datetime(raw: str) -> str | None:
    """A datetime already as ``coerce_datetime`` stores it (``YYYY-MM-DD HH:MM:SS``): itself, if it exists."""
    if _ISO_DATETIME.match(raw):
        try:
            datetime.fromisoformat(raw)
        except ValueError:
            return None
        return raw
    return None


def _fast_decimal(raw: str) -> int | float | None:
    """``coerce_decimal`` of a plain decimal: ``float`` rounds the text as ``float(Decimal(text))`` does."""
    if _PLAIN_DECIMAL.match(raw):
        number = float(raw)
        return int(number) if number.is_integer() else number
    return None


# Per field type: the stored value of a common, already normalised cell, or None to use ``coerce``.
FAST_PATHS: dict[str, Callable[[str], Any]] = {
    "date": _fast_date,
    "datetime": _fast_datetime,
    "decimal": _fast_decimal,
}


class CellCoercer:
    """``coerce(field.type, prepare(raw), field.options)`` per distinct raw cell, remembered.

    ``prepare`` turns a raw cell into what the field type takes (dates in a declared day/month order);
    it may raise ``FieldValueError`` like ``coerce``. Returns the stored value (None for empty) or raises
    ``FieldValueError`` with the field's name in front of the reason.
    """

    def __init__(self, field: Field, prepare: Callable[[str], str] | None = None):
        self.field = field
        self.name = field.name
        self.type = field.type
        self.options = field.options or {}
        self.prepare = prepare
        self.known: dict[str, Any] = {}
        self.pairs: dict[str, tuple[Any, str, str]] = {}
        self.member = f"{_encode(field.key)}:"
        self.email = EmailFastPath() if field.type == "email" else None
        # A decimal field with a ``decimals`` option rounds its values: ``coerce`` does that.
        self.fast = None if decimals_of(self.options) is not None else FAST_PATHS.get(field.type)

    def __call__(self, raw: str) -> Any:
        try:
            found = self.known[raw]
        except KeyError:
            found = self._coerce(raw)
            if len(self.known) < CACHE_LIMIT:
                self.known[raw] = found
        if isinstance(found, _Rejected):
            raise FieldValueError(found.reason)
        return found

    def pair(self, raw: str) -> tuple[Any, str, str]:
        """The stored value, its JSON object member (``"12":"Amsterdam"``) and that member as a new value's
        change (``"12":[null,"Amsterdam"]``), to join into the line's values and its creation event as the
        set-based path stages them; remembered like the value. Empty cells give ``(None, "", "")``."""
        try:
            return self.pairs[raw]
        except KeyError:
            pass
        value = self(raw)
        encoded = _encode(value)
        found = (
            (None, "", "") if value is None else (value, f"{self.member}{encoded}", f"{self.member}[null,{encoded}]")
        )
        if len(self.pairs) < CACHE_LIMIT:
            self.pairs[raw] = found
        return found

    def _coerce(self, raw: str) -> Any:
        if self.email is not None and (fast := self.email(raw.strip())):
            return fast
        if self.fast is not None and (fast := self.fast(raw)) is not None:
            return fast
        try:
            value = self.prepare(raw) if self.prepare is not None and raw.strip() else raw
            return coerce(self.type, value, self.options)
        except FieldValueError as error:
            return _Rejected(f"{self.name} {error}")


class _Rejected:
    """A remembered rejection (a fresh ``FieldValueError`` is raised each time, never a shared one)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason
