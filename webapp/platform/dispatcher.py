"""The dispatcher loop: moves due rows of durable work into RQ. A process of its own, never an RQ job,
so that losing Redis cannot stop it; several may run against one PostgreSQL (rows are claimed with
``FOR UPDATE SKIP LOCKED``)."""

import logging
import threading

from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from webapp.extensions import db
from webapp.platform import work

log = logging.getLogger(__name__)


def run(stop: threading.Event, interval: float) -> None:
    """Dispatch until ``stop`` is set; waits ``interval`` seconds between rounds that found nothing."""
    work.ensure_housekeeping()
    while not stop.is_set():
        try:
            queued = work.dispatch_due() + work.dispatch_sources()
            work.requeue_lost()
            work.requeue_lost_sources()
        except (RedisError, OperationalError) as error:
            db.session.rollback()
            log.warning("dispatcher: %s; trying again", error)
            queued = 0
        finally:
            db.session.remove()
        if not queued:
            stop.wait(interval)
