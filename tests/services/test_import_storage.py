"""Stored import files are deleted by housekeeping once no run needs them (``imports/storage.py``)."""

import io
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_database
from webapp.extensions import db
from webapp.imports import runs, storage
from webapp.models import ImportRun, ScheduledWork, utcnow
from webapp.platform import work

CSV = b"Email;FirstName\na@example.com;Ann\n"


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))
    return tmp_path / "imports"


@pytest.fixture
def database(account):
    return make_database(account, fields={"Email": {"type": "email", "indexed": True}, "FirstName": "text"})


def new_run(account, database, status: str, *, age: timedelta = timedelta(0)) -> tuple[ImportRun, str]:
    run = runs.upload(account, database.id, io.BytesIO(CSV), "people.csv")
    run.status = status
    run.created_at = utcnow() - age
    run.finished_at = utcnow() - age if status in ("done", "failed", "rolled_back") else None
    db.session.commit()
    return run, run.file_path


def housekeeping() -> None:
    storage.delete_unneeded_files()
    db.session.commit()
    db.session.expire_all()


def test_finished_runs_lose_their_file_and_keep_their_counts(account, database):
    done, done_path = new_run(account, database, "done")
    done.created = 1
    rolled_back, rolled_back_path = new_run(account, database, "rolled_back")
    db.session.commit()
    housekeeping()
    assert not os.path.exists(done_path) and not os.path.exists(rolled_back_path)
    assert db.session.get(ImportRun, done.id).file_path == "" and db.session.get(ImportRun, done.id).created == 1
    assert db.session.get(ImportRun, rolled_back.id).status == "rolled_back"


@pytest.mark.parametrize("status", ["pending", "queued", "running"])
def test_runs_that_may_still_read_their_file_keep_it(account, database, status):
    run, path = new_run(account, database, status, age=timedelta(days=1))
    housekeeping()
    assert os.path.exists(path) and db.session.get(ImportRun, run.id).file_path == path


def test_failed_runs_keep_their_file_for_import_file_days(app, account, database, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FILE_DAYS", 7)
    recent, recent_path = new_run(account, database, "failed", age=timedelta(days=6))
    old, old_path = new_run(account, database, "failed", age=timedelta(days=8))
    housekeeping()
    assert os.path.exists(recent_path) and not os.path.exists(old_path)
    assert db.session.get(ImportRun, old.id).status == "failed"


def test_a_pending_run_nobody_started_is_given_up(app, account, database):
    stale, stale_path = new_run(account, database, "pending", age=timedelta(days=8))
    housekeeping()
    run = db.session.get(ImportRun, stale.id)
    assert not os.path.exists(stale_path)
    assert run.status == "failed" and "Not started within 7 days" in run.error and run.finished_at is not None


def test_orphans_are_deleted_when_a_day_old(account, database, import_folder):
    run, path = new_run(account, database, "pending")
    folder = import_folder / str(account.id)
    old_orphan, new_orphan = folder / "old-orphan.csv", folder / "new-orphan.csv"
    old_orphan.write_bytes(CSV)
    new_orphan.write_bytes(CSV)
    two_days_ago = time.time() - 2 * 86400
    os.utime(old_orphan, (two_days_ago, two_days_ago))
    os.utime(path, (two_days_ago, two_days_ago))  # old, but its run still needs it
    housekeeping()
    assert not old_orphan.exists() and new_orphan.exists() and os.path.exists(path)


def test_files_outside_the_imports_folder_are_never_deleted(account, database, tmp_path):
    outside = tmp_path / "elsewhere.csv"
    outside.write_bytes(CSV)
    run, _path = new_run(account, database, "done")
    run.file_path = str(outside)
    db.session.commit()
    housekeeping()
    assert outside.exists()


def test_it_runs_in_the_hourly_housekeeping(account, database):
    _run, path = new_run(account, database, "done")
    row = work.schedule("housekeeping")
    db.session.commit()
    assert work.run_work(row.id) == "done"
    assert not os.path.exists(path)
    assert db.session.scalar(select(ScheduledWork.id).where(ScheduledWork.status == "pending")) is not None
