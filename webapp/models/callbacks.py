"""Outbound callbacks (webhooks) on profile changes, and their deliveries."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow

CALLBACK_METHODS = ("json", "post")


class CallbackStyle(StrEnum):
    """The ``style`` of a ``Callback``: the payload and signature its receiver expects."""

    STANDARD = "standard"  # our variables, Standard Webhooks signature (HMAC)
    COPERNICA = "copernica"  # Copernica's webhook variables, HTTP Signatures (RSA key published in DNS)


CALLBACK_ACTIONS = ("create", "update", "delete")


class DeliveryStatus(StrEnum):
    """The ``status`` of a ``CallbackDelivery``."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


DELIVERY_STATUSES = tuple(DeliveryStatus)


class Callback(Base):
    """A customer's URL called on changes of a database's profiles (or a collection's subprofiles)."""

    __tablename__ = "callback"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    method: Mapped[str] = mapped_column(String(8), default="json")
    style: Mapped[str] = mapped_column(String(16), default=CallbackStyle.STANDARD, server_default="standard")
    # Empty list: every action / every source.
    actions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    sources: Mapped[list[str]] = mapped_column(JSONType, default=list)
    expression: Mapped[str] = mapped_column(Text, default="")
    # Only changes of the members of this selection (a selection in use cannot be removed)
    selection_id: Mapped[int | None] = mapped_column(ForeignKey("selection.id", name="fk_callback_selection_id"))
    # Standard Webhooks signing secret ("whsec_" + base64)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    paused_reason: Mapped[str] = mapped_column(Text, default="")
    # Changes not recorded while paused because the backlog was full (``deliveries.PAUSED_BACKLOG``).
    paused_dropped: Mapped[int] = mapped_column(default=0, server_default="0")
    failing_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CallbackDelivery(Base):
    """One call of one callback for one profile event; retried until delivered or given up."""

    __tablename__ = "callback_delivery"
    __table_args__ = (
        Index("ix_callback_delivery_callback_id_profile_id_id", "callback_id", "profile_id", "id"),
        Index("ix_callback_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callback.id", ondelete="CASCADE"))
    event_id: Mapped[int | None]
    profile_id: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    response_status: Mapped[int | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When an admin retried a given-up delivery: its day of retries counts from here.
    retried_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
