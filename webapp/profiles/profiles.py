"""Writing profiles: every create, update and removal is validated and journalled in one transaction."""

import secrets
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from webapp.extensions import db
from webapp.models import Account, Profile, ProfileEvent, utcnow
from webapp.platform.errors import Conflict, ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles import consents, events, versions
from webapp.profiles.database_config import profile_fields
from webapp.profiles.databases import get_database
from webapp.profiles.events import Origin
from webapp.profiles.field_expressions import dialect_name, match_value, sort_literal, sort_value
from webapp.profiles.field_types import FieldValueError, coerce
from webapp.profiles.values import diff, interests_diff, match_literal, validate_interests, validate_values

BULK_BATCH = 2000
WITH_DATABASE = (joinedload(Profile.database),)  # a loader option built once, not on every call


def new_code() -> str:
    """The random secret of a profile or subprofile, used (signed) in links that act on it."""
    return secrets.token_hex(16)


def get_profile(account: Account, profile_id: int) -> Profile:
    # The database comes along: every write validates against its fields, which come from the
    # per-process snapshot of its configuration (``database_config``) when its version is unchanged.
    return owned(Profile, account, profile_id, _("Profile not found."), options=WITH_DATABASE)


def create_profile(
    account: Account,
    database_id: int,
    values: dict[str, Any],
    *,
    origin: Origin,
    interests: dict[Any, bool] | None = None,
) -> Profile:
    database = get_database(account, database_id)
    stored = validate_values(account, database.fields, values, None)
    profile = Profile(
        account_id=account.id,
        database_id=database.id,
        code=new_code(),
        fields=stored,
        interests=validate_interests(database.interests, interests or {}, []),
    )
    db.session.add(profile)
    db.session.flush()
    events.record(
        "profile_created",
        origin,
        profile=profile,
        changes={"fields": diff({}, stored), "interests": interests_diff([], profile.interests)},
    )
    _record_stated(profile, origin)
    commit_or_conflict()
    return profile


def _record_stated(profile: Profile, origin: Origin) -> None:
    """The basis the door stated for this profile (``Origin.consent``), recorded with the write."""
    if origin.consent is not None:
        consents.record_stated(
            profile.id,
            profile.database_id,
            profile.account_id,
            source=origin.source,
            reference=origin.consent_reference,
            given=origin.consent,
        )


def update_profile(
    account: Account,
    profile_id: int,
    values: dict[str, Any],
    *,
    origin: Origin,
    interests: dict[Any, bool] | None = None,
    kind: str = "profile_updated",
    expected_version: str | None = None,
) -> Profile:
    """Change some fields and interests; other values stay. No change, no event. With ``expected_version``
    only if the profile is still at that version (``versions.check``)."""
    profile = get_profile(account, profile_id)
    versions.check(profile, expected_version)
    apply_update(account, profile, values, interests or {}, origin=origin, kind=kind)
    commit_or_conflict()
    return profile


def apply_update(
    account: Account, profile: Profile, values: dict, interests: dict, *, origin: Origin, kind: str
) -> ProfileEvent | None:
    """Validate and apply a change inside the caller's transaction; returns its event, if anything changed."""
    database = profile.database
    stored = validate_values(account, profile_fields(database), values, profile.fields, holder_id=profile.id)
    new_interests = (
        validate_interests(database.interests, interests, profile.interests) if interests else list(profile.interests)
    )
    changes = {"fields": diff(profile.fields, stored), "interests": interests_diff(profile.interests, new_interests)}
    _record_stated(profile, origin)  # a stated basis holds even when the values were already so
    if not changes["fields"] and not changes["interests"] and kind == "profile_updated":
        return None
    profile.fields, profile.interests, profile.updated_at = stored, new_interests, utcnow()
    return events.record(kind, origin, profile=profile, changes=changes)


def delete_profile(account: Account, profile_id: int, *, origin: Origin, expected_version: str | None = None) -> None:
    """Remove a profile with its subprofiles; the event keeps its last values."""
    profile = get_profile(account, profile_id)
    versions.check(profile, expected_version)
    remove_in_transaction(profile, origin)
    commit_or_conflict()


def remove_in_transaction(profile: Profile, origin: Origin) -> None:
    events.record(
        "profile_removed",
        origin,
        profile=profile,
        changes={"fields": diff(profile.fields, {}), "interests": interests_diff(profile.interests, [])},
    )
    db.session.delete(profile)


def find_profiles(
    account: Account, database_id: int, requirements: dict[str, Any], *, limit: int = 100
) -> list[Profile]:
    """Profiles whose fields equal every given value (text compared case-insensitively), by id.

    Uses the fields' expression indexes when they are indexed; this is how key fields find a profile.
    """
    database = get_database(account, database_id)
    by_name = {field.name.lower(): field for field in database.fields}
    query = select(Profile).where(Profile.account_id == account.id, Profile.database_id == database.id)
    dialect = dialect_name()
    for name, value in requirements.items():
        field = by_name.get(name.lower())
        if field is None:
            raise ValidationError({name: _("There is no field named %(name)s.", name=name)})
        try:
            wanted = coerce(field.type, value, field.options)
        except FieldValueError as error:
            raise ValidationError({field.name: f"{field.name} {error}"}) from None
        if wanted is None:
            query = query.where(match_value(field, dialect).is_(None))
        elif field.indexed and not isinstance(wanted, list):
            # Equality on the field's sort expression walks its expression index.
            query = query.where(sort_value(field, dialect) == sort_literal(field, wanted, dialect))
        else:
            query = query.where(match_value(field, dialect) == match_literal(field, wanted))
    return list(db.session.scalars(query.order_by(Profile.id).limit(limit)))


