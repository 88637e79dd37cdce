"""Accounts (the tenant boundary), their users and API tokens; invitations, password resets, two-factor
recovery codes and the audit log."""

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Base, JSONType, utcnow

ROLES = ("viewer", "editor", "admin", "owner")


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Amsterdam")
    language: Mapped[str] = mapped_column(String(8), default="en")
    default_sender: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by an owner: every user must log in with a second factor (``accounts/two_factor.py``).
    require_two_factor: Mapped[bool] = mapped_column(default=False, server_default=false())

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
    # Set while the user is deactivated: no login, no session, their API tokens revoked (``accounts/users.py``).
    deactivated_at: Mapped[datetime | None]
    # The TOTP secret (base32) once two-factor login is confirmed; a secret being enrolled waits in
    # ``totp_pending`` until the user confirms a code. ``totp_last_step`` refuses a code used twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None]

    account: Mapped[Account] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses to log in an inactive user."""
        return self.deactivated_at is None

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None

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
    # The user who created it (None: the CLI or before this was recorded); deactivating them revokes it.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), index=True)

    account: Mapped[Account] = relationship()


class Invitation(Base):
    """An invitation to join an account with a role. Only a hash of the link's secret is stored; sending again
    makes a new secret (the old link dies). ``accepted_at`` or ``revoked_at`` end it."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PasswordReset(Base):
    """A password reset asked for by email: the hash of the link's secret, its expiry and its use."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class RecoveryCode(Base):
    """One two-factor recovery code of a user (hashed; each works once)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One change to an account's configuration: who (``actor``, with the user or token id), what (area, action,
    object, changed attributes as ``{name: [old, new]}``), when and from where. Written by ``accounts/audit.py``;
    never updated or deleted through the ORM (that module refuses it)."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_account_id_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(300))
    user_id: Mapped[int | None]  # no foreign key: the entry outlives the user
    token_id: Mapped[int | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    object_name: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
