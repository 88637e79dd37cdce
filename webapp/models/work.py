"""Durable work: a row with a due time for everything that must happen later.

See docs/architecture.md, "Durable scheduling".
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class WorkStatus(StrEnum):
    """The ``status`` of a ``ScheduledWork`` row."""

    PENDING = "pending"
    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"


WORK_STATUSES = tuple(WorkStatus)


class ScheduledWork(Base):
    """One unit of later work of some ``kind``; its RQ job id is ``f"{kind}-{id}"``."""

    __tablename__ = "scheduled_work"
    __table_args__ = (Index("ix_scheduled_work_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=WorkStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    queued_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def job_id(self) -> str:
        return f"{self.kind}-{self.id}"
