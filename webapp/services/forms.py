"""What a web form submission does: spam checks, validation, and the profile write, in one transaction.

Every attempt leaves a ``FormSubmission``: *accepted*, *invalid* (validation errors, no profile matching the
key fields) or *rejected* (spam: honeypot, token, too fast, captcha, origin, rate limit; or the per-profile
limit), with its reason — nothing is dropped silently. An accepted submission writes its record, the profile
(created, updated, or unsubscribed; through the event spine with source ``form`` and the form id as
reference), a subprofile when the form has a collection, uploaded files and a ``form_submitted`` event in
one transaction. The answer is stored with it, so a retry with the same idempotency key replays it.
"""

import hmac
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import JSON, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import (
    Account,
    Collection,
    Database,
    Form,
    FormFile,
    FormSubmission,
    Profile,
    ProfileEvent,
    utcnow,
)
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import events, links, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.field_expressions import dialect_name
from webapp.profiles.profiles import apply_update, find_profiles, new_code, new_profile_row
from webapp.profiles.unsubscribe import unsubscribe
from webapp.profiles.values import diff, interests_diff, validate_interests, validate_values
from webapp.services import form_opt_in, form_spam
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
    # The form's allowed origins (for CORS), as read before the commit expired the form.
    allowed_origins: list[str] = field(default_factory=list)

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
    _count_view(form.id)
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
    key = (idempotency_key or "")[:100] or None
    result = _submit_common_case(form_key, values, files, origin, ip, key, elapsed_token, user_agent, now)
    if result is not None:
        return result
    form = get_public_form(form_key)
    _forget_if_outdated(form)
    origins = list(form.allowed_origins or [])
    attempt = _Attempt(form, values, files or {}, origin, ip, key, user_agent)
    reason = _spam_reason(form, values, origin, elapsed_token, now)
    if reason is not None:
        result = attempt.reject(reason)
    else:
        bound = bindings(form)
        clean = validate_submission(form, bound, values, files)
        result = attempt.invalid(clean.errors, clean.data) if not clean.valid else attempt.apply(bound, clean)
    result.allowed_origins = origins
    return result


# Recently submitted forms, by key: detached copies (with account and database) kept per process, so the common
# case needs no query for its form. A copy may be outdated: the write checks it (see ``CREATE_SQL_TEXT``), and any
# other outcome than that write (spam, errors, another behaviour) is decided on the form as stored.
_recent_forms: dict[str, Form] = {}
RECENT_FORMS_MAX = 1000


def _submit_common_case(
    form_key: str,
    values: dict,
    files: dict | None,
    origin: str,
    ip: str,
    key: str | None,
    token: str,
    agent: str,
    now: float | None,
) -> SubmissionResult | None:
    """The common case on the recent copy of the form: a new profile, accepted, in one statement. None when
    the submission is anything else or the copy turns out outdated (nothing is written then)."""
    if files or dialect_name() != "postgresql":
        return None
    form = _recent_form(form_key)
    if form is None or not _one_statement_form(form) or _has_captcha(form):  # a captcha is checked once only
        return None
    if _spam_reason(form, values, origin, token, now) is not None:
        return None
    bound = bindings(form)
    clean = validate_submission(form, bound, values)
    if not clean.valid:
        return None
    # The event subscribers look the database up: a copy in the session spares them the query (the session
    # holds it weakly, so keep a reference until the write is done).
    database = db.session.identity_map.get(db.session.identity_key(Database, form.database_id))
    database = database or db.session.merge(form.database, load=False)
    try:
        result = _Write(_Attempt(form, values, {}, origin, ip, key, agent), form.account, bound, clean).create_new()
    except (ValidationError, IntegrityError):
        result = None
    del database
    if result is None:
        db.session.rollback()
        _recent_forms.pop(form_key, None)
        return None
    result.allowed_origins = list(form.allowed_origins or [])
    return result


def _recent_form(form_key: str) -> Form | None:
    form = _recent_forms.get(form_key)
    if form is None and form_key and len(form_key) <= 32:
        with Session(db.engine) as session:  # its own session: closing it detaches the loaded copy
            form = session.scalar(select(Form).where(Form.key == form_key))
        if form is not None:
            if len(_recent_forms) >= RECENT_FORMS_MAX:
                _recent_forms.clear()
            _recent_forms[form_key] = form
    return form


def _forget_if_outdated(form: Form) -> None:
    recent = _recent_forms.get(form.key)
    if recent is not None and _version(recent) != _version(form):
        _recent_forms.pop(form.key, None)


