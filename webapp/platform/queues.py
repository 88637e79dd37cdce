"""The Redis connection and RQ queues of the app (created on demand, never at import time)."""

from flask import current_app
from redis import Redis
from rq import Queue


def redis_connection() -> Redis:
    connection = current_app.extensions.get("redis")
    if connection is None:
        url = current_app.config["REDIS_URL"]
        if not url:
            raise RuntimeError("REDIS_URL is not set: start the app with the run command or set it.")
        connection = Redis.from_url(url)
        current_app.extensions["redis"] = connection
    return connection


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=redis_connection())


def enqueue_chunks(function: str, planned: list[tuple[str, list[int]]], *, timeout: int) -> None:
    """Enqueue ``function(chunk, job_id)`` for each planned ``(job_id, chunk)`` in one round trip, after the rows
    that name those job ids were committed (a job never runs before its rows say it is queued)."""
    if not planned:
        return
    queue = get_queue()
    with queue.connection.pipeline() as pipe:
        for job_id, chunk in planned:
            queue.enqueue(
                function,
                chunk,
                job_id,
                job_id=job_id,
                job_timeout=timeout,
                result_ttl=600,
                failure_ttl=86400,
                pipeline=pipe,
            )
        pipe.execute()
