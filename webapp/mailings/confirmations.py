"""A mailing's per-message database work in one statement: the last message's confirmation with the next claim.

``send_batch`` commits once per message: the claim of message *i* (``queued`` → ``sending``, before its SMTP
transaction) together with the confirmation of message *i-1* — ``sent``, its sent-message log row, its
``EmailResult`` and its ``email_sent`` journal event. These are the rows ``delivery.send_mail``,
``results.record_sent`` and ``events.record`` write for a single message; here they are one round trip:
on PostgreSQL one ``WITH … INSERT … UPDATE`` statement (data-modifying CTEs, each run exactly once), on other
engines the same statements in turn. The event then reaches the event subscribers (``events.note_written``)
and everything commits together, so the at-most-once rule is unchanged: at any moment a batch has at most one
claimed message without its confirmation, and a message's log, result and event are durable exactly when it
is confirmed ``sent``.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text, update

from webapp.extensions import db
from webapp.models import EmailResult, MailingRecipient, ProfileEvent, RecipientStatus, SentMessage
from webapp.profiles import events


@dataclass(frozen=True)
class Sent:
    """A message the SMTP server accepted: what its confirmation writes."""

    row_id: int  # its ``mailing_recipient``
    account_id: int
    database_id: int
    profile_id: int
    mailing_id: int
    template_id: int | None
    message_id: str
    return_key: str
    recipient: str
    subject: str
    reference: str  # ``mailing:<id>``
    sent_at: datetime

    def log_values(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "message_id": self.message_id,
            "return_key": self.return_key,
            "profile_id": self.profile_id,
            "template_id": self.template_id,
            "origin_reference": self.reference,
            "category": "marketing",
            "recipient": self.recipient,
            "subject": self.subject[:500],
            "sent_at": self.sent_at,
        }

    def result_values(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "database_id": self.database_id,
            "profile_id": self.profile_id,
            "mailing_id": self.mailing_id,
            "template_id": self.template_id,
            "category": "marketing",
            "sent_at": self.sent_at,
            "open_count": 0,
            "click_count": 0,
            "bounce": "",
        }

    def event_values(self) -> dict[str, Any]:
        changes = {"message_id": self.message_id, "template_id": self.template_id, "subject": self.subject}
        return {
            "account_id": self.account_id,
            "database_id": self.database_id,
            "profile_id": self.profile_id,
            "collection_id": None,
            "subprofile_id": None,
            "kind": "email_sent",
            "source": "email",
            "actor": "",
            "reference": self.reference[:100],
            "changes": changes,
            "created_at": self.sent_at,
        }


_CONFIRM = """
done AS (
    UPDATE mailing_recipient SET status = 'sent', sent_at = :sent_at, error = ''
    WHERE id = :done_id AND status = 'sending' AND job_id = :job_id RETURNING id),
logged AS (
    INSERT INTO sent_message (account_id, message_id, return_key, profile_id, template_id, origin_reference,
                              category, recipient, subject, sent_at)
    VALUES (:account_id, :message_id, :return_key, :profile_id, :template_id, :origin_reference,
            'marketing', :recipient, :subject, :sent_at) RETURNING id),
result AS (
    INSERT INTO email_result (account_id, database_id, profile_id, mailing_id, template_id, sent_message_id,
                              category, sent_at, open_count, click_count, bounce)
    SELECT :account_id, :database_id, :profile_id, :mailing_id, :template_id, logged.id,
           'marketing', :sent_at, 0, 0, '' FROM logged),
