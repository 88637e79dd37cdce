"""Stored import files (uploads and fetched files): kept while a run may still read them, then deleted.

A run reads its file while it waits for a mapping or a start (``pending``), is ``queued`` or ``running`` — a run
resumed after a crash reads it again from where it stopped. After that:

- ``done`` and ``rolled_back`` runs no longer need it: a rollback works from the event journal, not the file, and
  a finished run is never started again. Their file is deleted in the next housekeeping round (hourly).
- ``failed`` runs keep it for ``IMPORT_FILE_DAYS`` days (default 7) after they ended, so an admin can retry the
  work; then it is deleted.
- ``pending`` runs that nobody started within ``IMPORT_FILE_DAYS`` days are given up: the file is deleted and
  the run is marked failed with the reason (which also lets a scheduled fetch create a new run).
- Files no run refers to (the runs went with their database or account, or a crash came between storing the file
  and committing its run) are deleted once they are a day old.

A deleted file leaves the run with an empty ``file_path``; its counts, error report and rollback stay.
Housekeeping only ever deletes files inside the imports folder.
"""

import logging
import time
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from webapp.extensions import db
from webapp.imports import runs as imports
from webapp.models import ImportRun, ImportRunStatus, utcnow
from webapp.platform import work

log = logging.getLogger(__name__)

BATCH = 1000
ORPHAN_AGE = timedelta(days=1)


def keep_for() -> timedelta:
    return timedelta(days=current_app.config.get("IMPORT_FILE_DAYS", 7))


def delete_unneeded_files() -> int:
    """The housekeeping task: delete the files runs no longer need, and orphans; returns how many were deleted.

    Runs in the housekeeping transaction (does not commit)."""
    cutoff = utcnow() - keep_for()
    runs = db.session.scalars(
        select(ImportRun)
        .where(
            ImportRun.file_path != "",
            or_(
                ImportRun.status.in_((ImportRunStatus.DONE, ImportRunStatus.ROLLED_BACK)),
                and_(ImportRun.status == ImportRunStatus.FAILED, ImportRun.finished_at < cutoff),
                and_(ImportRun.status == ImportRunStatus.PENDING, ImportRun.created_at < cutoff),
            ),
        )
        .limit(BATCH)
    ).all()
    paths = []
    for run in runs:
        if run.status == ImportRunStatus.PENDING:
            days = keep_for().days
            run.status, run.finished_at = ImportRunStatus.FAILED, utcnow()
            run.error = _("Not started within %(days)s days; the file was deleted. Import it again.", days=days)
        paths.append(run.file_path)
        run.file_path = ""
    db.session.flush()
    deleted = sum(_delete(Path(path)) for path in paths)
    return deleted + _delete_orphans()


def _inside_folder(path: Path) -> bool:
    try:
        path.resolve().relative_to(imports.upload_directory().resolve())
    except ValueError:
        return False
    return True


def _delete(path: Path) -> int:
    if not _inside_folder(path):
        log.warning("not deleting %s: outside the imports folder", path)
        return 0
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1


def _delete_orphans() -> int:
    folder = imports.upload_directory()
    if not folder.is_dir():
        return 0
    referenced = {
        str(Path(path).resolve())
        for path in db.session.scalars(select(ImportRun.file_path).where(ImportRun.file_path != ""))
    }
    old = time.time() - ORPHAN_AGE.total_seconds()
    deleted = 0
    for path in folder.glob("*/*"):
        if path.is_file() and path.stat().st_mtime < old and str(path.resolve()) not in referenced:
            deleted += _delete(path)
    return deleted


def init_app(app) -> None:
    with app.app_context():
        work.add_housekeeping(delete_unneeded_files)
