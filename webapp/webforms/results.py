"""What web forms collected, for the admin: submissions (filtered, keyset-paged), their CSV export,
conversion per day, and a profile's submissions and uploaded files.

The export is streamed in keyset batches like ``exports/files.py`` and writes through its ``CsvWriter``, so text
that a spreadsheet would run as a formula is neutralised the same way.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from webapp.exports import files as exports
from webapp.extensions import db
from webapp.models import (
    SUBMISSION_STATUSES,
    Account,
    Form,
    FormDayStat,
    FormFile,
    FormSubmission,
    SubmissionStatus,
    utcnow,
)
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_database
from webapp.profiles.profiles import get_profile
from webapp.profiles.timeline import account_zone
from webapp.webforms.builder import get_form
from webapp.webforms.items import bindable_fields
from webapp.widgets.definition import HONEYPOT, form_text

STATUSES = SUBMISSION_STATUSES
PAGE_SIZE = 50
MAX_CHART_DAYS = 366


@dataclass(frozen=True)
class SubmissionFilter:
    """Which submissions: one status (``None``: all), and days (in the account's time zone), both inclusive."""

    status: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass
class SubmissionPage:
    submissions: list[FormSubmission]
    # Pass as ``before_id`` for the next (older) page; ``None`` when this is the oldest.
    next_before_id: int | None


@dataclass(frozen=True)
class DayCount:
    day: date
    views: int
    submissions: int


def parse_filter(status: str | None, since: str | None, until: str | None) -> SubmissionFilter:
    """A filter from query-string text; bad input is a ``ValidationError`` naming the parameter."""
    errors = {}
    status = (status or "").strip().lower() or None
    if status is not None and status not in STATUSES:
        errors["status"] = _("Choose accepted, invalid or rejected.")
    days = {}
    for name, text in (("since", since), ("until", until)):
        try:
            days[name] = date.fromisoformat(text.strip()) if text and text.strip() else None
        except ValueError:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
    if errors:
        raise ValidationError(errors)
    return SubmissionFilter(status, days["since"], days["until"])


def _filtered(account: Account, form: Form, chosen: SubmissionFilter):
    query = select(FormSubmission).where(FormSubmission.account_id == account.id, FormSubmission.form_id == form.id)
    if chosen.status:
        query = query.where(FormSubmission.status == chosen.status)
    zone = account_zone(account)
    if chosen.since:
        start = datetime.combine(chosen.since, time.min, zone).astimezone(UTC).replace(tzinfo=None)
        query = query.where(FormSubmission.created_at >= start)
    if chosen.until:
        end = datetime.combine(chosen.until + timedelta(days=1), time.min, zone).astimezone(UTC)
        query = query.where(FormSubmission.created_at < end.replace(tzinfo=None))
    return query


def list_submissions(
    account: Account,
    form_id: int,
    chosen: SubmissionFilter = SubmissionFilter(),
    *,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> SubmissionPage:
    """Submissions of a form, newest first, ``limit`` at a time (keyset paging on the id)."""
    form = get_form(account, form_id)
    query = _filtered(account, form, chosen)
    if before_id is not None:
        query = query.where(FormSubmission.id < before_id)
    rows = list(db.session.scalars(query.order_by(FormSubmission.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return SubmissionPage(rows, rows[-1].id if more and rows else None)


def count_submissions(account: Account, form_id: int) -> dict[str, int]:
    """``{status: count}`` of a form's submissions, every status present."""
    form = get_form(account, form_id)
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    rows = db.session.execute(
        select(FormSubmission.status, func.count())
        .where(FormSubmission.account_id == account.id, FormSubmission.form_id == form.id)
        .group_by(FormSubmission.status)
    )
    counts.update({status: count for status, count in rows})
    return counts


def column_names(account: Account, form: Form) -> dict[str, str]:
    """Submitted value names (``f12``, ``i3``, ``c<item>``, ``file_<item>``) → what the admin calls them."""
    fields = {field.id: field.name for field in bindable_fields(account, form)}
    interests = {interest.id: interest.name for interest in get_database(account, form.database_id).interests}
    names: dict[str, str] = {}
    for item in form.items or []:
        kind = item["type"]
        if kind in ("field", "hidden") and item.get("field_id") in fields:
            names[f"f{item['field_id']}"] = fields[item["field_id"]]
        elif kind == "interest" and item.get("interest_id") in interests:
            names[f"i{item['interest_id']}"] = interests[item["interest_id"]]
        elif kind == "consent":
            names[f"c{item['id']}"] = form_text(form, item.get("label"), None) or _("Consent")
        elif kind == "file":
            names[f"file_{item['id']}"] = form_text(form, item.get("label"), None) or _("File")
    names[HONEYPOT] = _("Hidden anti-spam field (left empty by people)")  # last: only spam fills it
    return names


@dataclass
class SubmissionExport:
    filename: str
    content_type: str
    chunks: Iterator[bytes]


def export_submissions(
    account: Account, form_id: int, chosen: SubmissionFilter = SubmissionFilter()
) -> SubmissionExport:
    """The chosen submissions as CSV, oldest first, streamed in batches; one column per submitted value (not
    the honeypot: only the results page, which lists spam, shows it)."""
    form = get_form(account, form_id)
    names = {key: name for key, name in column_names(account, form).items() if key != HONEYPOT}
    statement = _filtered(account, form, chosen).with_only_columns(
        FormSubmission.id,
        FormSubmission.created_at,
        FormSubmission.status,
        FormSubmission.reason,
        FormSubmission.profile_id,
        FormSubmission.origin,
        FormSubmission.data,
        FormSubmission.consents,
    )
    header = ["id", "created", "status", "reason", "profile", "origin", *names.values(), "consents"]
    filename = f"form-{form.id}-submissions-{utcnow().date().isoformat()}.csv"
    return SubmissionExport(
        filename,
        exports.CONTENT_TYPES["csv"],
        (part.encode("utf-8") for part in _csv_lines(header, list(names), statement)),
    )


def _csv_lines(header: list[str], keys: list[str], statement) -> Iterator[str]:
    writer = exports.CsvWriter()
    writer.row(header)
    yield writer.take()
    for rows in exports.keyset_batches(statement, FormSubmission.id):
        for submission_id, created, status, reason, profile_id, origin, data, consents in rows:
            data = data or {}
            values = [
                submission_id,
                exports.timestamp(created),
                status,
                reason,
                profile_id,
                origin,
                *(data.get(key) for key in keys),
                "; ".join(str(text) for text in (consents or {}).values()),
            ]
            writer.row(values)
        yield writer.take()


def conversion(account: Account, form_id: int, *, days: int = 30, today: date | None = None) -> list[DayCount]:
    """Views (token requests) and submissions per day for the last ``days`` days, oldest first, gaps as 0."""
    form = get_form(account, form_id)
    days = max(1, min(days, MAX_CHART_DAYS))
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    views = dict(
        db.session.execute(
            select(FormDayStat.day, FormDayStat.views).where(
                FormDayStat.form_id == form.id, FormDayStat.day >= first, FormDayStat.day <= today
            )
        ).all()
    )
    submissions = _accepted_per_day(form, first, today)
    return [
        DayCount(day, views.get(day) or 0, submissions.get(day, 0))
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def refused_count(account: Account, form_id: int, *, days: int = 30) -> int:
    """Rejected and invalid submissions of the last ``days`` days, all counted (the log keeps a sample)."""
    form = get_form(account, form_id)
    first = utcnow().date() - timedelta(days=days - 1)
    total = db.session.scalar(
        select(func.sum(FormDayStat.refused)).where(FormDayStat.form_id == form.id, FormDayStat.day >= first)
    )
    return int(total or 0)


def _accepted_per_day(form: Form, first: date, last: date) -> dict[date, int]:
    """Accepted submissions per day (UTC, like the views), counted from their rows on the form and time index."""
    day = func.date(FormSubmission.created_at)
    rows = db.session.execute(
        select(day, func.count())
        .where(
            FormSubmission.form_id == form.id,
            FormSubmission.status == SubmissionStatus.ACCEPTED,
            FormSubmission.created_at >= datetime.combine(first, time.min),
            FormSubmission.created_at < datetime.combine(last + timedelta(days=1), time.min),
        )
        .group_by(day)
    )
    return {date.fromisoformat(str(value)): count for value, count in rows}  # SQLite's date() gives text


def profile_submissions(account: Account, profile_id: int, *, limit: int = 20) -> list[tuple[FormSubmission, str]]:
    """A profile's latest form submissions, each with its form's name."""
    profile = get_profile(account, profile_id)
    rows = db.session.execute(
        select(FormSubmission, Form.name)
        .join(Form, Form.id == FormSubmission.form_id)
        .where(FormSubmission.account_id == account.id, FormSubmission.profile_id == profile.id)
        .order_by(FormSubmission.id.desc())
        .limit(limit)
    )
    return [(submission, name) for submission, name in rows]


def profile_files(account: Account, profile_id: int) -> list[FormFile]:
    """Files a profile uploaded through forms, newest first (without loading their bytes)."""
    profile = get_profile(account, profile_id)
    return list(
        db.session.scalars(
            select(FormFile)
            .options(defer(FormFile.data))
            .where(FormFile.account_id == account.id, FormFile.profile_id == profile.id)
            .order_by(FormFile.id.desc())
        )
    )


def get_file(account: Account, file_id: int) -> FormFile:
    return owned(FormFile, account, file_id, _("File not found."))