journal AS (
    INSERT INTO profile_event (account_id, database_id, profile_id, kind, source, actor, reference, changes,
                               created_at)
    VALUES (:account_id, :database_id, :profile_id, 'email_sent', 'email', '', :reference,
            CAST(:changes AS json), :created_at) RETURNING id)"""
_CLAIM = """
claimed AS (
    UPDATE mailing_recipient SET status = 'sending', message_id = :claim_message_id
    WHERE id = :claim_id AND status = 'queued' AND job_id = :job_id RETURNING id)"""
_STATEMENTS = {  # (confirm, claim): constant SQL, values bound
    (True, True): text(f"WITH {_CONFIRM},{_CLAIM} SELECT (SELECT id FROM journal), (SELECT count(*) FROM claimed)"),  # noqa: S608
    (True, False): text(f"WITH {_CONFIRM} SELECT (SELECT id FROM journal), 0"),  # noqa: S608
    (False, True): text(f"WITH {_CLAIM} SELECT NULL, (SELECT count(*) FROM claimed)"),  # noqa: S608
}


class Confirmations:
    """The one unconfirmed sent message of a batch, written with the next claim (``claim``) or alone (``flush``)."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.pending: Sent | None = None
        self.one_statement = db.session.get_bind().dialect.name == "postgresql"

    def confirm(self, sent: Sent) -> None:
        """Remember an accepted message; it is written (not committed) by the next ``claim`` or ``flush``."""
        assert self.pending is None, "one unconfirmed message at a time"
        self.pending = sent

    def claim(self, row_id: int, message_id: str) -> bool:
        """Claim the row (``queued`` → ``sending`` with its Message-ID) with the pending confirmation, and commit.
        Returns whether the row was claimed (False: cancelled meanwhile, or another job's)."""
        claimed = self._write((row_id, message_id))
        db.session.commit()  # from here on the claimed message may go out
        return claimed

    def flush(self) -> None:
        """Write the pending confirmation in the current transaction (the caller commits)."""
        if self.pending is not None:
            self._write(None)

    def _write(self, claim: tuple[int, str] | None) -> bool:
        sent, self.pending = self.pending, None
        if not self.one_statement:
            return self._write_in_turn(sent, claim)
        parameters: dict[str, Any] = {"job_id": self.job_id}
        if sent is not None:
            parameters |= _parameters(sent)
        if claim is not None:
            parameters |= {"claim_id": claim[0], "claim_message_id": claim[1]}
        statement = _STATEMENTS[sent is not None, claim is not None]  # Core on the session's connection: no ORM
        event_id, claimed = db.session.connection().execute(statement, parameters).one()
        if sent is not None:
            events.note_written([ProfileEvent(id=event_id, **sent.event_values())])
        return bool(claimed)

    def _write_in_turn(self, sent: Sent | None, claim: tuple[int, str] | None) -> bool:
        """The same rows, one statement each (engines without data-modifying CTEs, e.g. SQLite)."""
        if sent is not None:
            _update(
                sent.row_id,
                self.job_id,
                RecipientStatus.SENDING,
                status=RecipientStatus.SENT,
                sent_at=sent.sent_at,
                error="",
            )
            log_id = db.session.execute(
                insert(SentMessage).values(**sent.log_values()).returning(SentMessage.id)
            ).scalar_one()
            db.session.execute(insert(EmailResult).values(sent_message_id=log_id, **sent.result_values()))
            values = sent.event_values()
            event_id = db.session.execute(insert(ProfileEvent).values(**values).returning(ProfileEvent.id)).scalar_one()
            events.note_written([ProfileEvent(id=event_id, **values)])
        if claim is None:
            return False
        return bool(
            _update(claim[0], self.job_id, RecipientStatus.QUEUED, status=RecipientStatus.SENDING, message_id=claim[1])
        )


def _parameters(sent: Sent) -> dict[str, Any]:
    return {
        **sent.log_values(),
        "done_id": sent.row_id,
        "database_id": sent.database_id,
        "mailing_id": sent.mailing_id,
        "reference": sent.reference[:100],
        "changes": json.dumps(sent.event_values()["changes"]),
        "created_at": sent.sent_at,
    }


def _update(row_id: int, job_id: str, expected: str, **values: Any) -> int:
    statement = (
        update(MailingRecipient)
        .where(MailingRecipient.id == row_id, MailingRecipient.status == expected, MailingRecipient.job_id == job_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(statement).rowcount or 0  # type: ignore[attr-defined]
