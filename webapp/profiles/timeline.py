"""A profile's timeline: its journalled events, newest first, with field and interest names resolved.

Events outlive the fields and interests they mention; a removed one is shown by its id (``#12``). Pages
are addressed by the id of the last event shown (keyset), using the ``(profile_id, id)`` index.
"""

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Collection, Field, FollowUp, Form, Interest, ProfileEvent
from webapp.profiles.field_types import format_value

PAGE_SIZE = 20
MAX_PAGE_SIZE = 200

KIND_LABELS = {
    "profile_created": _l("Profile created"),
    "profile_updated": _l("Profile updated"),
    "profile_removed": _l("Profile removed"),
    "subprofile_created": _l("Subprofile created"),
    "subprofile_updated": _l("Subprofile updated"),
    "subprofile_removed": _l("Subprofile removed"),
    "confirmed": _l("Subscription confirmed"),
    "unsubscribed": _l("Unsubscribed"),
    "bounced": _l("Email bounced"),
    "complained": _l("Marked an email as spam"),
    "form_submitted": _l("Form submitted"),
    "survey_page_answered": _l("Survey page answered"),
    "survey_completed": _l("Survey completed"),
    "email_sent": _l("Email sent"),
    "email_opened": _l("Email opened"),
    "email_clicked": _l("Link in email clicked"),
}

SOURCE_LABELS = {
    "admin": _l("Admin interface"),
    "form": _l("Web form"),
    "survey": _l("Survey"),
    "soap": _l("SOAP API"),
    "api": _l("REST API"),
    "import": _l("Import"),
    "follow-up": _l("Follow-up"),
    "email": _l("Email"),
    "unsubscribe": _l("Unsubscribe link"),
    "bounce": _l("Bounce"),
    "system": _l("System"),
}


@dataclass
class FieldChange:
    name: str
    old: Any
    new: Any


@dataclass
class InterestChange:
    name: str
    old: bool
    new: bool


@dataclass
class TimelineEntry:
    event: ProfileEvent
    label: str
    source_label: str
    actor: str
    at: datetime  # aware, in the account's time zone
    collection_name: str | None = None
    fields: list[FieldChange] = dataclass_field(default_factory=list)
    interests: list[InterestChange] = dataclass_field(default_factory=list)
    notes: list[str] = dataclass_field(default_factory=list)


@dataclass
class Timeline:
    entries: list[TimelineEntry]
    # Pass as ``before_id`` for the next (older) page; ``None`` when this is the oldest.
    next_before_id: int | None


