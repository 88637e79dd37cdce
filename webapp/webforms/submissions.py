"""What a web form submission does: spam checks, validation, and the profile write, in one transaction.

Every attempt leaves a ``FormSubmission``: *accepted*, *invalid* (validation errors, no profile matching the
key fields) or *rejected* (spam: honeypot, token, too fast, captcha, origin, rate limit; or the per-profile
limit), with its reason — nothing is dropped silently. An accepted submission writes its record, the profile
(created, updated, or unsubscribed; through the event spine with source ``form`` and the form id as
reference), a subprofile when the form has a collection, uploaded files and a ``form_submitted`` event in
one transaction. The answer is stored with it, so a retry with the same idempotency key replays it.
"""

from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, text

from webapp.extensions import db
from webapp.models import (
    Form,
    Profile,
    utcnow,
)
from webapp.platform.errors import NotFound
from webapp.profiles import links
from webapp.profiles.field_expressions import dialect_name
from webapp.webforms import fast_create
from webapp.webforms import spam as form_spam
from webapp.webforms.accepted import accept
from webapp.webforms.attempts import Attempt, SubmissionResult, first_value, spam_reason
from webapp.webforms.languages import visitor_language
from webapp.widgets.definition import LANG, Bindings, bindings, form_definition, item_name, live_items
from webapp.widgets.languages import in_language
from webapp.widgets.validation import UploadedFile, validate_submission


def get_public_form(form_key: str) -> Form:
    """The form with this public key (with its account and database), looked up once per session: the door
    and the service both ask for it in one request."""
    known = db.session.info.setdefault("public_forms", {})
    form = known.get(form_key)
    if form is None or form not in db.session:
        valid = form_key and len(form_key) <= 32
        form = db.session.scalar(select(Form).where(Form.key == form_key)) if valid else None
        if form is None:
            raise NotFound(_("This form does not exist."))
        known[form_key] = form
    return form


def public_definition(
    form_key: str,
    *,
    profile_id: Any = None,
    signature: Any = None,
    lang: Any = "",
    browser_languages: Iterable[str] = (),
) -> dict[str, Any]:
    """The form's public definition in the visitor's language (``webforms/languages.py``: ``lang`` is the link's
    or snippet's); with a valid signed profile link, also the values of prefill items."""
    form = get_public_form(form_key)
    bound = bindings(form)
    profile = links.verify_profile_link(form.account_id, profile_id, signature) if profile_id else None
    if profile is not None and profile.database_id != form.database_id:
        profile = None
    chosen = visitor_language(form, requested=lang, browser=browser_languages, profile=profile)
    with in_language(chosen) if chosen else nullcontext():
        definition = form_definition(form, bound, chosen)
    if profile is not None:
        definition["prefill"] = prefill_values(form, bound, profile)
    return definition


def prefill_values(form: Form, bound: Bindings, profile: Profile) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in live_items(form, bound):
        if not item.get("prefill"):
            continue
        if item["type"] == "field" and bound.fields[item["field_id"]].collection_id is None:
            value = profile.fields.get(str(item["field_id"]))
            if value is not None:
                values[item_name(item)] = value
        elif item["type"] == "interest":
            values[item_name(item)] = item["interest_id"] in (profile.interests or [])
    return values


def issue_token(form_key: str, *, now: float | None = None, hosted: bool = False) -> str:
    """A fill-time token for the form (``hosted``: for the hosted page's own form); each one counts a view."""
    form = get_public_form(form_key)
    _count_view(form.id)
    return form_spam.issue_token(form.key, now=now, hosted=hosted)


def captcha_challenge(form_key: str) -> dict:
    return form_spam.captcha_challenge(get_public_form(form_key).key)


def submit_form(
    form_key: str,
    values: dict[str, Any],
    files: dict[str, UploadedFile] | None = None,
    *,
    origin: str = "",
    ip: str = "",
    idempotency_key: str | None = None,
    elapsed_token: str = "",
    user_agent: str = "",
    fetch_site: str = "",
    browser_languages: Iterable[str] = (),
    now: float | None = None,
) -> SubmissionResult:
    """Check and apply one submission (``values`` by item name, a list per name or single values).

    ``origin`` and ``fetch_site`` are the browser's ``Origin`` and ``Sec-Fetch-Site`` headers. The answer (and a
    confirmation mail) is in the language the form was shown in, posted as ``_lang`` (``webforms/languages.py``)."""
    key = (idempotency_key or "")[:100] or None
    asked = (first_value(values, LANG), tuple(browser_languages))
    fast = fast_create.submit_common_case(
        form_key, values, files, origin, ip, key, elapsed_token, user_agent, now, asked
    )
    if isinstance(fast, SubmissionResult):
        return fast
    form = get_public_form(form_key)
    fast_create.forget_if_outdated(form)
    origins = list(form.allowed_origins or [])
    attempt = Attempt(form, values, files or {}, origin, ip, key, user_agent, elapsed_token, asked)
    with in_language(attempt.lang) if attempt.lang else nullcontext():
        reason = spam_reason(form, values, origin, elapsed_token, now, fetch_site)
        if reason is not None:
            result = attempt.reject(reason)
        else:
            bound = bindings(form)
            clean = fast.clean if fast is not None and fast.version == fast_create.version_of(form) else None
            clean = clean or validate_submission(form, bound, values, files, attempt.lang)
            result = attempt.invalid(clean.errors, clean.data) if not clean.valid else accept(attempt, bound, clean)
    result.allowed_origins = origins
    return result


COUNT_SQL = (
    "INSERT INTO form_day_stat (form_id, day, views) VALUES (:form_id, :day, 1) "
    "ON CONFLICT (form_id, day) DO UPDATE SET views = form_day_stat.views + 1"
)


def _count_view(form_id: int) -> None:
    """Add one to today's views of a form, in a short transaction of its own after the caller's.

    Every view of a form touches this one row: in a longer transaction its lock would be held through each
    commit's disk flush and queue all views behind each other. Here the commit does not wait for the disk
    (PostgreSQL ``synchronous_commit`` off, this transaction only), so the lock is held for microseconds; a
    crash may lose the last moment's counts. Accepted submissions are counted from their own rows.
    """
    values = {"form_id": form_id, "day": utcnow().date()}
    prefix = "SET LOCAL synchronous_commit TO OFF; " if dialect_name() == "postgresql" else ""
    db.session.execute(text(prefix + COUNT_SQL), values)
    db.session.commit()
