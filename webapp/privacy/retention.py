"""Retention per account: how long personal details are kept, applied by a periodic durable job.

An account sets, each optional (empty: kept): the days after which the IP addresses of form submissions (their
keyed hash) and of consent records are emptied; after which raw bounce messages are emptied (the report's kind
and reason stay, for the statistics); after which callback delivery logs that are finished are deleted; after
which the sent-message log forgets recipient and subject (and caught mail is deleted); and the months without
activity (no open, click, form submission, completed survey, confirmation nor change) after which a profile is
removed or anonymised (``erasure``, without a suppression entry: the person did not ask to be kept out). And the
days after which the account's audit log entries are deleted (``audit_days``: 730 unless changed, at least
``audit.MIN_RETENTION_DAYS``, empty: kept), which holds for an account that never saved settings too: its first
run gives it its settings row.

Every housekeeping round makes sure each account with settings (or, without, with audit entries older than the
default period) has one ``privacy_retention`` row waiting (due at once when the last run is a day old); its handler
locks the account's settings, does nothing when this row ran before, treats at most ``BATCH`` inactive profiles
(another row follows at once when there were more), and keeps the counts as the last-run report the settings page
shows.
"""

from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, exists, select, update

from webapp.accounts import audit
from webapp.extensions import db
from webapp.models import (
    Account,
    AuditEntry,
    BounceReport,
    CallbackDelivery,
    CaughtMail,
    ConsentRecord,
    DeliveryStatus,
    FormSubmission,
    PrivacyRequest,
    PrivacyRequestKind,
    Profile,
    ProfileEvent,
    RetentionSettings,
    ScheduledWork,
    SentMessage,
    WorkStatus,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.privacy import erasure

WORK_KIND = "privacy_retention"
BATCH = 500
EVERY = timedelta(days=1)
DAY_FIELDS = ("submission_ip_days", "bounce_raw_days", "callback_log_days", "sent_detail_days")
MAX_DAYS = 3650
MAX_MONTHS = 240
INACTIVE_ACTIONS = ("anonymise", "remove")
ACTIVITY_KINDS = ("email_opened", "email_clicked", "form_submitted", "survey_completed", "confirmed")
FINISHED_DELIVERIES = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)


def settings_of(account: Account) -> RetentionSettings:
    """The account's settings (a new, unsaved row with only the audit log's default period when it has none)."""
    return db.session.get(RetentionSettings, account.id) or _new_settings(account.id)


def _new_settings(account_id: int) -> RetentionSettings:
    return RetentionSettings(
        account_id=account_id, inactive_action="anonymise", audit_days=audit.DEFAULT_RETENTION_DAYS, last_report={}
    )


