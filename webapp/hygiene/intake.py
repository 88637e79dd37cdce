"""Taking in one report: match it to the message we sent, keep it, and journal it on the profile.

Matching, in order: the VERP token of the address the report was sent to (``bounce+…@BOUNCE_DOMAIN``,
signed, see ``email.link_tokens``); then the original Message-ID found anywhere in the report, looked up in
the sent-message log. A report that matches neither is kept in the unmatched store (capped, deleted after
``UNMATCHED_REPORT_DAYS``) and never guessed onto a profile by its recipient address.

A matched hard or soft bounce becomes a ``bounced`` event, a complaint a ``complained`` event (source
``bounce``, shape in ``reports``), in the transaction that stores the ``BounceReport``. A message to
``unsubscribe+…@`` unsubscribes the profile through ``profiles.unsubscribe`` (source ``unsubscribe``).
Auto-replies and messages that are no bounce are kept when matched and change nothing.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from webapp.email import link_tokens
from webapp.extensions import db
from webapp.hygiene.reading import message_ids_in, read_report
from webapp.hygiene.reports import Kind, Report
from webapp.models import Account, BounceReport, Profile, SentMessage, UnmatchedReport, utcnow
from webapp.profiles import events
from webapp.profiles.events import Origin
from webapp.profiles.unsubscribe import unsubscribe

RAW_LIMIT = 256 * 1024  # bytes of a received message kept for review
UNMATCHED_LIMIT = 64 * 1024  # bytes of an unmatched message kept
JOURNALLED = {Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.COMPLAINT}


@dataclass(frozen=True)
class Outcome:
    """What intake did with one message: the stored row's id and whether it matched a sent message."""

    kind: Kind
    matched: bool
    report_id: int


def take_in_message(raw: bytes, envelope_to: str) -> Outcome:
    """Read, match and keep one message received for ``envelope_to``; one transaction."""
    token = link_tokens.parse_address(envelope_to)
    if token is not None and token[0] == "unsubscribe":
        return _mailto_unsubscribe(raw, envelope_to, token[1], token[2])
    report = read_report(raw, envelope_to=envelope_to, source="smtp")
    sent = _sent_by_token(token) if token else None
    if sent is None:
        sent = _sent_by_message_id([report.original_message_id, *message_ids_in(raw)])
    return keep(report, sent, raw)


def take_in_report(
    report: Report, *, account_id: int, message_ids: list[str], raw: bytes, commit: bool = True
) -> Outcome:
    """Keep a report a provider's webhook delivered for an account, matched by Message-ID in that account."""
    sent = _sent_by_message_id([report.original_message_id, *message_ids])
    if sent is not None and sent.account_id != account_id:
        sent = None
    return keep(report, sent, raw, commit=commit)


def keep(report: Report, sent: SentMessage | None, raw: bytes, *, commit: bool = True) -> Outcome:
    """Store the report (matched or not) and journal a matched bounce or complaint (``commit``: and commit)."""
    if sent is None:
        row = UnmatchedReport(
            envelope_to=report.envelope_to[:320],
            kind=report.kind.value,
            recipient=report.recipient[:320],
            original_message_id=report.original_message_id[:255],
            source=report.source,
            raw=raw[:UNMATCHED_LIMIT],
            raw_size=len(raw),
        )
        db.session.add(row)
        db.session.flush()
        if commit:
            db.session.commit()
        return Outcome(report.kind, False, row.id)
    profile = db.session.get(Profile, sent.profile_id) if sent.profile_id else None
    stored = _stored(report, sent, profile, raw)
    if profile is not None and report.kind in JOURNALLED:
        journal(report, profile, sent.message_id)
    if commit:
        db.session.commit()
    return Outcome(report.kind, True, stored.id)


def journal(report: Report, profile: Profile, message_id: str) -> None:
    """The profile event of a bounce or complaint, in the caller's transaction (the policies' contract)."""
    origin = Origin("bounce", reference=message_id[:255])
    if report.kind == Kind.COMPLAINT:
        changes = {"complaint": {"feedback_type": report.diagnostic or "abuse", "message_id": message_id}}
        events.record("complained", origin, profile=profile, changes=changes)
        return
    bounce = {
        "type": report.kind.value,
        "reason": report.reason.value,
        "status": report.status,
        "diagnostic": report.diagnostic[:1000],
        "message_id": message_id,
    }
    events.record("bounced", origin, profile=profile, changes={"bounce": bounce})


def _stored(report: Report, sent: SentMessage, profile: Profile | None, raw: bytes) -> BounceReport:
    row = BounceReport(
        account_id=sent.account_id,
        database_id=profile.database_id if profile else None,
        profile_id=profile.id if profile else None,
        sent_message_id=sent.id,
        kind=report.kind.value,
        reason=report.reason.value,
        status=report.status[:16],
        diagnostic=report.diagnostic[:4000],
        recipient=(report.recipient or sent.recipient)[:320],
        original_message_id=sent.message_id,
        source=report.source,
        raw=raw[:RAW_LIMIT],
        raw_size=len(raw),
    )
    db.session.add(row)
    db.session.flush()
    return row


def _mailto_unsubscribe(raw: bytes, envelope_to: str, account_id: int, key: str) -> Outcome:
    report = Report(kind=Kind.UNSUBSCRIBE, envelope_to=envelope_to, source="smtp")
    sent = _sent_by_token(("unsubscribe", account_id, key))
    if sent is None:
        return keep(report, None, raw)
    profile = db.session.get(Profile, sent.profile_id) if sent.profile_id else None
    stored = _stored(report, sent, profile, raw)
    if profile is None:
        db.session.commit()
        return Outcome(Kind.UNSUBSCRIBE, True, stored.id)
    account = db.session.get(Account, sent.account_id)
    assert account is not None
    # ``unsubscribe`` commits: the stored report and the unsubscribe are one transaction.
    unsubscribe(account, profile.id, origin=Origin("unsubscribe", actor="mailto", reference=sent.message_id[:255]))
    return Outcome(Kind.UNSUBSCRIBE, True, stored.id)


def _sent_by_token(token: tuple[str, int, str]) -> SentMessage | None:
    _prefix, account_id, key = token
    query = select(SentMessage).where(SentMessage.account_id == account_id, SentMessage.return_key == key)
    return db.session.scalars(query.order_by(SentMessage.id.desc()).limit(1)).first()


def _sent_by_message_id(candidates: list[str]) -> SentMessage | None:
    ids = [value.strip() for value in dict.fromkeys(candidates) if value and value.strip()]
    if not ids:
        return None
    forms = {*ids, *(f"<{value.strip('<>')}>" for value in ids), *(value.strip("<>") for value in ids)}
    return db.session.scalars(select(SentMessage).where(SentMessage.message_id.in_(forms)).limit(1)).first()


# --- the unmatched store ----------------------------------------------------------------------------


def unmatched(limit: int = 100) -> tuple[int, list[UnmatchedReport]]:
    """How many unmatched messages are kept, and the newest ``limit`` of them."""
    total = db.session.scalar(select(func.count()).select_from(UnmatchedReport)) or 0
    rows = db.session.scalars(select(UnmatchedReport).order_by(UnmatchedReport.id.desc()).limit(limit)).all()
    return total, list(rows)


def forget_old_unmatched() -> None:
    """Housekeeping: delete unmatched messages older than the retention period (the round commits)."""
    cutoff = utcnow() - timedelta(days=current_app.config["UNMATCHED_REPORT_DAYS"])
    db.session.execute(delete(UnmatchedReport).where(UnmatchedReport.received_at < cutoff))
