"""What the planner decides about an import's lines, and the line-level rules it applies: a line's result, a
profile's state within a batch, dates in a declared day/month order, and the field rules prepared once per run.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from webapp.models import (
    Field,
)
from webapp.profiles.field_types import FieldValueError

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


OTHER_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


@dataclass
class State:
    """A profile as a batch sees it: before the batch, and after the batch's lines so far."""

    id: int | None
    fields: dict[str, Any]
    interests: list[int]
    original_fields: dict[str, Any]
    original_interests: list[int]
    new: bool = False
    subprofiles: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    @property
    def saved_id(self) -> int:
        """The profile's id: a matched profile has it, a new one once its batch inserted it."""
        assert self.id is not None, "a new profile's id is read only after its batch inserted it"
        return self.id


ACTIONS = ("create", "update", "unchanged", "skip", "reject")


@dataclass
class Held:
    """A subprofile a matched profile holds, as loaded (``original``) and after the batch's lines."""

    id: int
    profile_id: int
    collection_id: int
    fields: dict[str, Any]
    original: dict[str, Any]


@dataclass
class LineResult:
    line: int
    action: str  # create | update | unchanged (matched, nothing to change) | skip (by a policy) | reject
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (column, value, reason)


class LineRejected(Exception):
    def __init__(self, errors: list[tuple[str, str, str]]):
        super().__init__(errors)
        self.errors = errors


def normalize_date(text: str, type_name: str, order: str) -> str:
    """``YYYY-MM-DD [hh:mm:ss]`` as is; ``31-12-2024``, ``12/31/2024``, ``31.12.2024 10:00`` only with a
    declared day/month order. Anything else is an error, never a silent zero date."""
    text = text.strip()
    if ISO_DATE.match(text):
        return text
    match = OTHER_DATE.match(text)
    if match and order in ("DMY", "MDY"):
        first, second, year, hour, minute, seconds = match.groups()
        day, month = (first, second) if order == "DMY" else (second, first)
        try:
            value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(seconds or 0))
        except ValueError:
            raise FieldValueError(_("is not an existing date")) from None
        if type_name == "date":
            if hour is not None:
                raise FieldValueError(_("must be a date without a time"))
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if order:
        example = "31-12-2024" if order == "DMY" else "12/31/2024"
        raise FieldValueError(_("is not a date like 2024-12-31 or %(example)s", example=example))
    raise FieldValueError(_("is not a date like 2024-12-31 (declare the day/month order for other formats)"))


@dataclass(frozen=True)
class FieldRules:
    """What ``validate_values`` checks for a list of fields, prepared once per run."""

    fields: list[Field]
    names: dict[str, str]
    defaults: list[tuple[str, Any]]
    required: list[Field]
    checked: bool  # reference or unique fields: their checks query the database, so validate_values does them

    @classmethod
    def of(cls, fields: list[Field]) -> "FieldRules":
        return cls(
            fields,
            {f.key: f.name for f in fields},
            [(f.key, f.default) for f in fields if f.default is not None],
            [f for f in fields if f.required],
            any(f.unique or f.type == "reference" for f in fields),
        )
