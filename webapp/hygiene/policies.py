"""Per-database rules for bounces, complaints and unsubscribes, applied as the events arrive.

The policies react to the event spine, inside the transaction that journals the event (``on_profile_event``,
called by ``bounce_batch.on_profile_events``, a batch subscriber: it runs after the other subscribers have
seen the events, before an action may remove the profile; the bounces of the receiver's group commit are
counted and suppressed set-based there, with the same rules):

- ``bounced`` (source ``bounce``, shape in ``reports``): a hard bounce counts towards ``hard_threshold``
  (default 1), a soft bounce towards ``soft_threshold`` (default 5). Bounces count "in a row": the count walks
  back through the profile's journal from the bounce and stops at an open or a click, at a message sent before
  the counted ones that did not bounce (it was delivered), and at the moment the address's suppression was last
  lifted. At the threshold the address is suppressed and the type's action applied (``nothing``,
  ``set_fields``, ``unsubscribe`` by the database's behaviour, ``remove``); once, not again for later bounces
  of mail already under way.
- ``complained``: the address is suppressed and ``complaint_action`` applied (default: unsubscribe).
- ``unsubscribed`` (any door, any behaviour, even ``nothing`` or an ``update`` without values): the address is
  suppressed for marketing mail (issue 22); so is a ``profile_updated`` that gives the profile its database's
  unsubscribe values (an admin's edit, a SOAP update: unsubscribing by setting the values).
- ``confirmed`` (a double opt-in link followed): the address's suppression is lifted; the person proved the
  mailbox and consented again.

See ``docs/hygiene-policies.md``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.email import refusals, suppression
from webapp.email.delivery import MailError
from webapp.email.sending import recipient_of
from webapp.extensions import db
from webapp.hygiene import send_refusals, signups
from webapp.models import (
    POLICY_ACTIONS,
    SIGNUP_ACTIONS,
    Account,
    Database,
    HygienePolicy,
    Profile,
    ProfileEvent,
    utcnow,
)
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.events import Origin
from webapp.profiles.profiles import apply_update, remove_in_transaction
from webapp.profiles.unsubscribe import is_subscribed, unsubscribe_in_transaction
from webapp.profiles.values import validate_values

MAX_THRESHOLD = 100
MAX_SIGNUP_DAYS = 3650
CHAIN_EVENTS = ("bounced", "email_sent", "email_opened", "email_clicked")
CHAIN_LIMIT = 500  # journal entries read back per bounce: far more than any threshold needs
POLICY_ACTOR = "policy"
REACTS_TO = ("bounced", "complained", "unsubscribed", "confirmed", "profile_updated")


def init_app(app) -> None:
    """Subscribe to send-time refusals and register the sign-up pruning work (``bounce_batch.init_app``
    subscribes to the event spine)."""
    refusals.subscribe(app, send_refusals.journal_refusal)
    signups.init_app(app)


# --- settings ---------------------------------------------------------------------------------------------


def policy_of(database: Database) -> HygienePolicy:
    """The database's rules: its row, or the defaults (a transient row, not added to the session)."""
    row = db.session.get(HygienePolicy, database.id)
    if row is not None:
        return row
    return HygienePolicy(
        database_id=database.id,
        account_id=database.account_id,
        hard_threshold=1,
        hard_action="nothing",
        hard_values={},
        soft_threshold=5,
        soft_action="nothing",
        soft_values={},
        complaint_action="unsubscribe",
        complaint_values={},
        signup_days=None,
        signup_action="remove",
        signup_values={},
    )


def get_policy(account: Account, database_id: int) -> HygienePolicy:
    database = owned(Database, account, database_id, _("Database not found."))
    return policy_of(database)


@dataclass(frozen=True)
class PolicySettings:
    """What an admin sets; ``*_values`` are ``{field name: value}``."""

    hard_threshold: int = 1
    hard_action: str = "nothing"
    hard_values: dict[str, Any] | None = None
    soft_threshold: int = 5
    soft_action: str = "nothing"
    soft_values: dict[str, Any] | None = None
    complaint_action: str = "unsubscribe"
    complaint_values: dict[str, Any] | None = None
    signup_days: int | None = None
    signup_action: str = "remove"
    signup_values: dict[str, Any] | None = None


