"""Undoing a bulk action (the ``bulk_undo`` work kind), like an import rollback.

Values, interests and subscription state the run changed are put back from its journal with the import
rollback's machinery (``imports.rollback.touched_by`` and ``JournalUndo``, over the run's event-id range): what
was changed again since is left as it is and reported. Profiles the run removed (a delete, or an unsubscribe
whose behaviour is "remove") are put back whole from ``BulkRemovedProfile``: same id, same code (so signed links
work again), values, interests and subprofiles; one whose unique value another profile has taken since is left
removed and reported. Chunks of ``CHUNK`` profiles, one transaction each with its progress (``undo_done``).
"""

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from webapp.bulk.runs import get_run, reference
from webapp.extensions import db
from webapp.imports.planner import LOOKUP_CHUNK
from webapp.imports.rollback import JournalRange, JournalUndo, touched_by
from webapp.models import (
    Account,
    BulkRemovedProfile,
    BulkRun,
    BulkRunStatus,
    Profile,
    ProfileEvent,
    ScheduledWork,
    Subprofile,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.profiles import events
from webapp.profiles.values import diff, interests_diff

KIND = "bulk_undo"
CHUNK = LOOKUP_CHUNK
ERROR_LENGTH = 60000


def request_undo(account: Account, run_id: int) -> BulkRun:
    """Queue the undo of a finished run (then apply it at once when it was small)."""
    run = get_run(account, run_id)
    if run.status != BulkRunStatus.DONE:
        raise ValidationError(_("Only a finished bulk action can be undone."))
    if run.action == "export":
        raise ValidationError(_("An export changed nothing, so there is nothing to undo."))
    if run.first_event_id is None:
        raise ValidationError(_("This bulk action changed nothing, so there is nothing to undo."))
    run.status = BulkRunStatus.UNDOING
    run.undo_done = run.restored = 0
    run.error = ""
    work.schedule(KIND, payload={"run_id": run.id}, account_id=account.id)
    db.session.commit()
    if run.changed <= 200:
        apply_undo(run.id)
    return get_run(account, run_id)


def apply_undo(run_id: int) -> None:
    run = db.session.get(BulkRun, run_id)
    if run is None or run.status != BulkRunStatus.UNDOING:
        return
    account = db.session.get_one(Account, run.account_id)
    journal = _journal(run)
    removed_ids = set(
        db.session.scalars(select(BulkRemovedProfile.profile_id).where(BulkRemovedProfile.run_id == run.id))
    )
    touched, first_event = touched_by(account, journal)
    changed_ids = sorted(set(touched) - removed_ids)
    restore_ids = sorted(removed_ids)
    work_list = [("removed", i) for i in restore_ids] + [("changed", i) for i in changed_ids]
    for start in range(run.undo_done, len(work_list), CHUNK):
        part = work_list[start : start + CHUNK]
        run = db.session.scalar(select(BulkRun).where(BulkRun.id == run_id).with_for_update())
        if run is None or run.status != BulkRunStatus.UNDOING or run.undo_done != start:
            db.session.rollback()
            return
        left: list[str] = []
        restored = _restore_removed(account, run, [i for kind, i in part if kind == "removed"], left)
        changed = [i for kind, i in part if kind == "changed"]
        if changed:
            undo = JournalUndo(account, journal)
            undo.chunk({profile_id: touched[profile_id] for profile_id in changed}, first_event)
            undo.journal()
            restored += undo.report.restored + undo.report.removed
            left += undo.report.left
        run.undo_done = start + len(part)
        run.restored += restored
        if left:
            run.error = "\n".join([*filter(None, [run.error]), *left])[:ERROR_LENGTH]
        db.session.commit()
    run = db.session.scalar(select(BulkRun).where(BulkRun.id == run_id).with_for_update())
    if run is not None and run.status == BulkRunStatus.UNDOING:
        run.status = BulkRunStatus.UNDONE
    db.session.commit()


def run_undo_work(row: ScheduledWork) -> None:
    """The ``bulk_undo`` work kind (commits once per chunk)."""
    apply_undo(int(row.payload["run_id"]))


def init_app(app) -> None:
    with app.app_context():
        work.register_kind(KIND, run_undo_work)


def _journal(run: BulkRun) -> JournalRange:
    return JournalRange(
        run.database_id,
        run.first_event_id,
        run.last_event_id,
        "admin",
        reference(run),
        actor=run.actor,
        undo_reference=f"{reference(run)} undo",
    )


def _restore_removed(account: Account, run: BulkRun, profile_ids: list[int], left: list[str]) -> int:
    """Put back removed profiles whole, each in a savepoint (a unique value taken since leaves it removed)."""
    if not profile_ids:
        return 0
    kept = db.session.scalars(
        select(BulkRemovedProfile).where(
            BulkRemovedProfile.run_id == run.id, BulkRemovedProfile.profile_id.in_(profile_ids)
        )
    )
    origin = events.Origin("admin", actor=run.actor, reference=f"{reference(run)} undo")
    now = utcnow()
    restored = 0
    for row in kept:
        data = row.data
        if db.session.get(Profile, row.profile_id) is not None:
            continue  # back already (an earlier attempt)
        try:
            with db.session.begin_nested():
                db.session.execute(
                    insert(Profile).values(
                        id=row.profile_id,
                        account_id=account.id,
                        database_id=run.database_id,
                        code=data["code"],
                        fields=data["fields"],
                        interests=data["interests"],
                        created_at=datetime.fromisoformat(data["created_at"]),
                        updated_at=now,
                    )
                )
                for sub in data["subprofiles"]:
                    db.session.execute(
                        insert(Subprofile).values(
                            id=sub["id"],
                            account_id=account.id,
                            database_id=run.database_id,
                            collection_id=sub["collection_id"],
                            profile_id=row.profile_id,
                            code=sub["code"],
                            fields=sub["fields"],
                            created_at=datetime.fromisoformat(sub["created_at"]),
                            updated_at=now,
                        )
                    )
                profile = db.session.get_one(Profile, row.profile_id)
                changes = {"fields": diff({}, data["fields"]), "interests": interests_diff([], data["interests"])}
                events.record("profile_created", origin, profile=profile, changes=changes)
        except IntegrityError:
            left.append(
                _("Profile %(id)s could not come back: another profile has its unique value now.", id=row.profile_id)
            )
            continue
        restored += 1
    return restored


def undo_run(account: Account, run_id: int) -> BulkRun:
    """Undo now, in this process (what the work kind does), for callers that wait for the result."""
    request_undo(account, run_id)
    apply_undo(run_id)
    return get_run(account, run_id)


def events_of(run: BulkRun) -> int:
    """How many journal events the run wrote (for the run's page)."""
    if run.first_event_id is None:
        return 0
    return (
        db.session.scalar(
            select(func.count()).where(
                ProfileEvent.id.between(run.first_event_id, run.last_event_id or run.first_event_id),
                ProfileEvent.reference == reference(run),
            )
        )
        or 0
    )
