"""The ``bulk_action`` work kind: a run goes through its selection by profile id in chunks of ``CHUNK``, each
chunk one transaction with its progress marker (``last_profile_id``) and counts, like an import's batches. A
worker killed mid-chunk leaves the chunk and its marker, or neither; the retried work row goes on after the last
committed chunk, and a second run of a finished row does nothing.

Every change goes through the profiles package's writers with ``Origin("admin", actor, "bulk <id>")``, so it is
journalled, validated, and seen by follow-ups, callbacks and hygiene like a change made by hand. A profile that
a delete (or an unsubscribe whose behaviour is "remove") removes is kept whole in ``BulkRemovedProfile`` first,
for the undo.
"""

from pathlib import Path

from sqlalchemy import func, select

from webapp.bulk.runs import Picked, export_path, reference
from webapp.exports.files import CsvWriter, timestamp
from webapp.extensions import db
from webapp.models import (
    Account,
    BulkRemovedProfile,
    BulkRun,
    BulkRunStatus,
    Database,
    Profile,
    ProfileEvent,
    ScheduledWork,
    Subprofile,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import DomainError
from webapp.profiles import profiles, unsubscribe
from webapp.profiles.events import Origin

CHUNK = 500
ERROR_LENGTH = 60000


def apply_run(run_id: int) -> None:
    """Apply a pending or running run, chunk after chunk, going on after the last committed chunk."""
    run = db.session.get(BulkRun, run_id)
    if run is None or run.status not in (BulkRunStatus.PENDING, BulkRunStatus.RUNNING):
        return
    if run.status == BulkRunStatus.PENDING:
        run.status = BulkRunStatus.RUNNING
        if run.action == "export":
            _start_export(run)
        db.session.commit()
    while True:
        run = db.session.scalar(select(BulkRun).where(BulkRun.id == run_id).with_for_update())
        if run is None or run.status != BulkRunStatus.RUNNING:
            db.session.rollback()
            return  # another attempt finished it
        account = db.session.get_one(Account, run.account_id)
        database = db.session.get_one(Database, run.database_id)
        selection = Picked.from_json(run.selection)
        chunk = list(
            db.session.scalars(
                select(Profile)
                .where(
                    Profile.account_id == account.id,
                    Profile.database_id == database.id,
                    Profile.id > run.last_profile_id,
                    Profile.id <= run.max_profile_id,
                    *selection.conditions(database),
                )
                .order_by(Profile.id)
                .limit(CHUNK)
            )
        )
        if not chunk:
            run.status, run.finished_at = BulkRunStatus.DONE, utcnow()
            db.session.commit()
            return
        _apply_chunk(account, run, chunk)
        db.session.commit()


def run_bulk_work(row: ScheduledWork) -> None:
    """The ``bulk_action`` work kind (commits once per chunk, like the ``import`` kind)."""
    apply_run(int(row.payload["run_id"]))


def init_app(app) -> None:
    with app.app_context():
        work.register_kind("bulk_action", run_bulk_work)


def _apply_chunk(account: Account, run: BulkRun, chunk: list[Profile]) -> None:
    origin = Origin("admin", actor=run.actor, reference=reference(run))
    problems: list[str] = []
    if run.action == "export":
        _export_chunk(run, chunk)
        run.changed += len(chunk)
    for profile in chunk if run.action != "export" else []:
        try:
            with db.session.begin_nested():
                if _apply_one(account, run, profile, origin):
                    run.changed += 1
        except DomainError as error:
            problems.append(f"{profiles.display_name(profile)}: {error.message}")
    db.session.flush()
    floor = run.last_event_id or int(run.selection.get("event_floor") or 0)
    first, last = db.session.execute(
        select(func.min(ProfileEvent.id), func.max(ProfileEvent.id)).where(
            ProfileEvent.id > floor,
            ProfileEvent.reference == reference(run),
            ProfileEvent.database_id == run.database_id,
        )
    ).one()
    if first is not None:
        run.first_event_id = run.first_event_id or first
        run.last_event_id = last
    run.done += len(chunk)
    run.last_profile_id = chunk[-1].id
    if problems:
        run.error = "\n".join([*filter(None, [run.error]), *problems])[:ERROR_LENGTH]


def _apply_one(account: Account, run: BulkRun, profile: Profile, origin: Origin) -> bool:
    """Apply the run's action to one profile; whether it changed (or removed) anything."""
    params = run.params
    if run.action == "set_field":
        event = profiles.apply_update(
            account, profile, {params["name"]: params["value"]}, {}, origin=origin, kind="profile_updated"
        )
        return event is not None
    if run.action in ("add_interest", "remove_interest"):
        wanted = {int(params["interest"]): run.action == "add_interest"}
        event = profiles.apply_update(account, profile, {}, wanted, origin=origin, kind="profile_updated")
        return event is not None
    if run.action == "unsubscribe":
        if profile.database.unsubscribe_behaviour == "remove":
            _keep(run, profile)
        was = unsubscribe.is_subscribed(profile)
        unsubscribe.unsubscribe_in_transaction(profile, origin)
        return was
    if run.action == "delete":
        _keep(run, profile)
        profiles.remove_in_transaction(profile, origin)
        return True
    return False


def _keep(run: BulkRun, profile: Profile) -> None:
    """Keep a profile about to be removed, whole, for the undo."""
    subs = db.session.scalars(select(Subprofile).where(Subprofile.profile_id == profile.id).order_by(Subprofile.id))
    data = {
        "code": profile.code,
        "fields": profile.fields,
        "interests": profile.interests,
        "created_at": profile.created_at.isoformat(),
        "subprofiles": [
            {
                "id": sub.id,
                "collection_id": sub.collection_id,
                "code": sub.code,
                "fields": sub.fields,
                "created_at": sub.created_at.isoformat(),
            }
            for sub in subs
        ],
    }
    db.session.add(BulkRemovedProfile(run_id=run.id, profile_id=profile.id, data=data))


def _start_export(run: BulkRun) -> None:
    database = db.session.get_one(Database, run.database_id)
    path = export_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = CsvWriter()
    writer.row(["id", "created", "modified", *(f.name for f in database.fields), *(i.name for i in database.interests)])
    path.write_text("\ufeff" + writer.take(), encoding="utf-8")
    run.file_path = str(path)


def _export_chunk(run: BulkRun, chunk: list[Profile]) -> None:
    database = chunk[0].database
    writer = CsvWriter()
    for profile in chunk:
        held = set(profile.interests or [])
        writer.row(
            [
                profile.id,
                timestamp(profile.created_at),
                timestamp(profile.updated_at),
                *(profile.fields.get(f.key) for f in database.fields),
                *("yes" if i.id in held else "no" for i in database.interests),
            ]
        )
    with Path(run.file_path).open("a", encoding="utf-8") as file:
        file.write(writer.take())
