"""An account's send rate: a token bucket per account in Redis, shared by every process that sends its mail.

``take`` waits (up to ``MAX_RATE_WAIT`` seconds) for a token; ``Allowance`` takes them several at a time for a
mailing's batch. ``delivery`` turns a ``RateError`` into a ``MailTemporaryError``.
"""

import time

from redis.exceptions import RedisError

from webapp.platform.queues import redis_connection

MAX_RATE_WAIT = 5.0  # seconds a sender waits for the rate limit before giving up (temporary error)
# A token bucket per account in Redis: ``rate`` tokens per second up to ``burst``; takes up to ``ARGV[3]`` tokens
# (at least one) and returns how many were taken, or 0 and the seconds until one is free.
RATE_LIMIT_SCRIPT = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]) or 1
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local taken, wait = 0, 0
if tokens >= 1 then
  taken = math.min(want, math.floor(tokens))
  tokens = tokens - taken
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return {taken, tostring(wait)}
"""


class RateError(Exception):
    """The rate is reached (longer than ``MAX_RATE_WAIT``) or cannot be checked."""


def take(account_id: int | None, per_minute: int, want: int = 1) -> int:
    """Wait for the account's send rate (a few seconds at most), else raise RateError. Takes up to
    ``want`` tokens (those free now, at least one) and returns how many."""
    rate, waited = max(per_minute, 1) / 60, 0.0
    while True:
        try:
            bucket = redis_connection().register_script(RATE_LIMIT_SCRIPT)
            taken, wait_text = bucket(
                keys=[f"mail-rate:{account_id or 0}"], args=[rate, max(per_minute // 6, 1), max(want, 1)]
            )
        except RedisError as error:
            raise RateError(f"The send rate cannot be checked (Redis): {error}") from None
        if int(taken):
            return int(taken)
        wait = float(wait_text)
        if waited + wait > MAX_RATE_WAIT:
            raise RateError(f"The account's send rate ({per_minute} per minute) is reached; try again in {wait:.1f} s.")
        time.sleep(wait)
        waited += wait


class Allowance:
    """Send-rate tokens taken for several messages at once (a mailing's batch): one Redis round trip per
    ``CHUNK`` messages instead of one per message. Tokens left when the batch ends are not given back: the
    account sends a little under its rate then, never over it."""

    CHUNK = 20

    def __init__(self, account_id: int | None):
        self.account_id, self.left = account_id, 0

    def take(self, per_minute: int) -> None:
        if self.left <= 0:
            self.left = take(self.account_id, per_minute, self.CHUNK)
        self.left -= 1