def save_settings(account: Account, values: dict[str, str]) -> RetentionSettings:
    """Set the periods (text from any door; empty: kept) and the inactive profiles' action. One transaction."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for name, limit in [*((name, MAX_DAYS) for name in DAY_FIELDS), ("inactive_months", MAX_MONTHS)]:
        text = str(values.get(name) or "").strip()
        if not text:
            parsed[name] = None
        elif not text.isdigit() or not 1 <= int(text) <= limit:
            errors[name] = _("Enter a whole number from 1 to %(limit)s, or leave it empty.", limit=limit)
        else:
            parsed[name] = int(text)
    audit_days = str(values.get("audit_days") or "").strip()
    if audit_days and (not audit_days.isdigit() or not audit.MIN_RETENTION_DAYS <= int(audit_days) <= MAX_DAYS):
        errors["audit_days"] = _(
            "Enter a whole number from %(least)s to %(limit)s, or leave it empty.",
            least=audit.MIN_RETENTION_DAYS,
            limit=MAX_DAYS,
        )
    parsed["audit_days"] = int(audit_days) if audit_days.isdigit() else None
    action = str(values.get("inactive_action") or "anonymise")
    if action not in INACTIVE_ACTIONS:
        errors["inactive_action"] = _("Choose anonymise or remove.")
    if errors:
        raise ValidationError(errors)
    row = db.session.get(RetentionSettings, account.id, with_for_update=True)
    if row is None:
        row = _new_settings(account.id)
        db.session.add(row)
    for name, value in parsed.items():
        setattr(row, name, value)
    row.inactive_action, row.updated_at = action, utcnow()
    db.session.commit()
    return row


def run_now(account: Account) -> ScheduledWork:
    """Schedule a retention run for the account at once (the settings page's button). One transaction."""
    row = _waiting(account.id) or work.schedule(WORK_KIND, account_id=account.id)
    row.due_at = utcnow()
    db.session.commit()
    return row


def ensure_retention_work() -> None:
    """Housekeeping: each account with settings has one run waiting, due a day after its last run; so has an
    account without settings whose audit log holds entries older than the default period."""
    for settings in db.session.scalars(select(RetentionSettings)):
        if not _any_period(settings) or _waiting(settings.account_id) is not None:
            continue
        due = (settings.last_run_at + EVERY) if settings.last_run_at else utcnow()
        work.schedule(WORK_KIND, account_id=settings.account_id, due_at=max(due, utcnow()))
    cutoff = utcnow() - timedelta(days=audit.DEFAULT_RETENTION_DAYS)
    unset = select(Account.id).where(
        ~exists().where(RetentionSettings.account_id == Account.id),
        exists().where(AuditEntry.account_id == Account.id, AuditEntry.at < cutoff),
    )
    for account_id in db.session.scalars(unset):
        if _waiting(account_id) is None:
            work.schedule(WORK_KIND, account_id=account_id)


def _any_period(settings: RetentionSettings) -> bool:
    return any(getattr(settings, name) for name in (*DAY_FIELDS, "inactive_months", "audit_days"))


def _waiting(account_id: int) -> ScheduledWork | None:
    return db.session.scalar(
        select(ScheduledWork).where(
            ScheduledWork.kind == WORK_KIND,
            ScheduledWork.account_id == account_id,
            ScheduledWork.status.in_((WorkStatus.PENDING, WorkStatus.QUEUED)),
        )
    )


def run_retention_work(row: ScheduledWork) -> None:
    """Apply the account's retention once for this row; the counts become the last-run report."""
    account = db.session.get(Account, row.account_id) if row.account_id else None
    if account is None:
        return
    settings = db.session.get(RetentionSettings, account.id, with_for_update=True)
    if settings is None:  # an account that never saved settings: the audit log's default period holds
        settings = _new_settings(account.id)
        db.session.add(settings)
    if (settings.last_report or {}).get("work") == row.id:
        return
    now = utcnow()
    report: dict[str, Any] = {"work": row.id, "at": now.isoformat(timespec="seconds")}
    if settings.submission_ip_days:
        cutoff = now - timedelta(days=settings.submission_ip_days)
        report["submission_ips"] = _count(
            update(FormSubmission)
            .where(FormSubmission.account_id == account.id, FormSubmission.created_at < cutoff, FormSubmission.ip != "")
            .values(ip="")
        )
        report["consent_ips"] = _count(
            update(ConsentRecord)
            .where(ConsentRecord.account_id == account.id, ConsentRecord.agreed_at < cutoff, ConsentRecord.ip != "")
            .values(ip="")
        ) + _count(
            update(ConsentRecord)
            .where(
                ConsentRecord.account_id == account.id,
                ConsentRecord.confirmed_at < cutoff,
                ConsentRecord.confirmed_ip != "",
            )
            .values(confirmed_ip="")
        )
    if settings.bounce_raw_days:
        cutoff = now - timedelta(days=settings.bounce_raw_days)
        report["bounce_messages"] = _count(
            update(BounceReport)
            .where(BounceReport.account_id == account.id, BounceReport.received_at < cutoff, BounceReport.raw_size > 0)
            .values(raw=b"", raw_size=0, diagnostic="")
        )
    if settings.callback_log_days:
        cutoff = now - timedelta(days=settings.callback_log_days)
        report["callback_deliveries"] = _count(
            delete(CallbackDelivery).where(
                CallbackDelivery.account_id == account.id,
                CallbackDelivery.created_at < cutoff,
                CallbackDelivery.status.in_(FINISHED_DELIVERIES),
            )
        )
    if settings.sent_detail_days:
        cutoff = now - timedelta(days=settings.sent_detail_days)
        report["sent_messages"] = _count(
            update(SentMessage)
            .where(SentMessage.account_id == account.id, SentMessage.sent_at < cutoff, SentMessage.recipient != "")
            .values(recipient="", subject="")
        )
        report["caught_mail"] = _count(
            delete(CaughtMail).where(CaughtMail.account_id == account.id, CaughtMail.created_at < cutoff)
        )
    if settings.audit_days:
        report["audit_entries"] = audit.forget_before(account.id, now - timedelta(days=settings.audit_days))
    if settings.inactive_months:
        report.update(_inactive(account, settings, now - timedelta(days=30 * settings.inactive_months)))
    settings.last_run_at, settings.last_report = now, report


def _inactive(account: Account, settings: RetentionSettings, cutoff) -> dict[str, Any]:
    active = exists().where(
        ProfileEvent.profile_id == Profile.id,
        ProfileEvent.account_id == account.id,
        ProfileEvent.kind.in_(ACTIVITY_KINDS),
        ProfileEvent.created_at >= cutoff,
    )
    ids = list(
        db.session.scalars(
            select(Profile.id)
            .where(Profile.account_id == account.id, Profile.updated_at < cutoff, ~active)
            .order_by(Profile.id)
            .limit(BATCH + 1)
        )
    )
    if not ids:
        return {"inactive_profiles": 0, "inactive_action": settings.inactive_action}
    if len(ids) > BATCH:
        ids = ids[:BATCH]
        work.schedule(WORK_KIND, account_id=account.id)  # more left: another run at once
    kind = PrivacyRequestKind.ERASE if settings.inactive_action == "remove" else PrivacyRequestKind.ANONYMISE
    request = PrivacyRequest(account_id=account.id, kind=kind, profile_ids=ids, requested_by="retention")
    db.session.add(request)
    db.session.flush()
    erasure.erase_now(account, request, keep_out=False)
    return {"inactive_profiles": len(ids), "inactive_action": settings.inactive_action, "request": request.id}


def _count(statement) -> int:
    result = db.session.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