def save_policy(account: Account, database_id: int, settings: PolicySettings) -> HygienePolicy:
    """Validate and store a database's rules (every error at once, nothing stored on an error)."""
    database = owned(Database, account, database_id, _("Database not found."))
    errors: dict[str, str] = {}
    for name in ("hard_threshold", "soft_threshold"):
        if not 1 <= getattr(settings, name) <= MAX_THRESHOLD:
            errors[name] = _("Give a number from 1 to %(max)s.", max=MAX_THRESHOLD)
    for name in ("hard_action", "soft_action", "complaint_action"):
        if getattr(settings, name) not in POLICY_ACTIONS:
            errors[name] = _("Choose one of the actions.")
    if settings.signup_action not in SIGNUP_ACTIONS:
        errors["signup_action"] = _("Choose one of the actions.")
    if settings.signup_days is not None and not 1 <= settings.signup_days <= MAX_SIGNUP_DAYS:
        errors["signup_days"] = _("Give a number of days from 1 to %(max)s, or leave it empty.", max=MAX_SIGNUP_DAYS)
    values = {
        name: _stored_values(account, database, getattr(settings, f"{name}_values"), f"{name}_values", errors)
        for name in ("hard", "soft", "complaint", "signup")
    }
    for name in ("hard", "soft", "complaint", "signup"):
        if getattr(settings, f"{name}_action") == "set_fields" and not values[name] and f"{name}_values" not in errors:
            errors[f"{name}_values"] = _("Give the field values to set.")
    if errors:
        raise ValidationError(errors)
    row = db.session.get(HygienePolicy, database.id) or HygienePolicy(database_id=database.id, account_id=account.id)
    row.hard_threshold, row.hard_action, row.hard_values = settings.hard_threshold, settings.hard_action, values["hard"]
    row.soft_threshold, row.soft_action, row.soft_values = settings.soft_threshold, settings.soft_action, values["soft"]
    row.complaint_action, row.complaint_values = settings.complaint_action, values["complaint"]
    row.signup_days, row.signup_action, row.signup_values = (
        settings.signup_days,
        settings.signup_action,
        values["signup"],
    )
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.commit()
    return row


def _stored_values(account, database, given, name: str, errors: dict[str, str]) -> dict[str, Any]:
    """``{field name: value}`` → ``{field id: stored value}``, checked by the profile values validator."""
    by_name = {field.name.lower(): field for field in database.fields}
    chosen, fields = {}, []
    for key, value in (given or {}).items():
        field = by_name.get(str(key).strip().lower())
        if field is None:
            errors[name] = _("There is no field named %(name)s.", name=key)
            return {}
        chosen[field.name] = value
        fields.append(field)
    try:
        return validate_values(account, fields, chosen, {})
    except ValidationError as error:
        errors[name] = "; ".join(error.errors.values())
        return {}


def values_by_name(database: Database, stored: dict[str, Any]) -> dict[str, Any]:
    """``{field id: value}`` (as stored) → ``{field name: value}`` (as the profile services take them);
    fields removed since are left out."""
    return {field.name: stored[field.key] for field in database.fields if field.key in stored}


# --- reacting to events -----------------------------------------------------------------------------------


def on_profile_event(event: ProfileEvent) -> None:
    """The policies' reaction to one journalled event (inside the writing transaction)."""
    if event.kind not in REACTS_TO or event.subprofile_id:
        return
    profile = db.session.get(Profile, event.profile_id)
    if profile is None:
        return
    if event.kind == "profile_updated" and not _unsubscribed_by_values(profile, event):
        return
    address = address_of(profile)
    if not address:
        return
    if event.kind in ("unsubscribed", "profile_updated"):
        detail = _("Unsubscribed (%(source)s)", source=event.source)
        suppression.suppress(
            profile.account_id, address, suppression.Reason.UNSUBSCRIBE, database_id=profile.database_id, detail=detail
        )
    elif event.kind == "confirmed":
        suppression.lift_in_transaction(profile.account_id, address, by=_("confirmed opt-in"))
    elif event.source == "bounce" and event.kind == "complained":
        _complaint(profile, address, event)
    elif event.source == "bounce":
        _bounce(profile, address, event)


def _unsubscribed_by_values(profile: Profile, event: ProfileEvent) -> bool:
    """Whether a plain update (an admin's edit, a SOAP ``Profile_updateFields``) gave the profile its database's
    unsubscribe values: an unsubscribe by another door. (Taking them off again lifts nothing: only an admin or
    a confirmed opt-in does.)"""
    values = profile.database.unsubscribe_values or {}
    if profile.database.unsubscribe_behaviour != "update" or is_subscribed(profile):
        return False
    changes = event.changes or {}
    touched = set(changes.get("fields") or {}) & set(values.get("fields") or {})
    return bool(touched or set(changes.get("interests") or {}) & set(values.get("interests") or {}))


def address_of(profile: Profile) -> str:
    """The profile's address (as mail to it goes), or '' when it has none."""
    try:
        return recipient_of(profile)
    except MailError:
        return ""


def _complaint(profile: Profile, address: str, event: ProfileEvent) -> None:
    policy = policy_of(profile.database)
    before = _reason_in_force(profile.account_id, address)
    detail = _("Complaint (%(type)s)", type=str((event.changes.get("complaint") or {}).get("feedback_type", "")))
    suppression.suppress(
        profile.account_id, address, suppression.Reason.COMPLAINT, database_id=profile.database_id, detail=detail
    )
    if before != suppression.Reason.COMPLAINT:
        apply_action(profile, policy.complaint_action, policy.complaint_values, event)


