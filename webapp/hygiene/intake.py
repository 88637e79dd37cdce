"""Taking in one report: match it to the message we sent, keep it, and journal it on the profile.

Matching, in order: the VERP token of the address the report was sent to (``bounce+…@BOUNCE_DOMAIN``,
signed, see ``email.link_tokens``); then the original Message-ID found anywhere in the report, looked up in
the sent-message log. A report that matches neither is kept in the unmatched store (capped, deleted after
``UNMATCHED_REPORT_DAYS``) and never guessed onto a profile by its recipient address.

A matched hard or soft bounce becomes a ``bounced`` event, a complaint a ``complained`` event (source
``bounce``, shape in ``reports``), in the transaction that stores the ``BounceReport``, which also marks the
message's ``EmailResult`` (``email.results``). A message to
``unsubscribe+…@`` unsubscribes the profile through ``profiles.unsubscribe`` (source ``unsubscribe``).
Auto-replies and messages that are no bounce are kept when matched and change nothing.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, select

from webapp.email import link_tokens, results
from webapp.extensions import db
from webapp.hygiene.reading import message_ids_in, read_report
from webapp.hygiene.reports import Kind, Report
from webapp.models import Account, BounceReport, Database, Profile, ProfileEvent, SentMessage, UnmatchedReport, utcnow
from webapp.profiles import events
from webapp.profiles.events import Origin
from webapp.profiles.unsubscribe import unsubscribe

RAW_LIMIT = 256 * 1024  # bytes of a received message kept for review
UNMATCHED_LIMIT = 64 * 1024  # bytes of an unmatched message kept
REFERENCE_LENGTH = 100  # ProfileEvent.reference
JOURNALLED = {Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE, Kind.COMPLAINT}


@dataclass(frozen=True)
class Outcome:
    """What intake did with one message: the stored row's id and whether it matched a sent message."""

    kind: Kind
    matched: bool
    report_id: int


def take_in_message(raw: bytes, envelope_to: str) -> Outcome:
    """Read, match and keep one message received for ``envelope_to``; one transaction."""
    return take_in_messages([(raw, envelope_to)])[0]


def take_in_messages(received: list[tuple[bytes, str]]) -> list[Outcome]:
    """Read, match and keep several messages (raw, envelope recipient) in one transaction (the receiver's
    group commit: one commit for what arrived together). ``mailto:`` unsubscribes follow, one transaction each.
    """
    tokens = [link_tokens.parse_address(envelope_to) for _raw, envelope_to in received]
    unsubscribes = {index for index, token in enumerate(tokens) if token is not None and token[0] == "unsubscribe"}
    reports = {
        index: read_report(raw, envelope_to=envelope_to, source="smtp")
        for index, (raw, envelope_to) in enumerate(received)
        if index not in unsubscribes
    }
    by_token = _sent_by_tokens([token for index, token in enumerate(tokens) if token and index in reports])
    outcomes: dict[int, Outcome] = {}
    matched: dict[int, SentMessage | None] = {}
    for index, report in reports.items():
        token = tokens[index]
        sent = by_token.get((token[1], token[2])) if token else None
        matched[index] = sent or _sent_by_message_id([report.original_message_id, *message_ids_in(received[index][0])])
    loaded = _load_profiles([sent.profile_id for sent in matched.values() if sent and sent.profile_id])
    rows = {index: _row(report, matched[index], received[index][0]) for index, report in reports.items()}
    db.session.add_all(rows.values())  # inserted together at the first flush
    _journal_together([(report, matched[index]) for index, report in reports.items()])
    db.session.flush()
    for index, report in reports.items():
        outcomes[index] = Outcome(report.kind, matched[index] is not None, rows[index].id)
    db.session.commit()
    del loaded
    for index, token in enumerate(tokens):
        if index not in reports and token is not None:
            outcomes[index] = _mailto_unsubscribe(received[index][0], received[index][1], token[1], token[2])
    return [outcomes[index] for index in range(len(received))]


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
    row = _row(report, sent, raw)
    db.session.add(row)
    _journal_together([(report, sent)])
    db.session.flush()
    if commit:
        db.session.commit()
    return Outcome(report.kind, sent is not None, row.id)


