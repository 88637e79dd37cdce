"""Finding a person: the profiles of an account whose email field holds an address, and what about them is
personal (the fields marked so, and every email and phone field) and distinctive (their values)."""

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Text, cast, func, select

from webapp.email.suppression import normalised
from webapp.extensions import db
from webapp.models import Account, Database, Field, Profile, ProfileEvent, Subprofile
from webapp.platform.errors import ValidationError
from webapp.profiles.field_expressions import dialect_name, raw_value

ALWAYS_PERSONAL_TYPES = ("email", "phone")
# Values shorter than this are not searched for on their own (a "1" or "NL" would match everything).
DISTINCTIVE_MIN_LENGTH = 4


def checked_address(address: str) -> str:
    """The address as kept and compared (see ``suppression.normalised``), or a ``ValidationError``."""
    clean = normalised(address or "")
    if "@" not in clean or len(clean) > 320:
        raise ValidationError({"address": _("Enter an email address.")})
    return clean


def is_personal(field: Field) -> bool:
    """Whether an anonymisation removes the field's values."""
    return field.personal or field.type in ALWAYS_PERSONAL_TYPES


def profiles_with_address(account: Account, address: str) -> list[Profile]:
    """The account's profiles (every database) with ``address`` in an email field, by id."""
    address = checked_address(address)
    dialect = dialect_name()
    email_fields = db.session.scalars(
        select(Field).where(Field.account_id == account.id, Field.collection_id.is_(None), Field.type == "email")
    ).all()
    found: dict[int, Profile] = {}
    for field in email_fields:
        rows = db.session.scalars(
            select(Profile).where(
                Profile.account_id == account.id,
                Profile.database_id == field.database_id,
                func.lower(raw_value(field, dialect)) == address,
            )
        )
        for profile in rows:
            found[profile.id] = profile
    return [found[key] for key in sorted(found)]


def addresses_of(profile: Profile) -> set[str]:
    """The normalised addresses in the profile's email fields."""
    return {
        normalised(str(profile.fields.get(field.key)))
        for field in profile.database.fields
        if field.type == "email" and profile.fields.get(field.key)
    }


def fields_by_id(database_ids: set[int]) -> dict[str, Field]:
    """Every field (profile and collection layers) of the databases, by value key."""
    if not database_ids:
        return {}
    rows = db.session.scalars(select(Field).where(Field.database_id.in_(database_ids)))
    return {field.key: field for field in rows}


def removed_profiles(account: Account, addresses: set[str]) -> dict[int, int]:
    """Profiles of the person removed earlier (an unsubscribe that removes, an admin): ``{profile id: database
    id}`` of the ``profile_removed`` events whose last values hold one of the addresses. Their journal, submissions
    and responses are the person's too. Reads the account's removal events (an erasure is rare background work)."""
    found: dict[int, int] = {}
    for address in addresses:
        escaped = address.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = db.session.execute(
            select(ProfileEvent.profile_id, ProfileEvent.database_id).where(
                ProfileEvent.account_id == account.id,
                ProfileEvent.kind == "profile_removed",
                func.lower(cast(ProfileEvent.changes, Text)).like(f"%{escaped}%", escape="\\"),
            )
        )
        found.update({profile_id: database_id for profile_id, database_id in rows})
    return found


def distinctive_values(
    profiles: list[Profile], *, personal_only: bool, removed: dict[int, int] | None = None
) -> set[str]:
    """The person's values to search for and scrub elsewhere: every address, and the text of their (personal,
    when ``personal_only``) field values of at least ``DISTINCTIVE_MIN_LENGTH`` characters, lowercased — the
    values they have now and every old and new value their journal holds (and that of their ``removed``
    profiles)."""
    removed = removed or {}
    fields = fields_by_id({profile.database_id for profile in profiles} | set(removed.values()))
    values: set[str] = set()
    holders: list[Profile | Subprofile] = [*profiles]
    if profiles:
        holders += db.session.scalars(
            select(Subprofile).where(Subprofile.profile_id.in_([profile.id for profile in profiles]))
        ).all()
    for holder in holders:
        values |= addresses_of(holder) if isinstance(holder, Profile) else set()
        for key, value in (holder.fields or {}).items():
            field = fields.get(key)
            if field is None or (personal_only and not is_personal(field)):
                continue
            values |= _texts(value)
    ids = [profile.id for profile in profiles] + list(removed)
    changes: list[dict[str, Any]] = []
    if ids:
        changes = list(db.session.scalars(select(ProfileEvent.changes).where(ProfileEvent.profile_id.in_(ids))))
    for change in changes:
        for key, pair in ((change or {}).get("fields") or {}).items():
            field = fields.get(str(key))
            if field is not None and not (personal_only and not is_personal(field)):
                values |= _texts(pair)
    return {value for value in values if len(value) >= DISTINCTIVE_MIN_LENGTH}


def _texts(value: Any) -> set[str]:
    if isinstance(value, list):
        return set().union(*(_texts(part) for part in value)) if value else set()
    if value is None or isinstance(value, bool):
        return set()
    return {str(value).strip().lower()}


def database_names(account: Account) -> dict[int, str]:
    return dict(db.session.execute(select(Database.id, Database.name).where(Database.account_id == account.id)).all())
