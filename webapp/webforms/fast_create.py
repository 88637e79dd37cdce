"""The fast path of a web form submission: the common case on a per-process copy of the form, without a query for it.

A recent copy of each submitted form (with account and database) is kept per process. A copy may be outdated:
the one-statement write checks it (``create_statement``), and any other outcome than that write (spam, errors,
another behaviour) is decided on the form as stored, without validating the submission a second time when the
copy was current.
"""

from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import (
    Database,
    Form,
)
from webapp.platform.errors import ValidationError
from webapp.profiles.field_expressions import dialect_name
from webapp.webforms import create_statement
from webapp.webforms import spam as form_spam
from webapp.webforms.accepted import AcceptedWrite
from webapp.webforms.attempts import Attempt, SubmissionResult, has_captcha, spam_reason
from webapp.widgets.definition import Bindings, bindings
from webapp.widgets.languages import in_language
from webapp.widgets.validation import CleanSubmission, validate_submission


@dataclass(frozen=True)
class Validated:
    """A submission validated against the copy of the form whose ``version`` it names."""

    version: tuple[int, int, int]
    clean: CleanSubmission


# Recently submitted forms, by key: detached copies (with account and database) kept per process, so the common
# case needs no query for its form. A copy may be outdated: the write checks it (see ``CREATE_SQL_TEXT``), and any
# other outcome than that write (spam, errors, another behaviour) is decided on the form as stored.
_recent_forms: dict[str, Form] = {}


RECENT_FORMS_MAX = 1000


def submit_common_case(
    form_key: str,
    values: dict,
    files: dict | None,
    origin: str,
    ip: str,
    key: str | None,
    token: str,
    agent: str,
    now: float | None,
    asked: tuple[str, tuple[str, ...]] = ("", ()),
) -> SubmissionResult | Validated | None:
    """The common case on the recent copy of the form: a new profile, accepted, in one statement.

    Nothing is written when the submission is anything else or the copy turns out outdated. Then the answer is
    ``Validated`` when the submission was validated against the copy (the caller reuses it if the stored form
    is of the same version), else None. ``asked``: the languages asked for (``Attempt``)."""
    if files or dialect_name() != "postgresql":
        return None
    form = _recent_form(form_key)
    # A captcha is checked once only: forms with one take the general path.
    if form is None or not create_statement.one_statement_form(form) or has_captcha(form):
        return None
    if spam_reason(form, values, origin, token, now) is not None:
        return None
    bound = bindings(form)
    attempt = Attempt(form, values, {}, origin, ip, key, agent, token, asked)
    with in_language(attempt.lang) if attempt.lang else nullcontext():
        return _write_common_case(attempt, bound)


def _write_common_case(attempt: Attempt, bound: Bindings) -> SubmissionResult | Validated:
    form, token = attempt.form, attempt.token
    clean = validate_submission(form, bound, attempt.values, None, attempt.lang)
    if not clean.valid:
        return Validated(version_of(form), clean)
    # The event subscribers look the database up: a copy in the session spares them the query (the session
    # holds it weakly, so keep a reference until the write is done).
    database = db.session.identity_map.get(db.session.identity_key(Database, form.database_id))
    database = database or db.session.merge(form.database, load=False)
    if not form_spam.claim_token(form.key, token):  # used meanwhile: the general path says so
        return Validated(version_of(form), clean)
    try:
        result = AcceptedWrite(attempt, form.account, bound, clean).create_new()
    except (ValidationError, IntegrityError):
        result = None
    del database
    if result is None:
        form_spam.release_token(form.key, token)
        db.session.rollback()
        _recent_forms.pop(form.key, None)
        return Validated(version_of(form), clean)
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


def forget_if_outdated(form: Form) -> None:
    recent = _recent_forms.get(form.key)
    if recent is not None and version_of(recent) != version_of(form):
        _recent_forms.pop(form.key, None)


def version_of(form: Form) -> tuple[int, int, int]:
    return form.id, form.revision, form.database.config_version
