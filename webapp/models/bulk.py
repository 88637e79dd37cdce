"""Bulk actions on a database's profiles: one run per action, and what a bulk delete removed (for its undo)."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class BulkRunStatus(StrEnum):
    """The ``status`` of a ``BulkRun``."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    UNDOING = "undoing"
    UNDONE = "undone"


BULK_RUN_STATUSES = tuple(BulkRunStatus)
BULK_ACTIONS = ("set_field", "add_interest", "remove_interest", "unsubscribe", "delete", "export")


class BulkRun(Base):
    """One bulk action on a selection of profiles; its profile events carry ``reference = f"bulk {id}"``.

    ``selection`` is ``{"ids": [...]}`` (profiles picked on a page) or ``{"query": text, "rules": tree}`` (every match
    of the list's search and conditions, a validated rule tree: ``rules.list_filter``; runs of before the conditions
    hold ``"interest": id, "without_interest": bool`` instead), as it was when the run started:
    the matches are walked by id up to ``last_profile_id``). ``params`` holds what to apply
    (``{"field": key, "value": v}`` or ``{"interest": id}``)."""

    __tablename__ = "bulk_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    selection: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=BulkRunStatus.PENDING)
    actor: Mapped[str] = mapped_column(String(255), default="")
    total: Mapped[int] = mapped_column(default=0)  # profiles selected
    done: Mapped[int] = mapped_column(default=0)  # gone through
    changed: Mapped[int] = mapped_column(default=0)  # actually changed (or removed, or exported)
    # Progress marker: the id of the last profile gone through (the run goes on after it when retried).
    last_profile_id: Mapped[int] = mapped_column(default=0)
    max_profile_id: Mapped[int] = mapped_column(default=0)  # matches above it appeared after the start
    first_event_id: Mapped[int | None]
    last_event_id: Mapped[int | None]
    undo_done: Mapped[int] = mapped_column(default=0)
    restored: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    file_path: Mapped[str] = mapped_column(String(1000), default="")  # an export's file
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class BulkRemovedProfile(Base):
    """A profile a bulk delete removed, whole (code, values, interests, times and subprofiles), so its undo can put
    it back with the same id and signed links."""

    __tablename__ = "bulk_removed_profile"
    __table_args__ = (Index("ix_bulk_removed_profile_run_id_profile_id", "run_id", "profile_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("bulk_run.id", ondelete="CASCADE"))
    profile_id: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class DatabaseDayStat(Base):
    """A database's profiles and subscribers at the end of a day (UTC), counted once a day by housekeeping: the
    dashboard's "over time" charts read these instead of scanning the profiles."""

    __tablename__ = "database_day_stat"

    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    profiles: Mapped[int] = mapped_column(default=0)
    subscribers: Mapped[int] = mapped_column(default=0)
