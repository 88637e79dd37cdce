"""What a web form submission does: spam checks, validation, and the profile write, in one transaction.

Every attempt leaves a ``FormSubmission``: *accepted*, *invalid* (validation errors, no profile matching the
key fields) or *rejected* (spam: honeypot, token, too fast, captcha, origin, rate limit; or the per-profile
limit), with its reason — nothing is dropped silently. An accepted submission writes its record, the profile
(created, updated, or unsubscribed; through the event spine with source ``form`` and the form id as
reference), a subprofile when the form has a collection, uploaded files and a ``form_submitted`` event in
one transaction. The answer is stored with it, so a retry with the same idempotency key replays it.
"""

import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import Account, Form, FormFile, FormSubmission, Profile, Subprofile, utcnow
from webapp.services import events, form_opt_in, form_spam, links
from webapp.services.errors import NotFound, ValidationError
from webapp.services.events import Origin
from webapp.services.field_expressions import dialect_name
from webapp.services.profiles import apply_update, find_profiles, new_code
from webapp.services.unsubscribe import unsubscribe
from webapp.services.values import diff, interests_diff, validate_interests, validate_values
from webapp.widgets.definition import CAPTCHA, HONEYPOT, Bindings, bindings, form_definition, item_name, live_items
from webapp.widgets.validation import CleanSubmission, UploadedFile, validate_submission

REJECTION_REASONS = ("honeypot", "token", "too_fast", "captcha", "origin", "rate_limited", "limit_reached")
INVALID_REASONS = ("invalid", "no_match")
PASSWORD_HASH_PREFIXES = ("scrypt:", "pbkdf2:")


@dataclass
class SubmissionResult:
    """The HTTP-shaped answer to a submission (``status_code`` and JSON ``body``) and what it did."""

    status_code: int
    body: dict[str, Any]
    submission_id: int | None = None
    profile_id: int | None = None
    replayed: bool = False

    @property
    def status(self) -> str:
        return self.body["status"]


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


def public_definition(form_key: str, *, profile_id: Any = None, signature: Any = None) -> dict[str, Any]:
    """The form's public definition; with a valid signed profile link, also the values of prefill items."""
    form = get_public_form(form_key)
    bound = bindings(form)
    definition = form_definition(form, bound)
    profile = links.verify_profile_link(form.account_id, profile_id, signature) if profile_id else None
    if profile is not None and profile.database_id == form.database_id:
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


def issue_token(form_key: str, *, now: float | None = None) -> str:
    """A fill-time token for the form; each one counts a view of the form."""
    form = get_public_form(form_key)
    _count(form.id, views=1)
    return form_spam.issue_token(form.key, now=now)


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
    now: float | None = None,
) -> SubmissionResult:
    """Check and apply one submission (``values`` by item name, a list per name or single values)."""
    form = get_public_form(form_key)
    attempt = _Attempt(form, values, files or {}, origin, ip, (idempotency_key or "")[:100] or None, user_agent)
    replay = attempt.replay()
    if replay is not None:
        return replay
    reason = _spam_reason(form, values, origin, elapsed_token, now)
    if reason is not None:
        return attempt.reject(reason)
    bound = bindings(form)
    clean = validate_submission(form, bound, values, files)
    if not clean.valid:
        return attempt.invalid(clean.errors, clean.data)
    return attempt.apply(bound, clean)


def log_rate_limited(form_key: str, values: dict[str, Any], *, origin: str, ip: str, user_agent: str = "") -> None:
    """Log a submission the rate limiter turned away (the door answers 429)."""
    form = get_public_form(form_key)
    _Attempt(form, values, {}, origin, ip, None, user_agent).reject("rate_limited")


def _spam_reason(form: Form, values: dict, origin: str, token: str, now: float | None) -> str | None:
    if not form_spam.origin_allowed(origin, form.allowed_origins):
        return "origin"
    if _first(values, HONEYPOT):
        return "honeypot"
    age = form_spam.token_age(form.key, token, now=now)
    if age is None:
        return "token"
    minimum = 0 if current_app.config["FORM_BENCH_MODE"] else (form.settings or {}).get("min_fill_seconds", 3)
    if age < float(minimum or 0):
        return "too_fast"
    has_captcha = any(item.get("type") == "captcha" for item in form.items or [])
    if has_captcha and not form_spam.captcha_solved(form.key, _first(values, CAPTCHA)):
        return "captcha"
    return None


