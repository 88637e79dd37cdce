"""Running follow-ups: due runs go into RQ in batches, jobs run them exactly once, the admin resolves the rest.

1. ``dispatch_due_runs`` (the dispatcher) claims due runs of active follow-ups (``FOR UPDATE SKIP LOCKED``),
   marks them ``queued`` with the id of the job that will run them (``followup-<first id>-<count>``), commits,
   and only then enqueues the jobs: a job never finds its rows uncommitted, and a crash in between leaves
   queued rows whose job Redis does not know, which ``requeue_lost_runs`` puts back to pending within seconds
   (as it does with the runs of a job Redis lost or whose worker was killed: ``work.lost_jobs``).
2. ``run_batch`` (the job) locks its rows and runs those still ``queued`` under its job id, so a duplicate or
   resurrected job does nothing. Actions that work inside the transaction run for the whole batch, and the
   runs are marked done in the same commit as their effects (one savepoint per run only when one fails).
   Runs with ``send_email`` or ``unsubscribe`` (whose services commit) go one at a time (``_run_alone``).
3. Email is sent at most once: the run is marked ``sending`` with its Message-ID and committed before the
   SMTP transaction; the server's acceptance is committed at once with the sent-message row (so a bounce
   matches it) and the run's next step. A run found ``sending`` by ``requeue_lost_runs`` (its worker died
   between those two commits, mid-send) becomes ``review``: only those are uncertain; an admin marks it sent
   or sends it again (``resolve_review``).
4. A failure is retried with backoff (30 s, 1 min, … ``MAX_ATTEMPTS``), then the run is ``failed`` with its
   error, for an admin to retry (``retry_run``). A paused follow-up's runs wait: they are not dispatched, and a
   job that meets one puts it back to pending.
"""

import logging
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Integer, and_, any_, cast, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from webapp.email import refusals
from webapp.extensions import db
from webapp.followups import actions as followup_actions
from webapp.followups import conditions, timing, triggers
from webapp.followups.actions import COMMITTING, ActionFailed, RunContext
from webapp.models import (
    OPEN_RUN_STATUSES,
    Account,
    FollowUp,
    FollowUpRun,
    FollowUpRunStatus,
    FollowUpStatus,
    Profile,
    Subprofile,
)
from webapp.platform import health, work
from webapp.platform.errors import Conflict, NotFound
from webapp.platform.queues import enqueue_chunks, get_queue
from webapp.platform.tenancy import owned

log = logging.getLogger(__name__)

RUNS_PER_JOB = 1000
JOBS_PER_ROUND = 10
MAX_ATTEMPTS = 5
CHECK_AFTER = timedelta(seconds=5)  # runs queued this long have their job looked at (see work.lost_jobs)
MAX_WAITING_JOBS = 4
JOB_TIMEOUT = 3600  # seconds: a batch of emails may wait for the send rate limit
JOB_FUNCTION = "webapp.jobs.run_followups"


def now() -> datetime:
    return timing.now()


def init_app(app) -> None:
    app.extensions["work_sources"].append((dispatch_due_runs, requeue_lost_runs))
    app.extensions["overdue_sources"].append(oldest_overdue_run)


def oldest_overdue_run(account_id: int | None) -> health.Overdue | None:
    """The oldest run that should have run ``health.OVERDUE_AFTER`` ago (of the account, or of all), for
    ``/healthz`` and the jobs page. Runs of paused follow-ups wait on purpose: they are not overdue."""
    late = (
        select(FollowUpRun.id, FollowUpRun.due_at)
        .join(FollowUp, FollowUp.id == FollowUpRun.followup_id)
        .where(
            FollowUpRun.status.in_((FollowUpRunStatus.PENDING, FollowUpRunStatus.QUEUED)),
            FollowUpRun.due_at < now() - health.OVERDUE_AFTER,
            FollowUp.status == FollowUpStatus.ACTIVE,
        )
    )
    if account_id is not None:
        late = late.where(FollowUpRun.account_id == account_id)
    oldest = db.session.execute(late.order_by(FollowUpRun.due_at).limit(1)).first()
    if oldest is None:
        return None
    count = db.session.scalar(select(func.count()).select_from(late.subquery())) or 0
    return health.Overdue("follow-up run", oldest.id, oldest.due_at, count)


# --- dispatching --------------------------------------------------------------------------------------


