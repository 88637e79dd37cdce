"""A real RQ worker for tests: runs what is queued, in this process, and stops when the queues are empty."""

from rq import SimpleWorker

from webapp.platform.queues import get_queue, redis_connection


class BurstWorker(SimpleWorker):
    """RQ's ``SimpleWorker`` without its command channel (pubsub thread).

    A burst worker takes no commands, and closing that channel at the end of a burst can wait for the thread's
    60-second read to time out: the tests that check a retry's due time against the clock then failed now and
    then on a busy machine. Everything else is RQ's own worker: dequeuing, job ids, results, failures.
    """

    def subscribe(self) -> None:
        pass

    def unsubscribe(self) -> None:
        pass


def run_burst_worker() -> None:
    BurstWorker([get_queue()], connection=redis_connection()).work(burst=True)


def settle_heartbeats() -> None:
    """Make the heartbeat record look as it does once the dispatcher has run a while: old enough to trust that a
    worker missing from it is gone (right after a ``FLUSHDB`` it is not, see ``heartbeats.trustworthy``)."""
    from webapp.platform import heartbeats

    seconds, _micro = redis_connection().time()
    redis_connection().set(heartbeats.SINCE_KEY, str(seconds - 3600))
