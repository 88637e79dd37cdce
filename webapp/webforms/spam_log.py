"""The spam log's bounds: every refused submission is counted, a sample of them is kept, and samples expire.

A refused submission (rejected as spam, or invalid) adds one to its form's count of the day
(``form_day_stat.refused``); its row (what was posted, for the Spam tab) is kept only while that count is at
most ``SPAM_LOG_SAMPLES_PER_DAY``, and housekeeping removes refused rows older than ``SPAM_LOG_DAYS``. One
address flooding a form therefore grows the database by one counter per form and day, plus at most the day's
sample. Rate-limited requests are answered before any of this (the limiter's own counters are all they cost).
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, text

from webapp.extensions import db
from webapp.models import FormSubmission, SubmissionStatus, utcnow
from webapp.platform import work
from webapp.profiles.field_expressions import dialect_name

COUNT_SQL = (
    "INSERT INTO form_day_stat (form_id, day, views, refused) VALUES (:form_id, :day, 0, 1) "
    "ON CONFLICT (form_id, day) DO UPDATE SET refused = form_day_stat.refused + 1 RETURNING refused"
)


def count_refused(form_id: int) -> bool:
    """Count one refused submission of the form today (in the caller's transaction); whether its row is kept.

    A refused attempt's transaction holds nothing worth a disk flush of its own: on PostgreSQL its commit
    does not wait for one (``synchronous_commit`` off, this transaction only), so a flood of them keeps the
    counter row's lock for microseconds."""
    if dialect_name() == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    refused = db.session.execute(text(COUNT_SQL), {"form_id": form_id, "day": utcnow().date()}).scalar_one()
    return refused <= int(current_app.config["SPAM_LOG_SAMPLES_PER_DAY"])


def expire_samples() -> None:
    """Housekeeping: forget refused submissions older than ``SPAM_LOG_DAYS`` (their counts stay)."""
    cutoff = utcnow() - timedelta(days=int(current_app.config["SPAM_LOG_DAYS"]))
    db.session.execute(
        delete(FormSubmission).where(
            FormSubmission.status.in_((SubmissionStatus.REJECTED, SubmissionStatus.INVALID)),
            FormSubmission.created_at < cutoff,
        )
    )


def init_app(app) -> None:
    with app.app_context():
        work.add_housekeeping(expire_samples)