def dispatch_due_runs(*, batch: int = RUNS_PER_JOB, jobs: int = JOBS_PER_ROUND) -> int:
    """Move due runs into RQ, ``batch`` runs per job; returns how many runs were queued.

    Nothing is dispatched while ``MAX_WAITING_JOBS`` jobs wait in the queue: the due runs then stay pending
    and go out together in the next round, so a busy queue gets fewer, fuller jobs instead of many tiny ones
    (a job costs the worker a fork and its set-up, whatever it holds).
    """
    if get_queue().count >= MAX_WAITING_JOBS:
        return 0
    moment = now()
    ids = list(
        db.session.scalars(
            select(FollowUpRun.id)
            .join(FollowUp, FollowUp.id == FollowUpRun.followup_id)
            .where(
                FollowUpRun.status == FollowUpRunStatus.PENDING,
                FollowUpRun.due_at <= moment,
                FollowUp.status == FollowUpStatus.ACTIVE,
            )
            .order_by(FollowUpRun.due_at, FollowUpRun.id)
            .limit(batch * jobs)
            .with_for_update(of=FollowUpRun, skip_locked=True)
        )
    )
    planned = []
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        job_id = f"followup-{chunk[0]}-{len(chunk)}"
        db.session.execute(
            update(FollowUpRun)
            .where(_among(FollowUpRun.id, chunk))
            .values(status=FollowUpRunStatus.QUEUED, job_id=job_id, queued_at=moment)
            .execution_options(synchronize_session=False)
        )
        planned.append((job_id, chunk))
    db.session.commit()
    enqueue_chunks(JOB_FUNCTION, planned, timeout=JOB_TIMEOUT)
    return len(ids)


def requeue_lost_runs(*, check_after: timedelta | None = None) -> int:
    """Runs whose job Redis lost (or whose worker died): ``queued`` ones back to pending, ``sending`` ones to
    ``review`` (the email may have gone out). Returns how many runs were moved."""
    cutoff = now() - (CHECK_AFTER if check_after is None else check_after)
    job_ids = list(
        db.session.scalars(
            select(FollowUpRun.job_id)
            .where(
                FollowUpRun.status.in_((FollowUpRunStatus.QUEUED, FollowUpRunStatus.SENDING)),
                FollowUpRun.queued_at < cutoff,
            )
            .group_by(FollowUpRun.job_id)
            .order_by(func.min(FollowUpRun.queued_at))  # the oldest first: a killed worker's job is among them
            .limit(work.CLAIM_BATCH)
        )
    )
    lost_jobs = work.lost_jobs(job_id for job_id in job_ids if job_id)
    lost = [job_id for job_id in job_ids if not job_id or job_id in lost_jobs]
    moved = 0
    for job_id in lost:
        rows = list(
            db.session.scalars(
                select(FollowUpRun)
                .where(
                    FollowUpRun.job_id == job_id,
                    FollowUpRun.status.in_((FollowUpRunStatus.QUEUED, FollowUpRunStatus.SENDING)),
                )
                .with_for_update(skip_locked=True)
            )
        )
        for run in rows:
            if run.status == FollowUpRunStatus.SENDING:
                run.status = FollowUpRunStatus.REVIEW
                run.outcome = _("Interrupted while sending: check whether it arrived.")
            else:
                run.status, run.job_id = FollowUpRunStatus.PENDING, ""
            moved += 1
    db.session.commit()
    return moved


# --- running (the RQ job) --------------------------------------------------------------------------------


def run_batch(run_ids: list[int], job_id: str) -> dict[str, int]:
    """Run the runs of one job; returns counts by resulting status (for the job's result)."""
    runs = list(
        db.session.scalars(
            select(FollowUpRun)
            .where(
                _among(FollowUpRun.id, run_ids),
                FollowUpRun.status == FollowUpRunStatus.QUEUED,
                FollowUpRun.job_id == job_id,
            )
            .order_by(FollowUpRun.id)
            .with_for_update()
        )
    )
    batch = _Batch(runs)
    inline, alone = batch.split()
    if not batch.run_inline(inline):
        db.session.rollback()
        batch = _Batch(_relock(inline, job_id))
        batch.run_inline(batch.runs, savepoints=True)
    db.session.commit()
    for run_id, error in batch.failures:
        _record_failure(run_id, error)
    for run_id in alone:
        _run_alone(run_id, job_id)
    triggers.forget_chains()
    counted = (
        select(FollowUpRun.status, func.count()).where(_among(FollowUpRun.id, run_ids)).group_by(FollowUpRun.status)
    )
    counts = dict(db.session.execute(counted).all())
    db.session.commit()
    return counts


def _relock(runs: list[FollowUpRun], job_id: str) -> list[FollowUpRun]:
    return list(
        db.session.scalars(
            select(FollowUpRun)
            .where(
                _among(FollowUpRun.id, [run.id for run in runs]),
                FollowUpRun.status == FollowUpRunStatus.QUEUED,
                FollowUpRun.job_id == job_id,
            )
            .order_by(FollowUpRun.id)
            .with_for_update()
        )
    )


