"""Selections: rule-based segments of a database's profiles (or of a collection's subprofiles)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class StandardSelection(StrEnum):
    """The selections offered on a new database; ``""`` is a marketer's own."""

    NONE = ""
    SUBSCRIBED = "subscribed"
    HARD_BOUNCED = "hard_bounced"
    UNCONFIRMED = "unconfirmed"
    SUPPRESSED = "suppressed"


class Selection(Base):
    """A named rule tree over a database (``collection_id`` set: over that collection's subprofiles).

    Membership is never stored: it is computed by SQL from ``rules`` whenever it is counted, listed, exported or
    sent to. ``counted``/``counted_at`` cache the last count, always shown with its age."""

    __tablename__ = "selection"
    __table_args__ = (UniqueConstraint("database_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    rules: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    standard: Mapped[str] = mapped_column(String(16), default=StandardSelection.NONE)
    counted: Mapped[int | None]
    counted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
