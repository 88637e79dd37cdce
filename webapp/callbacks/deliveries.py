"""Outbound callbacks (webhooks): signed HTTP calls to a customer's URL on (sub)profile changes.

How a change becomes a call, without losing one:

1. ``on_profile_event`` runs inside the writer's transaction (an in-transaction subscriber of the event
   spine). For every active callback of the database (or collection) whose actions, sources and condition
   match, it adds a ``CallbackDelivery`` row with the payload and a durable ``ScheduledWork`` row of kind
   ``callback`` for that (callback, profile) pair. Both commit with the change itself, or not at all.
2. The dispatcher moves the work row into RQ; the job runs ``deliver_pending`` (see there for retries).
3. Deliveries of one callback for one profile go out in id order: a delivery waiting for a retry blocks the
   later ones of that profile until it succeeds or is given up (after ``RETRY_FOR``).
4. A callback whose calls have failed for ``RETRY_FOR`` is paused (``active`` off, ``paused_reason`` set) and
   the admin shows why. A paused callback (by a user or by itself) keeps recording deliveries, without
   scheduling them, up to ``PAUSED_BACKLOG`` pending ones (later changes are counted in ``paused_dropped``);
   resuming it sends them in order. A given-up delivery can be retried (``retry_delivery``): it goes back to
   pending under its own id, so it keeps its place before the profile's later deliveries and its ``webhook-id``.
"""

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast
from urllib.parse import urlencode, urlsplit

import httpx
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy import delete as sql_delete
from standardwebhooks.webhooks import Webhook

from webapp.callbacks import conditions, copernica
from webapp.callbacks.definitions import get_callback
from webapp.extensions import db
from webapp.models import (
    Account,
    Callback,
    CallbackDelivery,
    CallbackStyle,
    Database,
    DeliveryStatus,
    Profile,
    ProfileEvent,
    ScheduledWork,
    Subprofile,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.platform.outbound_urls import pin_outbound_url
from webapp.platform.tenancy import owned
from webapp.profiles import events
from webapp.profiles.database_config import has_callbacks
from webapp.profiles.field_types import format_value
from webapp.rules import evaluate

WORK_KIND = "callback"
RETRY_FOR = timedelta(days=1)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=3)
BATCH = 20  # deliveries one job sends at most before handing over to a new job
DEFAULT_TIMEOUT = 10.0  # seconds, ``CALLBACK_TIMEOUT`` in the config overrides it
MAX_RESPONSE_NOTE = 500
PAUSED_BACKLOG = 10_000  # pending deliveries a paused callback keeps recording
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# Event kinds → callback actions; other kinds that change a profile's fields or interests
# (confirmed, unsubscribed, …) count as updates.
ACTION_OF_KIND = {
    "profile_created": "create",
    "profile_updated": "update",
    "profile_removed": "delete",
    "subprofile_created": "create",
    "subprofile_updated": "update",
    "subprofile_removed": "delete",
}


def init_app(app) -> None:
    """Subscribe to the event spine and register the ``callback`` kind of durable work."""
    app.extensions["profile_events"].in_transaction.append(on_profile_event)
    app.extensions["profile_events"].in_transaction_bulk.append(on_bulk_events)
    app.extensions["work_handlers"][WORK_KIND] = deliver_pending
    app.extensions["housekeeping_tasks"].append(forget_old_deliveries)


# --- managing callbacks --------------------------------------------------------------------------------


def resume_callback(account: Account, callback_id: int) -> Callback:
    """Switch a callback back on and send what is still pending right away."""
    callback = get_callback(account, callback_id)
    callback.active, callback.paused_reason, callback.failing_since = True, "", None
    callback.paused_dropped = 0
    now = utcnow()
    profile_ids = db.session.scalars(
        select(CallbackDelivery.profile_id)
        .where(CallbackDelivery.callback_id == callback.id, CallbackDelivery.status == DeliveryStatus.PENDING)
        .group_by(CallbackDelivery.profile_id)
    ).all()
    db.session.execute(
        update(CallbackDelivery)
        .where(CallbackDelivery.callback_id == callback.id, CallbackDelivery.status == DeliveryStatus.PENDING)
        .values(next_attempt_at=now)
    )
    for profile_id in profile_ids:
        _schedule(callback, profile_id, now)
    db.session.commit()
    return callback


