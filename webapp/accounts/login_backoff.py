"""Per-account login backoff: wrong passwords for one email address slow down further tries on it, whatever
client address they come from (the per-address limit in the login door does not see 30 addresses taking
turns).

The first ``FREE_FAILURES`` wrong passwords cost nothing; after that each try must wait ``2 ** (failures -
FREE_FAILURES)`` seconds after the last failure, at most ``LOGIN_BACKOFF_MAX_SECONDS`` (default 60). An
attacker with any number of addresses gets about one guess a minute per account, and the real user is kept
out for at most that minute: never locked out. A right password clears the count; failures are forgotten
``FAILURE_WINDOW`` after the last one. Kept in Redis under a keyed hash of the address (no email in Redis).
"""

import hashlib
import hmac
import math
import time

from flask import current_app

from webapp.platform.queues import redis_connection

FREE_FAILURES = 5
FAILURE_WINDOW = 15 * 60


def _key(email: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, b"verrijk-login:" + (email or "").strip().lower().encode(), hashlib.sha256)
    return f"verrijk:login-failures:{digest.hexdigest()[:32]}"


def wait_seconds(email: str, *, now: float | None = None) -> int:
    """Seconds before the next try for this address may be checked (0: now)."""
    failures, last = redis_connection().hmget(_key(email), "failures", "last")
    extra = int(failures or 0) - FREE_FAILURES
    if extra < 0 or last is None:
        return 0
    delay = min(2 ** min(extra, 20), int(current_app.config["LOGIN_BACKOFF_MAX_SECONDS"]))
    left = float(last) + delay - (now if now is not None else time.time())
    return max(0, math.ceil(left))


def record_failure(email: str, *, now: float | None = None) -> None:
    key = _key(email)
    pipeline = redis_connection().pipeline()
    pipeline.hincrby(key, "failures", 1)
    pipeline.hset(key, "last", now if now is not None else time.time())
    pipeline.expire(key, FAILURE_WINDOW)
    pipeline.execute()


def clear(email: str) -> None:
    redis_connection().delete(_key(email))
