"""One submission attempt of a web form: its log row and its answer, whatever the outcome.

Every attempt leaves a ``FormSubmission``: *accepted*, *invalid* (validation errors, no profile matching the key
fields) or *rejected* (spam: honeypot, token, too fast, captcha, origin, rate limit; or the per-profile limit),
with its reason — nothing is dropped silently. The answer is stored with it, so a retry with the same
idempotency key replays it.
"""

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import (
    Form,
    FormSubmission,
    Profile,
    SubmissionStatus,
)
from webapp.profiles.events import Origin
from webapp.webforms import spam as form_spam
from webapp.webforms import spam_log
from webapp.webforms.languages import visitor_language
from webapp.widgets.definition import CAPTCHA, HONEYPOT, REPEAT_SUFFIX, form_text, item_name

REJECTION_REASONS = ("honeypot", "token", "too_fast", "captcha", "origin", "rate_limited", "limit_reached")


INVALID_REASONS = ("invalid", "no_match")


@dataclass
class SubmissionResult:
    """The HTTP-shaped answer to a submission (``status_code`` and JSON ``body``) and what it did."""

    status_code: int
    body: dict[str, Any]
    submission_id: int | None = None
    profile_id: int | None = None
    replayed: bool = False
    # The form's allowed origins (for CORS), as read before the commit expired the form.
    allowed_origins: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.body["status"]


def spam_reason(
    form: Form, values: dict, origin: str, token: str, now: float | None, fetch_site: str = ""
) -> str | None:
    if not form_spam.origin_allowed(origin, form.allowed_origins) and not form_spam.hosted_page_posting_to_itself(
        form.key, origin, fetch_site, token
    ):
        return "origin"
    if first_value(values, HONEYPOT):
        return "honeypot"
    age = form_spam.token_age(form.key, token, now=now)
    if age is None:
        return "token"
    if age < minimum_fill_seconds(form):
        return "too_fast"
    if has_captcha(form) and not form_spam.captcha_solved(form.key, first_value(values, CAPTCHA)):
        return "captcha"
    return None


def minimum_fill_seconds(form: Form) -> float:
    """The form's own minimum fill time, at most ``FORM_MIN_FILL_SECONDS`` when that is set."""
    minimum = float((form.settings or {}).get("min_fill_seconds", 3) or 0)
    cap = current_app.config.get("FORM_MIN_FILL_SECONDS")
    if cap is not None and str(cap).strip() != "":
        minimum = min(minimum, float(cap))
    return minimum


def first_value(values: dict, name: str) -> str:
    value = values.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value or "").strip()


def rejection_message(reason: str) -> str:
    return {
        "token": _("This form has expired. Reload the page and try again."),
        "too_fast": _("That was very quick. Wait a moment, then send the form again."),
        "captcha": _("The anti-spam check failed. Try again."),
        "origin": _("This form may not be sent from this website."),
        "rate_limited": _("Too many submissions. Wait a minute, then try again."),
        "limit_reached": _("You have already sent this form the maximum number of times."),
    }.get(reason, _("Your submission was refused."))