def _version(form: Form) -> tuple[int, int, int]:
    return form.id, form.revision, form.database.config_version


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
    if _has_captcha(form) and not form_spam.captcha_solved(form.key, _first(values, CAPTCHA)):
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
        replay = self.replay()
        if replay is not None:  # a retry of an accepted submission (e.g. its answer was lost on the way)
            return replay
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
        replay = self.replay()
        if replay is not None:  # a retry of an accepted submission, which now fails (e.g. its email is taken)
            return replay
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
            # The idempotency key is taken (``invalid`` replays that submission), or a concurrent writer took
            # a unique value between our check and our write.
            return self.invalid({"": _("Another profile already has one of these unique values.")}, clean.data)
        return outcome


class _NoMatch(Exception):
    pass


class _LimitReached(Exception):
    pass


# The writes of the common case, a new profile from a "create" form, in one round trip: the submission record,
# the profile under an id drawn for it, and its ``profile_created`` and ``form_submitted`` events, in order.
# Nothing is written and no row comes back when the idempotency key is taken (the unique index decides), or
# when the form's revision or its database's configuration version is no longer the one validated against.
CREATE_SQL_TEXT = """
WITH submission AS (
    INSERT INTO form_submission (account_id, form_id, profile_id, status, reason, data, consents, origin, ip,
                                 user_agent, idempotency_key, response, created_at)
    SELECT :account_id, :form_id, nextval(pg_get_serial_sequence('profile', 'id')), 'accepted', '', :data,
           :consents, :origin, :ip, :user_agent, :idempotency_key, :response, :created_at
    FROM form JOIN database ON database.id = form.database_id
    WHERE form.id = :form_id AND form.revision = :revision AND database.config_version = :config_version
    ON CONFLICT (form_id, idempotency_key) DO NOTHING
    RETURNING id, profile_id
), profile AS (
    INSERT INTO profile (id, account_id, database_id, code, fields, interests, created_at, updated_at)
    SELECT profile_id, :account_id, :database_id, :code, :fields, :interests, :created_at, :updated_at
    FROM submission
), event AS (
    INSERT INTO profile_event (account_id, database_id, profile_id, kind, source, actor, reference, changes,
                               created_at)
    SELECT :account_id, :database_id, submission.profile_id, written.kind, :source, :actor, :reference,
           coalesce(written.changes, json_build_object('form', json_build_object('id', :form_id,
                                                                                 'submission', submission.id))),
           :created_at
    FROM submission,
         (VALUES (1, 'profile_created', CAST(:created_changes AS json)), (2, 'form_submitted', NULL)) AS
             written (position, kind, changes)
    ORDER BY written.position
    RETURNING id, kind
)
SELECT submission.id AS submission_id, submission.profile_id, event.id AS event_id, event.kind
FROM submission, event
"""
# Its parameters and their types: it is prepared once per database connection, so PostgreSQL parses and plans
# it once rather than on every submission.
CREATE_PARAMETERS = {
    "account_id": "integer",
    "form_id": "integer",
    "revision": "integer",
    "config_version": "integer",
    "database_id": "integer",
    "code": "text",
    "fields": "jsonb",
    "interests": "jsonb",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "data": "jsonb",
    "consents": "jsonb",
    "origin": "text",
    "ip": "text",
    "user_agent": "text",
    "idempotency_key": "text",
    "response": "jsonb",
    "created_changes": "json",
    "source": "text",
    "actor": "text",
    "reference": "text",
}
_NUMBERS = {name: number for number, name in enumerate(CREATE_PARAMETERS, start=1)}
PREPARE_CREATE = "PREPARE verrijk_form_create ({}) AS {}".format(
    ", ".join(CREATE_PARAMETERS.values()),
    re.sub(r"(?<![:\w]):(\w+)", lambda match: f"${_NUMBERS[match.group(1)]}", CREATE_SQL_TEXT),
)
CREATE_SQL = text(f"EXECUTE verrijk_form_create ({', '.join(f':{name}' for name in CREATE_PARAMETERS)})").bindparams(
    *(
        bindparam(name, type_=JSON if kind == "json" else JSONB)
        for name, kind in CREATE_PARAMETERS.items()
        if kind in ("json", "jsonb")
    )
)


def _execute_create(values: dict[str, Any]) -> list:
    """Run ``CREATE_SQL_TEXT`` in the session's transaction, preparing it first on a new connection."""
    connection = db.session.connection()
    known = connection.connection.info  # lives as long as the database connection
    if not known.get("verrijk_form_create"):
        connection.exec_driver_sql(PREPARE_CREATE)
        known["verrijk_form_create"] = True
    return db.session.execute(CREATE_SQL, values).all()


