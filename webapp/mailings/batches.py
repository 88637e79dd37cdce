"""Sending a mailing's frozen recipients: batches through RQ, each message at most once, resumable.

1. ``dispatch_due_batches`` (the dispatcher, a work source like follow-up runs) claims pending recipients of
   sending mailings (``FOR UPDATE SKIP LOCKED``), marks them ``queued`` with the id of the job that will send
   them (``mailing-<mailing>-<first id>-<count>``), commits, then enqueues the jobs. At most ``LANES`` batches
   of one mailing run at once, of up to ``BATCH`` recipients (what is at hand shared out over the free lanes);
   a throttle (``per_minute``) sizes the batches and spaces them out (``next_batch_at``). A mailing with
   nothing left to send is marked done.
2. ``send_batch`` (the job) sends its rows in order over one SMTP connection. Each message is claimed
   (``queued`` → ``sending``, with its Message-ID) and that claim is committed before its SMTP transaction, in
   the same commit as the previous message's outcome (``sent`` with its sent-message log, ``EmailResult`` and
   ``email_sent`` event): one commit per message. The batch's profiles, the suppression list for their
   addresses, the account, its mail settings and templates are read once per batch (``_Plan.prefetch``).
   Suppressed, unsubscribed, bounced, address-less and removed profiles are skipped and counted; a 4xx is
   retried later (``due_at``, never counted as sent), a 5xx fails the recipient and counts as its bounce; a
   per-domain limit puts the recipient back for later. Pause and cancel are seen within ``CHECK_EVERY``
   messages: the rest of the batch goes back to pending (cancel: the recipients are cancelled, and a cancelled
   row is never claimed).
3. ``requeue_lost_batches`` (the dispatcher): rows of a job Redis lost or whose worker died (``work.lost_jobs``)
   go back to pending when ``queued`` and to ``review`` when ``sending`` — only those may have been accepted
   without their commit; an admin marks them sent or sends them again (``lifecycle.resolve_review``).
"""

import logging
from collections import Counter
from datetime import timedelta
from email.utils import parseaddr
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, CursorResult, distinct, func, select, update

