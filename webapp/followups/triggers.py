"""Follow-ups: validating definitions and turning events into durable runs (see ``docs/follow-ups.md``).

Triggering happens inside the transaction that journals the change (an in-transaction subscriber of the
event spine, and a bulk subscriber for imports): a matching follow-up whose activation condition holds gets
a ``FollowUpRun`` row with its due time, committed with the change or not at all. Date-field triggers are
found by a scan in the housekeeping round (and the dispatcher, see ``scan_date_triggers``).

The active follow-ups of a database are kept per process, keyed by ``Database.config_version``: every flush
that touches a follow-up raises that version (``_bump_versions``), like fields and callbacks do.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Insert, and_, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.followups import conditions
from webapp.followups.definitions import DATE_TYPES, SUBPROFILE_KINDS, UPDATE_KINDS
from webapp.followups.timing import date_value, due_time, local_moment, now, time_zone, to_local
from webapp.models import (
    TRIGGER_KINDS,
    Account,
    Database,
    Field,
    FollowUp,
    FollowUpRun,
    FollowUpRunStatus,
    FollowUpStatus,
    Profile,
    ProfileEvent,
    Subprofile,
)
from webapp.profiles import events
from webapp.profiles.field_expressions import dialect_name, raw_value, sort_value

log = logging.getLogger(__name__)


SOURCE = "follow-up"


def reference(followup_id: int) -> str:
    """The event reference of writes made by a follow-up (so it never triggers itself)."""
    return f"followup:{followup_id}"


def origin(followup_id: int) -> events.Origin:
    return events.Origin(SOURCE, actor=f"followup:{followup_id}", reference=reference(followup_id))


# --- validating a definition ---------------------------------------------------------------------------


# --- delays ------------------------------------------------------------------------------------------


# --- matching events (inside the writer's transaction) ------------------------------------------------


@dataclass(frozen=True)
class _Active:
    """What matching needs of an active follow-up, detached from any session."""

    id: int
    account_id: int
    collection_id: int | None
    form_id: int | None
    trigger: dict[str, Any]
    activation_condition: dict[str, Any]
    delay: dict[str, Any]


_active: dict[int, tuple[tuple, tuple[_Active, ...]]] = {}


def active_followups(database: Database) -> tuple[_Active, ...]:
    """The active follow-ups of ``database`` as of its loaded ``config_version`` (one query per version).

    ``created_at`` is part of the key so that a database re-created under a reused id (tests truncate
    tables and restart ids) never meets the follow-ups of its predecessor."""
    version = (database.config_version, database.created_at)
    cached = _active.get(database.id)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = db.session.scalars(
        select(FollowUp)
        .where(FollowUp.database_id == database.id, FollowUp.status == FollowUpStatus.ACTIVE)
        .order_by(FollowUp.id)
    )
    found = tuple(
        _Active(
            row.id,
            row.account_id,
            row.collection_id,
            row.form_id,
            row.trigger or {},
            row.activation_condition or {},
            row.delay or {},
        )
        for row in rows
    )
    _active[database.id] = (version, found)
    return found


def on_profile_event(event: ProfileEvent, *, moment: datetime | None = None) -> None:
    """Add a run for every active follow-up this event triggers (the caller commits)."""
    if event.kind not in TRIGGER_KINDS:
        return
    database = db.session.get(Database, event.database_id)
    if database is None:
        return
    candidates = [item for item in active_followups(database) if _triggered_by(item, event)]
    if not candidates:
        return
    profile = db.session.get(Profile, event.profile_id)
    subprofile = db.session.get(Subprofile, event.subprofile_id) if event.subprofile_id else None
    moment = moment or now()
    zone = time_zone(db.session.get(Account, event.account_id))
    depth = chain_depth_of(event)
    rows = []
    for item in candidates:
        if not conditions.matches(item.activation_condition, profile, subprofile):
            continue
        due = due_time(item.delay, now=moment, zone=zone, profile=profile)
        if due is None:
            continue
        row = new_run_row(
            item,
            event.profile_id,
            due,
            moment,
            subprofile_id=event.subprofile_id,
            event_id=event.id,
            chain_depth=depth,
            finished_at=None,
        )
        rows.append(_stopped(row, event, moment) if depth > MAX_CHAIN_DEPTH else row)
    if rows:
        db.session.execute(insert(FollowUpRun), rows)


def new_run_row(
    followup: FollowUp | _Active, profile_id: int, due: datetime, created_at: datetime, **extra
) -> dict[str, Any]:
    """A pending run of ``followup`` for a Core ``insert(FollowUpRun)`` of many rows (every row the same keys)."""
    return {
        "account_id": followup.account_id,
        "followup_id": followup.id,
        "profile_id": profile_id,
        "due_at": due,
        "status": FollowUpRunStatus.PENDING,
        "step": 0,
        "message_id": "",
        "job_id": "",
        "attempts": 0,
        "last_error": "",
        "outcome": "",
        "created_at": created_at,
        **extra,
    }


# --- chains: follow-ups triggering each other -------------------------------------------------------------

# A run made by the write of a run made by the write of … at most this many runs in a row (a loop stops here).
MAX_CHAIN_DEPTH = 10
_CHAINS = "followup_chain_depths"


def note_chain(run: FollowUpRun) -> None:
    """Remember, for this session, the chain depth of a run about to write (its events carry it on)."""
    db.session.info.setdefault(_CHAINS, {})[(reference(run.followup_id), run.profile_id)] = run.chain_depth


def forget_chains() -> None:
    db.session.info.pop(_CHAINS, None)


def chain_depth_of(event: ProfileEvent) -> int:
    """The depth of a run this event triggers: one more than the run whose write it journals, 0 for any other
    write. A follow-up's write whose run is not known in this session counts as the first of a chain."""
    if event.source != SOURCE:
        return 0
    return db.session.info.get(_CHAINS, {}).get((event.reference, event.profile_id), 0) + 1


