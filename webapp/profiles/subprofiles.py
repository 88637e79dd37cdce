"""Writing subprofiles (a profile's orders, children, pets): validated and journalled like profiles."""

from collections.abc import Sequence
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Collection, Profile, Subprofile, utcnow
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles import events, versions
from webapp.profiles.database_config import FieldLike
from webapp.profiles.databases import get_collection
from webapp.profiles.events import Origin
from webapp.profiles.profiles import get_profile, new_code
from webapp.profiles.values import diff, validate_values


def get_subprofile(account: Account, subprofile_id: int) -> Subprofile:
    return owned(Subprofile, account, subprofile_id, _("Subprofile not found."))


def list_subprofiles(account: Account, profile_id: int, collection_id: int) -> list[Subprofile]:
    profile = get_profile(account, profile_id)
    return list(
        db.session.scalars(
            select(Subprofile)
            .where(Subprofile.profile_id == profile.id, Subprofile.collection_id == collection_id)
            .order_by(Subprofile.id)
        )
    )


def create_subprofile(
    account: Account, profile_id: int, collection_id: int, values: dict[str, Any], *, origin: Origin
) -> Subprofile:
    profile = get_profile(account, profile_id)
    collection = get_collection(account, collection_id)
    subprofile = create_in_transaction(account, profile, collection, values, origin=origin)
    db.session.commit()
    return subprofile


def create_in_transaction(
    account: Account,
    profile: Profile,
    collection: Collection,
    values: dict[str, Any],
    *,
    origin: Origin,
    fields: Sequence[FieldLike] | None = None,
) -> Subprofile:
    """Validate, add and journal a subprofile inside the caller's transaction (the caller commits).

    ``fields``: the collection's fields the values are checked against (all of them unless given: a web form
    checks those it asks for). Raises ``ValidationError`` for invalid values or a collection of another
    database than the profile's.
    """
    if collection.database_id != profile.database_id:
        raise ValidationError(_("This collection belongs to another database."))
    stored = validate_values(account, collection.fields if fields is None else fields, values, None)
    subprofile = Subprofile(
        account_id=account.id,
        database_id=profile.database_id,
        collection_id=collection.id,
        profile_id=profile.id,
        code=new_code(),
        fields=stored,
    )
    db.session.add(subprofile)
    db.session.flush()
    events.record(
        "subprofile_created", origin, profile=profile, subprofile=subprofile, changes={"fields": diff({}, stored)}
    )
    return subprofile


def update_subprofile(
    account: Account,
    subprofile_id: int,
    values: dict[str, Any],
    *,
    origin: Origin,
    expected_version: str | None = None,
) -> Subprofile:
    subprofile = get_subprofile(account, subprofile_id)
    versions.check(subprofile, expected_version)
    if apply_update(account, subprofile, values, origin=origin) is not None:
        db.session.commit()
    return subprofile


def apply_update(account: Account, subprofile: Subprofile, values: dict[str, Any], *, origin: Origin):
    """Validate and apply a change inside the caller's transaction; returns its event, if anything changed."""
    stored = validate_values(account, subprofile.collection.fields, values, subprofile.fields)
    changes = diff(subprofile.fields, stored)
    if not changes:
        return None
    subprofile.fields, subprofile.updated_at = stored, utcnow()
    return events.record(
        "subprofile_updated", origin, profile=subprofile.profile, subprofile=subprofile, changes={"fields": changes}
    )


def move_to_profile(account: Account, subprofile_id: int, profile_id: int, *, origin: Origin) -> Subprofile:
    """Give a subprofile to another profile of the same database (Copernica's ``SubProfile_moveToProfile``).

    Journalled as what each profile sees: removed from the old one, created on the new one (same id, same
    values), so callbacks and follow-ups of both profiles hear of it.
    """
    subprofile = get_subprofile(account, subprofile_id)
    target = get_profile(account, profile_id)
    if target.database_id != subprofile.database_id:
        raise ValidationError({"profile": _("That profile belongs to another database.")})
    if target.id == subprofile.profile_id:
        return subprofile
    fields = dict(subprofile.fields or {})
    events.record(
        "subprofile_removed",
        origin,
        profile=subprofile.profile,
        subprofile=subprofile,
        changes={"fields": diff(fields, {})},
    )
    subprofile.profile_id, subprofile.updated_at = target.id, utcnow()
    events.record(
        "subprofile_created", origin, profile=target, subprofile=subprofile, changes={"fields": diff({}, fields)}
    )
    db.session.commit()
    return subprofile


def delete_subprofile(
    account: Account, subprofile_id: int, *, origin: Origin, expected_version: str | None = None
) -> None:
    subprofile = get_subprofile(account, subprofile_id)
    versions.check(subprofile, expected_version)
    remove_in_transaction(subprofile, origin)
    db.session.commit()


def remove_in_transaction(subprofile: Subprofile, origin: Origin) -> None:
    events.record(
        "subprofile_removed",
        origin,
        profile=subprofile.profile,
        subprofile=subprofile,
        changes={"fields": diff(subprofile.fields, {})},
    )
    db.session.delete(subprofile)
