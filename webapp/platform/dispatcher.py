"""The dispatcher loop: moves due rows of durable work into RQ. A process of its own, never an RQ job,
so that losing Redis cannot stop it; several may run against one PostgreSQL (rows are claimed with
``FOR UPDATE SKIP LOCKED``). Each round it records its heartbeat and puts back the work of lost jobs
(``work.lost_jobs``: Redis forgot them, or the worker running them was killed), at most every
``LOST_CHECK_EVERY`` seconds."""

import contextlib
import logging
import threading
import time

from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from webapp.extensions import db
from webapp.platform import heartbeats, work

log = logging.getLogger(__name__)

LOST_CHECK_EVERY = 1.0  # seconds


def run(stop: threading.Event, interval: float, name: str | None = None) -> None:
    """Dispatch until ``stop`` is set; waits ``interval`` seconds between rounds that found nothing."""
    name = name or heartbeats.process_name()
    work.ensure_housekeeping()
    checked_at = beaten_at = 0.0
    try:
        while not stop.is_set():
            queued = 0
            try:
                if time.monotonic() - beaten_at >= heartbeats.BEAT_EVERY / 2:
                    heartbeats.beat(heartbeats.DISPATCHER, name)
                    beaten_at = time.monotonic()
                queued = work.dispatch_due() + work.dispatch_sources()
                if time.monotonic() - checked_at >= LOST_CHECK_EVERY:
                    work.requeue_lost()
                    work.requeue_lost_sources()
                    checked_at = time.monotonic()
            except (RedisError, OperationalError) as error:
                db.session.rollback()
                log.warning("dispatcher: %s; trying again", error)
            finally:
                db.session.remove()
            if not queued:
                stop.wait(interval)
    finally:
        with contextlib.suppress(RedisError):
            heartbeats.forget(heartbeats.DISPATCHER, name)
