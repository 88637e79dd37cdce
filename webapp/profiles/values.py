"""Validation of a write against field definitions, shared by profiles and subprofiles.

Input is keyed by field name (as every door speaks it: forms, SOAP, imports); stored values are keyed by
field id. Every problem is collected and reported per field name; nothing is stored when any is found.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Profile
from webapp.platform.errors import ValidationError
from webapp.profiles.database_config import FieldLike
from webapp.profiles.field_expressions import dialect_name, match_value
from webapp.profiles.field_types import FieldValueError, coerce, get_field_type


class InterestLike(Protocol):
    """An interest or a snapshot of one (``widgets.definition.InterestSnapshot``): what matching reads."""

    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


def validate_values(
    account: Account,
    fields: Sequence[FieldLike],
    values: dict[str, Any],
    current: dict[str, Any] | None,
    *,
    holder_id: int | None = None,
) -> dict[str, Any]:
    """Return the new stored JSON (``current`` updated with ``values``); ``current=None`` means create."""
    rules = FieldRules.of(fields)
    coerced, errors = rules.coerce(values)
    return rules.merge(account, coerced, current, holder_id=holder_id, errors=errors)


@dataclass(frozen=True, eq=False)
class FieldRules:
    """``validate_values`` for a list of fields in its two halves, prepared once for many rows: ``coerce`` (each
    value by its field's type) and ``merge`` (over the current values, with the rules checked).

    A writer that needs a row's coerced values before it knows the row's target (the batch upsert's key
    fields) coerces once and merges per target. A writer of many rows (the batch upsert) prepares the rules
    once: then a row costs a look-up per value it has and a check per field that has a rule (a default,
    required, a reference, unique), not a pass over every field of the database for each rule. The single
    writes prepare them per call (``validate_values``): it is the same code.
    """

    by_name: dict[str, FieldLike]
    defaults: tuple[tuple[str, Any], ...]
    required: tuple[FieldLike, ...]
    references: tuple[FieldLike, ...]
    unique: tuple[FieldLike, ...]

    @classmethod
    def of(cls, fields: Sequence[FieldLike]) -> "FieldRules":
        return cls(
            by_name={field.name.lower(): field for field in fields},
            defaults=tuple((field.key, field.default) for field in fields if field.default is not None),
            required=tuple(field for field in fields if field.required),
            references=tuple(field for field in fields if field.type == "reference"),
            unique=tuple(field for field in fields if field.unique),
        )

    def coerce(self, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Each value coerced by its field's type, keyed by field key (``None`` clears the field), and the
        problems by field name."""
        coerced: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name, value in values.items():
            field = self.by_name.get(str(name).lower())
            if field is None:
                errors[str(name)] = _("There is no field named %(name)s.", name=name)
                continue
            try:
                coerced[field.key] = coerce(field.type, value, field.options)
            except FieldValueError as error:
                errors[field.name] = f"{field.name} {error}"
        return coerced, errors

    def merge(
        self,
        account: Account,
        coerced: dict[str, Any],
        current: dict[str, Any] | None,
        *,
        holder_id: int | None = None,
        errors: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``coerce``'s result over ``current`` (``None``: create), with defaults, required fields, references and
        unique values checked; raises with ``errors`` (the coercion's problems) and these together."""
        stored = dict(current or {})
        errors = dict(errors or {})
        for key, value in coerced.items():
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = value
        if current is None:
            for key, default in self.defaults:
                stored.setdefault(key, default)
        for field in self.required:
            if stored.get(field.key) is None and field.name not in errors:
                errors[field.name] = _("%(name)s is required.", name=field.name)
        if self.references:
            errors.update(_check_references(account, self.references, stored, errors))
        if self.unique:
            errors.update(_check_unique(self.unique, stored, current or {}, holder_id, errors))
        if errors:
            raise ValidationError(errors)
        return stored


def _check_references(account: Account, fields: Sequence[FieldLike], stored: dict, errors: dict) -> dict[str, str]:
    """Problems of the reference ``fields`` (the fields of type reference) in ``stored``."""
    problems = {}
    for field in fields:
        value = stored.get(field.key)
        if value is None or field.name in errors:
            continue
        target = db.session.get(Profile, value)
        if target is None or target.account_id != account.id or target.database_id != field.options.get("database_id"):
            problems[field.name] = _(
                "%(name)s refers to profile %(id)s, which does not exist.", name=field.name, id=value
            )
    return problems


def _check_unique(
    fields: Sequence[FieldLike], stored: dict, current: dict, holder_id: int | None, errors: dict
) -> dict:
    """Problems of the unique ``fields`` (the fields marked unique) in ``stored``."""
    problems = {}
    dialect = dialect_name()
    for field in fields:
        value = stored.get(field.key)
        if value is None or field.name in errors or value == current.get(field.key):
            continue
        query = select(Profile.id).where(
            Profile.database_id == field.database_id, match_value(field, dialect) == match_literal(field, value)
        )
        if holder_id is not None:
            query = query.where(Profile.id != holder_id)
        if db.session.scalar(query.limit(1)) is not None:
            problems[field.name] = _("Another profile already has %(value)s as %(name)s.", value=value, name=field.name)
    return problems


def match_literal(field: FieldLike, stored: Any) -> str:
    """A stored value as ``match_value`` of its field compares it: text lower-cased, the rest as text."""
    text = str(stored)
    return text.lower() if get_field_type(field.type).sort_as == "text" else text


def validate_interests(interests: Sequence[InterestLike], changes: dict[Any, bool], current: list[int]) -> list[int]:
    """Apply ``{name or id: on}`` to the current interest ids; unknown names are an error."""
    by_key: dict[Any, InterestLike] = {}
    for interest in interests:
        by_key[interest.id] = interest
        by_key[str(interest.id)] = interest
        by_key[interest.name.lower()] = interest
    result = set(current or [])
    errors: dict[str, str] = {}
    for key, on in changes.items():
        found = by_key.get(key.lower() if isinstance(key, str) and not key.isdigit() else key)
        if found is None:
            errors[str(key)] = _("There is no interest named %(name)s.", name=key)
        elif on:
            result.add(found.id)
        else:
            result.discard(found.id)
    if errors:
        raise ValidationError(errors)
    return sorted(result)


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list]:
    """``{key: [old, new]}`` for every key whose value differs."""
    keys = sorted(old.keys() | new.keys(), key=lambda key: (len(key), key))  # field ids in numeric order
    return {key: [old.get(key), new.get(key)] for key in keys if old.get(key) != new.get(key)}


def interests_diff(old: list[int], new: list[int]) -> dict[str, list[bool]]:
    before, after = set(old or []), set(new or [])
    return {str(i): [i in before, i in after] for i in sorted(before ^ after)}
