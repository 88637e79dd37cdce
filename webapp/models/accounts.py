"""Accounts (the tenant boundary), their users and API tokens."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Base, utcnow

ROLES = ("viewer", "editor", "admin", "owner")


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    language: Mapped[str] = mapped_column(String(8), default="en")
    default_sender: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list["User"]] = relationship(back_populates="account")


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Set while the user logs in with a password someone else chose or that was generated (the first owner's);
    # the admin asks to change it until they do.
    password_change_due: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Raised to end every session of the user (password change, logging out): see ``accounts/sessions.py``.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")

    account: Mapped[Account] = relationship(back_populates="users")

    def get_id(self) -> str:
        """What the login session and the remember cookie hold: the id and the session version, so raising the
        version ends every session and cookie issued before (``accounts.users.end_sessions``)."""
        return f"{self.id}:{self.session_version}"

    def has_role(self, role: str) -> bool:
        """True when this user's role is ``role`` or a stronger one."""
        return ROLES.index(self.role) >= ROLES.index(role)


class ApiToken(Base):
    """A machine credential acting for its account; only a hash is stored. ``scope`` is ``read``, ``write``
    (read and change profiles) or ``admin`` (everything, as every token could before scopes)."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(8), default="admin", server_default="admin")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