class Attempt:
    """One submission attempt: writes its log row and builds the answer, whatever the outcome.

    ``asked``: the language the form was shown in (posted ``_lang``) and the browser's, for ``lang``, the
    language of the answer (None for a form without languages)."""

    def __init__(
        self,
        form: Form,
        values: dict,
        files: dict,
        origin: str,
        ip: str,
        key: str | None,
        agent: str,
        token: str = "",
        asked: tuple[str, tuple[str, ...]] = ("", ()),
    ):
        self.form, self.values, self.files = form, values, files
        self.origin, self.ip, self.key, self.agent = origin[:255], ip, key, (agent or "")[:500]
        self.token, self.asked = token, asked
        self.origin_of_change = Origin("form", reference=str(form.id))
        self.lang = visitor_language(form, requested=asked[0], browser=asked[1])

    def language_for(self, profile: Profile) -> str | None:
        """The language of the mails to ``profile``: as the answer's, the profile's language field coming before
        the browser's when the form was not shown in one of its languages."""
        return visitor_language(self.form, requested=self.asked[0], browser=self.asked[1], profile=profile)

    def replay(self) -> SubmissionResult | None:
        """The stored answer of an accepted submission with this idempotency key, if there is one.

        Asked only when this attempt is not accepted as new (rejected, invalid, or its key taken by the
        unique index), so an accepted submission costs no lookup."""
        if self.key is None:
            return None
        row = db.session.scalar(
            select(FormSubmission).where(
                FormSubmission.form_id == self.form.id, FormSubmission.idempotency_key == self.key
            )
        )
        if row is None:
            return None
        response = row.response or {}
        return SubmissionResult(response.get("code", 200), response.get("body", {}), row.id, row.profile_id, True)

    def refused_row(self, status: SubmissionStatus, reason: str, data: dict | None = None) -> FormSubmission | None:
        """A refused attempt's row for the spam log, counted, without what password and sensitive items posted;
        None (no row) beyond the day's sample."""
        if not spam_log.count_refused(self.form.id):
            return None
        secret = sensitive_names(self.form)
        logged = data if data is not None else loggable(self.values)
        return self.row(status, reason, {name: value for name, value in logged.items() if name not in secret})

    def row(self, status: SubmissionStatus, reason: str, data: dict | None = None, **extra) -> FormSubmission:
        row = FormSubmission(
            account_id=self.form.account_id,
            form_id=self.form.id,
            status=status,
            reason=reason,
            data=data if data is not None else loggable(self.values),
            origin=self.origin,
            ip=form_spam.hash_ip(self.ip),
            user_agent=self.agent,
            **extra,
        )
        db.session.add(row)
        return row

    def _finish(self, row: FormSubmission | None, code: int, body: dict) -> SubmissionResult:
        if row is None:
            db.session.commit()
            return SubmissionResult(code, body)
        row.response = {"code": code, "body": body}
        db.session.flush()
        result = SubmissionResult(code, body, row.id, row.profile_id)  # read before the commit expires them
        db.session.commit()
        return result

    def reject(self, reason: str) -> SubmissionResult:
        replay = self.replay()
        if replay is not None:  # a retry of an accepted submission (e.g. its answer was lost on the way)
            return replay
        row = self.refused_row(SubmissionStatus.REJECTED, reason)
        if reason == "honeypot":  # a bot learns nothing
            return self._finish(row, 200, self.ok_body())
        code = {"origin": 403, "rate_limited": 429}.get(reason, 400)
        body: dict[str, Any] = {
            "status": "rate_limited" if reason == "rate_limited" else "rejected",
            "message": rejection_message(reason),
        }
        return self._finish(row, code, body)

    def invalid(self, errors: dict[str, str], data: dict, reason: str = "invalid") -> SubmissionResult:
        db.session.rollback()
        replay = self.replay()
        if replay is not None:  # a retry of an accepted submission, which now fails (e.g. its email is taken)
            return replay
        row = self.refused_row(SubmissionStatus.INVALID, reason, data)
        body = {"status": "invalid", "errors": errors, "message": _("Please correct the marked fields.")}
        return self._finish(row, 422, body)

    def ok_body(self) -> dict[str, Any]:
        settings = self.form.settings or {}
        return {
            "status": "ok",
            "message": form_text(self.form, settings.get("success_message"), self.lang) or _("Thank you!"),
            "redirect": settings.get("redirect_url") or None,
        }


def has_captcha(form: Form) -> bool:
    return any(item.get("type") == "captcha" for item in form.items or [])


def sensitive_names(form: Form) -> set[str]:
    """The posted names that never reach the spam log: password items and items marked sensitive."""
    names: set[str] = set()
    for item in form.items or []:
        if item.get("type") == "password" or item.get("sensitive"):
            name = item_name(item)
            names.update((name, name + REPEAT_SUFFIX))
    return names


def loggable(values: dict[str, Any]) -> dict[str, Any]:
    """What a rejected submission posted, for the spam log: no passwords, no internal fields, bounded."""
    logged = {}
    for name, value in list(values.items())[:100]:
        if name.startswith("_") and name != HONEYPOT or name.endswith("_repeat"):
            continue
        if isinstance(value, list | tuple):
            value = ", ".join(str(part) for part in value)
        text = str(value)
        logged[str(name)[:64]] = text[:500]
    return logged
