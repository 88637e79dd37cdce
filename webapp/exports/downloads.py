"""Exports written to a file by a worker and kept for a later download ("start now, download later").

``start_export`` checks the options as a streamed export would (a wrong field or format is refused at once) and
writes an ``ExportFile`` row with its durable work row (kind ``export_file``) in one transaction. The handler
locks the row, streams the export into ``<id>.part`` in the exports folder (``EXPORT_FOLDER``, default
``<instance>/exports``), renames it and marks the row done in the work's transaction: a second run of the same
row finds it done and does nothing, and a run that died half-way writes the file again. A field removed between
the start and the run fails it at once (with the reason); other errors retry with the work rows' backoff, and
while the row waits its status says so (``state_of`` reads the work row).

Files are kept ``EXPORT_FILE_DAYS`` days (default 7): the housekeeping round deletes older ones and marks their
rows ``expired``, and deletes files in the folder that no row refers to once they are a day old.
"""

import dataclasses
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.exports import files
from webapp.extensions import db
from webapp.models import Account, ExportFile, ExportFileStatus, ScheduledWork, WorkStatus, utcnow
from webapp.platform import work
from webapp.platform.errors import Conflict, NotFound, ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_collection, get_database

KIND = "export_file"
ORPHAN_AGE = timedelta(days=1)
BATCH = 1000


@dataclass(frozen=True)
class ExportState:
    """What a caller may know of an export file: ``status`` is ``queued``, ``running``, ``retrying``, ``done``,
    ``failed`` or ``expired``; ``error`` the reason of a failure (or of the last failed attempt)."""

    status: str
    error: str


def folder() -> Path:
    return Path(current_app.config.get("EXPORT_FOLDER") or Path(current_app.instance_path) / "exports")


def keep_for() -> timedelta:
    return timedelta(days=current_app.config.get("EXPORT_FILE_DAYS", 7))


def get_export_file(account: Account, export_id: int) -> ExportFile:
    return owned(ExportFile, account, export_id, _("Export not found."))


def start_export(
    account: Account, database_id: int, options: files.ExportOptions, *, collection_id: int | None = None
) -> ExportFile:
    """Queue an export of the database's profiles (or the collection's subprofiles) to a file."""
    database = get_database(account, database_id)
    if collection_id is not None and get_collection(account, collection_id).database_id != database.id:
        raise NotFound(_("Collection not found."))
    _export(account, database.id, collection_id, options)  # checks the options; reads no rows
    row = ExportFile(
        account_id=account.id,
        database_id=database.id,
        collection_id=collection_id,
        options=dataclasses.asdict(options),
        status=ExportFileStatus.QUEUED,
    )
    db.session.add(row)
    db.session.flush()
    job = work.schedule(KIND, payload={"export_file_id": row.id}, account_id=account.id)
    db.session.flush()
    row.work_id = job.id
    db.session.commit()
    return row


def state_of(row: ExportFile) -> ExportState:
    if row.status != ExportFileStatus.QUEUED:
        return ExportState(row.status, row.error)
    job = db.session.get(ScheduledWork, row.work_id) if row.work_id else None
    if job is None or job.status == WorkStatus.FAILED:
        return ExportState(ExportFileStatus.FAILED, job.last_error if job else _("The export's work was lost."))
    if job.status == WorkStatus.QUEUED:
        return ExportState("running", job.last_error)
    return ExportState("retrying" if job.attempts else ExportFileStatus.QUEUED, job.last_error)


def open_export(account: Account, export_id: int) -> tuple[ExportFile, Path]:
    """The row and its stored file, for a download; ``Conflict`` while it is not written (yet)."""
    row = get_export_file(account, export_id)
    state = state_of(row)
    if state.status == ExportFileStatus.FAILED:
        raise Conflict(_("This export failed: %(error)s Start a new one.", error=state.error))
    if state.status == ExportFileStatus.EXPIRED and row.error:
        raise Conflict(_("This export's file was deleted: %(reason)s Start a new one.", reason=row.error))
    if state.status == ExportFileStatus.EXPIRED:
        raise Conflict(_("This export's file was deleted after %(days)s days. Start a new one.", days=keep_for().days))
    if state.status != ExportFileStatus.DONE:
        raise Conflict(_("This export is still being written: download it when its status is done."))
    return row, folder() / row.stored_name


