"""The change feed: an account's profile and subprofile events in a stable order, read page by page with a
cursor that never skips nor repeats an event, even while writers commit out of order.

Event ids come from a sequence when the row is written, not when its transaction commits: transaction A may
take id 10 and commit after B took id 11 and committed. A reader that handed out 11 and then moved its cursor
past it would never see 10. So the feed orders events by the id of the transaction that wrote them
(``profile_event.txid``, ``txid_current()`` on PostgreSQL), then by id, and hands out only events of
transactions older than the oldest transaction still running in this database (the *horizon*): every such
transaction has committed or rolled back, and any transaction that takes an id later gets a higher one, so
the set of events below the horizon never changes once read. The cursor is the ``(txid, id)`` of the last
event handed out.

The horizon is the lowest id of the transactions of this database that hold one (``pg_stat_activity``, and
``pg_prepared_xacts`` for two-phase ones), widened to 64 bits against the reader's snapshot, and at most the
snapshot's ``xmax``. Transactions of other databases of the cluster cannot write our journal and do not hold
the feed back (``txid_snapshot_xmin`` would count them). The reader must see the writers' ``backend_xid``:
the same database role (as the app's processes are), or a role with ``pg_read_all_stats``.

The price: an event waits in the feed until every transaction of the database that took an id before its
own has ended, so a long import (one transaction per batch) delays the feed by at most one batch, and a
transaction left open holds the feed back until it ends.

On SQLite writers are serialised (one write transaction at a time), so ids follow commit order and the
cursor is the id alone (``txid`` is NULL there and reads as 0).
"""

import time
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, text, tuple_

from webapp.extensions import db
from webapp.models import Account, Field, Interest, ProfileEvent
from webapp.platform.errors import ValidationError
from webapp.profiles.field_expressions import dialect_name
from webapp.profiles.field_types import format_value

MAX_LIMIT = 1000
MAX_WAIT_SECONDS = 30
POLL_SECONDS = 0.2


# The lowest 64-bit id of a transaction of this database still running (or the snapshot's xmax); a 32-bit
# backend_xid is widened by its distance below xmax (modulo 2^32).
HORIZON = text(
    """
    WITH snapshot AS (SELECT txid_snapshot_xmax(txid_current_snapshot()) AS xmax),
    running AS (
        SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity
        WHERE datname = current_database() AND backend_xid IS NOT NULL
        UNION ALL
        SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database = current_database()
    )
    SELECT LEAST(
        snapshot.xmax,
        MIN(snapshot.xmax - ((snapshot.xmax % 4294967296 - running.xid + 4294967296) % 4294967296))
    )
    FROM snapshot LEFT JOIN running ON true GROUP BY snapshot.xmax
    """
)


@dataclass(frozen=True)
class FeedPage:
    events: list[ProfileEvent]
    cursor: str  # where the next read starts (the given cursor again when nothing new was handed out)


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    """``"<txid>.<id>"`` (as handed out) as a pair; empty means the beginning."""
    if not cursor:
        return 0, 0
    parts = str(cursor).split(".")
    try:
        txid, event_id = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, int(parts[0]))
    except ValueError:
        raise ValidationError({"after": _("The cursor is not valid: use the cursor of an earlier answer.")}) from None
    if txid < 0 or event_id < 0:
        raise ValidationError({"after": _("The cursor is not valid: use the cursor of an earlier answer.")})
    return txid, event_id


def format_cursor(txid: int | None, event_id: int) -> str:
    return f"{txid or 0}.{event_id}"


def read_feed(account: Account, after: str | None, *, limit: int = 100, wait_seconds: float = 0) -> FeedPage:
    """The account's next events after the cursor ``after`` (at most ``limit``).

    With ``wait_seconds`` (long poll, at most ``MAX_WAIT_SECONDS``) an empty answer waits that long for an
    event, looking again every ``POLL_SECONDS`` in a new transaction (a new snapshot each time).
    """
    position = parse_cursor(after)
    limit = max(1, min(MAX_LIMIT, int(limit)))
    deadline = time.monotonic() + max(0.0, min(float(wait_seconds), MAX_WAIT_SECONDS))
    while True:
        events = _next_events(account.id, position, limit)
        if events or time.monotonic() >= deadline:
            break
        db.session.rollback()  # end the snapshot: the next look sees what committed meanwhile
        time.sleep(POLL_SECONDS)
    cursor = format_cursor(events[-1].txid, events[-1].id) if events else format_cursor(*position)
    return FeedPage(events=events, cursor=cursor)


def _next_events(account_id: int, position: tuple[int, int], limit: int) -> list[ProfileEvent]:
    query = select(ProfileEvent).where(ProfileEvent.account_id == account_id)
    if dialect_name() == "postgresql":
        horizon = db.session.scalar(HORIZON)
        query = query.where(
            tuple_(ProfileEvent.txid, ProfileEvent.id) > tuple_(*position), ProfileEvent.txid < horizon
        ).order_by(ProfileEvent.txid, ProfileEvent.id)
    else:
        query = query.where(ProfileEvent.id > position[1]).order_by(ProfileEvent.id)
    return list(db.session.scalars(query.limit(limit)))


@dataclass(frozen=True)
class Names:
    """The account's field and interest names by id (as ``changes`` keys them), to describe events."""

    fields: dict[str, str]
    interests: dict[str, str]
    # The type and options of each field (``format_value`` writes a decimal with its scale)
    kinds: dict[str, "FieldKind"] = dataclass_field(default_factory=dict)

    def describe(self, event: ProfileEvent) -> dict[str, Any]:
        """An event's changes by field and interest name (ids of removed ones stay as they are), values as they
        leave the product (``format_value``)."""
        changes = event.changes or {}
        return {
            "fields": {self.fields.get(k, k): self._formatted(k, v) for k, v in (changes.get("fields") or {}).items()},
            "interests": {self.interests.get(k, k): v for k, v in (changes.get("interests") or {}).items()},
        }

    def _formatted(self, key: str, pair: Any) -> Any:
        kind = self.kinds.get(key)
        if kind is None or not isinstance(pair, list):
            return pair
        return [format_value(kind, value) for value in pair]


@dataclass(frozen=True)
class FieldKind:
    type: str
    options: dict[str, Any]


def names(account: Account) -> Names:
    fields = list(
        db.session.execute(
            select(Field.id, Field.name, Field.type, Field.options).where(Field.account_id == account.id)
        )
    )
    interests = db.session.execute(select(Interest.id, Interest.name).where(Interest.account_id == account.id))
    return Names(
        {str(i): n for i, n, _type, _options in fields},
        {str(i): n for i, n in interests},
        {str(i): FieldKind(t, o or {}) for i, _n, t, o in fields},
    )
