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