def _stopped(row: dict[str, Any], event: ProfileEvent, moment: datetime) -> dict[str, Any]:
    """The run of a chain that went on too long, made failed at once (shown in the admin with its reason)."""
    log.warning(
        "follow-up %s not run for profile %s: follow-ups triggered each other %s times in a row (%s)",
        row["followup_id"],
        row["profile_id"],
        row["chain_depth"],
        event.reference,
    )
    message = _(
        "Stopped: follow-ups triggered each other %(count)s times in a row for this profile. "
        "Check their triggers and actions for a loop.",
        count=row["chain_depth"],
    )
    return {**row, "status": FollowUpRunStatus.FAILED, "last_error": message, "finished_at": moment}


def _triggered_by(item: _Active, event: ProfileEvent) -> bool:
    trigger = item.trigger
    if trigger.get("kind") != event.kind:
        return False
    if event.source == SOURCE and event.reference == reference(item.id):
        return False  # its own writes never trigger a follow-up again (no endless loops)
    if event.source in (trigger.get("exclude_sources") or []):
        return False
    if event.kind in SUBPROFILE_KINDS:
        if item.collection_id is not None and event.collection_id != item.collection_id:
            return False
    elif item.collection_id is not None and event.subprofile_id is not None:
        return False
    changes = event.changes or {}
    if event.kind in UPDATE_KINDS and trigger.get("fields"):
        changed = changes.get("fields") or {}
        keys = [str(field_id) for field_id in trigger["fields"] if str(field_id) in changed]
        if not keys:
            return False
        if "to_value" in trigger:
            return any(conditions.compare(changed[key][1], "=", trigger["to_value"]) for key in keys)
    if event.kind == "form_submitted" and item.form_id is not None:
        return event.reference in (str(item.form_id), f"form:{item.form_id}")
    if event.kind == "survey_completed" and trigger.get("survey_id"):
        return event.reference == str(trigger["survey_id"])
    if event.kind == "email_clicked" and trigger.get("link"):
        return trigger["link"] in (changes.get("url"), changes.get("link"))
    return True


def _may_trigger(item: _Active, kind: str, source: str, event_reference: str) -> bool:
    """What ``_triggered_by`` checks before it looks at an event's own values."""
    if item.trigger.get("kind") != kind or source in (item.trigger.get("exclude_sources") or []):
        return False
    return not (source == SOURCE and event_reference == reference(item.id))


def on_bulk_events(written: events.BulkEvents) -> None:
    """``on_profile_event`` for events written in bulk (imports): the events are only read when an active
    follow-up of their database may be triggered by their kind, source and reference (the snapshot of
    ``active_followups`` tells that; for an import batch without a query)."""
    wanted = False
    for _account_id, database_id, kind, source, event_reference, _layer in written.summary():
        database = db.session.get(Database, database_id)
        if database is not None and any(
            _may_trigger(item, kind, source, event_reference) for item in active_followups(database)
        ):
            wanted = True
    if not wanted:
        return
    for event in db.session.scalars(written.query()):
        on_profile_event(event)


# --- date-field triggers (a periodic scan) --------------------------------------------------------------

SCAN_AHEAD = timedelta(days=2)
SCAN_BEHIND = timedelta(days=1)


