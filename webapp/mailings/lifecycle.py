"""A mailing's life: test send, send now, schedule, repeat, pause, resume, cancel, and settling interrupted sends.

Starting freezes the recipients (``audience.freeze``) in the transaction that marks the mailing ``sending``;
the dispatcher then hands out batches (``batches``). Later starts are durable work rows: ``mailing-start`` (a
mailing scheduled at a time), ``mailing-repeat`` (each occurrence of a periodic mailing becomes a mailing of
its own, and the next occurrence is scheduled in the same transaction) and ``mailing-ab`` (the A/B winner, due
when the waiting time is over). A row that no longer matches its mailing (rescheduled, cancelled) does nothing.
"""

from datetime import date, datetime, time, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import select, update

from webapp.email import delivery, sending
from webapp.extensions import db
from webapp.mailings import ab_tests, audience
from webapp.mailings.definitions import copy_of, get_mailing
from webapp.models import (
    ACTIVE_MAILING_STATUSES,
    Account,
    Mailing,
    MailingRecipient,
    MailingStatus,
    RecipientStatus,
    ScheduledWork,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import Conflict, ValidationError

MAX_TEST_ADDRESSES = 10
STARTABLE = (MailingStatus.DRAFT, MailingStatus.SCHEDULED)
STOPPABLE = (*ACTIVE_MAILING_STATUSES, MailingStatus.PAUSED, MailingStatus.SCHEDULED, MailingStatus.PERIODIC)


def _locked(account: Account, mailing_id: int) -> Mailing:
    get_mailing(account, mailing_id)
    return db.session.scalars(select(Mailing).where(Mailing.id == mailing_id).with_for_update()).one()


# --- starting --------------------------------------------------------------------------------------------


def send_now(account: Account, mailing_id: int) -> Mailing:
    """Freeze the recipients and start sending (an A/B test: to the sample first)."""
    mailing = _locked(account, mailing_id)
    if mailing.status not in STARTABLE or mailing.repeat:
        db.session.rollback()
        raise Conflict(_("Only a draft or scheduled mailing that does not repeat can be sent now."))
    begin(mailing)
    db.session.commit()
    return mailing


def begin(mailing: Mailing) -> None:
    """Freeze and start, in the caller's transaction (a door's call or a work row's)."""
    if not mailing.template_id:
        raise ValidationError({"template_id": _("Choose the email template to send.")})
    now = utcnow()
    testing = bool(mailing.variants)
    mailing.frozen = audience.freeze(mailing, status=RecipientStatus.HELD if testing else RecipientStatus.PENDING)
    mailing.started_at, mailing.scheduled_at, mailing.next_batch_at = now, None, None
    mailing.status = MailingStatus.TESTING if testing else MailingStatus.SENDING
    if testing:
        audience.split_sample(mailing, mailing.frozen)
        due = now + timedelta(minutes=mailing.ab_wait_minutes)
        work.schedule("mailing-ab", due_at=due, payload={"mailing_id": mailing.id}, account_id=mailing.account_id)
    if not mailing.frozen:
        mailing.status, mailing.finished_at = MailingStatus.DONE, now


def schedule_at(account: Account, mailing_id: int, at: datetime) -> Mailing:
    """Start the mailing at ``at`` (UTC); scheduling again replaces the time."""
    mailing = _locked(account, mailing_id)
    if mailing.status not in STARTABLE or mailing.repeat:
        db.session.rollback()
        raise Conflict(_("Only a draft or scheduled mailing that does not repeat can be scheduled."))
    if at <= utcnow():
        db.session.rollback()
        raise ValidationError({"scheduled_at": _("Choose a moment in the future.")})
    audience.audience(mailing)  # its selections still exist
    mailing.status, mailing.scheduled_at = MailingStatus.SCHEDULED, at
    work.schedule("mailing-start", due_at=at, payload=_payload(mailing), account_id=account.id)
    db.session.commit()
    return mailing


def start_repeating(account: Account, mailing_id: int) -> Mailing:
    """A periodic mailing: its first occurrence is scheduled; each one schedules the next."""
    mailing = _locked(account, mailing_id)
    if mailing.status != MailingStatus.DRAFT or not mailing.repeat:
        db.session.rollback()
        raise Conflict(_("Only a draft with a repeat schedule can be started as a periodic mailing."))
    audience.audience(mailing)
    mailing.status = MailingStatus.PERIODIC
    _schedule_next(mailing, account)
    db.session.commit()
    return mailing


def next_occurrence(repeat: dict, account: Account, after: datetime) -> datetime:
    """The first moment after ``after`` (UTC) on one of the weekdays at the time, in the account's zone (UTC)."""
    zone = zone_of(account)
    local_after = utc_to_local(after, zone)
    at = time.fromisoformat(repeat["time"])
    for offset in range(8):
        day: date = local_after.date() + timedelta(days=offset)
        if day.weekday() in repeat["weekdays"]:
            moment = local_to_utc(datetime.combine(day, at), zone)
            if moment > after:
                return moment
    raise ValueError("no weekday in the repeat schedule")


def zone_of(account: Account) -> ZoneInfo:
    """The account's time zone (periodic mailings repeat at its local time); UTC when it is unknown."""
    try:
        return ZoneInfo(account.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def utc_to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)


def local_to_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _schedule_next(mailing: Mailing, account: Account) -> None:
    """The next occurrence after now (and after the one being sent, should its row run early)."""
    after = max(utcnow(), mailing.scheduled_at) if mailing.scheduled_at else utcnow()
    mailing.scheduled_at = next_occurrence(mailing.repeat, account, after)
    work.schedule("mailing-repeat", due_at=mailing.scheduled_at, payload=_payload(mailing), account_id=account.id)


def _payload(mailing: Mailing) -> dict:
    assert mailing.scheduled_at is not None
    return {"mailing_id": mailing.id, "at": mailing.scheduled_at.isoformat()}


def _current(row: ScheduledWork, status: MailingStatus) -> Mailing | None:
    """The row's mailing, locked, when it still waits for this row (not rescheduled, stopped or removed)."""
    mailing = db.session.scalars(
        select(Mailing).where(Mailing.id == int(row.payload.get("mailing_id", 0))).with_for_update()
    ).first()
    if mailing is None or mailing.status != status or mailing.scheduled_at is None:
        return None
    return mailing if mailing.scheduled_at.isoformat() == row.payload.get("at") else None


def run_start_work(row: ScheduledWork) -> None:
    """``mailing-start``: a scheduled mailing's moment has come."""
    mailing = _current(row, MailingStatus.SCHEDULED)
    if mailing is not None:
        begin(mailing)


def run_repeat_work(row: ScheduledWork) -> None:
    """``mailing-repeat``: this occurrence becomes a mailing of its own, sent now; the next is scheduled."""
    mailing = _current(row, MailingStatus.PERIODIC)
    if mailing is None:
        return
    account = db.session.get_one(Account, mailing.account_id)
    local = utc_to_local(mailing.scheduled_at or utcnow(), zone_of(account))
    occurrence = copy_of(mailing, name=f"{mailing.name} {local:%Y-%m-%d %H:%M}")
    db.session.flush()
    begin(occurrence)
    _schedule_next(mailing, account)


def run_ab_work(row: ScheduledWork) -> None:
    """``mailing-ab``: the waiting time is over: the best variant goes to the rest."""
    mailing = db.session.scalars(
        select(Mailing).where(Mailing.id == int(row.payload.get("mailing_id", 0))).with_for_update()
    ).first()
    if mailing is None or mailing.ab_winner is not None or mailing.status == MailingStatus.CANCELLED:
        return
    mailing.ab_winner = ab_tests.winner(mailing)
    audience.release_held(mailing, mailing.ab_winner)
    if mailing.status == MailingStatus.TESTING:
        mailing.status = MailingStatus.SENDING


# --- pause, resume, cancel --------------------------------------------------------------------------------


def pause(account: Account, mailing_id: int) -> Mailing:
    """Stop handing out batches; running batches stop within a few messages (their rest stays pending)."""
    mailing = _locked(account, mailing_id)
    if mailing.status not in ACTIVE_MAILING_STATUSES:
        db.session.rollback()
        raise Conflict(_("Only a mailing that is sending can be paused."))
    mailing.status, mailing.updated_at = MailingStatus.PAUSED, utcnow()
    db.session.commit()
    return mailing


def resume(account: Account, mailing_id: int) -> Mailing:
    mailing = _locked(account, mailing_id)
    if mailing.status != MailingStatus.PAUSED:
        db.session.rollback()
        raise Conflict(_("Only a paused mailing can be resumed."))
    testing = bool(mailing.variants) and mailing.ab_winner is None
    mailing.status = MailingStatus.TESTING if testing else MailingStatus.SENDING
    mailing.updated_at, mailing.next_batch_at = utcnow(), None
    db.session.commit()
    return mailing


def cancel(account: Account, mailing_id: int) -> Mailing:
    """Stop for good: what was not sent yet is cancelled (a message already in its SMTP transaction finishes);
    a scheduled or periodic mailing's future starts are dropped."""
    mailing = _locked(account, mailing_id)
    if mailing.status not in STOPPABLE:
        db.session.rollback()
        raise Conflict(_("This mailing is not sending or scheduled."))
    now = utcnow()
    db.session.execute(
        update(MailingRecipient)
        .where(
            MailingRecipient.mailing_id == mailing.id,
            MailingRecipient.status.in_((RecipientStatus.PENDING, RecipientStatus.QUEUED, RecipientStatus.HELD)),
        )
        .values(status=RecipientStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    mailing.status, mailing.finished_at, mailing.scheduled_at, mailing.updated_at = (
        MailingStatus.CANCELLED,
        now,
        None,
        now,
    )
    db.session.commit()
    return mailing


def resolve_review(account: Account, mailing_id: int, recipient_id: int, *, resend: bool) -> MailingRecipient:
    """Settle a recipient interrupted while sending: ``resend`` sends it again (same Message-ID, so a copy that
    did arrive is logged once), else it counts as sent."""
    mailing = _locked(account, mailing_id)
    recipient = db.session.scalars(
        select(MailingRecipient)
        .where(MailingRecipient.id == recipient_id, MailingRecipient.mailing_id == mailing.id)
        .with_for_update()
    ).first()
    if recipient is None or recipient.status != RecipientStatus.REVIEW:
        db.session.rollback()
        raise Conflict(_("Only a recipient waiting for review can be resolved."))
    if resend:
        recipient.status, recipient.job_id, recipient.due_at = RecipientStatus.PENDING, "", None
        if mailing.status == MailingStatus.DONE:
            mailing.status, mailing.finished_at = MailingStatus.SENDING, None
    else:
        recipient.status, recipient.reason, recipient.sent_at = RecipientStatus.SENT, "marked_sent", utcnow()
    db.session.commit()
    return recipient


# --- test send ---------------------------------------------------------------------------------------------


def send_test(account: Account, mailing_id: int, addresses: str) -> list[str]:
    """Send the mailing (each variant) to the given addresses, personalised for its first recipient; returns
    the addresses. Test messages count in no result and carry no working tracking or unsubscribe link."""
    mailing = get_mailing(account, mailing_id)
    recipients = _test_addresses(addresses)
    profile_id = db.session.scalar(audience.audience(mailing).order_by(None).limit(1))
    if profile_id is None:
        raise ValidationError({"addresses": _("The mailing's selections have no profile to personalise it for.")})
    variants = mailing.variants or [{"subject": mailing.subject, "template_id": mailing.template_id}]
    for number, variant in enumerate(variants, start=1):
        template_id = variant.get("template_id") or mailing.template_id
        if not template_id:
            raise ValidationError({"template_id": _("Choose the email template to send.")})
        subject, html, text = sending.render_test(
            account, template_id, profile_id, subject=variant.get("subject") or mailing.subject
        )
        label = _("Test") if len(variants) == 1 else _("Test, variant %(number)s", number=number)
        for address in recipients:
            try:
                delivery.send_mail(
                    account.id,
                    to=address,
                    subject=f"[{label}] {subject}",
                    text=text,
                    html=html,
                    sender=mailing.sender or None,
                    category="transactional",
                )
            except delivery.MailError as error:
                db.session.commit()  # what did go out stays logged
                raise ValidationError({"addresses": str(error)}) from None
    db.session.commit()
    return recipients


def _test_addresses(text: str) -> list[str]:
    found = []
    for part in text.replace(";", ",").replace("\n", ",").split(","):
        if not part.strip():
            continue
        try:
            found.append(validate_email(parseaddr(part)[1], check_deliverability=False).normalized)
        except EmailNotValidError:
            error = _("%(address)s is not an email address.", address=part.strip())
            raise ValidationError({"addresses": error}) from None
    if not found:
        raise ValidationError({"addresses": _("Give at least one address to send the test to.")})
    if len(found) > MAX_TEST_ADDRESSES:
        raise ValidationError({"addresses": _("At most %(count)s addresses per test.", count=MAX_TEST_ADDRESSES)})
    return list(dict.fromkeys(found))
