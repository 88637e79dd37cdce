"""Durable scheduling: later work is a row with a due time before it is an RQ job.

See docs/architecture.md, "Durable scheduling".

The dispatcher claims due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several may run), enqueues
one RQ job per row with the id ``{kind}-{row id}`` and marks the row queued in the same transaction.
A job (``run_work``) locks its row, does the work and marks it done in one transaction, so running a
job twice does the work once. Queued rows whose job is lost — Redis no longer knows it (a restart or
``FLUSHDB``), it ended without finishing, or the worker running it stopped beating (killed) — are put back
to pending within seconds (``lost_jobs``). Kinds register a handler with ``register_kind``.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from rq.job import Job, JobStatus
from sqlalchemy import delete, select

from webapp.extensions import db
from webapp.models import ScheduledWork, WorkStatus, utcnow
from webapp.platform import heartbeats
from webapp.platform.errors import NotFound
from webapp.platform.queues import get_queue, redis_connection

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
CLAIM_BATCH = 100
# A queued row's job is looked at once the row has been queued this long (a job only just enqueued is not lost).
CHECK_AFTER = timedelta(seconds=5)


def _handlers() -> dict[str, Callable[[ScheduledWork], None]]:
    return current_app.extensions.setdefault("work_handlers", {})


def register_kind(kind: str, handler: Callable[[ScheduledWork], None]) -> None:
    """Make ``handler(row)`` run rows of ``kind``; it works inside the job's transaction and must not commit."""
    _handlers()[kind] = handler


def schedule(
    kind: str, *, due_at=None, payload: dict[str, Any] | None = None, account_id: int | None = None
) -> ScheduledWork:
    """Add a row of later work to the current transaction (the caller commits)."""
    if kind not in _handlers():
        raise ValueError(f"unknown kind of work {kind!r}")
    row = ScheduledWork(kind=kind, due_at=due_at or utcnow(), payload=payload or {}, account_id=account_id)
    db.session.add(row)
    return row


def dispatch_sources() -> int:
    """Dispatch the other tables of durable rows (``app.extensions["work_sources"]``: pairs of ``dispatch()`` and
    ``requeue_lost()``, each committing and returning how many rows it moved, e.g. follow-up runs in batches)."""
    return sum(dispatch() for dispatch, _requeue in current_app.extensions["work_sources"])


def requeue_lost_sources() -> int:
    return sum(requeue() for _dispatch, requeue in current_app.extensions["work_sources"])


