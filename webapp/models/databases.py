"""Databases, their fields, interests and collections (the marketer-defined schema)."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Base, JSONType, utcnow

UNSUBSCRIBE_BEHAVIOURS = ("nothing", "remove", "update")


class Database(Base):
    __tablename__ = "database"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    archived: Mapped[bool] = mapped_column(default=False)
    unsubscribe_behaviour: Mapped[str] = mapped_column(String(16), default="update")
    # {"fields": {field_id: value}, "interests": {interest_id: bool}}
    unsubscribe_values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Raised whenever its fields, interests or callbacks change (``profiles/database_config.py``).
    config_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    fields: Mapped[list["Field"]] = relationship(
        primaryjoin="and_(Field.database_id == Database.id, Field.collection_id.is_(None))",
        order_by="Field.position, Field.id",
        viewonly=True,
    )
    interests: Mapped[list["Interest"]] = relationship(
        order_by="Interest.group, Interest.position, Interest.id", viewonly=True
    )
    collections: Mapped[list["Collection"]] = relationship(order_by="Collection.name", viewonly=True)


class Collection(Base):
    __tablename__ = "collection"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    unsubscribe_behaviour: Mapped[str] = mapped_column(String(16), default="nothing")
    unsubscribe_values: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    database: Mapped[Database] = relationship(viewonly=True)
    fields: Mapped[list["Field"]] = relationship(order_by="Field.position, Field.id", viewonly=True)


class Field(Base):
    """A field of a database (``collection_id`` NULL) or of one of its collections.

    Values are stored in the owner's JSON column under the key ``str(field.id)``, so renaming a field
    never touches data and two databases never share a key (which keeps expression indexes type-safe).
    """

    __tablename__ = "field"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    # Type options: {"choices": [...], "multiple": bool, "length": int, "region": "NL", "database_id": int}
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    default: Mapped[Any] = mapped_column(JSONType, nullable=True)
    required: Mapped[bool] = mapped_column(default=False)
    shown: Mapped[bool] = mapped_column(default=True)
    hidden: Mapped[bool] = mapped_column(default=False)
    indexed: Mapped[bool] = mapped_column(default=False)
    unique: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What people read for the field, by language (``{"en": "First name", "nl": "Voornaam"}``); the name stays
    # the identifier of templates and the APIs. The default label of a form item.
    labels: Mapped[dict[str, str] | None] = mapped_column(JSONType, nullable=True)
    # Personal data (a name, an address, a birth date): removed by an anonymisation, which keeps the others.
    # Email and phone fields are personal whatever this says (``privacy.personal``).
    personal: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def key(self) -> str:
        """The key of this field's value in a profile's or subprofile's JSON column."""
        return str(self.id)


class Interest(Base):
    __tablename__ = "interest"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(64), default="")
    position: Mapped[int] = mapped_column(default=0)
