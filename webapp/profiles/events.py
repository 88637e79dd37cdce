"""The event spine: every profile or subprofile change is journalled in the transaction that makes it.

``record`` adds a ``ProfileEvent`` to the current session and calls the in-transaction subscribers (which
may add rows of their own, e.g. a durable follow-up run, so nothing is lost if the process dies). After the
session commits, the after-commit subscribers receive the event ids (e.g. to enqueue work); after a rollback
they receive nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app
from sqlalchemy import Select, case, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import Profile, ProfileEvent, Subprofile
from webapp.profiles.consents import Stated

SOURCES = (
    "admin",
    "form",
    "survey",
    "soap",
    "api",
    "import",
    "follow-up",
    "email",
    "unsubscribe",
    "bounce",
    "system",
)
KINDS = (
    "profile_created",
    "profile_updated",
    "profile_removed",
    "subprofile_created",
    "subprofile_updated",
    "subprofile_removed",
    "confirmed",
    "unsubscribed",
    "bounced",
    "complained",
    "form_submitted",
    "survey_page_answered",
    "survey_completed",
    "email_sent",
    "email_opened",
    "email_clicked",
)


@dataclass(frozen=True)
class Origin:
    """Where a change comes from: the door (``source``), who (``actor``) and a ``reference`` (form id, …)."""

    source: str
    actor: str = ""
    reference: str = ""
    # A basis the door states for the profile it creates or updates (an API call's ``consent``): the profile
    # writes record it (``consents.record_stated``) with ``consent_reference``, e.g. "API token Shop".
    consent: Stated | None = None
    consent_reference: str = ""

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"unknown event source {self.source!r}")


@dataclass
class EventBus:
    """Subscribers of profile events, kept per app in ``app.extensions["profile_events"]``."""

    in_transaction: list[Callable[[ProfileEvent], None]] = field(default_factory=list)
    # Like ``in_transaction``, but given the events of one writing call together (``note_written``: a batch),
    # after every ``in_transaction`` subscriber has seen them: for subscribers that do set-based work.
    in_transaction_batch: list[Callable[[list[ProfileEvent]], None]] = field(default_factory=list)
    # Events written in bulk (imports, Core inserts) reach these, as ``BulkEvents``, inside the writing transaction.
    in_transaction_bulk: list[Callable[["BulkEvents"], None]] = field(default_factory=list)
    after_commit: list[Callable[[list[int]], None]] = field(default_factory=list)


def init_app(app) -> None:
    app.extensions["profile_events"] = EventBus()


def bus() -> EventBus:
    return current_app.extensions["profile_events"]


def subscribe(handler: Callable[[ProfileEvent], None]) -> None:
    """Call ``handler(event)`` inside the writing transaction, after the event row is flushed."""
    bus().in_transaction.append(handler)


def subscribe_after_commit(handler: Callable[[list[int]], None]) -> None:
    """Call ``handler(event_ids)`` once the transaction that wrote those events has committed."""
    bus().after_commit.append(handler)


def record(
    kind: str,
    origin: Origin,
    *,
    profile: Profile,
    subprofile: Subprofile | None = None,
    changes: dict[str, Any] | None = None,
) -> ProfileEvent:
    """Journal one change in the current transaction (the caller commits)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    event = ProfileEvent(
        account_id=profile.account_id,
        database_id=profile.database_id,
        profile_id=profile.id,
        collection_id=subprofile.collection_id if subprofile else None,
        subprofile_id=subprofile.id if subprofile else None,
        kind=kind,
        source=origin.source,
        actor=origin.actor,
        reference=origin.reference,
        changes=changes or {},
    )
    db.session.add(event)
    db.session.flush()
    _pending(db.session()).append(event.id)
    for handler in bus().in_transaction:
        handler(event)
    for batch_handler in bus().in_transaction_batch:
        batch_handler([event])
    return event