# --- the work kind --------------------------------------------------------------------------------


def run_export_file_work(work_row: ScheduledWork) -> None:
    """The ``export_file`` kind: write the file, then mark the row done (in the work's transaction)."""
    row = db.session.scalar(
        select(ExportFile).where(ExportFile.id == int(work_row.payload["export_file_id"])).with_for_update()
    )
    if row is None or row.status != ExportFileStatus.QUEUED:
        return
    account = db.session.get_one(Account, row.account_id)
    options = files.ExportOptions(**row.options)
    try:
        export = _export(account, row.database_id, row.collection_id, options)
    except ValidationError as error:  # the database changed since the start: a retry would fail the same way
        row.status, row.error, row.finished_at = ExportFileStatus.FAILED, error.message, utcnow()
        return
    target = folder()
    target.mkdir(parents=True, exist_ok=True)
    stored = f"{row.id}{Path(export.filename).suffix}"
    partial = target / f"{row.id}.part"
    size = 0
    with partial.open("wb") as out:
        for chunk in export.chunks:
            out.write(chunk)
            size += len(chunk)
    os.replace(partial, target / stored)
    row.status, row.stored_name, row.size, row.finished_at = ExportFileStatus.DONE, stored, size, utcnow()
    row.file_name, row.content_type = export.filename, export.content_type


def _export(account: Account, database_id: int, collection_id: int | None, options: files.ExportOptions):
    if collection_id is None:
        return files.export_database(account, database_id, options)
    return files.export_collection(account, collection_id, options)


# --- housekeeping ---------------------------------------------------------------------------------


def delete_old_files() -> int:
    """The housekeeping task: expire files older than ``keep_for``, delete orphans; returns how many were deleted.

    Runs in the housekeeping transaction (does not commit)."""
    cutoff = utcnow() - keep_for()
    rows = db.session.scalars(
        select(ExportFile)
        .where(ExportFile.status == ExportFileStatus.DONE, ExportFile.finished_at < cutoff)
        .limit(BATCH)
    ).all()
    return sum(discard_file(row) for row in rows) + _delete_orphans()


def written_files(account: Account) -> list[tuple[ExportFile, Path]]:
    """The account's export files that are written and kept (for an erasure to look through)."""
    rows = db.session.scalars(
        select(ExportFile).where(
            ExportFile.account_id == account.id,
            ExportFile.status == ExportFileStatus.DONE,
            ExportFile.stored_name != "",
        )
    ).all()
    return [(row, folder() / row.stored_name) for row in rows]


def discard_file(row: ExportFile, reason: str = "") -> int:
    """Delete a written file now and mark its row expired (with ``reason`` for a download asked for later);
    returns how many files went (0 when it was gone already). Does not commit."""
    deleted = _delete(folder() / row.stored_name) if row.stored_name else 0
    row.status, row.stored_name, row.error = ExportFileStatus.EXPIRED, "", reason or row.error
    return deleted


def _delete(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1


def _delete_orphans() -> int:
    """Files no row refers to (their rows went with their database or account), once a day old."""
    if not folder().is_dir():
        return 0
    known = set(db.session.scalars(select(ExportFile.stored_name).where(ExportFile.stored_name != "")))
    known |= {
        f"{row_id}.part"
        for row_id in db.session.scalars(select(ExportFile.id).where(ExportFile.status == ExportFileStatus.QUEUED))
    }
    old = time.time() - ORPHAN_AGE.total_seconds()
    return sum(
        _delete(path)
        for path in folder().iterdir()
        if path.is_file() and path.name not in known and path.stat().st_mtime < old
    )


def init_app(app) -> None:
    with app.app_context():
        work.register_kind(KIND, run_export_file_work)
        work.add_housekeeping(delete_old_files)
