"""The operational state of the whole installation: what ``/healthz`` answers and the owners' jobs page shows.

``check()`` asks the database and Redis whether they answer, reads the heartbeats of workers and dispatchers
(``platform.heartbeats``), the depth of the RQ queues and the oldest overdue row of durable work (a row that
should have run more than ``OVERDUE_AFTER`` ago and has not). The installation is

- ``down`` when the database or Redis does not answer (this web process cannot serve: take it out);
- ``degraded`` when no worker or no dispatcher beats, or work is overdue by more than ``OVERDUE_ALERT``
  (someone should look; the web process itself serves fine);
- ``ok`` otherwise.

``jobs_overview(account_id)`` adds what an account's owner may see of it: that account's failed, due and
overdue work. Tables of durable rows other than ``scheduled_work`` (follow-up runs) report their oldest
overdue row through ``add_overdue_source`` (registered by their package).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq.registry import FailedJobRegistry, StartedJobRegistry
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db
from webapp.models import ScheduledWork, WorkStatus, utcnow
from webapp.platform import heartbeats
from webapp.platform.queues import get_queue, redis_connection

OVERDUE_AFTER = timedelta(minutes=1)  # work this late counts as overdue
OVERDUE_ALERT = timedelta(minutes=5)  # overdue work this old makes the installation degraded
LISTED = 50  # rows of each list on the jobs page

OK, DEGRADED, DOWN = "ok", "degraded", "down"


@dataclass(frozen=True)
class Overdue:
    """The oldest overdue row of one table of durable work."""

    kind: str
    row_id: int
    due_at: datetime  # naive UTC, like every stored moment
    count: int

    @property
    def late_seconds(self) -> int:
        return max(0, int((utcnow() - self.due_at).total_seconds()))


@dataclass(frozen=True)
class QueueDepth:
    name: str
    waiting: int
    running: int
    failed: int


@dataclass
class Health:
    database: bool
    redis: bool
    workers: list[heartbeats.Heartbeat] = field(default_factory=list)
    dispatchers: list[heartbeats.Heartbeat] = field(default_factory=list)
    queues: list[QueueDepth] = field(default_factory=list)
    overdue: list[Overdue] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def oldest_overdue(self) -> Overdue | None:
        return min(self.overdue, key=lambda item: item.due_at, default=None)

    @property
    def status(self) -> str:
        if not (self.database and self.redis):
            return DOWN
        return DEGRADED if self.problems else OK

    def as_json(self) -> dict:
        oldest = self.oldest_overdue
        return {
            "status": self.status,
            "database": self.database,
            "redis": self.redis,
            "problems": self.problems,
            "workers": _beats_json(self.workers),
            "dispatchers": _beats_json(self.dispatchers),
            "queues": {queue.name: {"waiting": queue.waiting, "running": queue.running} for queue in self.queues},
            "oldest_overdue": None
            if oldest is None
            else {"kind": oldest.kind, "due_at": oldest.due_at.isoformat() + "Z", "late_seconds": oldest.late_seconds},
        }


def add_overdue_source(source: Callable[[int | None], Overdue | None]) -> None:
    """Register ``source(account_id)``: the oldest overdue row of a table of durable work (of that account, or
    of all when None), or None."""
    current_app.extensions["overdue_sources"].append(source)


def check() -> Health:
    """The installation's health (see the module docstring)."""
    health = Health(database=_database_answers(), redis=_redis_answers())
    if health.redis:
        health.workers = heartbeats.processes(heartbeats.WORKER)
        health.dispatchers = heartbeats.processes(heartbeats.DISPATCHER)
        health.queues = queue_depths()
        if not any(beat.alive for beat in health.workers):  # (read once: heartbeats.any_alive would read again)
            health.problems.append("no worker")
        if not any(beat.alive for beat in health.dispatchers):
            health.problems.append("no dispatcher")
    if health.database:
        health.overdue = overdue_work(None)
        oldest = health.oldest_overdue
        if oldest is not None and utcnow() - oldest.due_at > OVERDUE_ALERT:
            health.problems.append("work overdue")
    return health


def queue_depths() -> list[QueueDepth]:
    """Jobs waiting, running and failed (kept by RQ for a day) per queue."""
    depths = []
    for name in current_app.config["RQ_QUEUES"]:
        queue = get_queue(name)
        started = StartedJobRegistry(queue=queue).count
        failed = FailedJobRegistry(queue=queue).count
        depths.append(QueueDepth(name, queue.count, started, failed))
    return depths


def overdue_work(account_id: int | None) -> list[Overdue]:
    """The oldest overdue row of every table of durable work (of the account, or of all when None)."""
    found = [scheduled_overdue(account_id)]
    found += [source(account_id) for source in current_app.extensions["overdue_sources"]]
    return [item for item in found if item is not None]


def scheduled_overdue(account_id: int | None) -> Overdue | None:
    rows = _scoped(_open_work().where(ScheduledWork.due_at < utcnow() - OVERDUE_AFTER), account_id)
    oldest = db.session.scalars(rows.order_by(ScheduledWork.due_at).limit(1)).first()
    if oldest is None:
        return None
    count = db.session.scalar(rows.with_only_columns(func.count()).order_by(None)) or 0
    return Overdue(f"work: {oldest.kind}", oldest.id, oldest.due_at, count)


@dataclass
class JobsOverview:
    """The owners' jobs page: the installation's health and one account's work."""

    health: Health
    failed: list[ScheduledWork]
    due: list[ScheduledWork]
    overdue_after: timedelta = OVERDUE_AFTER


def jobs_overview(account_id: int) -> JobsOverview:
    health = check()
    health.overdue = overdue_work(account_id) if health.database else []
    failed = _scoped(select(ScheduledWork).where(ScheduledWork.status == WorkStatus.FAILED), account_id)
    due = _scoped(_open_work().where(ScheduledWork.due_at <= utcnow()), account_id)
    return JobsOverview(
        health=health,
        failed=list(db.session.scalars(failed.order_by(ScheduledWork.finished_at.desc()).limit(LISTED))),
        due=list(db.session.scalars(due.order_by(ScheduledWork.due_at).limit(LISTED))),
    )


def _open_work():
    return select(ScheduledWork).where(ScheduledWork.status.in_((WorkStatus.PENDING, WorkStatus.QUEUED)))


def _scoped(query, account_id: int | None):
    return query if account_id is None else query.where(ScheduledWork.account_id == account_id)


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except SQLAlchemyError:
        db.session.rollback()
        return False
    return True


def _redis_answers() -> bool:
    try:
        return bool(redis_connection().ping())
    except RedisError:
        return False


def _beats_json(beats: list[heartbeats.Heartbeat]) -> dict:
    """How many beat, and when the last one did: no names, hosts or jobs (``/healthz`` is public)."""
    last = beats[0].seen_at.isoformat().replace("+00:00", "Z") if beats else None
    return {"alive": sum(1 for beat in beats if beat.alive), "last_seen": last}


def init_app(app) -> None:
    app.extensions["overdue_sources"] = []
