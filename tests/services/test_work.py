"""Durable work: rows before jobs, a dispatcher that survives Redis losing everything, jobs that run once."""

from datetime import timedelta

import pytest
from rq.job import Job, JobStatus
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.workers import run_burst_worker, settle_heartbeats
from webapp.extensions import db
from webapp.models import ScheduledWork, utcnow
from webapp.platform import heartbeats, work
from webapp.platform.queues import redis_connection

CALLS: list[int] = []


def counting(row: ScheduledWork) -> None:
    CALLS.append(row.id)


def failing(row: ScheduledWork) -> None:
    raise RuntimeError("remote end said no")


@pytest.fixture
def kinds(ctx):
    CALLS.clear()
    work.register_kind("count", counting)
    work.register_kind("fail", failing)
    yield
    work._handlers().pop("count")
    work._handlers().pop("fail")


def run_worker() -> None:
    """A real RQ worker in this process (burst: it stops when the queue is empty)."""
    run_burst_worker()


def test_due_rows_become_jobs_named_after_their_kind(kinds):
    due = work.schedule("count")
    later = work.schedule("count", due_at=utcnow() + timedelta(hours=1))
    db.session.commit()
    assert work.dispatch_due() == 1
    assert Job.exists(f"count-{due.id}", connection=redis_connection())
    assert not Job.exists(f"count-{later.id}", connection=redis_connection())
    run_worker()
    assert [due.id] == CALLS
    db.session.expire_all()
    assert db.session.get(ScheduledWork, due.id).status == "done"
    assert db.session.get(ScheduledWork, later.id).status == "pending"


def test_a_job_run_twice_does_the_work_once(kinds):
    row = work.schedule("count")
    db.session.commit()
    work.dispatch_due()
    run_worker()
    assert work.run_work(row.id) == "done"
    assert [row.id] == CALLS


def test_nothing_is_lost_when_redis_loses_everything(kinds, monkeypatch):
    row = work.schedule("count")
    db.session.commit()
    work.dispatch_due()
    redis_connection().flushdb()
    monkeypatch.setattr(work, "CHECK_AFTER", timedelta(0))
    # Just after the flush no worker has beaten again: one may still be running the job Redis forgot.
    heartbeats.beat(heartbeats.DISPATCHER, "d1")
    assert work.requeue_lost() == 0
    settle_heartbeats()
    assert work.requeue_lost() == 1
    assert work.dispatch_due() == 1
    run_worker()
    assert [row.id] == CALLS


def test_a_job_forgotten_by_redis_but_run_by_a_live_worker_is_not_lost(kinds, monkeypatch):
    row = work.schedule("count")
    db.session.commit()
    work.dispatch_due()
    redis_connection().flushdb()
    heartbeats.beat(heartbeats.WORKER, "w1", job_id=row.job_id)
    settle_heartbeats()
    monkeypatch.setattr(work, "CHECK_AFTER", timedelta(0))
    assert work.requeue_lost() == 0


def test_a_queued_job_that_still_exists_is_left_alone(kinds, monkeypatch):
    work.schedule("count")
    db.session.commit()
    work.dispatch_due()
    settle_heartbeats()
    monkeypatch.setattr(work, "CHECK_AFTER", timedelta(0))
    assert work.requeue_lost() == 0


def started_by(job_id: str, worker_name: str) -> None:
    """What a worker does when it takes a job: the job is ``started`` under the worker's name."""
    job = Job.fetch(job_id, connection=redis_connection())
    job.set_status(JobStatus.STARTED)
    job.worker_name = worker_name
    job.save()


def test_a_job_whose_worker_stopped_beating_is_lost_at_once(kinds, monkeypatch):
    alive, killed = work.schedule("count"), work.schedule("count")
    db.session.commit()
    work.dispatch_due()
    started_by(alive.job_id, "alive-worker")
    started_by(killed.job_id, "killed-worker")
    heartbeats.beat(heartbeats.WORKER, "alive-worker", job_id=alive.job_id)
    settle_heartbeats()
    monkeypatch.setattr(work, "CHECK_AFTER", timedelta(0))
    assert work.requeue_lost() == 1
    db.session.expire_all()
    assert (db.session.get(ScheduledWork, alive.id).status, db.session.get(ScheduledWork, killed.id).status) == (
        "queued",
        "pending",
    )


def test_failures_retry_with_backoff_then_fail_for_an_admin(kinds):
    row = work.schedule("fail", account_id=None)
    db.session.commit()
    assert work.run_work(row.id) == "pending"
    db.session.refresh(row)
    assert row.attempts == 1 and "remote end said no" in row.last_error and row.due_at > utcnow()
    for _ in range(work.MAX_ATTEMPTS - 1):
        work.run_work(row.id)
    db.session.refresh(row)
    assert row.status == "failed" and row.attempts == work.MAX_ATTEMPTS
    work.retry(row.id, None)
    db.session.refresh(row)
    assert row.status == "pending" and row.attempts == 0


def test_housekeeping_keeps_one_round_scheduled_and_forgets_old_work(kinds):
    old = ScheduledWork(kind="count", status="done", finished_at=utcnow() - timedelta(days=40))
    db.session.add(old)
    db.session.commit()
    old_id = old.id
    work.ensure_housekeeping()
    work.ensure_housekeeping()
    rounds = list(db.session.scalars(select(ScheduledWork).where(ScheduledWork.kind == "housekeeping")))
    assert len(rounds) == 1
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    assert db.session.get(ScheduledWork, old_id) is None
    rounds = db.session.scalars(select(ScheduledWork).where(ScheduledWork.kind == "housekeeping"))
    statuses = sorted(r.status for r in rounds)
    assert statuses == ["done", "pending"]


def test_unknown_kinds_are_refused(kinds):
    with pytest.raises(ValueError):
        work.schedule("nope")


def test_two_dispatchers_never_claim_the_same_row(kinds):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks (FOR UPDATE SKIP LOCKED) exist on PostgreSQL only; SQLite has one writer")
    first, second = work.schedule("count"), work.schedule("count")
    db.session.commit()
    with Session(db.engine) as other:
        locked = other.execute(
            text("SELECT id FROM scheduled_work WHERE status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
        ).scalar()
        assert locked == first.id
        assert work.dispatch_due() == 1
        other.rollback()
    db.session.expire_all()
    assert db.session.get(ScheduledWork, first.id).status == "pending"
    assert db.session.get(ScheduledWork, second.id).status == "queued"


def test_housekeeping_runs_registered_tasks(kinds):
    ran = []
    work.add_housekeeping(lambda: ran.append(True))
    try:
        row = work.schedule("housekeeping")
        db.session.commit()
        assert work.run_work(row.id) == "done"
    finally:
        work.current_app.extensions["housekeeping_tasks"].pop()
    assert ran == [True]
