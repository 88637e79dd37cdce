"""Upserting a batch of profiles matched on key fields: the REST batch endpoint's rule, one transaction.

Each row's values are validated like any profile write (``values.validate_values``); a row whose key fields
match stored profiles updates every one of them, a row that matches none creates one. Rows with the same key
in one batch apply in order to the same profile. Any invalid row refuses the whole batch, naming the row and
the field, and nothing is stored.

The writes go through the bulk paths, not a loop of single writes: the matches are found with one query
(``match_value`` of the first key field, ``IN`` the batch's keys), the updates are one UPDATE and one event
INSERT (``bulk_writes.write_changes``, PostgreSQL; SQLite, the embedded default, writes them one by one), and
the new profiles and their ``profile_created`` events are Core inserts (``profiles.insert_new_profiles``).
"""

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Field, Profile
from webapp.platform.errors import ValidationError
from webapp.profiles import bulk_writes, profiles
from webapp.profiles.databases import get_database
from webapp.profiles.events import Origin
from webapp.profiles.field_expressions import dialect_name, match_value, sort_literal, sort_value
from webapp.profiles.field_types import FieldValueError, coerce
from webapp.profiles.values import match_literal, validate_values

MAX_ROWS = 1000


@dataclass(frozen=True)
class BatchResult:
    created: int
    updated: int
    unchanged: int


def upsert_profiles(
    account: Account, database_id: int, rows: list[dict[str, Any]], key_fields: list[str], *, origin: Origin
) -> BatchResult:
    """Create or update each row's profile, matched on ``key_fields`` (field names), all or nothing."""
    database = get_database(account, database_id)
    keys = _key_fields(database.fields, key_fields)
    if not rows or len(rows) > MAX_ROWS:
        raise ValidationError({"profiles": _("Send 1 to %(max)s profiles.", max=MAX_ROWS)})
    coerced = [_key_values(keys, row, number) for number, row in enumerate(rows)]
    wanted = [tuple(match_literal(f, v) for f, v in zip(keys, values, strict=True)) for values in coerced]
    matches = _matches(account, database.id, keys, [values[0] for values in coerced])
    new: dict[tuple, dict[str, Any]] = {}  # key → stored values of a profile to create
    pending: dict[int, dict[str, Any]] = {}  # profile id → its stored values after the rows so far
    errors: dict[str, str] = {}
    for number, (row, key) in enumerate(zip(rows, wanted, strict=True)):
        try:
            if key in matches:
                for profile in matches[key]:
                    current = pending.get(profile.id, profile.fields)
                    pending[profile.id] = validate_values(account, database.fields, row, current, holder_id=profile.id)
            else:
                new[key] = validate_values(account, database.fields, row, new.get(key))
        except ValidationError as error:
            errors.update({f"profiles[{number}].{name or 'fields'}": message for name, message in error.errors.items()})
    if errors:
        db.session.rollback()
        raise ValidationError(errors)
    by_id = {profile.id: profile for found in matches.values() for profile in found}
    changed = [
        item
        for profile_id, stored in pending.items()
        if (item := bulk_writes.change(by_id[profile_id], stored, list(by_id[profile_id].interests), origin))
    ]
    _write_changes(account, changed, origin)
    profiles.insert_new_profiles(account, database.id, list(new.values()), origin=origin)
    profiles.commit_or_conflict()
    return BatchResult(created=len(new), updated=len(changed), unchanged=len(pending) - len(changed))


def _key_fields(fields: list[Field], names: list[str]) -> list[Field]:
    by_name = {field.name.lower(): field for field in fields}
    found = [by_name.get(str(name).strip().lower()) for name in names]
    if not names or None in found:
        raise ValidationError({"keys": _("Name one or more fields of the database as keys.")})
    return [field for field in found if field is not None]


def _key_values(keys: list[Field], row: dict[str, Any], number: int) -> list[Any]:
    """The row's key values as stored (a value a field refuses stays as sent: its row is refused later)."""
    if not isinstance(row, dict):
        raise ValidationError({f"profiles[{number}]": _("Each profile is an object of field names and values.")})
    lowered = {str(name).lower(): value for name, value in row.items()}
    values = []
    for field in keys:
        value = lowered.get(field.name.lower())
        try:
            stored = coerce(field.type, value, field.options)
        except FieldValueError:
            stored = str(value)
        if stored is None or isinstance(stored, list):
            raise ValidationError({f"profiles[{number}].{field.name}": _("A key field needs a single value.")})
        values.append(stored)
    return values


def _matches(account: Account, database_id: int, keys: list[Field], firsts: list[Any]) -> dict[tuple, list[Profile]]:
    """Stored profiles by key, found with one query on the first key field (the others compared here). An
    indexed first key is compared on its sort expression, which its index holds."""
    field, dialect = keys[0], dialect_name()
    if field.indexed:
        condition = sort_value(field, dialect).in_([sort_literal(field, value, dialect) for value in firsts])
    else:
        condition = match_value(field, dialect).in_(sorted({match_literal(field, value) for value in firsts}))
    query = select(Profile).where(Profile.account_id == account.id, Profile.database_id == database_id, condition)
    found: dict[tuple, list[Profile]] = {}
    for profile in db.session.scalars(query.order_by(Profile.id)):
        values = [profile.fields.get(field.key) for field in keys]
        if None not in values:
            found.setdefault(tuple(match_literal(f, v) for f, v in zip(keys, values, strict=True)), []).append(profile)
    return found


def _write_changes(account: Account, changed: list[bulk_writes.ProfileChange], origin: Origin) -> None:
    if dialect_name() == "postgresql":
        bulk_writes.write_changes(changed)
        return
    for item in changed:  # SQLite: one by one, as profiles.apply_update writes
        profiles.apply_update(account, item.profile, _by_name(item), {}, origin=origin, kind="profile_updated")


def _by_name(item: bulk_writes.ProfileChange) -> dict[str, Any]:
    names = {str(field.id): field.name for field in item.profile.database.fields}
    return {names[key]: new for key, (_old, new) in item.changes["fields"].items() if key in names}