@dataclass(frozen=True)
class BulkEvents:
    """Events a bulk writer journalled in its transaction, as the bulk subscribers see them.

    Either by ``ids`` (``note_bulk``), or by their scope (``note_bulk_scope``: an import batch): one account,
    database, source and reference, the kinds written, the collections of the subprofile events and the
    range of ids; a writer that knows both (the batch upsert) gives both. A subscriber first asks
    ``summary()`` whether anything could concern it — for a known scope without a query — and only then reads
    the events themselves with ``query()`` (by their ids when it has them).
    """

    ids: tuple[int, ...] = ()
    account_id: int | None = None
    database_id: int | None = None
    source: str = ""
    reference: str = ""
    kinds: frozenset[str] = frozenset()
    collection_ids: frozenset[int] = frozenset()
    id_range: tuple[int, int] | None = None

    def summary(self) -> list[tuple[int, int, str, str, str, int | None]]:
        """Distinct (account, database, kind, source, reference, layer) of the events; the layer is the
        collection of a subprofile event, None for a profile event."""
        if not self.kinds:  # ids alone: the events say
            layer = case((ProfileEvent.subprofile_id.is_(None), None), else_=ProfileEvent.collection_id)
            return [
                tuple(row)
                for row in db.session.execute(
                    select(
                        ProfileEvent.account_id,
                        ProfileEvent.database_id,
                        ProfileEvent.kind,
                        ProfileEvent.source,
                        ProfileEvent.reference,
                        layer,
                    )
                    .where(ProfileEvent.id.in_(self.ids))
                    .distinct()
                )
            ]
        assert self.account_id is not None and self.database_id is not None, "a scope names its account and database"
        scope = (self.account_id, self.database_id)
        return [
            (*scope, kind, self.source, self.reference, layer)
            for kind in sorted(self.kinds)
            for layer in (sorted(self.collection_ids) if kind.startswith("subprofile_") else [None])
        ]

    def query(self) -> Select:
        """The events themselves, in id order."""
        query = select(ProfileEvent)
        if self.id_range is None:
            query = query.where(ProfileEvent.id.in_(self.ids))
        else:
            query = query.where(
                ProfileEvent.id.between(*self.id_range),
                ProfileEvent.database_id == self.database_id,
                ProfileEvent.source == self.source,
                ProfileEvent.reference == self.reference,
            )
        return query.order_by(ProfileEvent.id)


def subscribe_bulk(handler: Callable[[BulkEvents], None]) -> None:
    """Call ``handler(bulk_events)`` inside the transaction that wrote those events in bulk."""
    bus().in_transaction_bulk.append(handler)


def note_bulk(event_ids: list[int], scope: BulkEvents | None = None) -> None:
    """Hand events written in bulk (Core inserts) to the bulk subscribers now and to after-commit ones later.

    ``scope``: their account, database, source, reference and kinds when the writer knows them (no
    ``id_range``), so that the subscribers need not read them back to learn whether they concern them."""
    if not event_ids:
        return
    written = replace(scope or BulkEvents(), ids=tuple(event_ids))
    for handler in bus().in_transaction_bulk:
        handler(written)
    _pending(db.session()).extend(event_ids)


def note_bulk_scope(written: BulkEvents) -> None:
    """``note_bulk`` for a writer that knows the scope of its events but not their ids (an import batch
    written with ``INSERT … SELECT``): the ids are only read when an after-commit subscriber wants them."""
    for handler in bus().in_transaction_bulk:
        handler(written)
    if bus().after_commit:
        _pending(db.session()).extend(db.session.scalars(written.query().with_only_columns(ProfileEvent.id)))


def _pending(session: Session) -> list[int]:
    return session.info.setdefault("pending_profile_events", [])


@sa_event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    event_ids = session.info.pop("pending_profile_events", [])
    if not event_ids:
        return
    for handler in bus().after_commit:
        handler(event_ids)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    session.info.pop("pending_profile_events", None)


def note_written(written: list[ProfileEvent]) -> None:
    """Hand events a writer inserted itself (Core, ids assigned) to the subscribers, as ``record`` does.

    For a door that writes a few events in the round trip of its other rows (web forms, the bounce receiver's
    group commit): each event goes to the in-transaction subscribers one by one, like a recorded one
    (``note_bulk``'s subscribers would query the events back), then all of them together to the batch
    subscribers, and their ids to the after-commit subscribers. ``written`` are transient ``ProfileEvent``
    objects carrying the stored columns; they are not added to the session.
    """
    for event in written:
        if event.kind not in KINDS:
            raise ValueError(f"unknown event kind {event.kind!r}")
    _pending(db.session()).extend(event.id for event in written)
    for event in written:
        for handler in bus().in_transaction:
            handler(event)
    for batch_handler in bus().in_transaction_batch:
        batch_handler(written)