def bulk_create_profiles(account: Account, database_id: int, rows: Iterable[dict[str, Any]], *, origin: Origin) -> int:
    """Create many profiles with Core inserts (validated one by one, journalled in bulk, one transaction).

    Any invalid row raises ``ValidationError`` naming its line and nothing is stored.
    """
    database = get_database(account, database_id)
    fields = database.fields
    count = 0
    batch: list[dict] = []
    for line, values in enumerate(rows, start=1):
        try:
            stored = validate_values(account, fields, values, None)
        except ValidationError as error:
            db.session.rollback()
            raise ValidationError({_("line %(number)s", number=line): error.message}) from None
        now = utcnow()
        batch.append(
            {
                "account_id": account.id,
                "database_id": database.id,
                "code": new_code(),
                "fields": stored,
                "interests": [],
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) >= BULK_BATCH:
            count += _insert_batch(batch, origin)
            batch = []
    if batch:
        count += _insert_batch(batch, origin)
    commit_or_conflict()
    return count


def insert_new_profiles(
    account: Account, database_id: int, stored: list[dict[str, Any]], *, origin: Origin, codes: list[str] | None = None
) -> int:
    """Insert profiles whose values ``validate_values`` returned, with their events (Core, in batches; the
    caller's transaction: the caller commits). ``codes``: their secret codes, when the caller chose them."""
    now = utcnow()
    codes = codes or [new_code() for _fields in stored]
    rows = [
        {
            "account_id": account.id,
            "database_id": database_id,
            "code": code,
            "fields": fields,
            "interests": [],
            "created_at": now,
            "updated_at": now,
        }
        for fields, code in zip(stored, codes, strict=True)
    ]
    return sum(_insert_batch(rows[i : i + BULK_BATCH], origin) for i in range(0, len(rows), BULK_BATCH))


def _insert_batch(batch: list[dict], origin: Origin) -> int:
    ids = db.session.scalars(insert(Profile).returning(Profile.id, sort_by_parameter_order=True), batch).all()
    event_rows = [
        {
            "account_id": row["account_id"],
            "database_id": row["database_id"],
            "profile_id": profile_id,
            "kind": "profile_created",
            "source": origin.source,
            "actor": origin.actor,
            "reference": origin.reference,
            "changes": {"fields": diff({}, row["fields"]), "interests": {}},
            "created_at": row["created_at"],
        }
        for profile_id, row in zip(ids, batch, strict=True)
    ]
    event_ids = db.session.scalars(insert(ProfileEvent).returning(ProfileEvent.id), event_rows).all()
    events.note_bulk(list(event_ids))
    return len(ids)


def commit_or_conflict() -> None:
    """Commit, turning a unique-index violation from a concurrent writer into a clear conflict."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_("Another profile already has one of these unique values.")) from None


def new_profile_row(
    account: Account, database_id: int, fields: Iterable, interests: Iterable, values: dict, chosen: dict
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new profile validated as ``create_profile`` does, as a row for a writer that inserts it itself (Core,
    in one round trip with its other rows), and the changes of its ``profile_created`` event."""
    stored = validate_values(account, list(fields), values, None)
    interest_ids = validate_interests(list(interests), chosen, [])
    now = utcnow()
    row = {
        "account_id": account.id,
        "database_id": database_id,
        "code": new_code(),
        "fields": stored,
        "interests": interest_ids,
        "created_at": now,
        "updated_at": now,
    }
    return row, {"fields": diff({}, stored), "interests": interests_diff([], interest_ids)}


NAME_WORDS = ("name", "naam")


def display_names(account: Account, profile_ids: Iterable[int]) -> dict[int, str]:
    """``display_name`` of each of the account's profiles among ``profile_ids``, in one query; a removed profile
    (or another account's) is left out."""
    wanted = {int(i) for i in profile_ids if i}
    if not wanted:
        return {}
    query = select(Profile).where(Profile.account_id == account.id, Profile.id.in_(wanted))
    found = db.session.scalars(query.options(joinedload(Profile.database)))
    return {profile.id: display_name(profile) for profile in found}


def display_name(profile: Profile) -> str:
    """How screens name a profile: its first email address, else its name fields (FirstName LastName, …),
    else ``Profile #<id>``."""
    fields = [field for field in profile.database.fields if profile.fields.get(field.key) not in (None, "")]
    for field in fields:
        if field.type == "email":
            return str(profile.fields[field.key])
    names = [
        str(profile.fields[field.key])
        for field in fields
        if field.type == "text" and any(word in field.name.lower() for word in NAME_WORDS)
    ]
    return " ".join(names) if names else _("Profile #%(id)s", id=profile.id)