def dispatch_due(*, limit: int = CLAIM_BATCH) -> int:
    """Move due rows into RQ; returns how many were queued."""
    now = utcnow()
    rows = list(
        db.session.scalars(
            select(ScheduledWork)
            .where(ScheduledWork.status == WorkStatus.PENDING, ScheduledWork.due_at <= now)
            .order_by(ScheduledWork.due_at, ScheduledWork.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    queue = get_queue()
    for row in rows:
        queue.enqueue("webapp.jobs.run_work", row.id, job_id=row.job_id, result_ttl=3600, failure_ttl=86400)
        row.status, row.queued_at = WorkStatus.QUEUED, now
    db.session.commit()
    return len(rows)


def requeue_lost() -> int:
    """Put back to pending the queued rows whose RQ job is lost (``lost_jobs``); returns how many.

    The oldest rows are looked at first (a killed worker's job is among them: queues are first in, first out)."""
    cutoff = utcnow() - CHECK_AFTER
    rows = list(
        db.session.scalars(
            select(ScheduledWork)
            .where(ScheduledWork.status == WorkStatus.QUEUED, ScheduledWork.queued_at < cutoff)
            .order_by(ScheduledWork.due_at)
            .limit(CLAIM_BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    lost = lost_jobs(row.job_id for row in rows)
    for row in rows:
        if row.job_id in lost:
            row.status = WorkStatus.PENDING
    db.session.commit()
    return sum(1 for row in rows if row.job_id in lost)


def lost_jobs(job_ids: Iterable[str]) -> set[str]:
    """The jobs among ``job_ids`` that will never finish their work: Redis no longer knows them and no live
    worker runs them, they ended without finishing (failed, stopped, abandoned), or they started on a worker
    that stopped beating (killed). One round trip for all the jobs, a few for the heartbeats.

    Right after a Redis restart or ``FLUSHDB`` the heartbeats are not trustworthy yet (live workers have not
    beaten again): a job Redis forgot, or one on a worker not recorded yet, counts as lost only once they are.
    """
    wanted = list(dict.fromkeys(job_ids))
    if not wanted:
        return set()
    jobs = Job.fetch_many(wanted, connection=redis_connection())
    trusted = heartbeats.trustworthy()
    live = [beat for beat in heartbeats.processes(heartbeats.WORKER) if beat.alive]
    live_workers, running = {beat.name for beat in live}, {beat.job_id for beat in live}
    lost = set()
    for job_id, job in zip(wanted, jobs, strict=True):
        if job is None:
            gone = trusted and job_id not in running
        elif job.get_status(refresh=False) == JobStatus.STARTED:
            gone = trusted and job.worker_name not in live_workers
        else:
            gone = job.get_status(refresh=False) in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, None)
        if gone:
            lost.add(job_id)
    return lost


def run_work(work_id: int) -> str:
    """Do one row of work once; returns its status afterwards. Called by the RQ job of that row."""
    row = db.session.scalar(select(ScheduledWork).where(ScheduledWork.id == work_id).with_for_update())
    if row is None or row.status in (WorkStatus.DONE, WorkStatus.FAILED):
        db.session.rollback()
        return row.status if row else "missing"
    handler = _handlers()[row.kind]
    try:
        handler(row)
        row.status, row.finished_at, row.attempts = WorkStatus.DONE, utcnow(), row.attempts + 1
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - any failure of the work is recorded on its row
        db.session.rollback()
        log.exception("work %s failed", work_id)
        _record_failure(work_id, error)
    return _found_row(work_id, lock=False).status


def _found_row(work_id: int, *, lock: bool = True) -> ScheduledWork:
    """The row ``run_work`` found: only a concurrent delete can take it away, which fails the job."""
    if lock:
        row = db.session.scalar(select(ScheduledWork).where(ScheduledWork.id == work_id).with_for_update())
    else:
        row = db.session.get(ScheduledWork, work_id)
    if row is None:
        raise LookupError(f"scheduled work {work_id} was deleted while it ran")
    return row


def _record_failure(work_id: int, error: Exception) -> None:
    row = _found_row(work_id)
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    if row.attempts >= MAX_ATTEMPTS:
        row.status, row.finished_at = WorkStatus.FAILED, utcnow()
    else:
        row.status, row.due_at = WorkStatus.PENDING, utcnow() + timedelta(seconds=30 * 2 ** (row.attempts - 1))
    db.session.commit()


def retry(work_id: int, account_id: int | None) -> ScheduledWork:
    """Run a failed row of the account again (the jobs page's retry button)."""
    row = db.session.scalar(select(ScheduledWork).where(ScheduledWork.id == work_id).with_for_update())
    if row is None or row.account_id != account_id or row.status != WorkStatus.FAILED:
        db.session.rollback()
        raise NotFound(_("No failed work with that number."))
    row.status, row.attempts, row.due_at, row.finished_at = WorkStatus.PENDING, 0, utcnow(), None
    db.session.commit()
    return row


# --- the first kind: periodic housekeeping --------------------------------------------------------

HOUSEKEEPING_EVERY = timedelta(hours=1)
KEEP_FINISHED_WORK = timedelta(days=30)


def add_housekeeping(task: Callable[[], object]) -> None:
    """Run ``task()`` in every housekeeping round (inside its transaction; it must not commit)."""
    current_app.extensions["housekeeping_tasks"].append(task)


def housekeeping(row: ScheduledWork) -> None:
    """Forget finished work older than 30 days, run the registered tasks (the first forgets processes silent for
    a day: ``heartbeats.prune``), and schedule the next round."""
    for task in current_app.extensions["housekeeping_tasks"]:
        task()
    db.session.execute(
        delete(ScheduledWork).where(
            ScheduledWork.status.in_((WorkStatus.DONE, WorkStatus.FAILED)),
            ScheduledWork.finished_at < utcnow() - KEEP_FINISHED_WORK,
        )
    )
    schedule("housekeeping", due_at=utcnow() + HOUSEKEEPING_EVERY)


def ensure_housekeeping() -> None:
    """Make sure one housekeeping round is pending or queued (the dispatcher calls this at start)."""
    waiting = db.session.scalar(
        select(ScheduledWork.id)
        .where(ScheduledWork.kind == "housekeeping", ScheduledWork.status.in_((WorkStatus.PENDING, WorkStatus.QUEUED)))
        .limit(1)
    )
    if waiting is None:
        schedule("housekeeping")
        db.session.commit()


def init_app(app) -> None:
    app.extensions["work_handlers"] = {"housekeeping": housekeeping}
    app.extensions["housekeeping_tasks"] = [heartbeats.prune]
    app.extensions["work_sources"] = []