# --- matching events (inside the writer's transaction) ----------------------------------------------


def action_of(event: ProfileEvent) -> str | None:
    if event.kind in ACTION_OF_KIND:
        return ACTION_OF_KIND[event.kind]
    changes = event.changes or {}
    if event.subprofile_id is None and (changes.get("fields") or changes.get("interests")):
        return "update"
    return None


def on_profile_event(event: ProfileEvent) -> None:
    """Add deliveries and durable work for every callback this event matches (the caller commits)."""
    action = action_of(event)
    if action is None:
        return
    database = db.session.get(Database, event.database_id)
    if database is None or not has_callbacks(database, event.collection_id):
        return
    query = select(Callback).where(Callback.account_id == event.account_id, Callback.database_id == event.database_id)
    if event.subprofile_id is None:
        query = query.where(Callback.collection_id.is_(None))
    else:
        query = query.where(Callback.collection_id == event.collection_id)
    callbacks = [
        callback
        for callback in db.session.scalars(query.order_by(Callback.id))
        if (not callback.actions or action in callback.actions)
        and (not callback.sources or event.source in callback.sources)
    ]
    if not callbacks:
        return
    profile = db.session.get(Profile, event.profile_id)
    subprofile = db.session.get(Subprofile, event.subprofile_id) if event.subprofile_id else None
    if profile is None:
        return
    payload = build_payload(event, action, profile, subprofile)
    values = condition_values(profile, subprofile)
    now = utcnow()
    for callback in callbacks:
        if callback.selection_id and not in_selection(callback.selection_id, profile, subprofile):
            continue
        if callback.expression and not conditions.matches(callback.expression, values):
            continue
        if not callback.active and not _backlog_has_room(callback):
            continue
        db.session.add(
            CallbackDelivery(
                account_id=callback.account_id,
                callback_id=callback.id,
                event_id=event.id,
                profile_id=profile.id,
                payload=payload,
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
            )
        )
        if callback.active:
            _schedule(callback, profile.id, now)


def in_selection(selection_id: int, profile: Profile, subprofile: Subprofile | None) -> bool:
    """Is the changed profile (a collection's callback: the subprofile) a member of the callback's selection now?
    Asked of the database for this one row (the rule language's evaluator)."""
    return evaluate.matches({"match": "all", "rules": [{"selection_id": selection_id}]}, profile, subprofile)


def _backlog_has_room(callback: Callback) -> bool:
    """Whether a paused callback may record one more delivery; if not, count the change as dropped.

    Core statements, so the configuration snapshot (``database_config``) stays valid.
    """
    db.session.flush()
    pending = db.session.scalar(
        select(func.count()).select_from(
            select(CallbackDelivery.id)
            .where(CallbackDelivery.callback_id == callback.id, CallbackDelivery.status == DeliveryStatus.PENDING)
            .limit(PAUSED_BACKLOG)
            .subquery()
        )
    )
    if (pending or 0) < PAUSED_BACKLOG:
        return True
    db.session.execute(
        update(Callback)
        .where(Callback.id == callback.id)
        .values(paused_dropped=Callback.paused_dropped + 1)
        .execution_options(synchronize_session=False)
    )
    return False


def on_bulk_events(written: events.BulkEvents) -> None:
    """``on_profile_event`` for events written in bulk (imports, Core inserts), in the same transaction.

    Subscribed to ``events.note_bulk``/``note_bulk_scope``, which bulk writers call before they commit. The
    events are only read when a database they belong to has an active callback on their layer (profiles or
    a collection): the configuration snapshot tells that without a query for an import batch.
    """
    wanted = False
    for _account_id, database_id, kind, _source, _reference, layer in written.summary():
        if kind not in ACTION_OF_KIND and layer is not None:
            continue
        database = db.session.get(Database, database_id)
        wanted = wanted or (database is not None and has_callbacks(database, layer))
    if not wanted:
        return
    for event in db.session.scalars(written.query()):
        on_profile_event(event)


