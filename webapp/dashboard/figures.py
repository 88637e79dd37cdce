"""The dashboard's figures for one database over the last ``days`` days (UTC days, today included).

Every figure is one aggregate query grouped by day, bounded by the database and the first day, over an index
that starts with the same columns: ``profile (database_id, created_at, id)``, ``form_submission (form_id,
created_at)``, ``follow_up_run (followup_id, created_at)``, ``profile_event (database_id, kind, created_at)``
(partial: unsubscribes and sent emails only), ``bounce_report (database_id, received_at)``, ``import_run
(database_id)`` and the day counts (``DatabaseDayStat``). Nothing is loaded row by row, so the page costs the
same on a database of a million profiles as on one of ten (see ``bench/dashboard.py``).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import (
    Account,
    BounceReport,
    Database,
    DatabaseDayStat,
    FollowUp,
    FollowUpRun,
    Form,
    FormSubmission,
    ImportRun,
    Profile,
    ProfileEvent,
    SubmissionStatus,
    utcnow,
)
from webapp.platform import heartbeats
from webapp.profiles.databases import get_database, list_databases

DAYS = 30


@dataclass
class Series:
    """A figure per day, oldest first (``days`` and ``values`` of the same length)."""

    name: str
    days: list[date]
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)

    @property
    def last(self) -> int:
        return self.values[-1] if self.values else 0


@dataclass
class ImportSummary:
    id: int
    file_name: str
    status: str
    created: int
    updated: int
    rejected: int
    created_at: datetime


@dataclass
class Figures:
    database: Database
    days: list[date]
    profiles_now: int
    profiles: Series  # at the end of each day: today's count minus the profiles created later
    new_profiles: Series
    subscribers: Series | None  # from the daily counts; None before the first count
    signups: list[Series]  # one per form with sign-ups in the period
    followup_runs: Series
    emails_sent: Series
    unsubscribes: Series
    bounces: Series
    imports: list[ImportSummary] = field(default_factory=list)
    import_lines: int = 0
    import_errors: int = 0


def dashboard_databases(account: Account) -> list[Database]:
    """The databases the dashboard can show (not archived)."""
    return list_databases(account, include_archived=False)


def missing_processes() -> list[str]:
    """The roles (``worker``, ``dispatcher``) no live process has: the dashboard's health strip."""
    return heartbeats.missing_roles()


def figures(account: Account, database_id: int, *, days: int = DAYS, today: date | None = None) -> Figures:
    database = get_database(account, database_id)
    today = today or utcnow().date()
    day_list = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    since = datetime.combine(day_list[0], datetime.min.time())
    scope = (Profile.account_id == account.id, Profile.database_id == database.id)

    profiles_now = db.session.scalar(select(func.count()).select_from(Profile).where(*scope)) or 0
    created = _per_day(
        select(_day(Profile.created_at), func.count()).where(*scope, Profile.created_at >= since), day_list
    )
    created_later = 0
    at_end: list[int] = []
    for value in reversed(created):
        at_end.append(profiles_now - created_later)
        created_later += value
    at_end.reverse()

    counted = {
        _as_date(day): subscribers
        for day, subscribers in db.session.execute(
            select(DatabaseDayStat.day, DatabaseDayStat.subscribers).where(
                DatabaseDayStat.database_id == database.id, DatabaseDayStat.day >= day_list[0]
            )
        )
    }
    subscribers = None
    if counted:
        carried, values = 0, []
        for day in day_list:
            carried = counted.get(day, carried)
            values.append(carried)
        subscribers = Series("subscribers", day_list, values)

    in_database = (Form.account_id == account.id, Form.database_id == database.id)
    form_names = {form_id: name for form_id, name in db.session.execute(select(Form.id, Form.name).where(*in_database))}
    per_form: dict[int, dict[date, int]] = {}
    if form_names:
        rows = db.session.execute(
            select(FormSubmission.form_id, _day(FormSubmission.created_at), func.count())
            .where(
                FormSubmission.form_id.in_(list(form_names)),
                FormSubmission.created_at >= since,
                FormSubmission.status == SubmissionStatus.ACCEPTED,
            )
            .group_by(FormSubmission.form_id, _day(FormSubmission.created_at))
        )
        for form_id, day, count in rows:
            per_form.setdefault(form_id, {})[_as_date(day)] = count
    signups = [
        Series(form_names[form_id], day_list, [counts.get(day, 0) for day in day_list])
        for form_id, counts in sorted(per_form.items(), key=lambda item: form_names[item[0]].lower())
    ]

    followup_ids = select(FollowUp.id).where(FollowUp.account_id == account.id, FollowUp.database_id == database.id)
    runs = _per_day(
        select(_day(FollowUpRun.created_at), func.count()).where(
            FollowUpRun.followup_id.in_(followup_ids), FollowUpRun.created_at >= since
        ),
        day_list,
    )
    sent, unsubscribed = (
        _per_day(
            select(_day(ProfileEvent.created_at), func.count()).where(
                ProfileEvent.database_id == database.id,
                ProfileEvent.kind == kind,
                ProfileEvent.created_at >= since,
                ProfileEvent.account_id == account.id,
            ),
            day_list,
        )
        for kind in ("email_sent", "unsubscribed")
    )
    bounced = _per_day(
        select(_day(BounceReport.received_at), func.count()).where(
            BounceReport.database_id == database.id,
            BounceReport.received_at >= since,
            BounceReport.account_id == account.id,
        ),
        day_list,
    )
    import_rows = list(
        db.session.execute(
            select(
                ImportRun.id,
                ImportRun.file_name,
                ImportRun.status,
                ImportRun.created,
                ImportRun.updated,
                ImportRun.rejected,
                ImportRun.created_at,
                ImportRun.lines_done,
            )
            .where(
                ImportRun.account_id == account.id,
                ImportRun.database_id == database.id,
                ImportRun.created_at >= since,
            )
            .order_by(ImportRun.id.desc())
        )
    )
    return Figures(
        database=database,
        days=day_list,
        profiles_now=profiles_now,
        profiles=Series("profiles", day_list, at_end),
        new_profiles=Series("new profiles", day_list, created),
        subscribers=subscribers,
        signups=signups,
        followup_runs=Series("follow-up runs", day_list, runs),
        emails_sent=Series("emails sent", day_list, sent),
        unsubscribes=Series("unsubscribes", day_list, unsubscribed),
        bounces=Series("bounces", day_list, bounced),
        imports=[ImportSummary(*row[:7]) for row in import_rows[:5]],
        import_lines=sum(row.lines_done for row in import_rows),
        import_errors=sum(row.rejected for row in import_rows),
    )


def _day(column) -> Any:
    return func.date(column)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _per_day(statement, day_list: list[date]) -> list[int]:
    """Run ``select(day, count)`` grouped by its day; counts for each day of ``day_list`` (0 where none)."""
    day_expression = statement.selected_columns[0]
    counts = {_as_date(day): count for day, count in db.session.execute(statement.group_by(day_expression))}
    return [counts.get(day, 0) for day in day_list]
