"""Subscription hygiene: the per-database policies for bounces, complaints and unconfirmed sign-ups."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow

POLICY_ACTIONS = ("nothing", "set_fields", "unsubscribe", "remove")
SIGNUP_ACTIONS = ("remove", "set_fields")


class HygienePolicy(Base):
    """A database's rules (``hygiene/policies.py``); a database without a row has the defaults.

    Each ``*_values`` is ``{field id: value}``, set by the ``set_fields`` action. ``signup_days`` None: unconfirmed
    sign-ups are kept.
    """

    __tablename__ = "hygiene_policy"

    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    hard_threshold: Mapped[int] = mapped_column(default=1)
    hard_action: Mapped[str] = mapped_column(String(16), default="nothing")
    hard_values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    soft_threshold: Mapped[int] = mapped_column(default=5)
    soft_action: Mapped[str] = mapped_column(String(16), default="nothing")
    soft_values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    complaint_action: Mapped[str] = mapped_column(String(16), default="unsubscribe")
    complaint_values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    signup_days: Mapped[int | None]
    signup_action: Mapped[str] = mapped_column(String(16), default="remove")
    signup_values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
