"""The event spine: every profile or subprofile change is journalled in the transaction that makes it.

``record`` adds a ``ProfileEvent`` to the current session and calls the in-transaction subscribers (which
may add rows of their own, e.g. a durable follow-up run, so nothing is lost if the process dies). After the
session commits, the after-commit subscribers receive the event ids (e.g. to enqueue work); after a rollback
they receive nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import Profile, ProfileEvent, Subprofile

SOURCES = (
    "admin", "form", "survey", "soap", "import", "follow-up", "email", "unsubscribe", "bounce", "system",
)
KINDS = (
    "profile_created", "profile_updated", "profile_removed",
    "subprofile_created", "subprofile_updated", "subprofile_removed",
    "confirmed", "unsubscribed", "bounced", "complained",
    "form_submitted", "survey_page_answered", "survey_completed",
    "email_sent", "email_opened", "email_clicked",
)


@dataclass(frozen=True)
class Origin:
    """Where a change comes from: the door (``source``), who (``actor``) and a ``reference`` (form id, …)."""

    source: str
    actor: str = ""
    reference: str = ""

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ValueError(f"unknown event source {self.source!r}")


@dataclass
class EventBus:
    """Subscribers of profile events, kept per app in ``app.extensions["profile_events"]``."""

    in_transaction: list[Callable[[ProfileEvent], None]] = field(default_factory=list)
    # Events written in bulk (Core inserts) reach these, by id, inside the writing transaction.
    in_transaction_bulk: list[Callable[[list[int]], None]] = field(default_factory=list)
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
    return event


def subscribe_bulk(handler: Callable[[list[int]], None]) -> None:
    """Call ``handler(event_ids)`` inside the transaction that wrote those events in bulk."""
    bus().in_transaction_bulk.append(handler)


def note_bulk(event_ids: list[int]) -> None:
    """Hand events written in bulk (Core inserts) to the bulk subscribers now and to after-commit ones later."""
    for handler in bus().in_transaction_bulk:
        handler(event_ids)
    _pending(db.session()).extend(event_ids)


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
