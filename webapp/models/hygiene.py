"""Hygiene: each bounce, complaint or unsubscribe message received, the unmatched ones, and the providers'
webhook credentials per account."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, utcnow

INTAKE_PROVIDERS = ("ses", "sendgrid", "mailgun", "postmark", "generic")


class BounceReport(Base):
    """One received report matched to the message we sent (and so to its account and profile).

    ``kind`` and ``reason`` are ``webapp.hygiene.reports.Kind`` / ``Reason`` values; ``classified_by`` names the
    user who classified an ``unknown`` one by hand. ``raw`` is the message as received, capped.
    """

    __tablename__ = "bounce_report"
    __table_args__ = (
        Index("ix_bounce_report_account_received", "account_id", "received_at"),
        Index("ix_bounce_report_database_received", "database_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    database_id: Mapped[int | None] = mapped_column(ForeignKey("database.id", ondelete="SET NULL"))
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profile.id", ondelete="SET NULL"), index=True)
    sent_message_id: Mapped[int | None] = mapped_column(ForeignKey("sent_message.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="other")
    status: Mapped[str] = mapped_column(String(16), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    recipient: Mapped[str] = mapped_column(String(320), default="")
    original_message_id: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(16), default="smtp")
    classified_by: Mapped[str] = mapped_column(String(255), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    raw_size: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnmatchedReport(Base):
    """A received message that matched no sent message: kept for review, never put on a profile."""

    __tablename__ = "unmatched_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    envelope_to: Mapped[str] = mapped_column(String(320), default="")
    kind: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320), default="")
    original_message_id: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(16), default="smtp")
    raw: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    raw_size: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class IntakeCredential(Base):
    """An account's secret for one provider's webhook: a signing key, a public key or a basic-auth password."""

    __tablename__ = "intake_credential"
    __table_args__ = (UniqueConstraint("account_id", "provider"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    secret: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
