"""A worker process killed with SIGKILL in the middle of an import: the rerun gives the database of one clean
run — no duplicates, no lost lines. The worker is a real child process; it is killed while a batch is written
but not committed, after an earlier batch was committed with its progress marker."""

import io
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sql_select

from tests.factories import make_database
from webapp.extensions import db
from webapp.imports import apply, runs
from webapp.models import ImportLineError, ImportRun, ProfileEvent
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

BATCH = 4
FIELDS = {"Email": {"type": "email", "indexed": True}, "FirstName": "text", "Score": "number", "Born": "date"}
LINES = [f"u{n % 9}@example.com,Name{n},{n},2000-01-{n % 28 + 1:02d},{1000 + n}" for n in range(30)]
FILE = "Email,FirstName,Score,Born,Orders.Number\n" + "\n".join(LINES[:13]) + "\nbad,x,1,,\n" + "\n".join(LINES[13:])

# The worker: applies the run with a small batch size and stops for good once the second batch is written
# (the first one committed), waiting to be killed.
WORKER = """
import sys, threading
from webapp import create_app
from webapp.imports import apply

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "REDIS_URL": sys.argv[2]})
apply.BATCH_SIZE = int(sys.argv[4])
write = apply._write_batch

def write_then_hang(run, planner, batch, origin):
    counts = write(run, planner, batch, origin)
    if run.lines_done >= apply.BATCH_SIZE:
        print("written", flush=True)
        threading.Event().wait()
    return counts

apply._write_batch = write_then_hang
with app.app_context():
    apply.apply_run(int(sys.argv[3]))
"""


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


def customers(account, name):
    database = make_database(account, name, fields=FIELDS)
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Number", type="text"), collection_id=orders.id)
    for n in (0, 4, 8):  # existing profiles that lines update
        profiles.create_profile(
            account, database.id, {"Email": f"U{n}@example.com", "FirstName": "Old"}, origin=Origin("admin")
        )
    return database


def queued_run(account, database):
    run = runs.upload(account, database.id, io.BytesIO(FILE.encode()), "file.csv")
    runs.start_run(account, run.id)
    return run.id


def snapshot(database) -> list:
    db.session.expire_all()
    names = {f.key: f.name for f in database.fields}
    for collection in database.collections:
        names.update({f.key: f"{collection.name}.{f.name}" for f in collection.fields})
    from webapp.models import Profile, Subprofile

    result = []
    for profile in db.session.scalars(sql_select(Profile).where(Profile.database_id == database.id)):
        subs = sorted(
            sorted((names[k], v) for k, v in sub.fields.items())
            for sub in db.session.scalars(sql_select(Subprofile).where(Subprofile.profile_id == profile.id))
        )
        result.append((sorted((names[k], v) for k, v in profile.fields.items()), profile.interests, subs))
    return sorted(result, key=repr)


def journal(run_id: int) -> list:
    """The run's events by kind, and its rejected lines."""
    kinds = db.session.execute(
        sql_select(ProfileEvent.kind, func.count())
        .where(ProfileEvent.reference == f"import {run_id}")
        .group_by(ProfileEvent.kind)
        .order_by(ProfileEvent.kind)
    ).all()
    errors = db.session.execute(
        sql_select(ImportLineError.line, ImportLineError.reason)
        .where(ImportLineError.run_id == run_id)
        .order_by(ImportLineError.line)
    ).all()
    return [tuple(row) for row in kinds] + [tuple(row) for row in errors]


def start_worker(app, run_id: int, stderr) -> subprocess.Popen:
    arguments = [app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], str(run_id), str(BATCH)]
    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *arguments],
        cwd=root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def wait_for_line(worker: subprocess.Popen, timeout: float = 120) -> str:
    ready, _write, _error = select.select([worker.stdout], [], [], timeout)
    return worker.stdout.readline().strip() if ready else ""


