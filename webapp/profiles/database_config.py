"""Per-process snapshots of what shapes a write to a database: its fields and its callbacks.

A profile write validates against the database's fields and asks which callbacks want the change. Both
change rarely, while writes come hundreds of times a second (SOAP clients, forms), so each process keeps a
snapshot per database, keyed by ``Database.config_version``. Every flush that adds, changes or removes a
field, an interest, a callback or a follow-up (``followups.active_followups`` keys its own snapshot the same
way) raises that version in the same transaction (``_bump_versions``), and the
writer reads the version with the profile it changes — so a snapshot is never used after the change that
outdates it has committed, whichever process made it.
"""

from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import Callback, Database, Field, FollowUp, Interest

# The classes whose rows make up a database's configuration; each carries ``database_id``.
CONFIGURATION = (Field, Interest, Callback, FollowUp)


@dataclass(frozen=True)
class FieldSnapshot:
    """The columns of a ``Field`` that validation and matching read, detached from any session."""

    id: int
    account_id: int
    database_id: int
    collection_id: int | None
    name: str
    type: str
    options: dict[str, Any]
    default: Any
    required: bool
    shown: bool
    hidden: bool
    indexed: bool
    unique: bool
    position: int
    key: str  # ``str(id)``, as ``Field.key``: kept, not computed on each of the many reads of a write

    @classmethod
    def of(cls, field: Field) -> "FieldSnapshot":
        return cls(**{item.name: getattr(field, item.name) for item in dataclass_fields(cls)})


# What validation and matching read: a live field or its snapshot.
FieldLike = Field | FieldSnapshot


@dataclass(frozen=True)
class Snapshot:
    # config_version with the creation time: SQLite may give a removed database's id to a new one.
    version: tuple[int, Any]
    fields: tuple[FieldSnapshot, ...]
    # Collection ids (None: the profile layer) that have at least one callback (active, or paused: a paused
    # callback keeps recording its deliveries).
    callback_layers: frozenset[int | None]


_snapshots: dict[int, Snapshot] = {}


def snapshot(database: Database) -> Snapshot:
    """The configuration of ``database`` as of its loaded ``config_version`` (built once per version)."""
    version = (database.config_version, database.created_at)
    current = _snapshots.get(database.id)
    if current is not None and current.version == version:
        return current
    current = Snapshot(
        version=version,
        fields=tuple(FieldSnapshot.of(field) for field in database.fields),
        callback_layers=_callback_layers(database),
    )
    _snapshots[database.id] = current
    return current


def forget_all() -> None:
    """Drop every snapshot (tests that reuse ids after truncating tables)."""
    _snapshots.clear()


def profile_fields(database: Database) -> tuple[FieldSnapshot, ...]:
    return snapshot(database).fields


def has_callbacks(database: Database, collection_id: int | None) -> bool:
    return collection_id in snapshot(database).callback_layers


def _callback_layers(database: Database) -> frozenset[int | None]:
    rows = db.session.scalars(select(Callback.collection_id).where(Callback.database_id == database.id))
    return frozenset(rows)


@sa_event.listens_for(Session, "before_flush")
def _bump_versions(session: Session, _context, _instances) -> None:
    """Raise ``config_version`` of every database whose configuration this flush touches."""
    touched = {
        instance.database_id
        for group in (session.new, session.dirty, session.deleted)
        for instance in group
        if isinstance(instance, CONFIGURATION) and instance.database_id is not None
    }
    if not touched:
        return
    session.execute(
        update(Database)
        .where(Database.id.in_(touched))
        .values(config_version=Database.config_version + 1)
        .execution_options(synchronize_session=False)
    )
    for database_id in touched:
        loaded = session.identity_map.get(session.identity_key(Database, database_id))
        if loaded is not None:
            session.expire(loaded, ["config_version"])