def _schedule(callback: Callback, profile_id: int | None, due_at: datetime) -> None:
    work.schedule(
        WORK_KIND,
        due_at=due_at,
        account_id=callback.account_id,
        payload={"callback_id": callback.id, "profile_id": profile_id},
    )


def condition_values(profile: Profile, subprofile: Subprofile | None) -> dict[str, Any]:
    """Name → value for the condition: the profile's fields and interests, then the subprofile's fields."""
    database = profile.database
    interests = profile.interests or []
    values: dict[str, Any] = {interest.name: interest.id in interests for interest in database.interests}
    values.update(_by_name(database.fields, profile.fields))
    if subprofile is not None:
        values.update(_by_name(subprofile.collection.fields, subprofile.fields))
    return values


def _by_name(fields, stored: dict[str, Any]) -> dict[str, Any]:
    stored = stored or {}
    return {field.name: format_value(field, stored.get(str(field.id))) for field in fields}


def _stamp(moment: datetime | None) -> str:
    return moment.strftime(TIMESTAMP_FORMAT) if moment else ""


def build_payload(event: ProfileEvent, action: str, profile: Profile, subprofile: Subprofile | None) -> dict:
    """Copernica's callback variables (``type``, ``id``, ``database``, ``fields``, …) plus ``changes``/``source``."""
    database = profile.database
    interest_names = {str(interest.id): interest.name for interest in database.interests}
    owner_fields = subprofile.collection.fields if subprofile is not None else database.fields
    fields_by_key = {str(field.id): field for field in owner_fields}
    changes = event.changes or {}
    holder = subprofile if subprofile is not None else profile
    payload: dict[str, Any] = {
        "type": action,
        "id": profile.id,
        "profile": profile.id,
        "database": profile.database_id,
        "fields": _by_name(owner_fields, holder.fields),
        "interests": {interest.name: interest.id in (profile.interests or []) for interest in database.interests},
        "created": _stamp(holder.created_at),
        "modified": _stamp(holder.updated_at),
        "changes": {
            fields_by_key[key].name if key in fields_by_key else key: (
                [format_value(fields_by_key[key], value) for value in pair] if key in fields_by_key else pair
            )
            for key, pair in (changes.get("fields") or {}).items()
        },
        "source": event.source,
        "event": event.id,
        "timestamp": _stamp(event.created_at or utcnow()),
    }
    if changes.get("interests"):
        payload["interest_changes"] = {interest_names.get(key, key): pair for key, pair in changes["interests"].items()}
    if subprofile is not None:
        payload["collection"] = subprofile.collection_id
        payload["subprofile"] = subprofile.id
    return payload


# --- delivering (an RQ job, through durable work) ---------------------------------------------------------


def deliver_pending(row: ScheduledWork) -> None:
    """Send the due deliveries of one (callback, profile) pair, in id order.

    Runs inside ``work.run_work``'s transaction, which commits when this returns and rolls back if it
    raises. So this never raises for a failed call: a failed HTTP call is written on its delivery (status
    code, error, duration, next attempt) and a *new* work row is scheduled for the retry; both are committed
    with the job's row marked done. An exception here would roll back the record of a call already made.
    If the process dies after a call but before the commit, the call is made again later — at least once;
    receivers de-duplicate on ``webhook-id`` (the delivery id, the same on every retry).

    The pending deliveries of the pair are locked (``FOR UPDATE``) so two jobs for one pair never send the
    same delivery nor overtake each other; a delivery not yet due stops the batch (ordering per profile).
    """
    callback = db.session.get(Callback, row.payload.get("callback_id"))
    if callback is None or not callback.active:
        return  # deleted, or paused: resume_callback schedules what is pending
    profile_id = row.payload.get("profile_id")
    deliveries = list(
        db.session.scalars(
            select(CallbackDelivery)
            .where(
                CallbackDelivery.callback_id == callback.id,
                CallbackDelivery.profile_id == profile_id,
                CallbackDelivery.status == DeliveryStatus.PENDING,
            )
            .order_by(CallbackDelivery.id)
            .limit(BATCH)
            .with_for_update()
        )
    )
    for delivery in deliveries:
        now = utcnow()
        if delivery.next_attempt_at > now:
            return  # a retry is scheduled for it; later deliveries wait behind it
        if not attempt(callback, delivery):
            if not callback.active:
                return  # paused after a day of failures; resume_callback picks up from here
            if delivery.status == DeliveryStatus.PENDING:
                _schedule(callback, profile_id, delivery.next_attempt_at)
                return
    if len(deliveries) == BATCH:
        _schedule(callback, profile_id, utcnow())


