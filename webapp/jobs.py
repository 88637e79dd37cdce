"""RQ job functions: thin and idempotent, each calling one service. The worker provides the app context."""

from webapp.followups import runs as followup_runs
from webapp.platform import work


def run_work(work_id: int) -> str:
    """Run one row of durable work (``{kind}-{id}`` jobs enqueued by the dispatcher)."""
    return work.run_work(work_id)


def run_followups(run_ids: list[int], job_id: str) -> dict[str, int]:
    """Run a batch of due follow-up runs (``followup-<first id>-<count>`` jobs enqueued by the dispatcher)."""
    return followup_runs.run_batch(run_ids, job_id)


def send_mailing_batch(recipient_ids: list[int], job_id: str) -> dict[str, int]:
    """Send a batch of a mailing's recipients (``mailing-<mailing>-<first id>-<count>`` jobs of the dispatcher)."""
    from webapp.mailings import batches

    return batches.send_batch(recipient_ids, job_id)
