"""Upserting a batch of profiles matched on key fields: the REST batch endpoint's rule, one transaction.

Each row's values are validated like any profile write (``values.validate_values``, in its two halves with
the rules prepared once per batch, ``values.FieldRules``: each row is coerced once, its key taken from the
coerced values, then merged into each target); a row whose key fields match stored profiles updates every one
of them, a row that matches none creates one. Rows with the same key in one batch apply in order to the same
profile. Any invalid row refuses the whole batch, naming the row and the field, and nothing is stored.

The writes go through the bulk paths, not a loop of single writes: the matches are found with one query
on the first key field as Core rows, not ORM objects (an indexed first key on PostgreSQL: its index probed
for each of the batch's keys, a join over them as an array; otherwise ``match_value`` ``IN`` the keys); on
PostgreSQL the updates, the new profiles and all their events are one statement (``bulk_writes.upsert``);
SQLite, the embedded default, writes the updates one by one and the new profiles with Core inserts
(``profiles.insert_new_profiles``).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Numeric, Row, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from webapp.extensions import db
from webapp.models import Account, Profile
from webapp.platform.errors import ValidationError
from webapp.profiles import bulk_writes, consents, profiles
from webapp.profiles.database_config import FieldSnapshot, profile_fields
from webapp.profiles.databases import get_database
from webapp.profiles.events import Origin
from webapp.profiles.field_expressions import dialect_name, match_value, sort_literal, sort_value
from webapp.profiles.field_types import get_field_type
from webapp.profiles.values import FieldRules, match_literal

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
    keys = _key_fields(fields, key_fields)
    if not rows or len(rows) > MAX_ROWS:
        raise ValidationError({"profiles": _("Send 1 to %(max)s profiles.", max=MAX_ROWS)})
    rules = FieldRules.of(fields)
    errors: dict[str, str] = {}
    coerced = [_coerced_row(rules, keys, row, number, errors) for number, row in enumerate(rows)]
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
                    pending[profile.id] = rules.merge(account, row, current, holder_id=profile.id)
            else:
                new[key] = rules.merge(account, row, new.get(key))
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
    codes = [profiles.new_code() for _new in new]
    if dialect_name() == "postgresql":
        bulk_writes.upsert(account.id, database.id, changed, list(new.values()), codes, origin)
    else:
        _write_changes(account, changed, origin)
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


def _key_fields(fields: Sequence[FieldSnapshot], names: list[str]) -> list[FieldSnapshot]:
    by_name = {field.name.lower(): field for field in fields}
    found = [by_name.get(str(name).strip().lower()) for name in names]
    if not names or None in found:
        raise ValidationError({"keys": _("Name one or more fields of the database as keys.")})
    return [field for field in found if field is not None]


def _coerced_row(
    rules: FieldRules, keys: list[FieldSnapshot], row: Any, number: int, errors: dict[str, str]
) -> tuple[dict[str, Any], tuple]:
    """The row's values coerced once (``FieldRules.coerce``) and its key as ``_matches`` compares it; the
    row's problems go to ``errors``."""
    if not isinstance(row, dict):
        errors[f"profiles[{number}]"] = _("Each profile is an object of field names and values.")
        return {}, ()
    coerced, problems = rules.coerce(row)
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


def _matches(
    account: Account, database_id: int, keys: list[FieldSnapshot], firsts: list[Any]
) -> dict[tuple, list[Row]]:
    """Stored profiles by key, found with one query on the first key field (the others compared here), as
    rows (no ORM objects: ``bulk_writes`` writes them by id). An indexed first key is compared on its sort
    expression, which its index holds; on PostgreSQL as a join over the keys (an array), which the planner
    answers with one index probe per key, where for ``IN`` a list of a thousand keys it may choose a
    sequential scan (it did on the bench's 60,000 profiles: 25 ms instead of 1.3 ms)."""
    field, dialect = keys[0], dialect_name()
    query = select(Profile.id, Profile.account_id, Profile.database_id, Profile.fields, Profile.interests)
    if field.indexed:
        literals = sorted({sort_literal(field, value, dialect) for value in firsts}, key=str)
        if dialect == "postgresql":
            query = query.select_from(_probes(field, literals))
        else:
            query = query.where(sort_value(field, dialect).in_(literals))
    else:
        matched = match_value(field, dialect)
        if dialect != "postgresql":  # as text, as ``match_literal`` gives it: ``json_extract`` keeps 1 a number
            matched = cast(matched, Text)
        query = query.where(matched.in_(sorted({match_literal(field, v) for v in firsts})))
    query = query.where(Profile.account_id == account.id, Profile.database_id == database_id)
    found: dict[tuple, list[Row]] = {}
    for profile in db.session.execute(query.order_by(Profile.id)):
        values = [profile.fields.get(field.key) for field in keys]
        if None not in values:
            found.setdefault(tuple(match_literal(f, v) for f, v in zip(keys, values, strict=True)), []).append(profile)
    return found


def _probes(field: FieldSnapshot, literals: list[Any]):
    """``unnest(keys) JOIN profile ON sort_value = key``: the profiles whose first key is one of ``literals``."""
    array_type = ARRAY(Numeric if get_field_type(field.type).sort_as == "number" else Text)
    keys = bindparam("keys", literals, type_=array_type)
    wanted = func.unnest(keys).table_valued("key").render_derived(name="wanted")
    return wanted.join(Profile, sort_value(field, "postgresql") == wanted.c.key)


def _write_changes(account: Account, changed: list[bulk_writes.ProfileChange], origin: Origin) -> None:
    """SQLite: the changes one by one, as ``profiles.apply_update`` writes them."""
    for item in changed:
        profile = db.session.get(Profile, item.profile.id)
        assert profile is not None, "matched in this transaction"
        profiles.apply_update(account, profile, _by_name(profile, item), {}, origin=origin, kind="profile_updated")


def _by_name(profile: Profile, item: bulk_writes.ProfileChange) -> dict[str, Any]:
    names = {str(field.id): field.name for field in profile.database.fields}
    return {names[key]: new for key, (_old, new) in item.changes["fields"].items() if key in names}
