"""Profiles, subprofiles and the profile event journal (the event spine)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, FetchedValue, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Base, JSONType, utcnow
from webapp.models.databases import Collection, Database


class Profile(Base):
    __tablename__ = "profile"
    __table_args__ = (
        Index("ix_profile_database_id_id", "database_id", "id"),
        Index("ix_profile_database_id_created_at_id", "database_id", "created_at", "id"),
        Index("ix_profile_database_id_updated_at_id", "database_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The account scopes every query (always with the database), but is not a foreign key of its own: the
    # database's key already removes a profile with its database (and so with its account), and a second
    # key would be checked, and its index written, on every profile a bulk import creates.
    account_id: Mapped[int]
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    interests: Mapped[list[int]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    database: Mapped[Database] = relationship(viewonly=True)


class Subprofile(Base):
    __tablename__ = "subprofile"
    __table_args__ = (Index("ix_subprofile_profile_id_collection_id", "profile_id", "collection_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), index=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    collection: Mapped[Collection] = relationship(viewonly=True)
    profile: Mapped[Profile] = relationship(viewonly=True)


class ProfileEvent(Base):
    """One change to a profile or subprofile, written in the same transaction as the change.

    No foreign keys: the journal outlives what it describes (removals, GDPR access, import rollback), so
    removing an account has to remove its events itself. It is written once per change — a million rows for
    a large import — so it carries only the indexes its readers use: the id (id ranges of a batch or an
    import run), the profile's history, and the subprofile's (partial: most events have none).
    ``changes`` is ``{"fields": {key: [old, new]}, "interests": {id: [old, new]}}``, stored as ``json`` (the
    text as written) rather than ``jsonb``: the journal is written far more often than it is read, never
    searched inside, and building or parsing ``jsonb`` cost an import more than writing the event row.

    ``txid`` is the writing transaction's id on PostgreSQL (``txid_current()``, a server default; NULL on
    SQLite, whose writers are serialised): the change feed (``profiles/event_feed.py``) orders by it and hands
    out only events of transactions older than the oldest one still running, so its cursor never skips an
    event that commits late. Its index ``(account_id, txid, id)`` serves that feed.
    """

    __tablename__ = "profile_event"
    __table_args__ = (
        Index("ix_profile_event_profile_id_id", "profile_id", "id"),
        Index("ix_profile_event_account_id_txid_id", "account_id", "txid", "id"),
        Index(
            "ix_profile_event_subprofile_id",
            "subprofile_id",
            postgresql_where=text("subprofile_id IS NOT NULL"),
            sqlite_where=text("subprofile_id IS NOT NULL"),
        ),
        # The dashboard's unsubscribes and sent emails per day: partial, so other events never write to it.
        Index(
            "ix_profile_event_database_id_kind_created_at",
            "database_id",
            "kind",
            "created_at",
            postgresql_where=text("kind IN ('unsubscribed', 'email_sent')"),
            sqlite_where=text("kind IN ('unsubscribed', 'email_sent')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int]
    database_id: Mapped[int]
    profile_id: Mapped[int]
    collection_id: Mapped[int | None]
    subprofile_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(100), default="")
    actor: Mapped[str] = mapped_column(String(255), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set by the server on PostgreSQL (the migration's default); FetchedValue keeps the ORM from sending NULL.
    txid: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())


class ProfileAlias(Base):
    """The code of a profile merged into another (``Profile_move``): signed links made for it keep resolving."""

    __tablename__ = "profile_alias"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    old_profile_id: Mapped[int]
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
