"""What a follow-up does: its actions, validated when saved and performed when a run is due.

Each action writes through the existing services with source ``follow-up`` and the reference
``followup:<id>`` (so the follow-up never triggers itself). Most actions work inside the run's transaction
(``perform``): their effect and the run's new step commit together. ``send_email`` and ``unsubscribe``
commit on their own and are performed by ``runs`` one run at a time (see ``COMMITTING``).
"""

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from jinja2 import TemplateError, meta

from webapp.extensions import db
from webapp.models import (
    Account,
    Collection,
    Database,
    EmailTemplate,
    FollowUp,
    FollowUpRun,
    Interest,
    Profile,
    ProfileEvent,
    Subprofile,
    utcnow,
)
from webapp.platform.errors import DomainError, ValidationError
from webapp.platform.outbound_urls import check_outbound_url
from webapp.profiles import bulk_writes, events, profiles, subprofiles
from webapp.profiles.database_config import FieldSnapshot, profile_fields
from webapp.profiles.field_types import format_value
from webapp.profiles.values import validate_interests, validate_values

# Actions whose service commits by itself: performed by ``runs`` around their own commits.
COMMITTING = ("send_email", "unsubscribe")
# Actions a batch can do for many runs at once (``bulk_update_profiles``).
BULK = ("update_fields", "set_interests")


class ActionFailed(Exception):
    """An action that cannot succeed now; ``retry`` False means trying again will not help."""

    def __init__(self, message: str, *, retry: bool = True, refusal=None):
        super().__init__(message)
        self.retry = retry
        self.refusal = refusal  # the receiving server's refusal of an email (``email.refusals``), if any


@dataclass
class RunContext:
    """What an action works on: the run, its follow-up, the profile (None once removed) and the moment."""

    account: Account
    followup: FollowUp
    run: FollowUpRun
    profile: Profile | None
    subprofile: Subprofile | None
    now: datetime

    @property
    def origin(self) -> events.Origin:
        from webapp.followups.triggers import origin

        return origin(self.followup.id)


# --- validating (when a follow-up is saved) -------------------------------------------------------------


def validate(account: Account, database: Database, action: dict[str, Any]) -> dict[str, Any]:
    """The action in its stored form, or ``ValueError`` with a message."""
    kind = action["type"]
    if kind == "send_email":
        template_id = as_int(action.get("template_id"))
        template = db.session.get(EmailTemplate, template_id) if template_id else None
        if template is None or template.account_id != account.id:
            raise ValueError(_("Choose an email template."))
        return {"type": kind, "template_id": template.id}
    if kind == "update_fields":
        return {"type": kind, "values": _checked_values(database.fields, action.get("values"))}
    if kind == "create_subprofile":
        collection = db.session.get(Collection, as_int(action.get("collection_id")) or 0)
        if collection is None or collection.database_id != database.id:
            raise ValueError(_("Choose a collection of this database."))
        return {
            "type": kind,
            "collection_id": collection.id,
            "values": _checked_values(collection.fields, action.get("values"), allow_empty=True),
        }
    if kind == "set_interests":
        known = {interest.id for interest in database.interests}
        interests = action.get("interests")
        if not isinstance(interests, dict) or not interests:
            raise ValueError(_("Choose the interests to set or clear."))
        if any(as_int(key) not in known for key in interests):
            raise ValueError(_("Choose interests of this database."))
        return {"type": kind, "interests": {str(as_int(key)): bool(on) for key, on in interests.items()}}
    if kind == "webhook":
        try:
            url = check_outbound_url(str(action.get("url") or ""))
        except ValidationError as error:
            raise ValueError(error.message) from None
        return {"type": kind, "url": url}
    return {"type": kind}


