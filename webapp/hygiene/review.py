"""Reviewing what came in: the received reports of an account, filtered; one report's raw message as text;
classifying an ``unknown`` one by hand; and, per database, the counts per day behind the admin's chart.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select

from webapp.extensions import db
from webapp.hygiene.intake import journal
from webapp.hygiene.reports import Kind, Reason, Report
from webapp.models import Account, BounceReport, Profile, ProfileEvent, SentMessage, utcnow
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_database

PAGE = 100
RAW_SHOWN = 64 * 1024  # characters of a raw message shown
HAND_KINDS = (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.COMPLAINT, Kind.AUTO_REPLY, Kind.NOT_A_BOUNCE)


@dataclass(frozen=True)
class Filters:
    kind: str = ""
    reason: str = ""
    profile_id: int | None = None
    message_id: str = ""


def list_reports(account: Account, filters: Filters) -> list[BounceReport]:
    """The account's newest reports matching the filters (at most ``PAGE``)."""
    query: Select = select(BounceReport).where(BounceReport.account_id == account.id)
    if filters.kind:
        query = query.where(BounceReport.kind == filters.kind)
    if filters.reason:
        query = query.where(BounceReport.reason == filters.reason)
    if filters.profile_id:
        query = query.where(BounceReport.profile_id == filters.profile_id)
    if filters.message_id:
        query = query.where(BounceReport.original_message_id == filters.message_id.strip())
    return list(db.session.scalars(query.order_by(BounceReport.id.desc()).limit(PAGE)))


def get_report(account: Account, report_id: int) -> BounceReport:
    return owned(BounceReport, account, report_id, "")


def raw_text(report: BounceReport) -> str:
    """The stored raw message as text (never HTML), capped; undecodable bytes shown as replacement marks."""
    return report.raw.decode("utf-8", errors="replace")[:RAW_SHOWN]


def classify_by_hand(account: Account, report_id: int, *, kind: str, reason: str, user: str) -> BounceReport:
    """Give an ``unknown`` report its kind and reason; a bounce or complaint is journalled on its profile."""
    report = get_report(account, report_id)
    if report.kind != Kind.UNKNOWN:
        raise ValidationError({"kind": "only unknown reports are classified by hand"})
    try:
        chosen, chosen_reason = Kind(kind), Reason(reason or "other")
    except ValueError as error:
        raise ValidationError({"kind": "choose a kind and a reason"}) from error
    if chosen not in HAND_KINDS:
        raise ValidationError({"kind": "choose a kind and a reason"})
    report.kind, report.reason, report.classified_by = chosen.value, chosen_reason.value, user[:255]
    profile = db.session.get(Profile, report.profile_id) if report.profile_id else None
    if profile is not None and chosen in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.COMPLAINT):
        sent = db.session.get(SentMessage, report.sent_message_id) if report.sent_message_id else None
        classified = Report(chosen, chosen_reason, report.status, report.diagnostic, report.recipient)
        journal(classified, profile, sent.message_id if sent else report.original_message_id)
    db.session.commit()
    return report


# --- the chart per database --------------------------------------------------------------------------

SERIES = ("unsubscribed", "hard", "soft", "complained", "confirmed")


@dataclass(frozen=True)
class Day:
    day: date
    counts: dict[str, int]


def daily_counts(account: Account, database_id: int, *, days: int = 30) -> list[Day]:
    """Unsubscribes, hard and soft bounces, complaints and confirmations per day (UTC) of a database."""
    database = get_database(account, database_id)
    first = (utcnow() - timedelta(days=days - 1)).date()
    since = datetime.combine(first, time.min)
    totals: dict[tuple[date, str], int] = {}
    day_of = func.date(ProfileEvent.created_at)
    events = (
        select(day_of, ProfileEvent.kind, func.count())
        .where(
            ProfileEvent.database_id == database.id,
            ProfileEvent.created_at >= since,
            ProfileEvent.kind.in_(("unsubscribed", "complained", "confirmed")),
            ProfileEvent.subprofile_id.is_(None),
        )
        .group_by(day_of, ProfileEvent.kind)
    )
    for day, kind, count in db.session.execute(events):
        totals[(_as_date(day), kind)] = count
    report_day = func.date(BounceReport.received_at)
    bounces = (
        select(report_day, BounceReport.kind, func.count())
        .where(
            BounceReport.database_id == database.id,
            BounceReport.received_at >= since,
            BounceReport.kind.in_(("hard", "soft")),
        )
        .group_by(report_day, BounceReport.kind)
    )
    for day, kind, count in db.session.execute(bounces):
        totals[(_as_date(day), kind)] = count
    return [
        Day(
            first + timedelta(days=offset),
            {name: totals.get((first + timedelta(days=offset), name), 0) for name in SERIES},
        )
        for offset in range(days)
    ]


def _as_date(value: date | datetime | str) -> date:
    """``date()`` is a date on PostgreSQL and a string on SQLite."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
