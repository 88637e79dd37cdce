"""Upserting a batch of profiles matched on key fields: the REST batch endpoint's rule, one transaction.

Each row's values are validated like any profile write (``values.validate_values``, in its two halves: each
row is coerced once, its key taken from the coerced values, then merged into each target); a row whose key
fields match stored profiles updates every one of them, a row that matches none creates one. Rows with the same
key in one batch apply in order to the same profile. Any invalid row refuses the whole batch, naming the row
and the field, and nothing is stored.

The writes go through the bulk paths, not a loop of single writes: the matches are found with one query
(``match_value`` of the first key field, ``IN`` the batch's keys) as Core rows, not ORM objects; the updates
are one UPDATE and one event INSERT (``bulk_writes.write_changes``, PostgreSQL; SQLite, the embedded default,
writes them one by one), and the new profiles and their ``profile_created`` events are one INSERT of both
(``bulk_writes.insert_profiles``; SQLite: Core inserts, ``profiles.insert_new_profiles``).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Row, select

from webapp.extensions import db
from webapp.models import Account, Field, Profile
from webapp.platform.errors import ValidationError
from webapp.profiles import bulk_writes, consents, profiles
from webapp.profiles.database_config import FieldLike, profile_fields
from webapp.profiles.databases import get_database
from webapp.profiles.events import Origin
from webapp.profiles.field_expressions import dialect_name, match_value, sort_literal, sort_value
from webapp.profiles.values import coerce_values, match_literal, merge_values

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
    fields = profile_fields(database)  # the per-process snapshot: no ORM attribute reads per row
    keys = _key_fields(database.fields, key_fields)
    if not rows or len(rows) > MAX_ROWS:
        raise ValidationError({"profiles": _("Send 1 to %(max)s profiles.", max=MAX_ROWS)})
    errors: dict[str, str] = {}
    coerced = [_coerced_row(fields, keys, row, number, errors) for number, row in enumerate(rows)]
    if errors:
        raise ValidationError(errors)
    matches = _matches(account, database.id, keys, [row[keys[0].key] for row, _key in coerced])
    new: dict[tuple, dict[str, Any]] = {}  # key → stored values of a profile to create
    pending: dict[int, dict[str, Any]] = {}  # profile id → its stored values after the rows so far
    for number, (row, key) in enumerate(coerced):
        try:
            if key in matches:
                for profile in matches[key]:
                    current = pending.get(profile.id, profile.fields)
                    pending[profile.id] = merge_values(account, fields, row, current, holder_id=profile.id)
            else:
                new[key] = merge_values(account, fields, row, new.get(key))
        except ValidationError as error:
            errors.update(_row_errors(number, error.errors))
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
    codes = [profiles.new_code() for _new in new]
    if dialect_name() == "postgresql":
        bulk_writes.insert_profiles(account.id, database.id, list(new.values()), codes, origin)
    else:
        profiles.insert_new_profiles(account, database.id, list(new.values()), origin=origin, codes=codes)
    if origin.consent is not None:  # a stated basis holds for every row's profile, changed or not
        consents.record_stated_for_profiles(
            account.id,
            database.id,
            ids=list(pending),
            codes=codes,
            source=origin.source,
            reference=origin.consent_reference,
            given=origin.consent,
        )
    profiles.commit_or_conflict()
    return BatchResult(created=len(new), updated=len(changed), unchanged=len(pending) - len(changed))


def _key_fields(fields: list[Field], names: list[str]) -> list[Field]:
    by_name = {field.name.lower(): field for field in fields}
    found = [by_name.get(str(name).strip().lower()) for name in names]
    if not names or None in found:
        raise ValidationError({"keys": _("Name one or more fields of the database as keys.")})
    return [field for field in found if field is not None]


def _coerced_row(
    fields: Sequence[FieldLike], keys: list[Field], row: Any, number: int, errors: dict[str, str]
) -> tuple[dict[str, Any], tuple]:
    """The row's values coerced once (``values.coerce_values``) and its key as ``_matches`` compares it; the
    row's problems go to ``errors``."""
    if not isinstance(row, dict):
        errors[f"profiles[{number}]"] = _("Each profile is an object of field names and values.")
        return {}, ()
    coerced, problems = coerce_values(fields, row)
    errors.update(_row_errors(number, problems))
    key = []
    for field in keys:
        value = coerced.get(field.key)
        if field.name in problems:
            continue
        if value is None or isinstance(value, list):
            errors[f"profiles[{number}].{field.name}"] = _("A key field needs a single value.")
            continue
        key.append(match_literal(field, value))
    return coerced, tuple(key)


def _row_errors(number: int, problems: dict[str, str]) -> dict[str, str]:
    return {f"profiles[{number}].{name or 'fields'}": message for name, message in problems.items()}


def _matches(account: Account, database_id: int, keys: list[Field], firsts: list[Any]) -> dict[tuple, list[Row]]:
    """Stored profiles by key, found with one query on the first key field (the others compared here), as
    rows (no ORM objects: ``bulk_writes`` writes them by id). An indexed first key is compared on its sort
    expression, which its index holds."""
    field, dialect = keys[0], dialect_name()
    if field.indexed:
        literals = {sort_literal(field, value, dialect) for value in firsts}
        condition = sort_value(field, dialect).in_(sorted(literals, key=str))
    else:
        condition = match_value(field, dialect).in_(sorted({match_literal(field, value) for value in firsts}))
    query = select(Profile.id, Profile.account_id, Profile.database_id, Profile.fields, Profile.interests).where(
        Profile.account_id == account.id, Profile.database_id == database_id, condition
    )
    found: dict[tuple, list[Row]] = {}
    for profile in db.session.execute(query.order_by(Profile.id)):
        values = [profile.fields.get(field.key) for field in keys]
        if None not in values:
            found.setdefault(tuple(match_literal(f, v) for f, v in zip(keys, values, strict=True)), []).append(profile)
    return found


def _write_changes(account: Account, changed: list[bulk_writes.ProfileChange], origin: Origin) -> None:
    if dialect_name() == "postgresql":
        bulk_writes.write_changes(changed)
        return
    for item in changed:  # SQLite: one by one, as profiles.apply_update writes
        profile = db.session.get(Profile, item.profile.id)
        assert profile is not None, "matched in this transaction"
        profiles.apply_update(account, profile, _by_name(profile, item), {}, origin=origin, kind="profile_updated")


def _by_name(profile: Profile, item: bulk_writes.ProfileChange) -> dict[str, Any]:
    names = {str(field.id): field.name for field in profile.database.fields}
    return {names[key]: new for key, (_old, new) in item.changes["fields"].items() if key in names}