def _checked_values(fields, values: Any, *, allow_empty: bool = False) -> dict[str, str]:
    known = {str(field.id) for field in fields}
    if not isinstance(values, dict) or (not values and not allow_empty):
        raise ValueError(_("Give the values to set."))
    cleaned = {}
    for key, text in values.items():
        if str(key) not in known:
            raise ValueError(_("Unknown field %(id)s.", id=key))
        text = "" if text is None else str(text)
        try:
            _compiled(text)
        except TemplateError as error:
            raise ValueError(
                _("The value of field %(id)s is not a valid template: %(error)s", id=key, error=error)
            ) from None
        cleaned[str(key)] = text
    return cleaned


def as_int(value: Any) -> int | None:
    """``value`` as an int, or None when it is not one (posted or stored definition parts)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- values with the profile's values and ``now`` (sandboxed Jinja) ---------------------------------------


@lru_cache(maxsize=1024)
def _compiled(text: str):
    """The template of a value, compiled once per process in the email templates' sandbox (with ``default``)."""
    from webapp.email import templates as email_templates

    return email_templates.environment(False).from_string(text)


@lru_cache(maxsize=1024)
def _variables(text: str) -> frozenset[str]:
    """The names a value's template reads (``profile``, ``now``, …), found once per process."""
    from webapp.email import templates as email_templates

    return frozenset(meta.find_undeclared_variables(email_templates.environment(False).parse(text)))


def render_value(text: str, context: RunContext) -> str:
    """``text`` with ``{{ profile.Name }}``, ``{{ subprofile.Name }}``, ``{{ now }}`` and ``{{ today }}`` filled
    in; plain text is returned as it is (no template is compiled for it). A template that reads nothing but
    ``now`` and ``today`` is rendered once per moment, not once per run."""
    if "{" not in text:
        return text
    now_text, today = _clock_values(context.now, context.account.time_zone if context.account else "")
    used = _variables(text)
    if used <= {"now", "today"}:
        return _render(text, now_text, today)
    variables = {
        "profile": _by_name(context.profile) if "profile" in used else {},
        "subprofile": _by_name(context.subprofile) if "subprofile" in used else {},
        "now": now_text,
        "today": today,
    }
    try:
        return _compiled(text).render(variables)
    except TemplateError as error:
        raise ActionFailed(_("A value could not be filled in: %(error)s", error=error), retry=False) from None


@lru_cache(maxsize=64)
def _render(text: str, now_text: str, today: str) -> str:
    try:
        return _compiled(text).render({"profile": {}, "subprofile": {}, "now": now_text, "today": today})
    except TemplateError as error:
        raise ActionFailed(_("A value could not be filled in: %(error)s", error=error), retry=False) from None


@lru_cache(maxsize=64)
def _clock_values(moment: datetime, zone_name: str) -> tuple[str, str]:
    """``now`` and ``today`` of ``moment`` (naive UTC) in the account's time zone."""
    from webapp.followups.timing import to_local, zone_named

    local = to_local(moment, zone_named(zone_name))
    return local.strftime("%Y-%m-%d %H:%M:%S"), local.date().isoformat()


def _by_name(holder: Profile | Subprofile | None) -> dict[str, Any]:
    if holder is None:
        return {}
    fields = holder.collection.fields if isinstance(holder, Subprofile) else profile_fields(holder.database)
    stored = holder.fields or {}
    return {field.name: format_value(field, stored.get(field.key, "")) for field in fields}


# --- performing (inside the run's transaction) ------------------------------------------------------------


def _live_profile(context: RunContext) -> Profile:
    """The run's profile, for the actions that ``perform`` only does while it exists."""
    assert context.profile is not None, "perform() answers a removed profile before any profile action"
    return context.profile


def perform(action: dict[str, Any], context: RunContext) -> str:
    """Do one non-committing action; returns a short outcome for the run's log."""
    kind = action["type"]
    if kind == "webhook":
        return _webhook(action, context)
    if context.profile is None:
        return _("Profile removed; nothing to do.")
    if kind == "update_fields":
        return _update_fields(action, context)
    if kind == "set_interests":
        return _set_interests(action, context)
    if kind == "create_subprofile":
        return _create_subprofile(action, context)
    if kind == "remove_profile":
        profiles.remove_in_transaction(context.profile, context.origin)
        context.profile = None
        return _("Profile removed.")
    raise ActionFailed(f"unknown action {kind!r}", retry=False)


