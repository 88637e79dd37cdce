"""Privacy: consent records, erasure (and anonymisation) requests with their reports, and each account's
retention settings with the last run's report (``webapp/privacy``)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class ConsentRecord(Base):
    """What a person agreed to: the exact text shown (a snapshot), when, through which door (``source``: form,
    survey, import, api, soap, admin) and which form or survey (``reference``), from which IP address, on which
    ``basis`` (``consent`` for a ticked box; what an import or API caller stated otherwise), and when the double
    opt-in confirmed it. No foreign key to the profile: erasure removes the records itself. One index, by profile
    (every reader names the profile or, once a day, scans the account's rows): a form's common case writes a
    record with each sign-up, so it writes no second index."""

    __tablename__ = "consent_record"
    __table_args__ = (Index("ix_consent_record_profile_id_id", "profile_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    database_id: Mapped[int | None]
    profile_id: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(100), default="")
    item: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    basis: Mapped[str] = mapped_column(String(200), default="consent")
    ip: Mapped[str] = mapped_column(String(64), default="")
    agreed_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    confirmed_ip: Mapped[str] = mapped_column(String(64), default="")


class PrivacyRequestKind(StrEnum):
    """The ``kind`` of a ``PrivacyRequest``."""

    ERASE = "erase"
    ANONYMISE = "anonymise"


class PrivacyRequestStatus(StrEnum):
    """The ``status`` of a ``PrivacyRequest``."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class PrivacyRequest(Base):
    """An erasure or anonymisation of one person (a durable ``privacy_erasure`` work row runs it).

    ``address`` is the person's address while the work waits; it is emptied when the work is done, leaving
    ``address_hash`` (a keyed hash) and ``report`` (``{"tables": {table: rows}, "files": n, ...}``): counts only."""

    __tablename__ = "privacy_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=PrivacyRequestKind.ERASE)
    status: Mapped[str] = mapped_column(String(16), default=PrivacyRequestStatus.PENDING)
    address: Mapped[str] = mapped_column(String(320), default="")
    address_hash: Mapped[str] = mapped_column(String(80), default="")
    profile_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    requested_by: Mapped[str] = mapped_column(String(255), default="")
    report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    work_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class RetentionSettings(Base):
    """An account's retention periods (None: kept) and the last retention run's report."""

    __tablename__ = "retention_settings"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    submission_ip_days: Mapped[int | None]
    bounce_raw_days: Mapped[int | None]
    callback_log_days: Mapped[int | None]
    sent_detail_days: Mapped[int | None]
    inactive_months: Mapped[int | None]
    inactive_action: Mapped[str] = mapped_column(String(16), default="anonymise")
    # The audit log's entries are deleted after this many days (None: kept); 730 unless the account changed it.
    audit_days: Mapped[int | None] = mapped_column(default=730, server_default=text("730"))
    last_run_at: Mapped[datetime | None]
    last_report: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