def _bounce(profile: Profile, address: str, event: ProfileEvent) -> None:
    bounce = event.changes.get("bounce") or {}
    kind = "hard" if bounce.get("type") == "hard" else "soft"
    policy = policy_of(profile.database)
    threshold = policy.hard_threshold if kind == "hard" else policy.soft_threshold
    if bounces_in_a_row(profile, kind, up_to=event.id) < threshold:
        return
    reason = suppression.Reason.HARD_BOUNCE if kind == "hard" else suppression.Reason.SOFT_BOUNCE
    before = _reason_in_force(profile.account_id, address)
    detail = f"{bounce.get('status', '')} {bounce.get('reason', '')} {bounce.get('diagnostic', '')}".strip()
    suppression.suppress(profile.account_id, address, reason, database_id=profile.database_id, detail=detail)
    if before in (None, suppression.Reason.UNSUBSCRIBE):
        action, values = (
            (policy.hard_action, policy.hard_values) if kind == "hard" else (policy.soft_action, policy.soft_values)
        )
        apply_action(profile, action, values, event)


def _reason_in_force(account_id: int, address: str) -> str | None:
    """The reason of the address's suppression in force, read before ``suppress`` changes that same row."""
    row = suppression.active(account_id, address)
    return row.reason if row is not None else None


def apply_action(profile: Profile, action: str, values: dict[str, Any], event: ProfileEvent) -> None:
    """Apply a policy action to the profile, in the event's transaction."""
    origin = Origin("bounce", actor=POLICY_ACTOR, reference=event.reference)
    if action == "unsubscribe":
        unsubscribe_in_transaction(profile, origin)
    elif action == "remove":
        remove_in_transaction(profile, origin)
    elif action == "set_fields" and values:
        account = db.session.get_one(Account, profile.account_id)
        apply_update(
            account, profile, values_by_name(profile.database, values), {}, origin=origin, kind="profile_updated"
        )


# --- counting ---------------------------------------------------------------------------------------------


def bounces_in_a_row(profile: Profile, kind: str, *, up_to: int | None = None) -> int:
    """How many messages to the profile bounced (``kind``: hard or soft) in a row, up to event ``up_to``.

    Read back from the journal: stops at an open or a click, at a message sent before the counted ones that did
    not bounce (it was delivered), and at the last lifting of the address's suppression."""
    return in_a_row(_chain_entries(profile, up_to), kind)


def in_a_row(entries: Sequence[ProfileEvent], kind: str) -> int:
    """``bounces_in_a_row`` over the profile's chain entries (``CHAIN_EVENTS``, newest first)."""
    sent_at_event = {_message(entry): entry.id for entry in entries if entry.kind == "email_sent"}
    bounced_messages = {_message(entry) for entry in entries if entry.kind == "bounced"}
    counted: set[str] = set()
    anchor: int | None = None
    for entry in entries:
        if entry.kind in ("email_opened", "email_clicked"):
            break
        if entry.kind == "bounced" and _bounce_type(entry) == kind:
            message = _message(entry) or f"event {entry.id}"
            counted.add(message)
            first = sent_at_event.get(message, entry.id)
            anchor = first if anchor is None else min(anchor, first)
        elif (
            entry.kind == "email_sent"
            and anchor is not None
            and entry.id < anchor
            and _message(entry) not in bounced_messages
        ):
            break  # sent before the counted bounces and never bounced: delivered in between
    return len(counted)


def _chain_entries(profile: Profile, up_to: int | None) -> Sequence[ProfileEvent]:
    query = select(ProfileEvent).where(
        ProfileEvent.profile_id == profile.id,
        ProfileEvent.subprofile_id.is_(None),
        ProfileEvent.kind.in_(CHAIN_EVENTS),
    )
    if up_to is not None:
        query = query.where(ProfileEvent.id <= up_to)
    lifted = _lifted_at(profile)
    if lifted is not None:
        query = query.where(ProfileEvent.created_at > lifted)
    return list(db.session.scalars(query.order_by(ProfileEvent.id.desc()).limit(CHAIN_LIMIT)))


def _lifted_at(profile: Profile) -> datetime | None:
    address = address_of(profile)
    return suppression.lifted_since(profile.account_id, address) if address else None


def _message(entry: ProfileEvent) -> str:
    changes = entry.changes or {}
    if entry.kind == "bounced":
        return str((changes.get("bounce") or {}).get("message_id") or "")
    return str(changes.get("message_id") or "")


def _bounce_type(entry: ProfileEvent) -> str:
    return "hard" if ((entry.changes or {}).get("bounce") or {}).get("type") == "hard" else "soft"
