"""Heartbeats: RQ workers and dispatchers record that they are alive; anyone may ask who was seen when.

A heartbeat is one field of a Redis hash (``verrijk:heartbeats``), stamped with the Redis server's clock (so
machines with skewed clocks agree) and holding the process's role, name, host, pid and the job a worker is
running. Workers beat from RQ's own heartbeat calls (every ``BEAT_EVERY`` seconds while busy or idle, see
``platform.workers``); dispatchers beat once per round. A process silent for ``SILENT_AFTER`` counts as gone:
the dispatcher then treats the job its worker was running as lost (``work.lost_jobs``).

Reading: ``processes()`` (every process recorded, newest first), ``last_seen(role)`` ("when was a worker last
seen?"), ``any_alive(role)`` ("is any dispatcher running?"), ``is_alive(role, name)``, ``running(job_id)``.
Heartbeats need no persistence: after a Redis restart or ``FLUSHDB`` every live process is recorded again
within ``BEAT_EVERY`` seconds, and ``memory_since()`` says how long the record goes back, so nobody mistakes
"not recorded yet" for "dead" (``trustworthy()``).
A process that stops cleanly takes itself off the record; a killed one stays listed (not alive) until
housekeeping forgets it after ``KEEP_FOR``.
"""

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from webapp.platform.queues import redis_connection

WORKER = "worker"
DISPATCHER = "dispatcher"
ROLES = (WORKER, DISPATCHER)

BEAT_EVERY = 2.0  # seconds between two beats of a live process
SILENT_AFTER = timedelta(seconds=10)  # a process silent this long counts as gone
KEEP_FOR = timedelta(days=1)  # stopped processes stay listed this long

KEY = "verrijk:heartbeats"
SINCE_KEY = "verrijk:heartbeats:since"

# Stamp the beat with the server's clock; remember when this Redis started holding heartbeats.
BEAT_SCRIPT = """
local now = redis.call('TIME')
local stamp = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('SET', KEYS[2], tostring(stamp), 'NX')
local record = cjson.decode(ARGV[2])
record['seen'] = stamp
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(record))
return tostring(stamp)
"""


@dataclass(frozen=True)
class Heartbeat:
    """The last beat of one process; ``alive`` is judged at the moment it was read."""

    role: str
    name: str
    host: str
    pid: int
    seen_at: datetime  # aware, UTC
    job_id: str  # the job a worker was running at that beat; "" when idle (and for dispatchers)
    alive: bool


def process_name() -> str:
    """A name for this process that other machines can read: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(role: str, name: str, *, job_id: str = "") -> None:
    """Record that the process ``name`` of ``role`` is alive now (running ``job_id``, for a worker)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    record = {"role": role, "name": name, "host": socket.gethostname(), "pid": os.getpid(), "job": job_id}
    redis_connection().eval(BEAT_SCRIPT, 2, KEY, SINCE_KEY, _field(role, name), json.dumps(record))


def forget(role: str, name: str) -> None:
    """Take a process off the record (it stopped on purpose)."""
    redis_connection().hdel(KEY, _field(role, name))


def processes(role: str | None = None) -> list[Heartbeat]:
    """Every recorded process (of ``role``, when given), the most recently seen first."""
    now = server_now()
    found = []
    for raw in redis_connection().hvals(KEY):
        record = json.loads(raw)
        if role is not None and record.get("role") != role:
            continue
        seen_at = datetime.fromtimestamp(float(record["seen"]), UTC)
        found.append(
            Heartbeat(
                role=record["role"],
                name=record["name"],
                host=record.get("host", ""),
                pid=int(record.get("pid", 0)),
                seen_at=seen_at,
                job_id=record.get("job", ""),
                alive=now - seen_at <= SILENT_AFTER,
            )
        )
    return sorted(found, key=lambda heartbeat: heartbeat.seen_at, reverse=True)


def last_seen(role: str) -> datetime | None:
    """When a process of ``role`` (``WORKER`` or ``DISPATCHER``) last beat, or None if none is recorded."""
    seen = processes(role)
    return seen[0].seen_at if seen else None


def any_alive(role: str) -> bool:
    """Whether any process of ``role`` beat within ``SILENT_AFTER`` (e.g. "will this import be picked up?")."""
    return any(heartbeat.alive for heartbeat in processes(role))


def missing_roles() -> list[str]:
    """The roles (``WORKER``, ``DISPATCHER``) with no live process, for a warning that queued work will wait.

    Empty during the first ``SILENT_AFTER`` after this Redis started its record (live processes may not have
    beaten again yet); when no process ever beat, every role is missing.
    """
    since = memory_since()
    if since is not None and server_now() - since <= SILENT_AFTER:
        return []
    return [role for role in ROLES if not any_alive(role)]


def is_alive(role: str, name: str) -> bool:
    """Whether the process ``name`` beat within ``SILENT_AFTER``."""
    return any(heartbeat.name == name and heartbeat.alive for heartbeat in processes(role))


def running(job_id: str) -> bool:
    """Whether a live worker says it is running ``job_id``."""
    return any(heartbeat.job_id == job_id and heartbeat.alive for heartbeat in processes(WORKER))


def memory_since() -> datetime | None:
    """Since when this Redis holds heartbeats (recent after a restart or ``FLUSHDB``); None when it holds none."""
    raw = redis_connection().get(SINCE_KEY)
    return datetime.fromtimestamp(float(raw), UTC) if raw else None


def trustworthy() -> bool:
    """Whether the record is old enough to show every live process: a process missing from it is gone."""
    since = memory_since()
    return since is not None and server_now() - since > SILENT_AFTER


def prune() -> int:
    """Forget processes silent for longer than ``KEEP_FOR`` (a housekeeping task); returns how many."""
    now = server_now()
    connection = redis_connection()
    stale = [
        _field(heartbeat.role, heartbeat.name)
        for heartbeat in processes()
        if now - heartbeat.seen_at > KEEP_FOR and not heartbeat.alive
    ]
    if stale:
        connection.hdel(KEY, *stale)
    return len(stale)


def server_now() -> datetime:
    """The Redis server's clock (the one heartbeats are stamped with)."""
    seconds, microseconds = redis_connection().time()
    return datetime.fromtimestamp(seconds + microseconds / 1_000_000, UTC)


def _field(role: str, name: str) -> str:
    return f"{role}:{name}"