from webapp.email import delivery, mass_mail, refusals, sending, suppression
from webapp.extensions import db
from webapp.mailings.confirmations import Confirmations, Sent
from webapp.models import (
    ACTIVE_MAILING_STATUSES,
    Account,
    EmailTemplate,
    Mailing,
    MailingRecipient,
    MailingStatus,
    MailSettings,
    Profile,
    RecipientStatus,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import DomainError
from webapp.platform.queues import enqueue_chunks, redis_connection
from webapp.profiles.profiles import WITH_DATABASE
from webapp.profiles.unsubscribe import is_subscribed


def _changed(statement) -> int:
    """Rows an UPDATE changed (Session.execute is typed to return a plain Result, without ``rowcount``)."""
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount or 0


log = logging.getLogger(__name__)

BATCH = 1000  # recipients per job at most: a job's fixed cost (a fresh work horse, the batch's reads, the template
# made ready, an SMTP connection) made its first message cost 150-175 ms of CPU (52 ms since the DKIM key change)
MIN_BATCH = 50  # the recipients at hand are shared out over the free lanes, in jobs of at least this many
LANES = 4  # batches of one mailing sending at once
CHECK_EVERY = 25  # messages between looks at the mailing's status (pause, cancel)
MAX_ATTEMPTS = 5  # a 4xx is retried this often (1, 2, 4, 8 minutes apart), then the recipient fails
JOB_FUNCTION = "webapp.jobs.send_mailing_batch"
JOB_TIMEOUT = 3600
MAILINGS_PER_ROUND = 20
DOMAIN_BUCKET = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return tostring(wait)
"""


def _among(column, ids: list[int]) -> ColumnElement[bool]:
    return column.in_(ids)


# --- dispatching (the dispatcher) ------------------------------------------------------------------------


def dispatch_due_batches() -> int:
    """Queue the next batches of the sending mailings; returns how many recipients were queued."""
    now = utcnow()
    mailings = list(
        db.session.scalars(
            select(Mailing)
            .where(
                Mailing.status.in_(ACTIVE_MAILING_STATUSES),
                (Mailing.next_batch_at.is_(None)) | (Mailing.next_batch_at <= now),
            )
            .order_by(Mailing.id)
            .limit(MAILINGS_PER_ROUND)
            .with_for_update(of=Mailing, skip_locked=True)
        )
    )
    planned: list[tuple[str, list[int]]] = []
    for mailing in mailings:
        planned += _plan(mailing, now)
    db.session.commit()
    enqueue_chunks(JOB_FUNCTION, planned, timeout=JOB_TIMEOUT)
    return sum(len(chunk) for _job_id, chunk in planned)


def _plan(mailing: Mailing, now) -> list[tuple[str, list[int]]]:
    busy = db.session.scalar(
        select(func.count(distinct(MailingRecipient.job_id))).where(
            MailingRecipient.mailing_id == mailing.id,
            MailingRecipient.status.in_((RecipientStatus.QUEUED, RecipientStatus.SENDING)),
        )
    )
    lanes = LANES - (busy or 0)
    if lanes <= 0:
        return []
    size = BATCH if not mailing.per_minute else max(1, min(BATCH, mailing.per_minute // 6))
    if mailing.per_minute:
        lanes = 1
    ids = list(
        db.session.scalars(
            select(MailingRecipient.id)
            .where(
                MailingRecipient.mailing_id == mailing.id,
                MailingRecipient.status == RecipientStatus.PENDING,
                (MailingRecipient.due_at.is_(None)) | (MailingRecipient.due_at <= now),
            )
            .order_by(MailingRecipient.id)
            .limit(size * lanes)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        if not busy and mailing.status == MailingStatus.SENDING and not _open_rows(mailing.id):
            mailing.status, mailing.finished_at = MailingStatus.DONE, now
        return []
    if not mailing.per_minute:  # fewer at hand than the lanes could take: each free lane gets a share
        size = min(size, max(MIN_BATCH, -(-len(ids) // lanes)))
    planned = []
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        job_id = f"mailing-{mailing.id}-{chunk[0]}-{len(chunk)}"
        db.session.execute(
            update(MailingRecipient)
            .where(_among(MailingRecipient.id, chunk))
            .values(status=RecipientStatus.QUEUED, job_id=job_id, queued_at=now)
            .execution_options(synchronize_session=False)
        )
        planned.append((job_id, chunk))
    if mailing.per_minute:
        mailing.next_batch_at = now + timedelta(seconds=len(ids) * 60 / mailing.per_minute)
    return planned


def _open_rows(mailing_id: int) -> bool:
    """Whether recipients still wait (pending now or later, held for an A/B winner, queued or sending)."""
    waiting = (*(RecipientStatus.PENDING, RecipientStatus.QUEUED, RecipientStatus.SENDING), RecipientStatus.HELD)
    query = select(MailingRecipient.id).where(
        MailingRecipient.mailing_id == mailing_id, MailingRecipient.status.in_(waiting)
    )
    return db.session.scalar(query.limit(1)) is not None


def requeue_lost_batches(*, check_after: timedelta | None = None) -> int:
    """Rows of lost jobs: ``queued`` back to pending, ``sending`` to review. Returns how many were moved."""
    cutoff = utcnow() - (work.CHECK_AFTER if check_after is None else check_after)
    job_ids = list(
        db.session.scalars(
            select(MailingRecipient.job_id)
            .where(
                MailingRecipient.status.in_((RecipientStatus.QUEUED, RecipientStatus.SENDING)),
                MailingRecipient.queued_at < cutoff,
            )
            .group_by(MailingRecipient.job_id)
            .order_by(func.min(MailingRecipient.queued_at))
            .limit(work.CLAIM_BATCH)
        )
    )
    lost = work.lost_jobs(job_id for job_id in job_ids if job_id)
    moved = 0
    for job_id in [job_id for job_id in job_ids if not job_id or job_id in lost]:
        moved += _release(job_id, lost_job=True)
    db.session.commit()
    return moved


def _release(job_id: str, *, lost_job: bool = False) -> int:
    """The job's ``queued`` rows back to pending (and, for a lost job, its ``sending`` rows to review)."""
    moved = _changed(
        update(MailingRecipient)
        .where(MailingRecipient.job_id == job_id, MailingRecipient.status == RecipientStatus.QUEUED)
        .values(status=RecipientStatus.PENDING, job_id="")
        .execution_options(synchronize_session=False)
    )
    if lost_job:
        moved += _changed(
            update(MailingRecipient)
            .where(MailingRecipient.job_id == job_id, MailingRecipient.status == RecipientStatus.SENDING)
            .values(
                status=RecipientStatus.REVIEW,
                reason="interrupted",
                error=_("Interrupted while sending: check whether it arrived."),
            )
            .execution_options(synchronize_session=False)
        )
    return moved


# --- sending (the RQ job) --------------------------------------------------------------------------------


class _Plan:
    """What every message of one batch shares: the mailing's template, subject and sender per variant."""

    def __init__(self, mailing: Mailing):
        self.mailing_id, self.account_id = mailing.id, mailing.account_id
        self.reference = f"mailing:{mailing.id}"
        self.domain_limits = dict(mailing.domain_limits or {})
        self.variants: dict[int, tuple[int, str, str]] = {
            0: (mailing.template_id or 0, mailing.subject, mailing.sender)
        }
        for number, variant in enumerate(mailing.variants or [], start=1):
            self.variants[number] = (
                variant.get("template_id") or mailing.template_id or 0,
                variant.get("subject") or mailing.subject,
                mailing.sender,
            )

        self.blocked: dict[str, suppression.Reason] = {}  # suppressed addresses of the batch (``prefetch``)
        self.prepared: dict[int, mass_mail.Variant] = {}  # per variant number, made on first use (``variant``)
        self.id_domains: dict[int, str] = {}  # per variant number, the domain of its Message-IDs (``message_id``)

    def prefetch(self, profile_ids: list[int]) -> None:
        """The batch's profiles (with their database) into the session, and which of their addresses are
        suppressed: two queries for the batch instead of two per message. The session keeps loaded rows only
        while something refers to them (its identity map is weak): ``kept`` does, so the account, its mail
        settings, the templates and the profiles (with their database, fields and interests) are read once
        per batch, not once per message."""
        template_ids = sorted({template_id for template_id, _subject, _sender in self.variants.values() if template_id})
        self.kept: list[Any] = [
            db.session.get(Account, self.account_id),
            db.session.get(MailSettings, self.account_id),
            *db.session.scalars(
                select(EmailTemplate).where(
                    EmailTemplate.account_id == self.account_id, _among(EmailTemplate.id, template_ids)
                )
            ),
        ]
        profiles = db.session.scalars(
            select(Profile).where(_among(Profile.id, profile_ids)).options(*WITH_DATABASE)
        ).all()
        self.kept += profiles
        addresses = []
        for profile in profiles:
            try:
                addresses.append(sending.recipient_of(profile))
            except delivery.MailError:
                continue
        self.blocked = suppression.blocking_reasons(self.account_id, addresses, "marketing")

    def variant(self, number: int, connection: delivery.SmtpConnection | None) -> mass_mail.Variant:
        """The variant's template rendered once for the batch (``mass_mail``)."""
        if number not in self.prepared:
            template_id, subject, sender = self.variants.get(number, self.variants[0])
            account = db.session.get_one(Account, self.account_id)
            self.prepared[number] = mass_mail.Variant(
                account, template_id, subject=subject, sender=sender, connection=connection
            )
        return self.prepared[number]

    def message_id(self, variant: int) -> str:
        """A new Message-ID in the domain of the variant's sender (looked up once per batch)."""
        if variant not in self.id_domains:
            template_id, _subject, sender = self.variants.get(variant, self.variants[0])
            self.id_domains[variant] = (
                delivery.message_id_domain(self.account_id, sender)
                if sender
                else sending.message_id_domain(self.account_id, template_id)
            )
        return delivery.new_message_id(domain=self.id_domains[variant])


def send_batch(recipient_ids: list[int], job_id: str) -> dict[str, int]:
    """Send the rows of one job that are still ``queued`` under its id; returns counts by outcome."""
    rows = db.session.execute(
        select(
            MailingRecipient.id,
            MailingRecipient.mailing_id,
            MailingRecipient.profile_id,
            MailingRecipient.variant,
            MailingRecipient.message_id,
        )
        .where(
            _among(MailingRecipient.id, recipient_ids),
            MailingRecipient.status == RecipientStatus.QUEUED,
            MailingRecipient.job_id == job_id,
        )
        .order_by(MailingRecipient.id)
    ).all()
    if not rows:
        db.session.rollback()
        return {}
    mailing = db.session.get_one(Mailing, rows[0].mailing_id)
    if mailing.status not in ACTIVE_MAILING_STATUSES:
        _stop(job_id, mailing.status)
        return {"released": len(rows)}
    plan = _Plan(mailing)
    db.session.commit()
    counts: Counter[str] = Counter()
    session = db.session()
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False  # one batch: reuse loaded rows
    try:
        plan.prefetch([row.profile_id for row in rows])
        connection = delivery.open_connection(plan.account_id)
    except delivery.MailError as error:  # the account's mail settings cannot be read: the batch waits
        log.warning("mailing %s: %s", plan.mailing_id, error)
        _postpone_rest(job_id)
        db.session.commit()
        session.expire_on_commit = expire_on_commit
        return {"released": len(rows)}
    confirmations = Confirmations(job_id)
    try:
        for index, row in enumerate(rows):
            if index and index % CHECK_EVERY == 0:
                confirmations.flush()
                if not _still_active(plan.mailing_id, job_id):
                    counts["released"] += len(rows) - index
                    break
            outcome = _send_one(plan, row, job_id, connection, confirmations)
            counts[outcome] += 1
            if outcome == "unreachable":  # the server is down: the rest waits too (not counted as sent)
                _postpone_rest(job_id)
                counts["released"] += len(rows) - index - 1
                break
        confirmations.flush()
        db.session.commit()
    finally:
        session.expire_on_commit = expire_on_commit
        if connection is not None:
            connection.close()
    return dict(counts)


def _still_active(mailing_id: int, job_id: str) -> bool:
    status = db.session.scalar(select(Mailing.status).where(Mailing.id == mailing_id))
    if status in ACTIVE_MAILING_STATUSES:
        return True
    _stop(job_id, status or MailingStatus.CANCELLED)
    return False


def _stop(job_id: str, status: str) -> None:
    """Pause or cancel seen by a batch: its waiting rows go back (pending, or cancelled)."""
    target = RecipientStatus.CANCELLED if status == MailingStatus.CANCELLED else RecipientStatus.PENDING
    db.session.execute(
        update(MailingRecipient)
        .where(MailingRecipient.job_id == job_id, MailingRecipient.status == RecipientStatus.QUEUED)
        .values(status=target, job_id="")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _postpone_rest(job_id: str) -> None:
    db.session.execute(
        update(MailingRecipient)
        .where(MailingRecipient.job_id == job_id, MailingRecipient.status == RecipientStatus.QUEUED)
        .values(status=RecipientStatus.PENDING, job_id="", due_at=utcnow() + timedelta(seconds=60))
        .execution_options(synchronize_session=False)
    )


def _set(row_id: int, owner: str, *, expected: str, **values: Any) -> int:
    statement = (
        update(MailingRecipient)
        .where(MailingRecipient.id == row_id, MailingRecipient.status == expected, MailingRecipient.job_id == owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _changed(statement)


def _send_one(plan: _Plan, row, job_id: str, connection, confirmations: Confirmations) -> str:
    skip, address = _skip_reason(plan, row.profile_id)
    if skip:
        _set(row.id, job_id, expected=RecipientStatus.QUEUED, status=RecipientStatus.SKIPPED, reason=skip)
        return f"skipped_{skip}"
    listed = plan.blocked.get(suppression.normalised(address))
    if listed is not None:  # on the suppression list when the batch started
        reason_name = "unsubscribed" if listed == suppression.Reason.UNSUBSCRIBE else str(listed)
        _set(row.id, job_id, expected=RecipientStatus.QUEUED, status=RecipientStatus.SKIPPED, reason=reason_name)
        return f"skipped_{reason_name}"
    wait = _domain_wait(plan, address)
    if wait:
        due = utcnow() + timedelta(seconds=wait)
        _set(row.id, job_id, expected=RecipientStatus.QUEUED, status=RecipientStatus.PENDING, job_id="", due_at=due)
        return "postponed"
    message_id = row.message_id or plan.message_id(row.variant)  # a retry keeps its Message-ID
    # The claim, with the previous message's outcome, committed: from here on it may go out.
    if not confirmations.claim(row.id, message_id):
        return "gone"  # cancelled meanwhile, or another job's
    try:
        sent = _deliver(plan, row, message_id, connection)
    except delivery.MailSuppressedError:
        db.session.rollback()
        listed = suppression.blocking_reason(plan.account_id, address, "marketing")
        reason_name = "unsubscribed" if listed in (None, suppression.Reason.UNSUBSCRIBE) else str(listed)
        _set(row.id, job_id, expected=RecipientStatus.SENDING, status=RecipientStatus.SKIPPED, reason=reason_name)
        return f"skipped_{reason_name}"
    except delivery.MailTemporaryError as error:
        db.session.rollback()
        return _temporary(row.id, job_id, error)
    except delivery.MailPermanentError as error:
        db.session.rollback()
        refusals.report(error, final=True)  # a 5xx refusal counts as the message's bounce (hygiene)
        reason = "refused" if error.refusal is not None else "permanent"
        _set(
            row.id,
            job_id,
            expected=RecipientStatus.SENDING,
            status=RecipientStatus.FAILED,
            reason=reason,
            error=str(error)[:2000],
        )
        return "failed"
    except DomainError as error:  # the template is gone or does not render for this profile: nothing was sent
        db.session.rollback()
        _set(
            row.id,
            job_id,
            expected=RecipientStatus.SENDING,
            status=RecipientStatus.FAILED,
            reason="template",
            error=str(error)[:2000],
        )
        return "failed"
    except Exception as error:  # noqa: BLE001 - the outcome is unknown: it may have been accepted
        log.exception("mailing %s: recipient %s interrupted", plan.mailing_id, row.id)
        db.session.rollback()
        _set(
            row.id,
            job_id,
            expected=RecipientStatus.SENDING,
            status=RecipientStatus.REVIEW,
            reason="interrupted",
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        db.session.commit()
        return "review"
    if sent is None:
        _set(row.id, job_id, expected=RecipientStatus.SENDING, status=RecipientStatus.SENT, sent_at=utcnow(), error="")
    else:
        confirmations.confirm(sent)
    return "sent"  # committed with the next claim (or at the end of the batch)


def _deliver(plan: _Plan, row, message_id: str, connection) -> Sent | None:
    """Send the claimed message. A new one is built from its variant's skeleton and its confirmation returned
    (written with the next claim); a retry (its Message-ID kept) takes the careful path, which looks up an
    earlier log row and checks the suppression list itself, and writes its log rows now (returns None)."""
    template_id, subject, sender = plan.variants.get(row.variant, plan.variants[0])
    if row.message_id:
        sending.send_template_email(
            plan.account_id,
            template_id,
            row.profile_id,
            message_id=message_id,
            origin_reference=plan.reference,
            source="email",
            subject=subject,
            sender=sender,
            mailing_id=plan.mailing_id,
            connection=connection,
        )
        return None
    profile = db.session.get_one(Profile, row.profile_id)
    delivered = plan.variant(row.variant, connection).send(profile, message_id)
    return Sent(
        row_id=row.id,
        account_id=plan.account_id,
        database_id=profile.database_id,
        profile_id=profile.id,
        mailing_id=plan.mailing_id,
        template_id=template_id,
        message_id=message_id,
        return_key=delivered.return_key,
        recipient=delivered.recipient,
        subject=delivered.subject,
        reference=plan.reference,
        sent_at=utcnow(),
    )


def _temporary(row_id: int, job_id: str, error: delivery.MailTemporaryError) -> str:
    """A 4xx, a connection failure or the account's rate: retried later, never counted as sent."""
    attempts = (db.session.scalar(select(MailingRecipient.attempts).where(MailingRecipient.id == row_id)) or 0) + 1
    if attempts >= MAX_ATTEMPTS:
        refusals.report(error, final=True)
        _set(
            row_id,
            job_id,
            expected=RecipientStatus.SENDING,
            status=RecipientStatus.FAILED,
            attempts=attempts,
            reason="deferred",
            error=str(error)[:2000],
        )
        return "failed"
    due = utcnow() + timedelta(minutes=2 ** (attempts - 1))
    _set(
        row_id,
        job_id,
        expected=RecipientStatus.SENDING,
        status=RecipientStatus.PENDING,
        job_id="",
        attempts=attempts,
        due_at=due,
        error=str(error)[:2000],
    )
    return "deferred" if error.refusal is not None else "unreachable"


def _skip_reason(plan: _Plan, profile_id: int) -> tuple[str, str]:
    """(why the profile gets no mail, its address): removed, unsubscribed, no address. An address on the
    suppression list is refused by ``delivery`` and skipped with the list's reason (soft_bounce, hard_bounce,
    complaint; an unsubscribe there counts as "unsubscribed")."""
    profile = db.session.get(Profile, profile_id)
    if profile is None or profile.account_id != plan.account_id:
        return "removed", ""
    if not is_subscribed(profile):
        return "unsubscribed", ""
    try:
        address = sending.recipient_of(profile)
    except delivery.MailError:
        return "no_address", ""
    return "", address  # the suppression list is checked by ``delivery.send_mail`` (MailSuppressedError)


def _domain_wait(plan: _Plan, address: str) -> float:
    """Seconds until the recipient's domain may get another message of this mailing (0: now)."""
    if not plan.domain_limits:
        return 0.0
    domain = parseaddr(address)[1].rpartition("@")[2].lower()
    per_minute = plan.domain_limits.get(domain)
    if not per_minute:
        return 0.0
    bucket = redis_connection().register_script(DOMAIN_BUCKET)
    key = f"mailing-domain:{plan.mailing_id}:{domain}"
    return float(bucket(keys=[key], args=[per_minute / 60, max(per_minute // 6, 1)]))
