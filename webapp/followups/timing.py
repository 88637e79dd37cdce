"""The follow-up engine's clock and time arithmetic: time zones, local moments, and when a run is due.

Tests replace ``clock`` to freeze or move time (no sleeping); everything in the engine asks ``now()``.
"""

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from webapp.models import (
    Account,
    Profile,
    utcnow,
)

# The clock of the engine: tests replace it to freeze or move time (no sleeping).
clock: Callable[[], datetime] = utcnow


def now() -> datetime:
    return clock()


TIME_PATTERN = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


DEFAULT_TIME_ZONE = "Europe/Amsterdam"


def time_zone(account: Account | None) -> ZoneInfo:
    return zone_named(account.time_zone if account else "")


def zone_named(name: str) -> ZoneInfo:
    """The time zone ``name``, or the default one when it is empty or unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def local_moment(day: date, clock: str, zone: ZoneInfo) -> datetime:
    """Naive UTC of ``clock`` (HH:MM) on ``day`` in ``zone``."""
    hours, minutes = (int(part) for part in clock.split(":"))
    moment = datetime.combine(day, time(hours, minutes), tzinfo=zone)
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)


def date_value(profile: Profile | None, field_id: int) -> date | None:
    raw = (profile.fields or {}).get(str(field_id)) if profile is not None else None
    try:
        return date.fromisoformat(str(raw)[:10]) if raw else None
    except ValueError:
        return None


def due_time(delay: dict[str, Any], *, now: datetime, zone: ZoneInfo, profile: Profile | None) -> datetime | None:
    """When a run triggered at ``now`` (naive UTC) is due; ``None`` when a date-field delay has no date."""
    kind = (delay or {}).get("kind", "none")
    if kind == "duration":
        return now + timedelta(seconds=int(delay["seconds"]))
    if kind == "time_of_day":
        local = to_local(now, zone)
        due = local_moment(local.date(), delay["time"], zone)
        return due if due >= now else local_moment(local.date() + timedelta(days=1), delay["time"], zone)
    if kind == "date_field":
        day = date_value(profile, delay["field_id"])
        if day is None:
            return None
        return local_moment(day + timedelta(days=int(delay.get("offset_days", 0))), delay["time"], zone)
    return now
