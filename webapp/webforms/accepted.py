"""The writes of an accepted web form submission, in one transaction.

The profile is found (key fields, a signed link, a password) or created, the form's behaviour applied (create,
update, unsubscribe; through the event spine with source ``form`` and the form id as reference), a subprofile
written when the form has a collection, uploaded files and a ``form_submitted`` event stored, and everything
committed once.
"""

import hmac
from typing import Any
from urllib.parse import urlencode

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import (
    Account,
    Collection,
    Form,
    FormFile,
    FormSubmission,
    Profile,
    ProfileEvent,
    SubmissionStatus,
)
from webapp.platform.errors import ValidationError
from webapp.profiles import consents, events, links, subprofiles
from webapp.profiles.profiles import apply_update, find_profiles, new_code, new_profile_row
from webapp.profiles.unsubscribe import unsubscribe
from webapp.profiles.values import diff, interests_diff, validate_interests, validate_values
from webapp.webforms import create_statement
from webapp.webforms import opt_in as form_opt_in
from webapp.webforms import spam as form_spam
from webapp.webforms.attempts import Attempt, SubmissionResult, first_value
from webapp.widgets.definition import Bindings, item_name
from webapp.widgets.validation import CleanSubmission

PASSWORD_HASH_PREFIXES = ("scrypt:", "pbkdf2:")


class NoMatch(Exception):
    pass


class LimitReached(Exception):
    pass


