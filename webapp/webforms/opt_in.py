"""Double opt-in and notifications of web forms: the mails sent after a submission, and the confirm link.

A new sign-up through a form with double opt-in gets the form's *unconfirmed* values and a confirmation
mail with a signed, expiring link (``/p/confirm/<token>``). Following it sets the *confirmed* values and
journals a ``confirmed`` event (its time is the confirmation time). What the sign-up holds back travels in the
signed link: the interests ticked, and for a profile that signs up again, the values posted (nothing about a
known profile changes before it confirms). Mails go out after the submission has
committed (and commit the mail's log rows); a mail that cannot be sent is logged and does not undo the
sign-up.
"""

from contextlib import nullcontext
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from webapp.email import branding, delivery, refusals
from webapp.extensions import db
from webapp.models import Account, Field, Form, Profile, ProfileEvent, utcnow
from webapp.platform.errors import ValidationError
from webapp.profiles import consents
from webapp.profiles.events import Origin
from webapp.profiles.profiles import apply_update, commit_or_conflict
from webapp.webforms.results import column_names
from webapp.widgets.definition import form_text
from webapp.widgets.languages import in_language

DEFAULT_LINK_TTL_HOURS = 48


def opt_in_settings(form: Form) -> dict[str, Any]:
    return (form.settings or {}).get("double_opt_in") or {}


def values_by_name(form: Form, values: dict[Any, Any]) -> dict[str, Any]:
    """``{field id: value}`` as stored in the settings → ``{field name: value}`` as services take them."""
    if not values:
        return {}
    ids = [int(key) for key in values]
    fields = db.session.scalars(select(Field).where(Field.id.in_(ids), Field.database_id == form.database_id))
    return {field.name: values[str(field.id)] if str(field.id) in values else values[field.id] for field in fields}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="verrijk-form-confirm")


def confirm_link(form: Form, profile: Profile, held: dict[str, Any] | None = None, lang: str | None = None) -> str:
    """The signed confirmation link; ``lang``, the language of the sign-up, is the confirmation page's."""
    # "at": when the link was made, to the microsecond, so that a link made after a confirmation confirms again.
    payload = {"form": form.id, "profile": profile.id, "code": profile.code[:8], "at": utcnow().isoformat()}
    if held and (held.get("values") or held.get("interests")):
        payload["held"] = held
    if lang:
        payload["lang"] = lang
    token = _serializer().dumps(payload)
    return current_app.config["PUBLIC_URL"] + f"/p/confirm/{token}"


def profile_email(profile: Profile) -> str:
    """The profile's first email address (in field order), or ''."""
    for field in profile.database.fields:
        if field.type == "email" and profile.fields.get(field.key):
            return str(profile.fields[field.key])
    return ""


def send_confirmation(
    form: Form, profile: Profile, held: dict[str, Any] | None = None, lang: str | None = None
) -> None:
    """The confirmation mail, its subject and text in ``lang`` (one of the form's languages; None: its default)."""
    settings = opt_in_settings(form)
    to = profile_email(profile)
    if not to:
        current_app.logger.warning("form %s: profile %s has no email address to confirm", form.id, profile.id)
        return
    link = confirm_link(form, profile, held, lang)
    with in_language(lang) if lang else nullcontext():
        text = form_text(form, settings.get("email_text"), lang) or _(
            "Please confirm your sign-up by following this link:\n\n{link}"
        )
        if "{link}" not in text:
            text += "\n\n{link}"
        text = text.replace("{link}", link)
        subject = form_text(form, settings.get("email_subject"), lang) or _("Please confirm your sign-up")
        html = branding.confirmation_html(form.account_id, text, link, _("Confirm my sign-up"))
    _send(form, to=to, subject=subject, text=text, html=html, profile_id=profile.id, category="confirmation")


def send_notification(form: Form, submission_id: int, profile_id: int | None, data: dict[str, Any]) -> None:
    to = (form.settings or {}).get("notify_email")
    if not to:
        return
    names = column_names(db.session.get_one(Account, form.account_id), form)
    lines = [f"{names.get(name, name)}: {_plain(value)}" for name, value in data.items()]
    text = _(
        "Form %(form)s received submission %(id)s (profile %(profile)s).",
        form=form.name,
        id=submission_id,
        profile=profile_id or "-",
    )
    _send(
        form,
        to=to,
        subject=_("New submission: %(form)s", form=form.name),
        text="\n".join([text, "", *lines]),
        profile_id=None,
    )


