"""The access export: everything an account holds about a person, as one JSON document.

A person is an address (their profiles in every database of the account, plus what is held under the address
alone: messages sent or caught, bounces, suppression) or one profile (and its address). The document holds,
per profile: fields and interests by name, subprofiles, the journal (every profile event, with old and new
values), form submissions and uploaded files (names and sizes), survey responses, consent and confirmation
records, follow-up runs, callback deliveries; and for the address: emails sent with what happened to them
(opens, clicks, unsubscribes, bounces and complaints from the journal), bounce and complaint reports (without
the raw message), the suppression entry, and mail the development catcher kept. Nothing is left out because
it is awkward: a table a later branch adds that names a profile belongs here too (``docs/privacy.md``).
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select

from webapp.email import suppression
from webapp.extensions import db
from webapp.models import (
    Account,
    BounceReport,
    Callback,
    CallbackDelivery,
    CaughtMail,
    Collection,
    EmailResult,
    Field,
    FollowUp,
    FollowUpRun,
    Form,
    FormFile,
    FormSubmission,
    Interest,
    Mailing,
    Profile,
    ProfileEvent,
    SentMessage,
    Subprofile,
    Survey,
    SurveyResponse,
)
from webapp.privacy import people
from webapp.profiles import consents
from webapp.profiles.profiles import get_profile

FORMAT_VERSION = 1
TRACKING_KINDS = ("email_sent", "email_opened", "email_clicked", "unsubscribed", "bounced", "complained")


def export_for_address(account: Account, address: str) -> dict[str, Any]:
    """Everything held about the person with this address in the account."""
    address = people.checked_address(address)
    return _document(account, {address}, people.profiles_with_address(account, address))


def export_for_profile(account: Account, profile_id: int) -> dict[str, Any]:
    """Everything held about the person of this profile (and under its addresses)."""
    profile = get_profile(account, profile_id)
    return _document(account, people.addresses_of(profile), [profile])


def _document(account: Account, addresses: set[str], profiles: list[Profile]) -> dict[str, Any]:
    profile_ids = [profile.id for profile in profiles]
    messages = _sent_messages(account, addresses, profile_ids)
    return {
        "format": FORMAT_VERSION,
        "account": account.name,
        "generated_at": _plain(datetime.now().astimezone()),
        "addresses": sorted(addresses),
        "profiles": [_profile(account, profile) for profile in profiles],
        "emails_sent": messages,
        "bounces_and_complaints": _bounces(account, addresses, profile_ids, [m["id"] for m in messages]),
        "suppression": _suppression(account, addresses),
        "caught_mail": _caught(account, addresses),
    }


def _profile(account: Account, profile: Profile) -> dict[str, Any]:
    fields = people.fields_by_id({profile.database_id})
    interests = dict(
        db.session.execute(select(Interest.id, Interest.name).where(Interest.database_id == profile.database_id)).all()
    )
    return {
        "id": profile.id,
        "database": profile.database.name,
        "created_at": _plain(profile.created_at),
        "updated_at": _plain(profile.updated_at),
        "fields": _named(profile.fields, fields),
        "interests": sorted(interests.get(key, str(key)) for key in profile.interests or []),
        "subprofiles": _subprofiles(profile, fields),
        "journal": _journal(profile, fields, interests),
        "form_submissions": _submissions(account, profile),
        "form_files": _files(account, profile),
        "survey_responses": _responses(account, profile),
        "consents": [_consent(row) for row in consents.of_profiles(account.id, [profile.id])],
        "follow_up_runs": _runs(account, profile),
        "callback_deliveries": _deliveries(account, profile),
        "email_results": _email_results(account, profile),
    }


def _email_results(account: Account, profile: Profile) -> list[dict[str, Any]]:
    """Every message the profile was sent (mailings, follow-ups) and what the person did with it."""
    rows = db.session.execute(
        select(EmailResult, Mailing.name)
        .outerjoin(Mailing, Mailing.id == EmailResult.mailing_id)
        .where(EmailResult.account_id == account.id, EmailResult.profile_id == profile.id)
        .order_by(EmailResult.id)
    ).all()
    moments = ("sent_at", "opened_at", "clicked_at", "bounced_at", "complained_at", "unsubscribed_at")
    return [
        {"mailing": name, "category": row.category, "opens": row.open_count, "clicks": row.click_count}
        | {"bounce": row.bounce}
        | {moment: _plain(getattr(row, moment)) for moment in moments}
        for row, name in rows
    ]


def _named(values: dict[str, Any] | None, fields: dict[str, Field]) -> dict[str, Any]:
    return {(fields[key].name if key in fields else key): _plain(value) for key, value in (values or {}).items()}


def _subprofiles(profile: Profile, fields: dict[str, Field]) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Subprofile, Collection.name)
        .join(Collection, Collection.id == Subprofile.collection_id)
        .where(Subprofile.profile_id == profile.id)
        .order_by(Subprofile.id)
    )
    return [
        {
            "id": row.id,
            "collection": name,
            "fields": _named(row.fields, fields),
            "created_at": _plain(row.created_at),
            "updated_at": _plain(row.updated_at),
        }
        for row, name in rows
    ]


def _journal(profile: Profile, fields: dict[str, Field], interests: dict[int, str]) -> list[dict[str, Any]]:
    rows = db.session.scalars(
        select(ProfileEvent)
        .where(ProfileEvent.profile_id == profile.id, ProfileEvent.account_id == profile.account_id)
        .order_by(ProfileEvent.id)
    )
    journal = []
    for event in rows:
        changes = dict(event.changes or {})
        if isinstance(changes.get("fields"), dict):
            changes["fields"] = _named(changes["fields"], fields)
        if isinstance(changes.get("interests"), dict):
            changes["interests"] = {
                interests.get(int(key), key) if str(key).isdigit() else key: value
                for key, value in changes["interests"].items()
            }
        journal.append(
            {
                "at": _plain(event.created_at),
                "kind": event.kind,
                "source": event.source,
                "actor": event.actor,
                "reference": event.reference,
                "subprofile": event.subprofile_id,
                "changes": _plain(changes),
            }
        )
    return journal


def _submissions(account: Account, profile: Profile) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(FormSubmission, Form.name)
        .join(Form, Form.id == FormSubmission.form_id)
        .where(FormSubmission.account_id == account.id, FormSubmission.profile_id == profile.id)
        .order_by(FormSubmission.id)
    )
    return [
        {
            "at": _plain(row.created_at),
            "form": name,
            "status": row.status,
            "data": _plain(row.data),
            "consents": _plain(row.consents),
            "page": row.origin,
            "browser": row.user_agent,
        }
        for row, name in rows
    ]


def _files(account: Account, profile: Profile) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(FormFile.filename, FormFile.content_type, FormFile.size, FormFile.created_at).where(
            FormFile.account_id == account.id, FormFile.profile_id == profile.id
        )
    )
    return [{"name": name, "type": kind, "size": size, "at": _plain(at)} for name, kind, size, at in rows]


def _responses(account: Account, profile: Profile) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(SurveyResponse, Survey.name)
        .join(Survey, Survey.id == SurveyResponse.survey_id)
        .where(SurveyResponse.account_id == account.id, SurveyResponse.profile_id == profile.id)
        .order_by(SurveyResponse.id)
    )
    return [
        {
            "survey": name,
            "started_at": _plain(row.created_at),
            "completed_at": _plain(row.completed_at),
            "language": row.language,
            "answers": _plain(row.answers),
            "hidden": _plain(row.hidden),
        }
        for row, name in rows
    ]


def _consent(row) -> dict[str, Any]:
    return {
        "at": _plain(row.agreed_at),
        "source": row.source,
        "reference": row.reference,
        "item": row.item,
        "text": row.text,
        "basis": row.basis,
        "ip": row.ip,
        "confirmed_at": _plain(row.confirmed_at),
        "confirmed_ip": row.confirmed_ip,
    }


def _runs(account: Account, profile: Profile) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(FollowUpRun, FollowUp.name)
        .join(FollowUp, FollowUp.id == FollowUpRun.followup_id)
        .where(FollowUpRun.account_id == account.id, FollowUpRun.profile_id == profile.id)
        .order_by(FollowUpRun.id)
    )
    return [
        {"follow_up": name, "due_at": _plain(row.due_at), "status": row.status, "outcome": row.outcome}
        for row, name in rows
    ]


def _deliveries(account: Account, profile: Profile) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(CallbackDelivery, Callback.url)
        .join(Callback, Callback.id == CallbackDelivery.callback_id)
        .where(CallbackDelivery.account_id == account.id, CallbackDelivery.profile_id == profile.id)
        .order_by(CallbackDelivery.id)
    )
    return [
        {
            "url": url,
            "at": _plain(row.created_at),
            "status": row.status,
            "delivered_at": _plain(row.delivered_at),
            "payload": _plain(row.payload),
        }
        for row, url in rows
    ]


def _sent_messages(account: Account, addresses: set[str], profile_ids: list[int]) -> list[dict[str, Any]]:
    if not addresses and not profile_ids:
        return []
    rows = db.session.scalars(
        select(SentMessage)
        .where(
            SentMessage.account_id == account.id,
            or_(SentMessage.profile_id.in_(profile_ids), SentMessage.recipient.in_(sorted(addresses))),
        )
        .order_by(SentMessage.id)
    ).all()
    happened: dict[str, list[dict[str, Any]]] = {}
    if profile_ids:
        events = db.session.scalars(
            select(ProfileEvent)
            .where(
                ProfileEvent.account_id == account.id,
                ProfileEvent.profile_id.in_(profile_ids),
                ProfileEvent.kind.in_(TRACKING_KINDS),
            )
            .order_by(ProfileEvent.id)
        )
        for event in events:
            message_id = str((event.changes or {}).get("message_id") or event.reference or "")
            happened.setdefault(message_id, []).append(
                {"at": _plain(event.created_at), "kind": event.kind, "detail": _plain(event.changes)}
            )
    return [
        {
            "id": row.id,
            "message_id": row.message_id,
            "to": row.recipient,
            "subject": row.subject,
            "category": row.category,
            "sent_at": _plain(row.sent_at),
            "what_happened": [item for item in happened.get(row.message_id, []) if item["kind"] != "email_sent"],
        }
        for row in rows
    ]


def _bounces(account: Account, addresses: set[str], profile_ids: list[int], message_ids: list[int]):
    conditions = [BounceReport.recipient.in_(sorted(addresses))] if addresses else []
    if profile_ids:
        conditions.append(BounceReport.profile_id.in_(profile_ids))
    if message_ids:
        conditions.append(BounceReport.sent_message_id.in_(message_ids))
    if not conditions:
        return []
    rows = db.session.scalars(
        select(BounceReport).where(BounceReport.account_id == account.id, or_(*conditions)).order_by(BounceReport.id)
    )
    return [
        {
            "at": _plain(row.received_at),
            "kind": row.kind,
            "reason": row.reason,
            "status": row.status,
            "diagnostic": row.diagnostic,
            "recipient": row.recipient,
            "source": row.source,
        }
        for row in rows
    ]


def _suppression(account: Account, addresses: set[str]) -> list[dict[str, Any]]:
    found = []
    for address in sorted(addresses):
        row = suppression.active(account.id, address)
        if row is not None:
            found.append(
                {"address": address, "reason": row.reason, "detail": row.detail, "since": _plain(row.suppressed_at)}
            )
    return found


def _caught(account: Account, addresses: set[str]) -> list[dict[str, Any]]:
    if not addresses:
        return []
    rows = db.session.execute(
        select(CaughtMail.subject, CaughtMail.created_at, CaughtMail.recipient).where(
            CaughtMail.account_id == account.id, CaughtMail.recipient.in_(sorted(addresses))
        )
    )
    return [{"to": to, "subject": subject, "at": _plain(at)} for subject, at, to in rows]


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO text, containers walked."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(part) for key, part in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(part) for part in value]
    return value
