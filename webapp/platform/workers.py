"""The RQ worker of the app: RQ's forking worker that also records heartbeats (``platform.heartbeats``).

RQ calls ``heartbeat()`` before each wait for a job and, while a work horse runs, every
``job_monitoring_interval`` seconds from the parent process. With the intervals set here that is about every
``heartbeats.BEAT_EVERY`` seconds, busy or idle, so a dispatcher notices within ``heartbeats.SILENT_AFTER`` that
a worker was killed (with its work horse, or the whole machine) and queues its job's work again.
"""

import contextlib
import time

from redis.exceptions import RedisError
from rq import Worker
from rq.job import Job
from rq.queue import Queue

from webapp.platform import heartbeats

# RQ waits ``worker_ttl - 15`` seconds for a job between heartbeats (at least 1).
WORKER_TTL = 15 + int(heartbeats.BEAT_EVERY)


class HeartbeatWorker(Worker):
    """A forking RQ worker whose heartbeats also go to ``platform.heartbeats`` (with the job it runs)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("job_monitoring_interval", int(heartbeats.BEAT_EVERY))
        super().__init__(*args, **kwargs)
        self.running_job_id = ""
        self.beaten_at = 0.0

    def execute_job(self, job: Job, queue: Queue):
        self.running_job_id = job.id
        self.record_beat(force=True)
        try:
            super().execute_job(job, queue)
        finally:
            self.running_job_id = ""
            self.record_beat(force=True)

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline=pipeline)
        self.record_beat()

    def record_beat(self, *, force: bool = False) -> None:
        """Beat at most once a second (RQ calls ``heartbeat`` several times around each job)."""
        if self.is_horse or (not force and time.monotonic() - self.beaten_at < 1.0):
            return
        try:
            heartbeats.beat(heartbeats.WORKER, self.name, job_id=self.running_job_id)
            self.beaten_at = time.monotonic()
        except RedisError:
            self.log.warning("could not record the heartbeat of worker %s", self.name)

    def teardown(self):
        if not self.is_horse:
            with contextlib.suppress(RedisError):
                heartbeats.forget(heartbeats.WORKER, self.name)
        super().teardown()