class AcceptedWrite:
    """The writes of an accepted submission: find or create the profile, apply the behaviour, store the
    record, files and events, commit once."""

    def __init__(self, attempt: Attempt, account: Account, bound: Bindings, clean: CleanSubmission):
        self.attempt, self.account, self.bound, self.clean = attempt, account, bound, clean
        self.form = attempt.form
        self.origin = attempt.origin_of_change
        self.opt_in = bool(form_opt_in.opt_in_settings(self.form).get("enabled"))
        # What double opt-in holds back until the confirmation: the interests ticked (and, for a profile that
        # signs up again, the values posted), carried in the signed confirm link.
        self.held: dict[str, dict[str, Any]] | None = None

    def run(self) -> SubmissionResult:
        behaviour = self.form.behaviour
        profile = self._known_profile()
        if profile is None and create_statement.one_statement_form(self.form) and not self.clean.files:
            result = self.create_new()
            if result is not None:
                return result
            db.session.rollback()
            replay = self.attempt.replay()
            if replay is not None:  # the idempotency key is taken: this submission was accepted before
                return replay
            # Otherwise the form changed since it was read: write on as usual.
        created = False
        body = self.attempt.ok_body()
        if profile is None and (behaviour == "create" or (behaviour == "update" and self.form.on_no_match == "create")):
            profile, created = self._create(), True
        elif profile is None:
            raise NoMatch(_("We could not find you with these details."))
        else:
            self._check_limit(profile)
        if behaviour in ("create", "update") and not created:
            self._update(profile)
        elif behaviour == "login":
            body["prefill_url"] = _hosted_link(self.form, profile)
            if body["redirect"]:
                body["redirect"] = _with_link(body["redirect"], profile)
        row = self.attempt.row(
            SubmissionStatus.ACCEPTED,
            "",
            self.clean.data,
            profile_id=profile.id,
            consents=self.clean.consents,
            idempotency_key=self.attempt.key,
            response={"code": 200, "body": body},
        )
        self._store_extras(profile, row)
        consents.record_items(
            account_id=self.account.id,
            database_id=profile.database_id,
            profile_id=profile.id,
            source="form",
            reference=str(self.form.id),
            consents=self.clean.consents,
            ip=self.attempt.ip or "",
        )
        if behaviour == "unsubscribe":
            return self._commit_unsubscribe(profile, row, body)
        return self._commit(profile, row, body, created)

    # --- finding the profile -------------------------------------------------------------------------

    def _known_profile(self) -> Profile | None:
        if self.form.behaviour == "create":
            return self._returning_subscriber()
        linked = links.verify_profile_link(
            self.form.account_id, first_value(self.attempt.values, "profile"), first_value(self.attempt.values, "sig")
        )
        if linked is not None and linked.database_id == self.form.database_id and self.form.behaviour != "login":
            return linked
        return self._match_key_fields()

    def _returning_subscriber(self) -> Profile | None:
        """The profile a sign-up ("create") form updates instead of creating one: the one whose key fields (or,
        without key fields, the unique fields the form posts) match, so that signing up again works and
        answers as a first sign-up does, revealing nothing about who is on the list."""
        keys = self.form.key_field_ids or [
            field.id for field in self._profile_layer() if field.unique and field.name in self.clean.profile_values
        ]
        posted = [self.bound.fields.get(key) for key in keys]
        if not keys or any(field is None or field.name not in self.clean.profile_values for field in posted):
            return None
        return self._match_key_fields(keys)

    def _match_key_fields(self, keys: list[int] | None = None) -> Profile | None:
        requirements, missing = {}, {}
        for field_id in keys if keys is not None else self.form.key_field_ids or []:
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
        count = db.session.execute(
            select(func.count())
            .select_from(FormSubmission)
            .where(
                FormSubmission.form_id == self.form.id,
                FormSubmission.profile_id == profile.id,
                FormSubmission.status == SubmissionStatus.ACCEPTED,
            )
        ).scalar_one()
        if count >= limit:
            raise LimitReached

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
        ticked = self.clean.interests
        if self.opt_in:
            self.held, ticked = {"values": {}, "interests": _by_id(ticked)}, {}
        interests = validate_interests(list(self.bound.interests.values()), ticked, [])
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
        written = create_statement.execute_create(
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
                "consent_ip": (attempt.ip or "")[:64],
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
        if self.opt_in:  # a returning subscriber confirms again before anything changes
            self._hold_for_confirmation()
            return
        apply_update(
            self.account,
            profile,
            self._profile_values(new=False),
            self.clean.interests,
            origin=self.origin,
            kind="profile_updated",
        )

    def _hold_for_confirmation(self) -> None:
        by_name = {field.name: field.id for field in self._profile_layer()}
        values = {str(by_name[name]): value for name, value in self.clean.profile_values.items() if name in by_name}
        self.held = {"values": values, "interests": _by_id(self.clean.interests)}

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
        collection = db.session.get_one(Collection, self.form.collection_id)  # the form's collection (foreign key)
        subprofiles.create_in_transaction(
            self.account, profile, collection, self.clean.subprofile_values, origin=self.origin, fields=fields
        )

    def _commit(self, profile: Profile, row: FormSubmission, body: dict, created: bool) -> SubmissionResult:
        # Read what the mails need before the commit expires it (and would reload it).
        row_id, profile_id = row.id, profile.id
        notify = bool((self.form.settings or {}).get("notify_email"))
        lang = self.attempt.language_for(profile) if self.held is not None else None
        db.session.commit()
        if self.held is not None:
            form_opt_in.send_confirmation(self.form, profile, self.held, lang)
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


def _by_id(interests: dict[int, bool]) -> dict[str, bool]:
    return {str(interest_id): on for interest_id, on in interests.items()}


def _item_name_of_field(form: Form, field_id: int) -> str | None:
    for item in form.items or []:
        if item.get("field_id") == field_id and item.get("type") in ("field", "password", "hidden"):
            return item_name(item)
    return None


def errors_by_item(form: Form, bound: Bindings, errors: dict[str, str]) -> dict[str, str]:
    """Errors of the profile write (keyed by field name) re-keyed by the item that posted the field."""
    by_name = {field.name: field.id for field in bound.fields.values()}
    result: dict[str, str] = {}
    for name, message in errors.items():
        item = _item_name_of_field(form, by_name[name]) if name in by_name else None
        result[item or ""] = message if item else f"{result.get('', '')} {message}".strip()
    return result


def _hosted_link(form: Form, profile: Profile) -> str:
    return _with_link(current_app.config["PUBLIC_URL"] + f"/f/{form.key}", profile)


def _with_link(url: str, profile: Profile) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(links.profile_link_query(profile))


def accept(attempt: Attempt, bound: Bindings, clean: CleanSubmission) -> SubmissionResult:
    """The accepted path: find or create the profile and write everything in one transaction.

    The fill-time token is claimed first and given back unless the submission is accepted, so a token lets
    in one submission, and one with errors to correct keeps its token."""
    form = attempt.form
    if not form_spam.claim_token(form.key, attempt.token):
        db.session.rollback()
        return attempt.reject("token")
    result = _write(attempt, bound, clean)
    if result.status != "ok" or result.replayed:
        form_spam.release_token(form.key, attempt.token)
    return result


def _write(attempt: Attempt, bound: Bindings, clean: CleanSubmission) -> SubmissionResult:
    form = attempt.form
    try:
        outcome = AcceptedWrite(attempt, form.account, bound, clean).run()
    except ValidationError as error:
        return attempt.invalid(errors_by_item(form, bound, error.errors), clean.data)
    except NoMatch as problem:
        result = attempt.invalid({"": str(problem)}, clean.data, "no_match")
        if form.behaviour == "unsubscribe":  # say nothing about who is on the list
            return SubmissionResult(200, attempt.ok_body(), result.submission_id)
        return result
    except LimitReached:
        db.session.rollback()
        return attempt.reject("limit_reached")
    except IntegrityError:
        # The idempotency key is taken (``invalid`` replays that submission), or a concurrent writer took
        # a unique value between our check and our write.
        return attempt.invalid({"": _("Another profile already has one of these unique values.")}, clean.data)
    return outcome