def scan_date_triggers(*, moment: datetime | None = None) -> int:
    """Add runs for date-field triggers whose moment is at most a day past or two days ahead (the caller
    commits); returns how many. A run per profile and date at most (``occurrence``), so scanning often is safe.

    Runs become due at their moment; one found late (the scan was down) is due at once, unless it is more
    than ``SCAN_BEHIND`` late, then it is not made at all.
    """
    moment = moment or now()
    added = 0
    followups = db.session.scalars(
        select(FollowUp).where(FollowUp.status == FollowUpStatus.ACTIVE).order_by(FollowUp.id)
    ).all()
    for followup in followups:
        trigger = followup.trigger or {}
        if trigger.get("kind") != "date_field":
            continue
        added += _scan_one(followup, trigger, moment)
    return added


def _scan_one(followup: FollowUp, trigger: dict[str, Any], current: datetime) -> int:
    account = db.session.get(Account, followup.account_id)
    zone = time_zone(account)
    offset = timedelta(days=int(trigger.get("offset_days", 0)))
    today = to_local(current, zone).date()
    # The field dates whose moment (date + offset at the time) may fall in the window.
    days = [today + timedelta(days=shift) - offset for shift in (-2, -1, 0, 1, 2, 3)]
    field = db.session.get(Field, trigger["field_id"])
    if field is None:
        return 0  # the field was removed, and its values with it
    yearly = bool(trigger.get("yearly"))
    profiles = db.session.scalars(
        select(Profile).where(Profile.database_id == followup.database_id, _on_days(field, days, yearly=yearly))
    )
    rows = []
    for profile in profiles:
        value = date_value(profile, trigger["field_id"])
        if value is None:
            continue
        for day in days:
            if not _same_day(value, day, yearly=yearly):
                continue
            occurrence_day = day + offset
            moment = local_moment(occurrence_day, trigger.get("time", "00:00"), zone)
            if not (current - SCAN_BEHIND <= moment <= current + SCAN_AHEAD):
                continue
            if not conditions.matches(followup.activation_condition, profile):
                continue
            due = due_time(followup.delay, now=moment, zone=zone, profile=profile)
            if due is None:
                continue
            rows.append(
                new_run_row(followup, profile.id, max(due, moment), current, occurrence=occurrence_day.isoformat())
            )
    return _insert_new(rows)


def _on_days(field: Field, days: list[date], *, yearly: bool) -> ColumnElement:
    """SQL keeping the profiles whose date in ``field`` may be ``_same_day`` as one of ``days`` (consecutive).

    A superset is fine (``_same_day`` decides after), a subset is not. Stored dates are ISO text
    (``YYYY-MM-DD``, datetimes ``YYYY-MM-DD HH:MM:SS``). Yearly compares the ``MM-DD`` part; otherwise a
    range on the field's sort expression, so an indexed date field walks its ``ix_profile_field_<id>``.
    """
    dialect = dialect_name()
    raw = raw_value(field, dialect)
    if yearly:
        return func.substr(raw, 6, 5).in_(sorted(_month_days(days)))
    if field.type in DATE_TYPES:
        text = sort_value(field, dialect)
    else:  # changed to another type since: its values start with the ISO date still
        text = func.substr(raw, 1, 10)
        text = text.collate("C") if dialect == "postgresql" else text
    after = days[-1] + timedelta(days=1)
    return and_(text >= days[0].isoformat(), text < after.isoformat())


def _month_days(days: list[date]) -> set[str]:
    """The ``MM-DD`` parts of the dates that are yearly ``_same_day`` as one of ``days``."""
    found = {day.strftime("%m-%d") for day in days}
    if any((day.month, day.day) == (2, 28) and not _leap(day.year) for day in days):
        found.add("02-29")
    return found


def _same_day(value: date, day: date, *, yearly: bool) -> bool:
    if not yearly:
        return value == day
    if (value.month, value.day) == (2, 29) and not _leap(day.year):
        return (day.month, day.day) == (2, 28)  # a leap-day birthday is celebrated on 28 February
    return (value.month, value.day) == (day.month, day.day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _insert_new(rows: list[dict]) -> int:
    """Insert runs, skipping those whose (follow-up, profile, occurrence) exists already."""
    if not rows:
        return 0
    statement: Insert
    if db.engine.dialect.name == "postgresql":
        statement = pg_insert(FollowUpRun).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(FollowUpRun).on_conflict_do_nothing()
    result = db.session.execute(statement.returning(FollowUpRun.id), rows)
    return len(result.all())


def init_app(app) -> None:
    """Subscribe to the event spine and run the date-field scan in every housekeeping round."""
    app.extensions["profile_events"].in_transaction.append(on_profile_event)
    app.extensions["profile_events"].in_transaction_bulk.append(on_bulk_events)
    app.extensions["housekeeping_tasks"].append(scan_date_triggers)
    from webapp.followups import runs as followup_runs

    followup_runs.init_app(app)
