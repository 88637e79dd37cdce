"""What follow-ups have done: run counts per follow-up, keyset pages of a follow-up's runs, the runs of a profile.

The state changes of a run (cancel, retry, resolve a review) are ``runs``' own functions.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.followups.definitions import get_followup
from webapp.models import (
    OPEN_RUN_STATUSES,
    RUN_STATUSES,
    Account,
    FollowUp,
    FollowUpRun,
    FollowUpRunStatus,
)
from webapp.platform.errors import ValidationError
from webapp.profiles.profiles import get_profile

RUNS_PAGE_SIZE = 50


PROFILE_PAST_RUNS = 20


FINISHED_RUN_STATUSES = tuple(status for status in RUN_STATUSES if status not in OPEN_RUN_STATUSES)


def run_counts(account: Account, followup_ids: list[int]) -> dict[int, dict[str, int]]:
    """Runs per follow-up and status, plus ``open`` (pending, queued or sending)."""
    rows = db.session.execute(
        select(FollowUpRun.followup_id, FollowUpRun.status, func.count())
        .where(FollowUpRun.account_id == account.id, FollowUpRun.followup_id.in_(followup_ids))
        .group_by(FollowUpRun.followup_id, FollowUpRun.status)
    ).all()
    counts: dict[int, dict[str, int]] = {followup_id: {"open": 0} for followup_id in followup_ids}
    for followup_id, status, count in rows:
        counts[followup_id][status] = count
        if status in OPEN_RUN_STATUSES:
            counts[followup_id]["open"] += count
    return counts


@dataclass
class RunPage:
    items: list[FollowUpRun]
    next_before: int | None


def list_runs(
    account: Account, followup_id: int, *, status: str = "", before: int | None = None, limit: int = RUNS_PAGE_SIZE
) -> RunPage:
    """A follow-up's runs, newest first, ``limit`` at a time after the cursor ``before`` (a run id)."""
    followup = get_followup(account, followup_id)
    if status and status not in RUN_STATUSES:
        raise ValidationError({"status": _("Choose a status from the list.")})
    statement = select(FollowUpRun).where(FollowUpRun.account_id == account.id, FollowUpRun.followup_id == followup.id)
    if status:
        statement = statement.where(FollowUpRun.status == status)
    if before is not None:
        statement = statement.where(FollowUpRun.id < before)
    rows = list(db.session.scalars(statement.order_by(FollowUpRun.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return RunPage(items=rows, next_before=rows[-1].id if more else None)


def review_runs(account: Account, followup_id: int) -> list[FollowUpRun]:
    """Runs interrupted while sending an email, oldest first: an admin decides whether it was sent."""
    followup = get_followup(account, followup_id)
    return list(
        db.session.scalars(
            select(FollowUpRun)
            .where(
                FollowUpRun.account_id == account.id,
                FollowUpRun.followup_id == followup.id,
                FollowUpRun.status == FollowUpRunStatus.REVIEW,
            )
            .order_by(FollowUpRun.id)
        )
    )


@dataclass
class ProfileRuns:
    """A profile's follow-up runs with their follow-ups: those waiting (soonest first) and the last past ones."""

    waiting: list[tuple[FollowUpRun, FollowUp]]
    past: list[tuple[FollowUpRun, FollowUp]]


def runs_of_profile(account: Account, profile_id: int, *, past_limit: int = PROFILE_PAST_RUNS) -> ProfileRuns:
    profile = get_profile(account, profile_id)
    base = (
        select(FollowUpRun, FollowUp)
        .join(FollowUp, FollowUp.id == FollowUpRun.followup_id)
        .where(FollowUpRun.account_id == account.id, FollowUpRun.profile_id == profile.id)
    )
    waiting = db.session.execute(
        base.where(FollowUpRun.status.in_(OPEN_RUN_STATUSES)).order_by(FollowUpRun.due_at, FollowUpRun.id)
    ).all()
    past = db.session.execute(
        base.where(FollowUpRun.status.in_(FINISHED_RUN_STATUSES)).order_by(FollowUpRun.id.desc()).limit(past_limit)
    ).all()
    return ProfileRuns(waiting=list(waiting), past=list(past))
