"""Merging one profile into another (SOAP ``Profile_move``), and resolving the codes of merged profiles.

A merge, in one transaction: the source's subprofiles and journal move to the target; the target's empty
fields are filled from the source (values the target has win) and it gains the source's interests; the
source is removed (journalled as such, under its own id); its code is kept as a ``ProfileAlias`` of the
target, so links signed for the source (unsubscribe, confirm, survey) keep acting on the target — the doors
that take a profile code resolve it with ``profile_for_code``.

Not (yet) done: reference fields of other profiles that point at the source keep its id, as after any
removal of a profile.
"""

from flask_babel import gettext as _
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import Account, Profile, ProfileAlias, ProfileEvent, Subprofile
from webapp.platform.errors import ValidationError
from webapp.profiles import profiles
from webapp.profiles.events import Origin


def merge_profile(account: Account, source_id: int, target_id: int, *, origin: Origin) -> Profile:
    """Merge profile ``source_id`` into ``target_id`` (same database); returns the target."""
    source = profiles.get_profile(account, source_id)
    target = profiles.get_profile(account, target_id)
    if source.id == target.id:
        raise ValidationError({"profile": _("A profile cannot be merged into itself.")})
    if source.database_id != target.database_id:
        raise ValidationError({"profile": _("Only profiles of the same database can be merged.")})
    names = {field.key: field.name for field in target.database.fields}
    fill = {
        names[key]: value
        for key, value in (source.fields or {}).items()
        if key in names and target.fields.get(key) is None and value is not None
    }
    interests = {interest_id: True for interest_id in source.interests or [] if interest_id not in target.interests}
    try:
        db.session.execute(update(Subprofile).where(Subprofile.profile_id == source.id).values(profile_id=target.id))
        db.session.execute(
            update(ProfileEvent).where(ProfileEvent.profile_id == source.id).values(profile_id=target.id)
        )
        db.session.execute(
            update(ProfileAlias).where(ProfileAlias.profile_id == source.id).values(profile_id=target.id)
        )
        db.session.add(
            ProfileAlias(account_id=account.id, code=source.code, old_profile_id=source.id, profile_id=target.id)
        )
        merged = Origin(origin.source, origin.actor, reference=f"merged into profile {target.id}")
        profiles.remove_in_transaction(source, merged)
        db.session.flush()  # the source is gone before the target takes its (maybe unique) values
        received = Origin(origin.source, origin.actor, reference=f"merged from profile {source_id}")
        profiles.apply_update(account, target, fill, interests, origin=received, kind="profile_updated")
    except Exception:
        db.session.rollback()
        raise
    profiles.commit_or_conflict()
    return target


def profile_for_code(account_id: int, code: str) -> Profile | None:
    """The profile with this code, or the one a profile with this code was merged into."""
    profile = db.session.scalar(select(Profile).where(Profile.code == code, Profile.account_id == account_id))
    if profile is not None:
        return profile
    alias = db.session.scalar(
        select(ProfileAlias).where(ProfileAlias.code == code, ProfileAlias.account_id == account_id)
    )
    return db.session.get(Profile, alias.profile_id) if alias is not None else None