class _Batch:
    """The runs of one job with what they need loaded in a few queries (follow-ups, accounts, profiles)."""

    def __init__(self, runs: list[FollowUpRun]):
        self.runs = runs
        self.failures: list[tuple[int, Exception]] = []
        followup_ids = {run.followup_id for run in runs}
        self.followups = (
            {item.id: item for item in db.session.scalars(select(FollowUp).where(FollowUp.id.in_(followup_ids)))}
            if runs
            else {}
        )
        account_ids = {item.account_id for item in self.followups.values()}
        self.accounts = (
            {item.id: item for item in db.session.scalars(select(Account).where(Account.id.in_(account_ids)))}
            if account_ids
            else {}
        )
        profile_ids = {run.profile_id for run in runs if run.profile_id}
        self.profiles = (
            {item.id: item for item in db.session.scalars(select(Profile).where(_among(Profile.id, profile_ids)))}
            if profile_ids
            else {}
        )
        self.moment = now()  # what ``{{ now }}`` gives for every run of the batch

    def split(self) -> tuple[list[FollowUpRun], list[int]]:
        """Runs to do here, inside the batch's transaction, and ids of runs to do one at a time."""
        inline, alone = [], []
        for run in self.runs:
            followup = self.followups.get(run.followup_id)
            if followup is None:
                continue
            if followup.status != FollowUpStatus.ACTIVE:
                # paused: it waits until the follow-up is resumed
                run.status, run.job_id = FollowUpRunStatus.PENDING, ""
            elif any(action.get("type") in COMMITTING for action in (followup.actions or [])[run.step :]):
                alone.append(run.id)
            else:
                inline.append(run)
        return inline, alone

    def context(self, run: FollowUpRun) -> RunContext:
        """What the run's actions work on; from here on its writes carry its chain depth on."""
        triggers.note_chain(run)
        followup = self.followups[run.followup_id]
        profile = self.profiles.get(run.profile_id) if run.profile_id else None
        subprofile = db.session.get(Subprofile, run.subprofile_id) if run.subprofile_id else None
        return RunContext(self.accounts[followup.account_id], followup, run, profile, subprofile, self.moment)

    def run_inline(self, runs: list[FollowUpRun], *, savepoints: bool = False) -> bool:
        """Run ``runs`` in the current transaction; False (without savepoints) when one raised."""
        if not savepoints:
            try:
                runs = self.run_in_bulk(runs)
            except Exception:  # noqa: BLE001 - redone run by run with savepoints to find and record the failure
                log.info("a follow-up run of the batch failed; running it run by run")
                return False
        for run in runs:
            if not savepoints:
                try:
                    _perform_all(self.context(run))
                except Exception:  # noqa: BLE001 - redone with savepoints to find and record the failure
                    log.info("follow-up run %s failed; running the batch with savepoints", run.id)
                    return False
                continue
            savepoint = db.session.begin_nested()
            try:
                _perform_all(self.context(run))
                savepoint.commit()
            except Exception as error:  # noqa: BLE001 - any failure is recorded on its run
                savepoint.rollback()
                self.failures.append((run.id, error))
        return True

    def run_in_bulk(self, runs: list[FollowUpRun]) -> list[FollowUpRun]:
        """Do the field and interest updates of the batch at once; returns the runs left to do one by one."""
        if db.engine.dialect.name != "postgresql":
            return runs
        contexts, rest, seen = [], [], set()
        for run in runs:
            actions = (self.followups[run.followup_id].actions or [])[run.step :]
            if (
                not run.profile_id
                or run.profile_id in seen
                or run.profile_id not in self.profiles
                or run.subprofile_id
                or not all(action["type"] in followup_actions.BULK for action in actions)
            ):
                rest.append(run)
                continue
            seen.add(run.profile_id)
            context = self.context(run)
            if run.step == 0 and not _condition_holds(context):
                _finish(run, FollowUpRunStatus.SKIPPED, _("The execution condition was not met."))
                continue
            contexts.append(context)
        outcomes = followup_actions.bulk_update_profiles(contexts)
        self.finish_many([context.run for context in contexts], outcomes)
        return rest

    def finish_many(self, runs: list[FollowUpRun], outcomes: dict[int, str]) -> None:
        """Mark runs done with one UPDATE per distinct outcome (not one per run)."""
        by_outcome: dict[tuple[str, int], list[FollowUpRun]] = {}
        for run in runs:
            steps = len(self.followups[run.followup_id].actions or [])
            by_outcome.setdefault((outcomes[run.id], steps), []).append(run)
        finished = now()
        for (outcome, steps), group in by_outcome.items():
            db.session.execute(
                update(FollowUpRun)
                .where(_among(FollowUpRun.id, [run.id for run in group]))
                .values(
                    status=FollowUpRunStatus.DONE,
                    step=steps,
                    outcome=outcome,
                    finished_at=finished,
                    attempts=FollowUpRun.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            for run in group:
                db.session.expire(run, _FINISHED)


_FINISHED = ["status", "step", "outcome", "finished_at", "attempts"]  # what ``finish_many`` writes


def _among(column, ids) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL as ``= ANY(array)``: one parameter however many ids (a batch has 1,000)."""
    if db.engine.dialect.name == "postgresql":
        return column == any_(cast(list(ids), ARRAY(Integer)))
    return column.in_(ids)


def _perform_all(context: RunContext) -> None:
    """The execution condition (before the first action) and the remaining non-committing actions."""
    run = context.run
    if run.step == 0 and not _condition_holds(context):
        _finish(run, FollowUpRunStatus.SKIPPED, _("The execution condition was not met."))
        return
    outcomes = []
    for action in (context.followup.actions or [])[run.step :]:
        outcomes.append(followup_actions.perform(action, context))
        run.step += 1
    _finish(run, FollowUpRunStatus.DONE, " ".join(outcomes))


def _condition_holds(context: RunContext) -> bool:
    condition = context.followup.execution_condition
    return conditions.matches(condition, context.profile, context.subprofile)


def _finish(run: FollowUpRun, status: FollowUpRunStatus, outcome: str) -> None:
    run.status, run.outcome, run.finished_at = status, outcome[:2000], now()
    run.attempts += 1


def _record_failure(run_id: int, error: Exception) -> None:
    """Retry later with backoff, or give up (``failed``) when it cannot get better or after ``MAX_ATTEMPTS``."""
    db.session.rollback()
    run = db.session.scalar(select(FollowUpRun).where(FollowUpRun.id == run_id).with_for_update())
    if run is None:
        return
    run.attempts += 1
    run.last_error = _describe(error)[:2000]
    hopeless = isinstance(error, ActionFailed) and not error.retry
    if hopeless or run.attempts >= MAX_ATTEMPTS:
        run.status, run.finished_at = FollowUpRunStatus.FAILED, now()
        refusals.report(error, final=True)  # the receiving server refused the email: its bounce
    else:
        run.status, run.job_id = FollowUpRunStatus.PENDING, ""
        run.due_at = now() + timedelta(seconds=30 * 2 ** (run.attempts - 1))
    db.session.commit()


def _describe(error: Exception) -> str:
    if isinstance(error, ActionFailed):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _lock(run_id: int) -> FollowUpRun | None:
    return db.session.scalar(
        select(FollowUpRun).where(FollowUpRun.id == run_id).with_for_update().execution_options(populate_existing=True)
    )


def _lock_again(run_id: int) -> FollowUpRun:
    """Lock a run known to exist again; it is gone only when deleted meanwhile (its follow-up removed)."""
    run = _lock(run_id)
    if run is None:
        raise NotFound(_("Run not found."))
    return run


def _run_alone(run_id: int, job_id: str) -> None:
    """One run with committing actions: each committing action commits the run's progress with its effect."""
    from webapp.email import delivery

    run = _lock(run_id)
    if run is None or run.status != FollowUpRunStatus.QUEUED or run.job_id != job_id:
        db.session.rollback()
        return
    batch = _Batch([run])
    context = batch.context(run)
    try:
        if run.step == 0 and not _condition_holds(context):
            _finish(run, FollowUpRunStatus.SKIPPED, _("The execution condition was not met."))
            db.session.commit()
            return
        outcomes = []
        actions = context.followup.actions or []
        while run.step < len(actions):
            action = actions[run.step]
            if action["type"] == "send_email":
                outcomes.append(_send(action, context, run_id))
                run = context.run
            elif action["type"] == "unsubscribe":
                run.step += 1
                if run.step == len(actions):
                    _finish(run, FollowUpRunStatus.DONE, " ".join(outcomes + [_("Unsubscribed.")]))
                outcomes.append(followup_actions.unsubscribe(context))  # commits, with the run's progress
                run = context.run = _lock_again(run_id)
                context.profile = db.session.get(Profile, run.profile_id) if run.profile_id else None
            else:
                outcomes.append(followup_actions.perform(action, context))
                run.step += 1
        if run.status != FollowUpRunStatus.DONE:
            _finish(run, FollowUpRunStatus.DONE, " ".join(outcomes))
        db.session.commit()
    except delivery.MailTemporaryError as error:
        _record_failure(run_id, error)
    except _Interrupted:
        db.session.rollback()
    except Exception as error:  # noqa: BLE001 - any failure is recorded on its run
        log.exception("follow-up run %s failed", run_id)
        _record_failure(run_id, error)


class _Interrupted(Exception):
    """The send's outcome is unknown (an unexpected error after the run was marked sending): leave it for review."""


def _send(action: dict, context: RunContext, run_id: int) -> str:
    """Mark ``sending`` and commit, send, then move the run on (``queued`` again, or done by the caller)."""
    from webapp.email import delivery, sending

    run = context.run
    run.status = FollowUpRunStatus.SENDING
    run.message_id = run.message_id or sending.new_message_id(context.account.id, action.get("template_id"))
    db.session.commit()
    try:
        outcome = followup_actions.send_email(action, context)
    except (delivery.MailTemporaryError, ActionFailed):
        raise  # nothing was sent: the caller records the failure (retry later, or failed)
    except Exception as error:
        db.session.rollback()
        run = _lock_again(run_id)
        run.status, run.last_error = FollowUpRunStatus.REVIEW, _describe(error)[:2000]
        run.outcome = _("The send was interrupted by an error: check whether it arrived.")
        db.session.commit()
        raise _Interrupted() from error
    run = _lock_again(run_id)
    run.step += 1
    run.status = FollowUpRunStatus.QUEUED
    if any(later["type"] == "send_email" for later in (context.followup.actions or [])[run.step :]):
        run.message_id = ""  # the next email gets a Message-ID of its own (this one stays in the outcome)
    db.session.commit()  # the acceptance, with the sent-message row and the email_sent event: no longer uncertain
    context.run = run = _lock_again(run_id)
    return outcome


# --- the admin's actions (helper functions for the follow-ups admin) ------------------------------------------


def get_run(account: Account, run_id: int) -> FollowUpRun:
    return owned(FollowUpRun, account, run_id, _("Run not found."))


def cancel_run(account: Account, run_id: int) -> FollowUpRun:
    """Cancel a run that has not started (pending, or queued and not yet picked up)."""
    get_run(account, run_id)
    run = _lock_again(run_id)
    if run.status not in (FollowUpRunStatus.PENDING, FollowUpRunStatus.QUEUED):
        db.session.rollback()
        raise Conflict(_("Only a waiting run can be cancelled."))
    run.status, run.finished_at, run.outcome = FollowUpRunStatus.CANCELLED, now(), _("Cancelled by a user.")
    db.session.commit()
    return run


def retry_run(account: Account, run_id: int) -> FollowUpRun:
    """Run a failed run again now, from the action that failed."""
    get_run(account, run_id)
    run = _lock_again(run_id)
    if run.status != FollowUpRunStatus.FAILED:
        db.session.rollback()
        raise Conflict(_("Only a failed run can be retried."))
    run.status, run.attempts, run.due_at, run.finished_at, run.job_id = FollowUpRunStatus.PENDING, 0, now(), None, ""
    db.session.commit()
    return run


def resolve_review(account: Account, run_id: int, *, resend: bool) -> FollowUpRun:
    """Settle a run interrupted while sending: ``resend`` sends the email again (same Message-ID), else the
    email counts as sent and the run goes on with its next action."""
    get_run(account, run_id)
    run = _lock_again(run_id)
    if run.status != FollowUpRunStatus.REVIEW:
        db.session.rollback()
        raise Conflict(_("Only a run waiting for review can be resolved."))
    if not resend:
        run.step += 1
        run.outcome = _("Marked as sent by a user.")
    run.status, run.due_at, run.job_id, run.attempts = FollowUpRunStatus.PENDING, now(), "", 0
    followup = db.session.get_one(FollowUp, run.followup_id)
    if run.step >= len(followup.actions or []):
        run.status, run.finished_at = FollowUpRunStatus.DONE, now()
    db.session.commit()
    return run


def pending_counts(account: Account, followup_ids: list[int]) -> dict[int, int]:
    """Open runs (pending, queued, sending) per follow-up."""
    rows = db.session.execute(
        select(FollowUpRun.followup_id, func.count())
        .where(
            and_(
                FollowUpRun.account_id == account.id,
                FollowUpRun.followup_id.in_(followup_ids),
                FollowUpRun.status.in_(OPEN_RUN_STATUSES),
            )
        )
        .group_by(FollowUpRun.followup_id)
    ).all()
    return {followup_id: count for followup_id, count in rows}