def _first(values: dict, name: str) -> str:
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


class _Attempt:
    """One submission attempt: writes its log row and builds the answer, whatever the outcome."""

    def __init__(self, form: Form, values: dict, files: dict, origin: str, ip: str, key: str | None, agent: str):
        self.form, self.values, self.files = form, values, files
        self.origin, self.ip, self.key, self.agent = origin[:255], ip, key, (agent or "")[:500]
        self.origin_of_change = Origin("form", reference=str(form.id))

    def replay(self) -> SubmissionResult | None:
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

    def row(self, status: str, reason: str, data: dict | None = None, **extra) -> FormSubmission:
        row = FormSubmission(
            account_id=self.form.account_id,
            form_id=self.form.id,
            status=status,
            reason=reason,
            data=data if data is not None else _loggable(self.values),
            origin=self.origin,
            ip=form_spam.hash_ip(self.ip),
            user_agent=self.agent,
            **extra,
        )
        db.session.add(row)
        return row

    def _finish(self, row: FormSubmission, code: int, body: dict) -> SubmissionResult:
        row.response = {"code": code, "body": body}
        db.session.flush()
        result = SubmissionResult(code, body, row.id, row.profile_id)  # read before the commit expires them
        db.session.commit()
        return result

    def reject(self, reason: str) -> SubmissionResult:
        row = self.row("rejected", reason)
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
        row = self.row("invalid", reason, data)
        body = {"status": "invalid", "errors": errors, "message": _("Please correct the marked fields.")}
        return self._finish(row, 422, body)

    def ok_body(self) -> dict[str, Any]:
        settings = self.form.settings or {}
        return {
            "status": "ok",
            "message": settings.get("success_message") or _("Thank you!"),
            "redirect": settings.get("redirect_url") or None,
        }

    def apply(self, bound: Bindings, clean: CleanSubmission) -> SubmissionResult:
        """The accepted path: find or create the profile and write everything in one transaction."""
        try:
            outcome = _Write(self, self.form.account, bound, clean).run()
        except ValidationError as error:
            return self.invalid(_errors_by_item(self.form, bound, error.errors), clean.data)
        except _NoMatch as problem:
            result = self.invalid({"": str(problem)}, clean.data, "no_match")
            if self.form.behaviour == "unsubscribe":  # say nothing about who is on the list
                return SubmissionResult(200, self.ok_body(), result.submission_id)
            return result
        except _LimitReached:
            db.session.rollback()
            return self.reject("limit_reached")
        except IntegrityError:
            db.session.rollback()
            replay = self.replay()
            if replay is not None:  # the same submission, sent twice at once: the other one won
                return replay
            # A concurrent writer took a unique value between our check and our write.
            return self.invalid({"": _("Another profile already has one of these unique values.")}, clean.data)
        return outcome


class _NoMatch(Exception):
    pass


class _LimitReached(Exception):
    pass