def _row(report: Report, sent: SentMessage | None, raw: bytes) -> BounceReport | UnmatchedReport:
    """The (not yet added) record of a report: a ``BounceReport`` when matched, else an ``UnmatchedReport``."""
    if sent is None:
        return UnmatchedReport(
            envelope_to=report.envelope_to[:320],
            kind=report.kind.value,
            recipient=report.recipient[:320],
            original_message_id=report.original_message_id[:255],
            source=report.source,
            raw=raw[:UNMATCHED_LIMIT],
            raw_size=len(raw),
        )
    profile = db.session.get(Profile, sent.profile_id) if sent.profile_id else None
    return BounceReport(
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


def journal(report: Report, profile: Profile, message_id: str) -> None:
    """The profile event of a bounce or complaint, in the caller's transaction (the policies' contract)."""
    kind, changes = event_of(report, message_id)
    events.record(kind, Origin("bounce", reference=message_id[:REFERENCE_LENGTH]), profile=profile, changes=changes)


def event_of(report: Report, message_id: str) -> tuple[str, dict]:
    """The kind and changes of the event a bounce or complaint journals (shape in ``reports``)."""
    if report.kind == Kind.COMPLAINT:
        return "complained", {"complaint": {"feedback_type": report.diagnostic or "abuse", "message_id": message_id}}
    bounce = {
        "type": report.kind.value,
        "reason": report.reason.value,
        "status": report.status,
        "diagnostic": report.diagnostic[:1000],
        "message_id": message_id,
    }
    return "bounced", {"bounce": bounce}


def _journal_together(matched: list[tuple[Report, SentMessage | None]]) -> None:
    """The events of a batch in one INSERT, handed to the subscribers one by one as ``events.record`` does
    (``events.note_written``): a round trip per batch instead of one per event."""
    rows = []
    for report, sent in matched:
        _record_result(report, sent)
        profile = db.session.get(Profile, sent.profile_id) if sent and sent.profile_id else None
        if sent is None or profile is None or report.kind not in JOURNALLED:
            continue
        kind, changes = event_of(report, sent.message_id)
        rows.append(
            {
                "account_id": profile.account_id,
                "database_id": profile.database_id,
                "profile_id": profile.id,
                "collection_id": None,
                "subprofile_id": None,
                "kind": kind,
                "source": "bounce",
                "actor": "",
                "reference": sent.message_id[:REFERENCE_LENGTH],
                "changes": changes,
                "created_at": utcnow(),
            }
        )
    if not rows:
        return
    statement = insert(ProfileEvent).returning(ProfileEvent.id, sort_by_parameter_order=True)
    ids = db.session.scalars(statement, rows).all()
    events.note_written([ProfileEvent(id=event_id, **row) for event_id, row in zip(ids, rows, strict=True)])


def _record_result(report: Report, sent: SentMessage | None) -> None:
    """The bounce or complaint on the message's ``EmailResult`` (also when its profile is gone)."""
    if sent is None:
        return
    if report.kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE):
        results.record_bounce(sent.id, report.kind.value)
    elif report.kind == Kind.COMPLAINT:
        results.record_complaint(sent.id)


def _mailto_unsubscribe(raw: bytes, envelope_to: str, account_id: int, key: str) -> Outcome:
    report = Report(kind=Kind.UNSUBSCRIBE, envelope_to=envelope_to, source="smtp")
    sent = _sent_by_token(("unsubscribe", account_id, key))
    if sent is None:
        return keep(report, None, raw)
    stored = _row(report, sent, raw)
    db.session.add(stored)
    results.record_unsubscribe_by_sent_id(sent.id)
    db.session.flush()
    profile = db.session.get(Profile, sent.profile_id) if sent.profile_id else None
    if profile is None:
        db.session.commit()
        return Outcome(Kind.UNSUBSCRIBE, True, stored.id)
    account = db.session.get(Account, sent.account_id)
    assert account is not None
    # ``unsubscribe`` commits: the stored report and the unsubscribe are one transaction.
    unsubscribe(
        account, profile.id, origin=Origin("unsubscribe", actor="mailto", reference=sent.message_id[:REFERENCE_LENGTH])
    )
    return Outcome(Kind.UNSUBSCRIBE, True, stored.id)


def _sent_by_token(token: tuple[str, int, str]) -> SentMessage | None:
    return _sent_by_tokens([token]).get((token[1], token[2]))


def _sent_by_tokens(tokens: list[tuple[str, int, str]]) -> dict[tuple[int, str], SentMessage]:
    """The sent messages named by VERP tokens, by (account id, return key); the newest when a key repeats."""
    keys = {key for _prefix, _account_id, key in tokens}
    if not keys:
        return {}
    query = select(SentMessage).where(SentMessage.return_key.in_(keys)).order_by(SentMessage.id)
    wanted = {(account_id, key) for _prefix, account_id, key in tokens}
    found = {}
    for sent in db.session.scalars(query):
        if (sent.account_id, sent.return_key) in wanted:
            found[(sent.account_id, sent.return_key)] = sent
    return found


def _load_profiles(profile_ids: list[int]) -> list[Profile | Database]:
    """Load the profiles of a batch and their databases in two queries; ``db.session.get`` (here and in event
    subscribers) then finds them in the session, as long as the caller holds the returned list (the session
    keeps objects only while something refers to them)."""
    if not profile_ids:
        return []
    loaded: list[Profile | Database] = list(db.session.scalars(select(Profile).where(Profile.id.in_(set(profile_ids)))))
    database_ids = {row.database_id for row in loaded if isinstance(row, Profile)}
    loaded.extend(db.session.scalars(select(Database).where(Database.id.in_(database_ids))))
    return loaded


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