def attempt(callback: Callback, delivery: CallbackDelivery) -> bool:
    """Make one call for ``delivery`` and record it on the row (no commit); True when delivered."""
    result = send(callback, delivery.payload, message_id=str(delivery.id))
    now = utcnow()
    delivery.attempts += 1
    delivery.response_status = result["status"]
    delivery.duration_ms = result["duration_ms"]
    delivery.last_error = result["error"]
    if result["ok"]:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
        callback.failing_since = None
        return True
    if callback.failing_since is None:
        callback.failing_since = now
    if now - (delivery.retried_at or delivery.created_at) >= RETRY_FOR:
        delivery.status = DeliveryStatus.FAILED
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    if now - callback.failing_since >= RETRY_FOR:
        callback.active = False
        callback.paused_reason = _(
            "Paused automatically: calls to this URL have failed since %(since)s UTC (last error: %(error)s).",
            since=_stamp(callback.failing_since),
            error=result["error"] or result["status"],
        )
    return False


def backoff(attempts: int) -> timedelta:
    """Wait before the next try: 30 s, 1 min, 2 min, … doubling, at most ``LONGEST_WAIT``."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def encode_body(method: str, payload: dict) -> tuple[str, str]:
    """The body and its content type: JSON, or form fields like PHP's (``fields[Name]=…``) for ``post``."""
    if method == "post":
        return urlencode(list(_form_pairs(payload))), "application/x-www-form-urlencoded"
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False), "application/json"