def bulk_update_profiles(contexts: list[RunContext]) -> dict[int, str]:
    """``update_fields`` and ``set_interests`` for the runs of a batch at once (PostgreSQL; one run per profile).

    The same rules as ``profiles.apply_update`` (``validate_values``, ``validate_interests``, an event per
    changed profile), written by ``bulk_writes.write_changes``: one UPDATE for the profiles and one INSERT for
    their events, journalled in bulk. Returns the outcome per run id. Raises on the first invalid value: the
    caller then does the batch run by run to record that run's failure.
    """
    updated, unchanged = _("Profile updated."), _("Nothing to change.")
    outcomes: dict[int, str] = {}
    changed: list[bulk_writes.ProfileChange] = []
    plans: dict[tuple[int, int, int], _Plan] = {}
    for context in contexts:
        profile = _live_profile(context)  # a batch leaves the runs of a removed profile to run by run
        key = (context.followup.id, context.run.step, profile.database_id)
        plan = plans.get(key)
        if plan is None:
            plan = plans[key] = _Plan.of(context)
        stored, interests = plan.apply(context)
        item = bulk_writes.change(profile, stored, interests, context.origin)
        if item is None:
            outcomes[context.run.id] = unchanged
            continue
        changed.append(item)
        outcomes[context.run.id] = updated
    bulk_writes.write_changes(changed)
    return outcomes


@dataclass
class _Plan:
    """The remaining bulk actions of a follow-up from one step, with the fields they name (once per batch)."""

    fields: tuple[FieldSnapshot, ...]
    names: dict[str, str]  # field key → name
    actions: list[dict[str, Any]]
    interests: list[Interest]  # the database's, when an action sets interests

    @classmethod
    def of(cls, context: RunContext) -> "_Plan":
        database = _live_profile(context).database
        fields = profile_fields(database)
        actions = (context.followup.actions or [])[context.run.step :]
        wants_interests = any(action["type"] == "set_interests" for action in actions)
        return cls(
            fields,
            {field.key: field.name for field in fields},
            actions,
            list(database.interests) if wants_interests else [],
        )

    def apply(self, context: RunContext) -> tuple[dict[str, Any], list[int]]:
        """The profile's stored values and interests after the actions (validated like ``apply_update``)."""
        profile = _live_profile(context)
        stored, interests = dict(profile.fields or {}), list(profile.interests or [])
        for action in self.actions:
            if action["type"] == "update_fields":
                names = self.names
                values = {
                    names[key]: render_value(text, context) for key, text in action["values"].items() if key in names
                }
                stored = validate_values(context.account, self.fields, values, stored, holder_id=profile.id)
            else:
                changes = {int(key): on for key, on in action["interests"].items()}
                interests = validate_interests(self.interests, changes, interests)
        return stored, interests


def _update_fields(action: dict[str, Any], context: RunContext) -> str:
    names = {field.key: field.name for field in profile_fields(_live_profile(context).database)}
    values = {names[key]: render_value(text, context) for key, text in action["values"].items() if key in names}
    return _apply(context, values, {})


def _set_interests(action: dict[str, Any], context: RunContext) -> str:
    return _apply(context, {}, {int(key): on for key, on in action["interests"].items()})


def _apply(context: RunContext, values: dict, interests: dict) -> str:
    try:
        event = profiles.apply_update(
            context.account, _live_profile(context), values, interests, origin=context.origin, kind="profile_updated"
        )
    except ValidationError as error:
        raise ActionFailed(error.message, retry=False) from None
    return _("Profile updated.") if event is not None else _("Nothing to change.")


