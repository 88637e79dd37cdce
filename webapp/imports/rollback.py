"""Rolling back an import run from the event journal: what it created is removed, what it changed is put back."""

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import delete, insert, select, update

from webapp.extensions import db
from webapp.imports.planner import LOOKUP_CHUNK
from webapp.imports.runs import get_run
from webapp.models import (
    Account,
    ImportRunStatus,
    Profile,
    ProfileEvent,
    Subprofile,
    utcnow,
)
from webapp.platform.errors import ValidationError
from webapp.profiles import events
from webapp.profiles.databases import get_database
from webapp.profiles.values import diff, interests_diff


@dataclass
class RollbackReport:
    removed: int = 0
    restored: int = 0
    left: list[str] = field(default_factory=list)  # what was changed since, and left alone


@dataclass
class _Touched:
    created: bool = False
    last_event: int = 0
    fields: dict[str, list] = field(default_factory=dict)  # key: [first old, last new]
    interests: dict[str, list] = field(default_factory=dict)
    subprofiles: list[int] = field(default_factory=list)


def rollback_run(account: Account, run_id: int) -> RollbackReport:
    """Undo a finished run: remove what it created, restore what it changed — except what was changed
    since by another event (reported and left). Journalled with source import, in one transaction."""
    run = get_run(account, run_id)
    if run.status != ImportRunStatus.DONE:
        raise ValidationError(_("Only a finished import can be rolled back."))
    reference = f"import {run.id}"
    names = {f.key: f.name for f in get_database(account, run.database_id).fields}
    touched: dict[int, _Touched] = {}
    first_event = None
    query = (
        select(
            ProfileEvent.id,
            ProfileEvent.profile_id,
            ProfileEvent.subprofile_id,
            ProfileEvent.kind,
            ProfileEvent.changes,
        )
        .where(
            ProfileEvent.id.between(run.first_event_id or 0, run.last_event_id or 0),
            ProfileEvent.account_id == account.id,
            ProfileEvent.database_id == run.database_id,
            ProfileEvent.source == "import",
            ProfileEvent.reference == reference,
        )
        .order_by(ProfileEvent.id)
    )
    for event_id, profile_id, subprofile_id, kind, changes in db.session.execute(query):
        first_event = first_event or event_id
        entry = touched.setdefault(profile_id, _Touched())
        entry.last_event = event_id
        if kind == "profile_created":
            entry.created = True
        if kind == "subprofile_created":
            entry.subprofiles.append(subprofile_id)
            continue
        for section, target in (("fields", entry.fields), ("interests", entry.interests)):
            for key, (old, new) in (changes.get(section) or {}).items():
                target.setdefault(key, [old, new])[1] = new
    report = RollbackReport()
    origin = events.Origin("import", reference=f"{reference} rollback")
    now = utcnow()
    profile_ids = sorted(touched)
    event_rows: list[dict] = []
    for start in range(0, len(profile_ids), LOOKUP_CHUNK):
        chunk = profile_ids[start : start + LOOKUP_CHUNK]
        later: dict[int, list] = {}
        for profile_id, subprofile_id, event_id, kind, changes in db.session.execute(
            select(
                ProfileEvent.profile_id,
                ProfileEvent.subprofile_id,
                ProfileEvent.id,
                ProfileEvent.kind,
                ProfileEvent.changes,
            ).where(
                ProfileEvent.profile_id.in_(chunk), ProfileEvent.id > first_event, ProfileEvent.reference != reference
            )
        ):
            if event_id > touched[profile_id].last_event:
                later.setdefault(profile_id, []).append((subprofile_id, kind, changes))
        current = {
            row.id: row
            for row in db.session.execute(
                select(Profile.id, Profile.fields, Profile.interests).where(Profile.id.in_(chunk))
            )
        }
        sub_ids = [sub_id for profile_id in chunk for sub_id in touched[profile_id].subprofiles]
        current_subs = {
            row.id: row
            for start_sub in range(0, len(sub_ids), LOOKUP_CHUNK)
            for row in db.session.execute(
                select(Subprofile.id, Subprofile.collection_id, Subprofile.fields).where(
                    Subprofile.id.in_(sub_ids[start_sub : start_sub + LOOKUP_CHUNK])
                )
            )
        }
        removed_subs = []
        removals, updates = [], []
        for profile_id in chunk:
            entry, since = touched[profile_id], later.get(profile_id, [])
            profile = current.get(profile_id)
            if profile is None:
                report.left.append(_("Profile %(id)s was removed since.", id=profile_id))
                continue
            if entry.created:
                if since:
                    report.left.append(_("Profile %(id)s was changed since; it is kept.", id=profile_id))
                    continue
                removals.append(profile_id)
                event_rows.append(
                    _event(
                        account,
                        run,
                        origin,
                        now,
                        profile_id,
                        "profile_removed",
                        {"fields": diff(profile.fields, {}), "interests": interests_diff(profile.interests, [])},
                    )
                )
                continue
            changed_fields = {k for _sub, kind, changes in since if _sub is None for k in (changes.get("fields") or {})}
            changed_interests = {
                k for _sub, kind, changes in since if _sub is None for k in (changes.get("interests") or {})
            }
            fields, interests = dict(profile.fields), set(profile.interests or [])
            for key, (old, new) in entry.fields.items():
                if key in changed_fields or fields.get(key) != new:
                    report.left.append(
                        _(
                            "Profile %(id)s: %(field)s was changed since; it is kept.",
                            id=profile_id,
                            field=names.get(key, key),
                        )
                    )
                elif old is None:
                    fields.pop(key, None)
                else:
                    fields[key] = old
            for key, (old, new) in entry.interests.items():
                if key in changed_interests or (int(key) in interests) != new:
                    report.left.append(_("Profile %(id)s: an interest was changed since; it is kept.", id=profile_id))
                elif old:
                    interests.add(int(key))
                else:
                    interests.discard(int(key))
            new_interests = sorted(interests)
            if fields != profile.fields or new_interests != sorted(profile.interests or []):
                updates.append({"id": profile_id, "fields": fields, "interests": new_interests, "updated_at": now})
                event_rows.append(
                    _event(
                        account,
                        run,
                        origin,
                        now,
                        profile_id,
                        "profile_updated",
                        {
                            "fields": diff(profile.fields, fields),
                            "interests": interests_diff(profile.interests or [], new_interests),
                        },
                    )
                )
                report.restored += 1
            changed_subs = {sub for sub, _kind, _changes in since if sub is not None}
            for sub_id in entry.subprofiles:
                sub = current_subs.get(sub_id)
                if sub is None or sub_id in changed_subs:
                    report.left.append(_("Subprofile %(id)s was changed since; it is kept.", id=sub_id))
                    continue
                removed_subs.append(sub_id)
                event_rows.append(
                    _event(
                        account,
                        run,
                        origin,
                        now,
                        profile_id,
                        "subprofile_removed",
                        {"fields": diff(sub.fields, {})},
                        sub.collection_id,
                        sub_id,
                    )
                )
        if removed_subs:
            db.session.execute(delete(Subprofile).where(Subprofile.id.in_(removed_subs)))
        if updates:
            db.session.execute(update(Profile), updates)
        if removals:
            db.session.execute(delete(Subprofile).where(Subprofile.profile_id.in_(removals)))
            db.session.execute(delete(Profile).where(Profile.id.in_(removals)))
            report.removed += len(removals)
    if event_rows:
        event_ids = db.session.scalars(insert(ProfileEvent).returning(ProfileEvent.id), event_rows).all()
        events.note_bulk(list(event_ids))
    run = get_run(account, run_id)
    run.status = ImportRunStatus.ROLLED_BACK
    if report.left:
        run.error = "\n".join(report.left)[:60000]
    db.session.commit()
    return report


def _event(account, run, origin, now, profile_id, kind, changes, collection_id=None, subprofile_id=None) -> dict:
    return {
        "account_id": account.id,
        "database_id": run.database_id,
        "profile_id": profile_id,
        "collection_id": collection_id,
        "subprofile_id": subprofile_id,
        "kind": kind,
        "source": origin.source,
        "actor": origin.actor,
        "reference": origin.reference,
        "changes": changes,
        "created_at": now,
    }