def _form_pairs(value: Any, prefix: str = ""):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _form_pairs(item, f"{prefix}[{key}]" if prefix else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _form_pairs(item, f"{prefix}[{index}]")
    elif value is None:
        yield prefix, ""
    elif isinstance(value, bool):
        yield prefix, "1" if value else "0"
    else:
        yield prefix, str(value)


class WebhookTarget(Protocol):
    """What ``send`` reads of a callback (a follow-up's webhook action passes a target of its own)."""

    @property
    def url(self) -> str: ...

    @property
    def secret(self) -> str: ...

    @property
    def method(self) -> str: ...


def _signed_request(callback: WebhookTarget, payload: dict, message_id: str) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a call: Copernica's style (``copernica``), else ours with Standard Webhooks."""
    if isinstance(callback, Callback) and callback.style == CallbackStyle.COPERNICA:
        content = copernica.body(payload).encode()
        return content, copernica.signed_headers(callback.account_id, callback.url, content)
    body, content_type = encode_body(callback.method, payload)
    moment = datetime.now(UTC)
    return body.encode(), {
        "content-type": content_type,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(callback.secret).sign(message_id, moment, body),
    }


def send(callback: WebhookTarget, payload: dict, *, message_id: str) -> dict[str, Any]:
    """POST ``payload`` signed per the callback's style; never raises. Returns ok, status, error, duration_ms."""
    started = time.monotonic()
    status: int | None = None
    error = ""
    ok = False
    try:
        target = pin_outbound_url(callback.url)
        content, headers = _signed_request(callback, payload, message_id)
        headers = {**headers, "user-agent": "Verrijk-Callbacks/1", **target.headers}
        timeout = float(current_app.config.get("CALLBACK_TIMEOUT", DEFAULT_TIMEOUT))
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(target.url, content=content, headers=headers, extensions=target.extensions)
        status = response.status_code
        ok = 200 <= status < 300
        if not ok:
            error = _("The URL answered %(status)s.", status=status)
            if response.is_redirect:
                target = urlsplit(response.headers.get("location", "")).netloc
                error = _("The URL redirects (to %(target)s); callbacks do not follow redirects.", target=target or "?")
            else:
                note = response.text[:MAX_RESPONSE_NOTE].strip()
                if note:
                    error = f"{error} {note}"
    except ValidationError as refused:
        error = refused.message
    except httpx.TimeoutException:
        error = _("No answer within the time limit.")
    except httpx.HTTPError as failure:
        reason = f"{type(failure).__name__}: {failure}"[:300]
        error = _("The call failed: %(error)s", error=reason)
    duration_ms = int((time.monotonic() - started) * 1000)
    return {"ok": ok, "status": status, "error": error, "duration_ms": duration_ms}


# --- the admin's actions on deliveries ----------------------------------------------------------------


def list_deliveries(account: Account, callback_id: int, *, limit: int = 100) -> list[CallbackDelivery]:
    callback = get_callback(account, callback_id)
    return list(
        db.session.scalars(
            select(CallbackDelivery)
            .where(CallbackDelivery.callback_id == callback.id)
            .order_by(CallbackDelivery.id.desc())
            .limit(limit)
        )
    )


def count_deliveries(account: Account, callback_id: int) -> dict[str, int]:
    callback = get_callback(account, callback_id)
    rows = db.session.execute(
        select(CallbackDelivery.status, func.count())
        .where(CallbackDelivery.callback_id == callback.id)
        .group_by(CallbackDelivery.status)
    ).all()
    return {status: count for status, count in rows}


def get_delivery(account: Account, delivery_id: int) -> CallbackDelivery:
    return owned(CallbackDelivery, account, delivery_id, _("Delivery not found."))


def resend_delivery(account: Account, delivery_id: int) -> CallbackDelivery:
    """Send a delivery's payload again, as a new delivery (behind the profile's other pending ones)."""
    original = get_delivery(account, delivery_id)
    callback = get_callback(account, original.callback_id)
    now = utcnow()
    copy = CallbackDelivery(
        account_id=original.account_id,
        callback_id=callback.id,
        event_id=original.event_id,
        profile_id=original.profile_id,
        payload=original.payload,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
    )
    db.session.add(copy)
    _schedule(callback, original.profile_id, now)
    db.session.commit()
    return copy


def retry_delivery(account: Account, delivery_id: int) -> CallbackDelivery:
    """Put a given-up delivery back to pending (same id and ``webhook-id``), for another day of retries.

    It keeps its place: the profile's later deliveries wait behind it again. Sent at once unless the
    callback is paused (then on resume). Refused for a delivery that is not given up.
    """
    delivery = get_delivery(account, delivery_id)
    if delivery.status != DeliveryStatus.FAILED:
        raise ValidationError(_("Only a given-up delivery can be retried; use Resend to send it again."))
    callback = get_callback(account, delivery.callback_id)
    now = utcnow()
    delivery.status, delivery.retried_at, delivery.next_attempt_at = DeliveryStatus.PENDING, now, now
    if callback.active:
        _schedule(callback, delivery.profile_id, now)
    db.session.commit()
    return delivery


def test_payload(callback: Callback) -> dict[str, Any]:
    now = _stamp(utcnow())
    return {
        "type": "test",
        "id": 0,
        "profile": 0,
        "database": callback.database_id,
        **({"collection": callback.collection_id, "subprofile": 0} if callback.collection_id else {}),
        "fields": {},
        "interests": {},
        "created": now,
        "modified": now,
        "changes": {},
        "source": "system",
        "timestamp": now,
    }


def send_test(account: Account, callback_id: int) -> dict[str, Any]:
    """Call the URL now with a test payload (``type`` ``test``); returns ok, status, error, duration_ms."""
    callback = get_callback(account, callback_id)
    return send(callback, test_payload(callback), message_id=f"msg_test_{secrets.token_hex(8)}")


KEEP_DELIVERIES = timedelta(days=30)


def forget_old_deliveries(*, older_than: timedelta = KEEP_DELIVERIES) -> int:
    """Delete delivered and given-up deliveries older than ``older_than`` (the caller commits); returns how many.

    Meant for the hourly housekeeping round of ``platform.work``.
    """
    # A DELETE gives a CursorResult (with its rowcount); Session.execute is typed to return a plain Result.
    result = cast(
        CursorResult[Any],
        db.session.execute(
            sql_delete(CallbackDelivery).where(
                CallbackDelivery.status.in_(
                    (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)
                ),
                CallbackDelivery.created_at < utcnow() - older_than,
            )
        ),
    )
    return result.rowcount or 0