def test_a_worker_killed_mid_import_then_rerun_gives_one_clean_run(app, account, tmp_path, monkeypatch):
    monkeypatch.setattr(apply, "BATCH_SIZE", BATCH)
    clean_db = customers(account, "Clean")
    clean = apply.apply_run(queued_run(account, clean_db))
    clean_counts = (clean.created, clean.updated, clean.skipped, clean.rejected)
    assert (clean.status, clean.created, clean.updated, clean.rejected) == ("done", 6, 24, 1)

    database = customers(account, "Crashed")
    run_id = queued_run(account, database)
    with (tmp_path / "worker.err").open("w+") as stderr:
        worker = start_worker(app, run_id, stderr)
        try:
            line = wait_for_line(worker)
            stderr.seek(0)
            assert line == "written", stderr.read()
            os.kill(worker.pid, signal.SIGKILL)
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.wait(timeout=60)
            worker.stdout.close()
    assert worker.returncode == -signal.SIGKILL

    db.session.expire_all()  # the worker process wrote it
    crashed = db.session.get(ImportRun, run_id)
    assert (crashed.status, crashed.lines_done) == ("running", BATCH)  # the first batch, not the second
    rerun = apply.apply_run(run_id)
    assert (rerun.status, rerun.lines_done, rerun.lines_total) == ("done", 31, 31)
    assert (rerun.created, rerun.updated, rerun.skipped, rerun.rejected) == clean_counts
    assert snapshot(database) == snapshot(clean_db)
    assert journal(run_id) == journal(clean.id)


# The rollback worker: undoes the run in chunks of two profiles and stops for good inside the second chunk's
# transaction (the first one committed), waiting to be killed.
ROLLBACK_WORKER = """
import sys, threading
from webapp import create_app
from webapp.imports import rollback

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "REDIS_URL": sys.argv[2]})
rollback.LOOKUP_CHUNK = 2
journal = rollback._Undo.journal
calls = []

def journal_then_hang(self):
    journal(self)
    calls.append(1)
    if len(calls) == 2:
        print("written", flush=True)
        threading.Event().wait()

rollback._Undo.journal = journal_then_hang
with app.app_context():
    rollback.apply_rollback(int(sys.argv[3]))
"""


def test_a_rollback_whose_worker_is_killed_goes_on_where_it_stopped(app, account, tmp_path, monkeypatch):
    from webapp.imports import rollback

    database = customers(account, "RolledBack")
    before = snapshot(database)
    run = apply.apply_run(queued_run(account, database))
    assert run.created + run.updated >= 5
    rollback.request_rollback(account, run.id)
    arguments = [app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], str(run.id)]
    root = Path(__file__).resolve().parents[2]
    with (tmp_path / "rollback.err").open("w+") as stderr:
        worker = subprocess.Popen(
            [sys.executable, "-c", ROLLBACK_WORKER, *arguments],
            cwd=root,
            env={**os.environ, "PYTHONPATH": str(root)},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            line = wait_for_line(worker)
            stderr.seek(0)
            assert line == "written", stderr.read()
            os.kill(worker.pid, signal.SIGKILL)
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.wait(timeout=60)
            worker.stdout.close()
    db.session.expire_all()
    halfway = db.session.get(ImportRun, run.id)
    assert (halfway.status, halfway.rollback_done) == ("rolling_back", 2)  # the first chunk, not the second
    monkeypatch.setattr(rollback, "LOOKUP_CHUNK", 2)
    rollback.apply_rollback(run.id)  # what the retried work row does
    db.session.expire_all()
    done = db.session.get(ImportRun, run.id)
    # the run counts lines (24 lines update the 3 existing profiles), the rollback profiles
    assert (done.status, done.rollback_done, done.removed, done.restored) == (
        "rolled_back",
        done.rollback_total,
        run.created,
        3,
    )
    assert snapshot(database) == before
    twice = db.session.execute(
        sql_select(ProfileEvent.profile_id, ProfileEvent.kind, ProfileEvent.subprofile_id)
        .where(ProfileEvent.reference == f"import {run.id} rollback")
        .group_by(ProfileEvent.profile_id, ProfileEvent.kind, ProfileEvent.subprofile_id)
        .having(func.count() > 1)
    ).all()
    assert twice == []  # no chunk was undone twice
    removed = sql_select(func.count()).where(
        ProfileEvent.reference == f"import {run.id} rollback", ProfileEvent.kind == "profile_removed"
    )
    assert db.session.scalar(removed) == run.created
