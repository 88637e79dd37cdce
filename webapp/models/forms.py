"""Web forms, their submissions (accepted, invalid or rejected as spam), uploaded files and daily counts."""

import secrets
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.accounts import Account
from webapp.models.base import Base, JSONType, utcnow
from webapp.models.databases import Database

FORM_BEHAVIOURS = ("create", "update", "login", "unsubscribe")


class SubmissionStatus(StrEnum):
    """The ``status`` of a ``FormSubmission``."""

    ACCEPTED = "accepted"
    INVALID = "invalid"
    REJECTED = "rejected"


SUBMISSION_STATUSES = tuple(SubmissionStatus)


def new_form_key() -> str:
    """A random, URL-safe public key (16 characters, 96 bits)."""
    return secrets.token_urlsafe(12)


class Form(Base):
    """A web form bound to a database (and optionally a collection); ``items`` is its ordered content."""

    __tablename__ = "form"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(32), unique=True, default=new_form_key)
    name: Mapped[str] = mapped_column(String(200))
    behaviour: Mapped[str] = mapped_column(String(16), default="create")
    on_no_match: Mapped[str] = mapped_column(String(16), default="create")
    key_field_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    allowed_origins: Mapped[list[str]] = mapped_column(JSONType, default=list)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Raised on every change: part of the public definition's ETag.
    revision: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Loaded with the form: a submission needs both (and the database's config_version keys field snapshots).
    account: Mapped[Account] = relationship(viewonly=True, lazy="joined")
    database: Mapped[Database] = relationship(viewonly=True, lazy="joined")


class FormSubmission(Base):
    """One submission attempt: accepted, invalid (validation errors) or rejected (spam, with its reason)."""

    __tablename__ = "form_submission"
    __table_args__ = (
        Index("ix_form_submission_form_id_id", "form_id", "id"),
        # Accepted submissions per day (the conversion chart) and date filters.
        Index("ix_form_submission_form_id_created_at", "form_id", "created_at"),
        Index("ix_form_submission_profile_id", "profile_id"),
        UniqueConstraint("form_id", "idempotency_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id", ondelete="CASCADE"))
    # No foreign key: the log outlives a removed profile.
    profile_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    consents: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    origin: Mapped[str] = mapped_column(String(255), default="")
    # SHA-256 of the client address with the secret key: enough to spot a flood, not to identify anyone.
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    response: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FormFile(Base):
    """A file uploaded through a form, stored against the profile it went to."""

    __tablename__ = "form_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("form.id", ondelete="CASCADE"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("form_submission.id", ondelete="SET NULL"))
    item_id: Mapped[str] = mapped_column(String(32), default="")
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FormDayStat(Base):
    """Views (token requests) and refused submissions (spam, invalid; see ``webforms/spam_log.py``) of one form on
    one day (UTC); accepted submissions are counted from their rows."""

    __tablename__ = "form_day_stat"

    form_id: Mapped[int] = mapped_column(ForeignKey("form.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    views: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0, server_default="0")