class _Write:
    """The writes of an accepted submission: find or create the profile, apply the behaviour, store the
    record, files and events, commit once."""

    def __init__(self, attempt: _Attempt, account: Account, bound: Bindings, clean: CleanSubmission):
        self.attempt, self.account, self.bound, self.clean = attempt, account, bound, clean
        self.form = attempt.form
        self.origin = attempt.origin_of_change

    def run(self) -> SubmissionResult:
        behaviour = self.form.behaviour
        profile = self._known_profile()
        created = False
        body = self.attempt.ok_body()
        if behaviour == "create" or (profile is None and behaviour == "update" and self.form.on_no_match == "create"):
            profile, created = self._create(), True
        elif profile is None:
            raise _NoMatch(_("We could not find you with these details."))
        else:
            self._check_limit(profile)
        if behaviour == "update" and not created:
            self._update(profile)
        elif behaviour == "login":
            body["prefill_url"] = _hosted_link(self.form, profile)
            if body["redirect"]:
                body["redirect"] = _with_link(body["redirect"], profile)
        row = self.attempt.row(
            "accepted",
            "",
            self.clean.data,
            profile_id=profile.id,
            consents=self.clean.consents,
            idempotency_key=self.attempt.key,
            response={"code": 200, "body": body},
        )
        self._store_extras(profile, row)
        if behaviour == "unsubscribe":
            return self._commit_unsubscribe(profile, row, body)
        return self._commit(profile, row, body, created)

    # --- finding the profile -------------------------------------------------------------------------

    def _known_profile(self) -> Profile | None:
        if self.form.behaviour == "create":
            return None
        linked = links.verify_profile_link(
            self.form.account_id, _first(self.attempt.values, "profile"), _first(self.attempt.values, "sig")
        )
        if linked is not None and linked.database_id == self.form.database_id and self.form.behaviour != "login":
            return linked
        return self._match_key_fields()

    def _match_key_fields(self) -> Profile | None:
        requirements, missing = {}, {}
        for field_id in self.form.key_field_ids or []:
            field = self.bound.fields.get(field_id)
            if field is None:
                continue
            if field.name in self.clean.profile_values:
                requirements[field.name] = self.clean.profile_values[field.name]
            elif field.name not in self.clean.passwords:
                missing[_item_name_of_field(self.form, field_id) or ""] = _("%(label)s is required.", label=field.name)
        if missing:
            raise ValidationError(missing)
        if not requirements:
            return None
        for profile in find_profiles(self.account, self.form.database_id, requirements, limit=20):
            if self._password_matches(profile):
                return profile
        return None

    def _password_matches(self, profile: Profile) -> bool:
        if self.form.behaviour != "login":
            return True
        for name, given in self.clean.passwords.items():
            field = next(f for f in self.bound.fields.values() if f.name == name and f.collection_id is None)
            stored = str(profile.fields.get(field.key) or "")
            if not stored or not _password_equal(stored, given):
                return False
        return True

    def _check_limit(self, profile: Profile) -> None:
        limit = int((self.form.settings or {}).get("max_submissions_per_profile") or 0)
        if not limit:
            return
        count = db.session.scalar(
            select(func.count())
            .select_from(FormSubmission)
            .where(
                FormSubmission.form_id == self.form.id,
                FormSubmission.profile_id == profile.id,
                FormSubmission.status == "accepted",
            )
        )
        if count >= limit:
            raise _LimitReached

    # --- writing ---------------------------------------------------------------------------------------

    def _profile_values(self, *, new: bool) -> dict[str, Any]:
        values = dict(self.clean.profile_values)
        values.update({name: generate_password_hash(password) for name, password in self.clean.passwords.items()})
        opt_in = form_opt_in.opt_in_settings(self.form)
        if new and opt_in.get("enabled"):
            values.update(form_opt_in.values_by_name(self.form, opt_in.get("unconfirmed_values") or {}))
        return values

    def _create(self) -> Profile:
        fields = [field for field in self.bound.fields.values() if field.collection_id is None]
        fields.sort(key=lambda field: (field.position, field.id))
        stored = validate_values(self.account, fields, self._profile_values(new=True), None)
        database = self.form.database_id
        interests = validate_interests(list(self.bound.interests.values()), self.clean.interests, [])
        profile = Profile(
            account_id=self.account.id, database_id=database, code=new_code(), fields=stored, interests=interests
        )
        db.session.add(profile)
        db.session.flush()
        events.record(
            "profile_created",
            self.origin,
            profile=profile,
            changes={"fields": diff({}, stored), "interests": interests_diff([], interests)},
        )
        return profile

    def _update(self, profile: Profile) -> None:
        apply_update(
            self.account,
            profile,
            self._profile_values(new=False),
            self.clean.interests,
            origin=self.origin,
            kind="profile_updated",
        )

    def _store_extras(self, profile: Profile, row: FormSubmission) -> None:
        db.session.flush()
        if self.form.collection_id and self.form.behaviour != "unsubscribe":
            self._create_subprofile(profile)
        for item, upload in self.clean.files:
            db.session.add(
                FormFile(
                    account_id=self.account.id,
                    form_id=self.form.id,
                    profile_id=profile.id,
                    submission_id=row.id,
                    item_id=item["id"],
                    filename=upload.filename[:255],
                    content_type=(upload.content_type or "")[:255],
                    size=len(upload.data),
                    data=upload.data,
                )
            )
        events.record(
            "form_submitted", self.origin, profile=profile, changes={"form": {"id": self.form.id, "submission": row.id}}
        )

    def _create_subprofile(self, profile: Profile) -> None:
        fields = [field for field in self.bound.fields.values() if field.collection_id == self.form.collection_id]
        stored = validate_values(self.account, fields, self.clean.subprofile_values, None)
        subprofile = Subprofile(
            account_id=self.account.id,
            database_id=profile.database_id,
            collection_id=self.form.collection_id,
            profile_id=profile.id,
            code=new_code(),
            fields=stored,
        )
        db.session.add(subprofile)
        db.session.flush()
        events.record(
            "subprofile_created",
            self.origin,
            profile=profile,
            subprofile=subprofile,
            changes={"fields": diff({}, stored)},
        )

    def _commit(self, profile: Profile, row: FormSubmission, body: dict, created: bool) -> SubmissionResult:
        # Read what the mails need before the commit expires it (and would reload it).
        row_id, profile_id, form_id = row.id, profile.id, self.form.id
        opt_in = created and form_opt_in.opt_in_settings(self.form).get("enabled")
        notify = bool((self.form.settings or {}).get("notify_email"))
        db.session.commit()
        _count(form_id, submissions=1)
        if opt_in:
            form_opt_in.send_confirmation(self.form, profile)
        if notify:
            form_opt_in.send_notification(self.form, row_id, profile_id, self.clean.data)
        return SubmissionResult(200, body, row_id, profile_id)

    def _commit_unsubscribe(self, profile: Profile, row: FormSubmission, body: dict) -> SubmissionResult:
        row_id, profile_id, form_id = row.id, profile.id, self.form.id
        unsubscribe(self.account, profile.id, origin=self.origin)  # commits everything
        _count(form_id, submissions=1)
        form_opt_in.send_notification(self.form, row_id, profile_id, self.clean.data)
        return SubmissionResult(200, body, row_id, profile_id)


