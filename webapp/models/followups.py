"""Follow-ups (trigger → activation condition → delay → execution condition → actions) and their runs.

A run is the durable row of one triggered follow-up for one profile: it exists, with its due time, before
anything is put into Redis (docs/architecture.md, "Durable scheduling"). See ``docs/follow-ups.md``.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class FollowUpStatus(StrEnum):
    """The ``status`` of a ``FollowUp``: only active ones are triggered and run."""

    ACTIVE = "active"
    PAUSED = "paused"


FOLLOWUP_STATUSES = tuple(FollowUpStatus)
TRIGGER_KINDS = (
    "profile_created",
    "profile_updated",
    "profile_removed",
    "subprofile_created",
    "subprofile_updated",
    "subprofile_removed",
    "form_submitted",
    "survey_completed",
    "email_opened",
    "email_clicked",
    "unsubscribed",
    "bounced",
    "date_field",
)
ACTION_TYPES = (
    "send_email",
    "update_fields",
    "create_subprofile",
    "set_interests",
    "unsubscribe",
    "remove_profile",
    "webhook",
)


# pending → queued → done | skipped (execution condition false) | failed (after retries) | cancelled;
# ``sending`` while an email is handed to SMTP; ``review`` when a run was found ``sending`` (crashed mid-send).
class FollowUpRunStatus(StrEnum):
    """The ``status`` of a ``FollowUpRun``."""

    PENDING = "pending"
    QUEUED = "queued"
    SENDING = "sending"
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVIEW = "review"


RUN_STATUSES = tuple(FollowUpRunStatus)
OPEN_RUN_STATUSES = (FollowUpRunStatus.PENDING, FollowUpRunStatus.QUEUED, FollowUpRunStatus.SENDING)


class FollowUp(Base):
    """A follow-up of a database (or of one of its collections, or a form): its definition as JSON parts."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), index=True)
    form_id: Mapped[int | None] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=FollowUpStatus.ACTIVE)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    activation_condition: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    execution_condition: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    delay: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUpRun(Base):
    """One scheduled execution of a follow-up for one profile (the durable row the dispatcher moves into RQ)."""

    __tablename__ = "follow_up_run"
    __table_args__ = (
        Index("ix_follow_up_run_status_due_at", "status", "due_at"),
        Index("ix_follow_up_run_followup_id_status", "followup_id", "status"),
        Index("ix_follow_up_run_followup_id_created_at", "followup_id", "created_at"),  # runs per day
        # A date-field trigger fires at most once per profile and date (``occurrence``; NULL for event runs).
        UniqueConstraint("followup_id", "profile_id", "occurrence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("follow_up.id", ondelete="CASCADE"))
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profile.id", ondelete="SET NULL"), index=True)
    subprofile_id: Mapped[int | None]
    event_id: Mapped[int | None]
    occurrence: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=FollowUpRunStatus.PENDING)
    step: Mapped[int] = mapped_column(default=0)
    message_id: Mapped[str] = mapped_column(String(255), default="")
    job_id: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(Text, default="")
    # How many follow-up runs in a row led to this one (0: triggered by anything but a follow-up's write).
    chain_depth: Mapped[int] = mapped_column(default=0, server_default="0")
    queued_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
