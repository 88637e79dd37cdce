"""Heartbeats of workers and dispatchers: recorded in Redis, read as "who was seen when"."""

import json

import pytest

from tests.workers import BurstWorker, settle_heartbeats
from webapp.platform import heartbeats
from webapp.platform.queues import get_queue, redis_connection
from webapp.platform.workers import HeartbeatWorker


def test_a_beat_is_recorded_and_read_back(ctx):
    assert heartbeats.last_seen(heartbeats.WORKER) is None
    heartbeats.beat(heartbeats.WORKER, "w1", job_id="import-7")
    heartbeats.beat(heartbeats.DISPATCHER, "d1")
    [worker] = heartbeats.processes(heartbeats.WORKER)
    assert (worker.name, worker.job_id, worker.alive) == ("w1", "import-7", True)
    assert heartbeats.last_seen(heartbeats.WORKER) == worker.seen_at
    assert heartbeats.last_seen(heartbeats.DISPATCHER) is not None
    assert heartbeats.is_alive(heartbeats.WORKER, "w1") and not heartbeats.is_alive(heartbeats.WORKER, "w2")
    assert heartbeats.any_alive(heartbeats.WORKER) and heartbeats.any_alive(heartbeats.DISPATCHER)
    assert heartbeats.running("import-7") and not heartbeats.running("import-8")
    heartbeats.forget(heartbeats.WORKER, "w1")
    assert heartbeats.processes(heartbeats.WORKER) == []


def test_unknown_roles_are_refused(ctx):
    with pytest.raises(ValueError):
        heartbeats.beat("gardener", "g1")


def test_a_silent_process_is_not_alive_and_is_forgotten_after_a_day(ctx):
    seconds, _micro = redis_connection().time()
    record = {"role": "worker", "name": "old", "host": "h", "pid": 1, "job": "x-1", "seen": seconds - 2 * 86400}
    redis_connection().hset(heartbeats.KEY, "worker:old", json.dumps(record))
    heartbeats.beat(heartbeats.WORKER, "new")
    old = next(beat for beat in heartbeats.processes() if beat.name == "old")
    assert not old.alive and not heartbeats.running("x-1")
    heartbeats.forget(heartbeats.WORKER, "new")
    assert not heartbeats.any_alive(heartbeats.WORKER) and heartbeats.last_seen(heartbeats.WORKER) == old.seen_at
    heartbeats.beat(heartbeats.WORKER, "new")
    assert heartbeats.prune() == 1
    assert [beat.name for beat in heartbeats.processes()] == ["new"]


def test_the_record_is_trusted_only_some_seconds_after_redis_lost_it(ctx):
    assert not heartbeats.trustworthy()  # nothing recorded (a FLUSHDB)
    heartbeats.beat(heartbeats.DISPATCHER, "d1")
    assert not heartbeats.trustworthy()  # live workers may not have beaten yet
    settle_heartbeats()
    assert heartbeats.trustworthy()


def running_jobs() -> list[list[str]]:
    """A job that reports what the heartbeats say while it runs."""
    return [[beat.name, beat.job_id] for beat in heartbeats.processes(heartbeats.WORKER)]


class InProcessHeartbeatWorker(HeartbeatWorker, BurstWorker):
    """The app's worker, running its job in this process (RQ's ``SimpleWorker``) instead of a work horse."""


def test_the_worker_beats_with_the_job_it_runs_and_leaves_the_record_when_it_stops(ctx):
    job = get_queue().enqueue(running_jobs, job_id="probe-1")
    worker = InProcessHeartbeatWorker([get_queue()], connection=redis_connection())
    worker.work(burst=True)
    assert job.return_value() == [[worker.name, "probe-1"]]
    assert heartbeats.processes(heartbeats.WORKER) == []
