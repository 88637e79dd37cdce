"""Email: templates, the per-account mail settings, the log of sent messages, each message's results and the
development catcher."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class EmailTemplate(Base):
    """A personalised email (sandboxed Jinja in subject, html and text), sent by follow-ups."""

    __tablename__ = "email_template"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int | None] = mapped_column(ForeignKey("database.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(500))
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(255), default="")
    reply_to: Mapped[str] = mapped_column(String(255), default="")
    track_opens: Mapped[bool] = mapped_column(default=True)
    track_clicks: Mapped[bool] = mapped_column(default=True)
    # The visual editor's design ({"version", "mjml", "project"}, see ``email/designs.py``): ``html`` is compiled
    # from its MJML; None for a template written as HTML (or whose HTML was edited by hand since).
    design: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailSettings(Base):
    """An account's own SMTP server (URL encrypted at rest), send rate and DKIM key (private key encrypted)."""

    __tablename__ = "mail_settings"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    smtp_url: Mapped[str] = mapped_column(Text, default="")
    rate_per_minute: Mapped[int | None]
    dkim_domain: Mapped[str] = mapped_column(String(253), default="")
    dkim_selector: Mapped[str] = mapped_column(String(63), default="")
    dkim_private_key: Mapped[str] = mapped_column(Text, default="")
    dkim_public_key: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SentMessage(Base):
    """One delivered message, by Message-ID and VERP key, so bounces and complaints map back."""

    __tablename__ = "sent_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    return_key: Mapped[str] = mapped_column(String(32), index=True)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profile.id", ondelete="SET NULL"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_template.id", ondelete="SET NULL"))
    origin_reference: Mapped[str] = mapped_column(String(255), default="")
    category: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500), default="")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class EmailResult(Base):
    """What became of one message to one profile: sent, opened, clicked, bounced, complained, unsubscribed.

    One row per message, written when it is sent and updated by tracking and bounce intake; selections' email
    rules query it (the journal is not the place). It holds no address and outlives the sent-message log
    (retention) and the profile (``profile_id`` set to NULL), so a mailing's counts stay right."""

    __tablename__ = "email_result"
    __table_args__ = (
        Index("ix_email_result_profile_id_sent_at", "profile_id", "sent_at"),
        Index("ix_email_result_mailing_id_profile_id", "mailing_id", "profile_id"),
        Index("ix_email_result_database_id_sent_at", "database_id", "sent_at"),
        # the rule language's "opened / clicked (in the last N days)": one index-only probe per profile
        Index("ix_email_result_profile_id_opened_at", "profile_id", "opened_at"),
        Index("ix_email_result_profile_id_clicked_at", "profile_id", "clicked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int | None] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"))
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("profile.id", ondelete="SET NULL"))
    # The mailing it belongs to (``models/mailings.py``); NULL for a follow-up's or a transactional message.
    mailing_id: Mapped[int | None] = mapped_column(ForeignKey("mailing.id", ondelete="SET NULL"))
    template_id: Mapped[int | None] = mapped_column(ForeignKey("email_template.id", ondelete="SET NULL"))
    sent_message_id: Mapped[int | None] = mapped_column(ForeignKey("sent_message.id", ondelete="SET NULL"), unique=True)
    category: Mapped[str] = mapped_column(String(16), default="marketing")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]  # the first open
    open_count: Mapped[int] = mapped_column(default=0)
    clicked_at: Mapped[datetime | None]  # the first click
    click_count: Mapped[int] = mapped_column(default=0)
    bounce: Mapped[str] = mapped_column(String(8), default="")  # "", "soft" or "hard" (the worst seen)
    bounced_at: Mapped[datetime | None]
    complained_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]


class CaughtMail(Base):
    """A message the development catcher kept instead of sending it (no SMTP server configured)."""

    __tablename__ = "caught_mail"
    __table_args__ = (Index("ix_caught_mail_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(320), default="")
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SuppressedAddress(Base):
    """An address of an account that mail must not go to (``email/suppression.py``): why, since when, and
    whether (and by whom) it was lifted. Keyed by the address, not the profile, so it outlives the profile."""

    __tablename__ = "suppressed_address"
    __table_args__ = (UniqueConstraint("account_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(String(500), default="")
    database_id: Mapped[int | None] = mapped_column(ForeignKey("database.id", ondelete="SET NULL"))
    suppressed_at: Mapped[datetime] = mapped_column(default=utcnow)
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str] = mapped_column(String(200), default="")


class AccountBranding(Base):
    """How an account's public pages look (confirmation, unsubscribe, preferences, the opt-in email): its logo
    (checked image bytes, served from our own URL), colours, and where to send visitors after confirming or
    unsubscribing (a checked URL of the account's own site; empty: our own page)."""

    __tablename__ = "account_branding"

    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), primary_key=True)
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_type: Mapped[str] = mapped_column(String(32), default="")
    version: Mapped[int] = mapped_column(default=0)  # raised on every change: in the logo's and CSS's URLs
    color_primary: Mapped[str] = mapped_column(String(7), default="")
    color_background: Mapped[str] = mapped_column(String(7), default="")
    confirm_redirect_url: Mapped[str] = mapped_column(Text, default="")
    unsubscribe_redirect_url: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