def _one_statement_form(form: Form) -> bool:
    """Whether the form's submissions are the common case ``CREATE_SQL_TEXT`` writes (when they bring no files): a
    new profile, no subprofile, no double opt-in (its mail needs the profile), on PostgreSQL."""
    return (
        form.behaviour == "create"
        and not form.collection_id
        and not form_opt_in.opt_in_settings(form).get("enabled")
        and dialect_name() == "postgresql"
    )


def _has_captcha(form: Form) -> bool:
    return any(item.get("type") == "captcha" for item in form.items or [])


class _Write:
    """The writes of an accepted submission: find or create the profile, apply the behaviour, store the
    record, files and events, commit once."""

    def __init__(self, attempt: _Attempt, account: Account, bound: Bindings, clean: CleanSubmission):
        self.attempt, self.account, self.bound, self.clean = attempt, account, bound, clean
        self.form = attempt.form
        self.origin = attempt.origin_of_change

    def run(self) -> SubmissionResult:
        if _one_statement_form(self.form) and not self.clean.files:
            result = self.create_new()
            if result is not None:
                return result
            db.session.rollback()
            replay = self.attempt.replay()
            if replay is not None:  # the idempotency key is taken: this submission was accepted before
                return replay
            # Otherwise the form changed since it was read: write on as usual.
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

    def _profile_layer(self) -> list:
        fields = [field for field in self.bound.fields.values() if field.collection_id is None]
        return sorted(fields, key=lambda field: (field.position, field.id))

    def _create(self) -> Profile:
        stored = validate_values(self.account, self._profile_layer(), self._profile_values(new=True), None)
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

    def create_new(self) -> SubmissionResult | None:
        """The common case (a new profile, nothing else), written in one round trip: see ``CREATE_SQL_TEXT``. None
        when nothing was written: the idempotency key is taken, or the form is not the one read."""
        form, attempt = self.form, self.attempt
        profile, created_changes = new_profile_row(
            self.account,
            form.database_id,
            self._profile_layer(),
            self.bound.interests.values(),
            self._profile_values(new=True),
            self.clean.interests,
        )
        body = attempt.ok_body()
        now = profile["created_at"]
        origin = self.origin
        written = _execute_create(
            {
                **profile,
                "form_id": form.id,
                "revision": form.revision,
                "config_version": form.database.config_version,
                "data": self.clean.data,
                "consents": self.clean.consents,
                "origin": attempt.origin,
                "ip": form_spam.hash_ip(attempt.ip),
                "user_agent": attempt.agent,
                "idempotency_key": attempt.key,
                "response": {"code": 200, "body": body},
                "created_changes": created_changes,
                "source": origin.source,
                "actor": origin.actor,
                "reference": origin.reference,
            }
        )
        if not written:
            return None
        submission_id, profile_id = written[0].submission_id, written[0].profile_id
        events.note_written(
            [
                ProfileEvent(
                    id=row.event_id,
                    account_id=form.account_id,
                    database_id=form.database_id,
                    profile_id=profile_id,
                    kind=row.kind,
                    source=origin.source,
                    actor=origin.actor,
                    reference=origin.reference,
                    changes=created_changes
                    if row.kind == "profile_created"
                    else {"form": {"id": form.id, "submission": submission_id}},
                    created_at=now,
                )
                for row in sorted(written, key=lambda row: row.event_id)
            ]
        )
        notify = bool((form.settings or {}).get("notify_email"))
        db.session.commit()
        if notify:
            form_opt_in.send_notification(form, submission_id, profile_id, self.clean.data)
        return SubmissionResult(200, body, submission_id, profile_id)

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
        collection = db.session.get(Collection, self.form.collection_id)
        subprofiles.create_in_transaction(
            self.account, profile, collection, self.clean.subprofile_values, origin=self.origin, fields=fields
        )

    def _commit(self, profile: Profile, row: FormSubmission, body: dict, created: bool) -> SubmissionResult:
        # Read what the mails need before the commit expires it (and would reload it).
        row_id, profile_id = row.id, profile.id
        opt_in = created and form_opt_in.opt_in_settings(self.form).get("enabled")
        notify = bool((self.form.settings or {}).get("notify_email"))
        db.session.commit()
        if opt_in:
            form_opt_in.send_confirmation(self.form, profile)
        if notify:
            form_opt_in.send_notification(self.form, row_id, profile_id, self.clean.data)
        return SubmissionResult(200, body, row_id, profile_id)

    def _commit_unsubscribe(self, profile: Profile, row: FormSubmission, body: dict) -> SubmissionResult:
        row_id, profile_id = row.id, profile.id
        unsubscribe(self.account, profile.id, origin=self.origin)  # commits everything
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