def _create_subprofile(action: dict[str, Any], context: RunContext) -> str:
    """``subprofiles.create_in_transaction`` in the run's transaction, with values rendered for the profile."""
    collection = db.session.get(Collection, action["collection_id"])
    if collection is None:
        raise ActionFailed(_("The collection no longer exists."), retry=False)
    names = {field.key: field.name for field in collection.fields}
    values = {names[key]: render_value(text, context) for key, text in action["values"].items() if key in names}
    try:
        subprofile = subprofiles.create_in_transaction(
            context.account, _live_profile(context), collection, values, origin=context.origin
        )
    except ValidationError as error:
        raise ActionFailed(error.message, retry=False) from None
    return _("Subprofile %(id)s created.", id=subprofile.id)


def _webhook(action: dict[str, Any], context: RunContext) -> str:
    """POST the run (follow-up, profile values, triggering event) to the URL, signed like callbacks.

    At least once: ``webhook-id`` is the run id and step, the same on every retry, for receivers to de-duplicate.
    """
    from webapp.callbacks import deliveries

    payload = {
        "type": "follow-up",
        "followup": context.followup.id,
        "run": context.run.id,
        "database": context.followup.database_id,
        "profile": context.run.profile_id,
        "subprofile": context.run.subprofile_id,
        "fields": _by_name(context.profile),
        "subprofile_fields": _by_name(context.subprofile),
        "event": _event_summary(context.run.event_id),
        "timestamp": utcnow().strftime(deliveries.TIMESTAMP_FORMAT),
    }
    target = _WebhookTarget(url=action["url"], secret=_secret(context.followup), method="json")
    result = deliveries.send(target, payload, message_id=f"followup-run-{context.run.id}-{context.run.step}")
    if not result["ok"]:
        raise ActionFailed(result["error"] or str(result["status"]))
    return _("Webhook answered %(status)s.", status=result["status"])


@dataclass
class _WebhookTarget:
    """The two attributes of a callback that ``deliveries.send`` reads."""

    url: str
    secret: str
    method: str


def _secret(followup: FollowUp) -> str:
    """A per-follow-up Standard Webhooks secret derived from the app's secret key (stable, never stored)."""
    import base64
    import hashlib
    import hmac

    from flask import current_app

    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"followup-webhook:{followup.id}".encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(digest).decode()


def webhook_secret(followup: FollowUp) -> str:
    """The secret receivers verify a follow-up's webhook signatures with (shown in the admin)."""
    return _secret(followup)


def _event_summary(event_id: int | None) -> dict[str, Any]:
    event = db.session.get(ProfileEvent, event_id) if event_id else None
    if event is None:
        return {}
    return {
        "id": event.id,
        "kind": event.kind,
        "source": event.source,
        "changes": json.loads(json.dumps(event.changes or {}, default=str)),
    }


# --- committing actions (one run at a time, see followup_runs) -----------------------------------------------


def unsubscribe(context: RunContext) -> str:
    """Apply the database's unsubscribe behaviour; the service commits (with the run's step, set before)."""
    from webapp.profiles import unsubscribe as unsubscribing

    if context.profile is None:
        db.session.commit()
        return _("Profile removed; nothing to do.")
    behaviour = unsubscribing.unsubscribe(context.account, context.profile.id, origin=context.origin)
    return _("Unsubscribed (%(behaviour)s).", behaviour=behaviour)


def send_email(action: dict[str, Any], context: RunContext) -> str:
    """Send the template to the profile under the run's Message-ID (the caller marked the run ``sending``).

    Raises ``delivery.MailTemporaryError`` (try later), ``ActionFailed(retry=False)`` for what will not get better.
    """
    from webapp.email import delivery
    from webapp.email import sending as email_sending

    if context.profile is None:
        return _("Profile removed; nothing sent.")
    try:
        email_sending.send_template_email(
            context.account.id,
            action["template_id"],
            context.profile.id,
            message_id=context.run.message_id,
            origin_reference=context.origin.reference,
            subprofile_id=context.run.subprofile_id,
        )
    except delivery.MailTemporaryError:
        raise
    except (delivery.MailPermanentError, DomainError) as error:
        refusal = getattr(error, "refusal", None)
        raise ActionFailed(str(error) or type(error).__name__, retry=False, refusal=refusal) from None
    return _("Email sent (%(message_id)s).", message_id=context.run.message_id)
