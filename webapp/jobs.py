"""RQ job functions: thin and idempotent, each calling one service. The worker provides the app context."""

from webapp.services import work


def run_work(work_id: int) -> str:
    """Run one row of durable work (``{kind}-{id}`` jobs enqueued by the dispatcher)."""
    return work.run_work(work_id)