def _plain(value: Any) -> str:
    """A submitted value in words: yes or no for a tick box, a list joined by commas."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        return ", ".join(str(part) for part in value)
    return str(value)


def _send(
    form: Form,
    *,
    to: str,
    subject: str,
    text: str,
    profile_id: int | None,
    category: str = "transactional",
    html: str | None = None,
) -> None:
    """Send after the submission has committed, then commit the mail's log rows (the mail service adds them
    to the caller's transaction). A form's mail is sent once, never retried: a refusal is final (a bounce)."""
    try:
        delivery.send_mail(
            form.account_id, to=to, subject=subject, text=text, html=html, profile_id=profile_id, category=category
        )
    except delivery.MailError as error:
        current_app.logger.warning("form %s: mail to %s not sent: %s", form.id, to, error)
        refusals.report(error, final=True)
    db.session.commit()


def confirm_subscription(token: str, *, ip: str = "") -> Profile:
    """Apply a confirmation link: what the sign-up held back, the form's confirmed values, a ``confirmed``
    event and the confirmation of the sign-up's consent records, from the address ``ip`` (once per link)."""
    data = _load(token)
    form = db.session.get(Form, data.get("form"))
    profile = db.session.get(Profile, data.get("profile"))
    if form is None or profile is None or profile.code[:8] != data.get("code"):
        raise ValidationError(_("This confirmation link is no longer valid."))
    if _already_confirmed(form, profile, _issued_at(data)):
        return profile
    account = db.session.get_one(Account, form.account_id)
    held = data.get("held") or {}
    confirmed = opt_in_settings(form).get("confirmed_values") or {}
    values = values_by_name(form, {**(held.get("values") or {}), **confirmed})
    interests = {int(key): bool(on) for key, on in (held.get("interests") or {}).items()}
    known = {interest.id for interest in profile.database.interests}  # an interest removed since is skipped
    interests = {key: on for key, on in interests.items() if key in known}
    origin = Origin("form", reference=str(form.id))
    apply_update(account, profile, values, interests, origin=origin, kind="confirmed")
    consents.confirm(account.id, profile.database_id, profile.id, source="form", reference=str(form.id), ip=ip)
    commit_or_conflict()
    return profile


def _issued_at(data: dict) -> datetime:
    """When the link was made (links from before links said so: any confirmation counts)."""
    try:
        return datetime.fromisoformat(str(data["at"]))
    except (KeyError, ValueError):
        return datetime.min


def link_context(token: str) -> tuple[int | None, str]:
    """The account of a confirmation link (its branding) and the language of the sign-up ('' when the link does
    not say); None for the account of a link that is not valid."""
    try:
        data = _load(token)
    except ValidationError:
        return None, ""
    form = db.session.get(Form, data.get("form"))
    return (form.account_id, str(data.get("lang") or "")) if form is not None else (None, "")


def _load(token: str) -> dict:
    try:
        data = _serializer().loads(token, max_age=_max_age(token))
    except SignatureExpired:
        raise ValidationError(_("This confirmation link has expired. Sign up again to get a new one.")) from None
    except BadSignature:
        raise ValidationError(_("This confirmation link is not valid.")) from None
    if not isinstance(data, dict):
        raise ValidationError(_("This confirmation link is not valid."))
    return data


def _max_age(token: str) -> int:
    """The link's lifetime is its form's setting; read it from the (still unverified) payload's form id."""
    try:
        form_id = _serializer().loads_unsafe(token)[1].get("form")
        form = db.session.get(Form, int(form_id))
    except (AttributeError, TypeError, ValueError):
        form = None
    hours = opt_in_settings(form).get("link_ttl_hours") if form else None
    return int(hours or DEFAULT_LINK_TTL_HOURS) * 3600


def _already_confirmed(form: Form, profile: Profile, issued: datetime) -> bool:
    """Whether this link was followed before: a confirmation through the form since it was issued (a profile
    that signs up again gets a new link, which confirms again)."""
    return (
        db.session.scalar(
            select(ProfileEvent.id)
            .where(
                ProfileEvent.profile_id == profile.id,
                ProfileEvent.kind == "confirmed",
                ProfileEvent.reference == str(form.id),
                ProfileEvent.created_at >= issued,
            )
            .limit(1)
        )
        is not None
    )