def _password_equal(stored: str, given: str) -> bool:
    if stored.startswith(PASSWORD_HASH_PREFIXES):
        return check_password_hash(stored, given)
    return hmac.compare_digest(stored.encode(), given.encode())


def _item_name_of_field(form: Form, field_id: int) -> str | None:
    for item in form.items or []:
        if item.get("field_id") == field_id and item.get("type") in ("field", "password", "hidden"):
            return item_name(item)
    return None


def _errors_by_item(form: Form, bound: Bindings, errors: dict[str, str]) -> dict[str, str]:
    """Errors of the profile write (keyed by field name) re-keyed by the item that posted the field."""
    by_name = {field.name: field.id for field in bound.fields.values()}
    result = {}
    for name, message in errors.items():
        item = _item_name_of_field(form, by_name[name]) if name in by_name else None
        result[item or ""] = message if item else f"{result.get('', '')} {message}".strip()
    return result


def _loggable(values: dict[str, Any]) -> dict[str, Any]:
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


def _hosted_link(form: Form, profile: Profile) -> str:
    return _with_link(current_app.config["PUBLIC_URL"] + f"/f/{form.key}", profile)


def _with_link(url: str, profile: Profile) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(links.profile_link_query(profile))


COUNT_SQL = (
    "INSERT INTO form_day_stat (form_id, day, views, submissions) VALUES (:form_id, :day, :views, :submissions) "
    "ON CONFLICT (form_id, day) DO UPDATE SET views = form_day_stat.views + excluded.views, "
    "submissions = form_day_stat.submissions + excluded.submissions"
)


def _count(form_id: int, *, views: int = 0, submissions: int = 0) -> None:
    """Add to today's views/submissions of a form, in a short transaction of its own after the caller's.

    Every submission and view of a form touches this one row: inside the submission's transaction its lock
    would be held through each commit's disk flush and queue all submissions behind each other. Here the
    commit does not wait for the disk (PostgreSQL ``synchronous_commit`` off, this transaction only), so the
    lock is held for microseconds; a crash may lose the last moment's counts, never a submission.
    """
    values = {"form_id": form_id, "day": utcnow().date(), "views": views, "submissions": submissions}
    prefix = "SET LOCAL synchronous_commit TO OFF; " if dialect_name() == "postgresql" else ""
    db.session.execute(text(prefix + COUNT_SQL), values)
    db.session.commit()