def account_zone(account: Account) -> ZoneInfo:
    try:
        return ZoneInfo(account.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(account: Account, moment: datetime) -> datetime:
    """A stored (naive UTC) timestamp as an aware datetime in the account's time zone."""
    return moment.replace(tzinfo=UTC).astimezone(account_zone(account))


def events_of_profile(
    account: Account, profile_id: int, *, limit: int = PAGE_SIZE, before_id: int | None = None
) -> Timeline:
    """The account's events of one profile (also of a removed one), newest first, older than ``before_id``."""
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    query = select(ProfileEvent).where(ProfileEvent.account_id == account.id, ProfileEvent.profile_id == profile_id)
    if before_id is not None:
        query = query.where(ProfileEvent.id < before_id)
    rows = list(db.session.scalars(query.order_by(ProfileEvent.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    names = _Names(account, rows)
    entries = [_entry(account, event, names) for event in rows]
    return Timeline(entries=entries, next_before_id=rows[-1].id if more and rows else None)


class _Names:
    """Field, interest and collection names of a page of events, fetched in three small queries."""

    def __init__(self, account: Account, events: list[ProfileEvent]):
        field_ids: set[int] = set()
        interest_ids: set[int] = set()
        collection_ids: set[int] = set()
        form_ids: set[int] = set()
        followup_ids: set[int] = set()
        for event in events:
            reference = event.reference or ""
            if event.source == "form" and reference.isdigit():
                form_ids.add(int(reference))
            elif reference.startswith("followup:") and reference[9:].isdigit():
                followup_ids.add(int(reference[9:]))
            changes = event.changes or {}
            field_ids.update(_ids(changes.get("fields")))
            interest_ids.update(_ids(changes.get("interests")))
            if event.collection_id:
                collection_ids.add(event.collection_id)
        self.fields = self._lookup(Field, account, field_ids)
        # Decimal fields with their options: their values are shown with the field's scale (``format_value``)
        self.decimals: dict[int, Field] = (
            {
                found.id: found
                for found in db.session.scalars(
                    select(Field).where(
                        Field.account_id == account.id, Field.id.in_(field_ids), Field.type == "decimal"
                    )
                )
            }
            if field_ids
            else {}
        )
        self.interests = self._lookup(Interest, account, interest_ids)
        self.collections = self._lookup(Collection, account, collection_ids)
        self.forms = self._lookup(Form, account, form_ids)
        self.followups = self._lookup(FollowUp, account, followup_ids)

    @staticmethod
    def _lookup(model, account: Account, ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = db.session.execute(select(model.id, model.name).where(model.account_id == account.id, model.id.in_(ids)))
        return {row.id: row.name for row in rows}


def _ids(mapping: Any) -> set[int]:
    if not isinstance(mapping, dict):
        return set()
    return {int(key) for key in mapping if str(key).isascii() and str(key).isdigit()}


def _name(names: dict[int, str], key: str) -> str:
    if str(key).isascii() and str(key).isdigit() and int(key) in names:
        return names[int(key)]
    return f"#{key}"


def _entry(account: Account, event: ProfileEvent, names: _Names) -> TimelineEntry:
    changes = event.changes or {}
    entry = TimelineEntry(
        event=event,
        label=str(KIND_LABELS.get(event.kind, event.kind)),
        source_label=str(SOURCE_LABELS.get(event.source, event.source)),
        actor=_actor_label(event.actor),
        at=local_time(account, event.created_at),
        collection_name=names.collections.get(event.collection_id) if event.collection_id else None,
    )
    for key, pair in _pairs(changes.get("fields")):
        decimal = names.decimals.get(int(key)) if str(key).isascii() and str(key).isdigit() else None
        old, new = (format_value(decimal, pair[0]), format_value(decimal, pair[1])) if decimal else (pair[0], pair[1])
        entry.fields.append(FieldChange(_name(names.fields, key), old, new))
    for key, pair in _pairs(changes.get("interests")):
        entry.interests.append(InterestChange(_name(names.interests, key), bool(pair[0]), bool(pair[1])))
    if event.kind == "unsubscribed" and changes.get("behaviour") == "nothing":
        entry.notes.append(str(_l("The unsubscribe behaviour was “nothing”: no values were changed.")))
    entry.notes.extend(_hygiene_notes(event.kind, changes))
    note = _reference_note(event, names)
    if note:
        entry.notes.append(note)
    return entry


def _hygiene_notes(kind: str, changes: dict) -> list[str]:
    """What a bounce or complaint said (the shape is ``hygiene/reports.py``'s)."""
    bounce, complaint = changes.get("bounce"), changes.get("complaint")
    if kind == "bounced" and isinstance(bounce, dict):
        text = _l(
            "%(type)s bounce: %(reason)s %(status)s",
            type=_l("Hard") if bounce.get("type") == "hard" else _l("Soft"),
            reason=str(bounce.get("reason") or ""),
            status=str(bounce.get("status") or ""),
        )
        diagnostic = str(bounce.get("diagnostic") or "")[:300]
        return [str(text).strip(), diagnostic] if diagnostic else [str(text).strip()]
    if kind == "complained" and isinstance(complaint, dict):
        return [str(_l("Feedback type: %(type)s", type=str(complaint.get("feedback_type") or "abuse")))]
    return []


def _reference_note(event: ProfileEvent, names: _Names) -> str:
    """What caused the change, in words (the web form or follow-up by name, the import run); other references
    (message ids, link codes) are internal and not shown."""
    reference = event.reference or ""
    if event.source == "form" and reference.isdigit():
        form = names.forms.get(int(reference))
        return str(_l("Through the web form %(name)s", name=form)) if form else str(_l("Through a removed web form"))
    if reference.startswith("followup:") and reference[9:].isdigit():
        followup = names.followups.get(int(reference[9:]))
        return str(_l("By the follow-up %(name)s", name=followup)) if followup else str(_l("By a removed follow-up"))
    if reference.startswith("import ") and reference[7:].split(" ")[0].isdigit():
        run = reference[7:].split(" ")[0]
        if reference.endswith(" rollback"):
            return str(_l("Undoing import %(number)s", number=run))
        return str(_l("By import %(number)s", number=run))
    if reference.startswith("merged into profile "):
        return str(_l("Merged into profile %(number)s", number=reference.removeprefix("merged into profile ")))
    return ""


def _pairs(mapping: Any) -> list[tuple[str, list | tuple]]:
    if not isinstance(mapping, dict):
        return []
    return [(str(key), pair) for key, pair in mapping.items() if isinstance(pair, list | tuple) and len(pair) == 2]


def _actor_label(actor: str) -> str:
    """``user:3 ann@example.com`` (as the admin writes it) reads as ``ann@example.com``."""
    if actor.startswith("user:") and " " in actor:
        return actor.split(" ", 1)[1]
    return actor
