"""Mailings: a template sent to the members of selections, its recipients frozen into rows, and its link clicks.

See ``docs/mailings.md``. A mailing's recipients are frozen (``INSERT … SELECT``) when it starts sending; each
recipient row is sent at most once (``sending`` is committed before the SMTP transaction, ``sent`` with the
sent-message log), so a killed worker's batch continues where it stopped.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class MailingStatus(StrEnum):
    """The ``status`` of a ``Mailing``."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"  # to start at ``scheduled_at`` (a durable work row is due then)
    PERIODIC = "periodic"  # a repeating schedule: each occurrence is a mailing of its own (``parent_id``)
    SENDING = "sending"
    TESTING = "testing"  # A/B test: the variants went to the sample, the rest waits for the winner
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


MAILING_STATUSES = tuple(MailingStatus)
# Statuses in which the mailing's recipient rows may still be sent.
ACTIVE_MAILING_STATUSES = (MailingStatus.SENDING, MailingStatus.TESTING)


class RecipientStatus(StrEnum):
    """The ``status`` of a ``MailingRecipient``."""

    HELD = "held"  # A/B test: waits for the winner
    PENDING = "pending"
    QUEUED = "queued"  # in a batch job (``job_id``)
    SENDING = "sending"  # committed before the SMTP transaction: found so after a crash, it is for review
    SENT = "sent"
    SKIPPED = "skipped"  # suppressed, unsubscribed, bounced, no address, removed (``reason``)
    FAILED = "failed"  # refused by the server (5xx), or 4xx until the retries ran out
    REVIEW = "review"  # interrupted between the SMTP transaction and its commit: may have arrived
    CANCELLED = "cancelled"


RECIPIENT_STATUSES = tuple(RecipientStatus)
OPEN_RECIPIENT_STATUSES = (RecipientStatus.PENDING, RecipientStatus.QUEUED, RecipientStatus.SENDING)
IN_FLIGHT = "status IN ('queued', 'sending')"  # the predicate of the partial indexes of the rows in batch jobs


class Mailing(Base):
    """A template to the members of target selections minus exclusion selections, now, later or periodically.

    ``variants`` (A/B test): 2–4 of ``{"subject": str, "template_id": int | None}`` sent to ``ab_percent`` of the
    recipients; after ``ab_wait_minutes`` the best by ``ab_metric`` (``opens``/``clicks``) goes to the rest.
    ``repeat``: ``{"weekdays": [0..6] (Monday 0), "time": "HH:MM"}`` in the account's time zone."""

    __tablename__ = "mailing"
    __table_args__ = (Index("ix_mailing_account_id_id", "account_id", "id"), Index("ix_mailing_status", "status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("mailing.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_template.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(500), default="")  # empty: the template's
    sender: Mapped[str] = mapped_column(String(255), default="")  # empty: the template's, else the account's
    target_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    exclude_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    per_minute: Mapped[int | None]  # throttle; None: as fast as the account's send rate allows
    domain_limits: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)  # domain → per minute
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    ab_percent: Mapped[int] = mapped_column(default=20)
    ab_wait_minutes: Mapped[int] = mapped_column(default=240)
    ab_metric: Mapped[str] = mapped_column(String(8), default="opens")
    ab_winner: Mapped[int | None]  # 1-based index into ``variants``
    repeat: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=MailingStatus.DRAFT)
    scheduled_at: Mapped[datetime | None]  # UTC
    next_batch_at: Mapped[datetime | None]  # the throttle: no batch is dispatched before
    frozen: Mapped[int] = mapped_column(default=0)  # recipients frozen when sending started
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailingRecipient(Base):
    """One profile a mailing goes to, frozen when it started; sent at most once."""

    __tablename__ = "mailing_recipient"
    __table_args__ = (
        UniqueConstraint("mailing_id", "profile_id"),
        Index("ix_mailing_recipient_mailing_id_status_id", "mailing_id", "status", "id"),
        # The rows in flight (queued, sending): a few batches' worth, however large the mailing. The dispatcher
        # asks each round which jobs of a mailing are busy and which jobs are old enough to check; partial, so
        # those questions stay cheap while every row passes through both statuses (with the statuses in one
        # index over all rows they cost 40 ms a round at 100,000 recipients).
        Index(
            "ix_mailing_recipient_in_flight",
            "mailing_id",
            "job_id",
            postgresql_where=text(IN_FLIGHT),
            sqlite_where=text(IN_FLIGHT),
        ),
        Index(
            "ix_mailing_recipient_in_flight_queued_at",
            "queued_at",
            postgresql_where=text(IN_FLIGHT),
            sqlite_where=text(IN_FLIGHT),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailing.id", ondelete="CASCADE"))
    profile_id: Mapped[int] = mapped_column()  # no key: the profile may be removed, the row stays for counts
    variant: Mapped[int] = mapped_column(default=0)  # 0: the mailing itself (or the A/B winner); 1..4: a variant
    status: Mapped[str] = mapped_column(String(16), default=RecipientStatus.PENDING)
    reason: Mapped[str] = mapped_column(String(32), default="")  # why skipped or failed
    error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(255), default="")
    job_id: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None]  # a retry (4xx, per-domain limit) not before
    queued_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class MailingLink(Base):
    """Clicks per link of a mailing (every click counts; unique clicks per person are on ``EmailResult``)."""

    __tablename__ = "mailing_link"
    __table_args__ = (UniqueConstraint("mailing_id", "url_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailing_id: Mapped[int] = mapped_column(ForeignKey("mailing.id", ondelete="CASCADE"))
    url_hash: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    click_count: Mapped[int] = mapped_column(default=0)
    last_clicked_at: Mapped[datetime] = mapped_column(default=utcnow)
