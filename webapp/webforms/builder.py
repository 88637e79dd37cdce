"""The admin side of web forms: create, change and delete forms and their settings (their items: ``items``).

Every change is validated here, whatever door it comes through, and raises ``Form.revision`` (the public
definition's ETag) in the same transaction. What a submission does is ``submissions``' work.

Texts a marketer writes (button, messages, the confirmation mail; and the items') are a string or a map by
language (``widgets/languages.py``); ``languages`` says which the form offers, its default first.

Allowed origins are exact origins (``scheme://host[:port]``): no wildcards, so a form embedded on a new site
needs that site's origin added. Text blocks are sanitised with an allow-list (nh3) when they are saved.
"""

import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import (
    FORM_BEHAVIOURS,
    Account,
    Collection,
    Database,
    Field,
    Form,
    FormSubmission,
    SubmissionStatus,
    utcnow,
)
from webapp.platform.errors import NotFound, ValidationError
from webapp.platform.tenancy import MAX_ID, owned
from webapp.profiles import values as profile_values
from webapp.profiles.databases import SUBSCRIBED, collection_of, get_database, subscription_field
from webapp.profiles.field_types import FieldValueError, coerce
from webapp.widgets.definition import ITEM_TEXTS, SETTING_TEXTS
from webapp.widgets.languages import LANGUAGES, localized

BEHAVIOURS = FORM_BEHAVIOURS
ON_NO_MATCH = ("create", "reject")
MAX_ORIGINS = 50
MAX_SUBMISSIONS_PER_PROFILE = 1000
MAX_MIN_FILL_SECONDS = 600
MAX_LINK_TTL_HOURS = 24 * 30
DEFAULT_LINK_TTL_HOURS = 48
OPT_IN_TEXTS = ("email_subject", "email_text")


DEFAULT_SETTINGS: dict[str, Any] = {
    "submit_label": "",
    "success_message": "",
    "redirect_url": "",
    "max_submissions_per_profile": 0,
    "min_fill_seconds": 3,
    "notify_email": "",
    "double_opt_in": {
        "enabled": False,
        "unconfirmed_values": {},
        "confirmed_values": {},
        "email_subject": "",
        "email_text": "",
        "link_ttl_hours": DEFAULT_LINK_TTL_HOURS,
    },
}


def behaviour_labels() -> dict[str, str]:
    return {
        "create": _l("Create a new profile"),
        "update": _l("Update the profile found by the key fields"),
        "login": _l("Log in as the profile found by the key fields"),
        "unsubscribe": _l("Unsubscribe the profile found by the key fields"),
    }


# --- forms ---------------------------------------------------------------------------------------


def get_form(account: Account, form_id: int) -> Form:
    return owned(Form, account, form_id, _("Form not found."))


def form_for_update(account: Account, form_id: int) -> Form:
    """The form, fresh from the database and locked until the commit: two editors saving at once cannot
    lose each other's change to the items list."""
    form = None
    if 0 < form_id <= MAX_ID:
        form = db.session.scalar(
            select(Form)
            .where(Form.id == form_id, Form.account_id == account.id)
            .with_for_update(of=Form)
            .execution_options(populate_existing=True)
        )
    if form is None:
        raise NotFound(_("Form not found."))
    return form


def list_forms(account: Account, database_id: int | None = None) -> list[tuple[Form, int]]:
    """The account's forms (of one database when given) by name, each with its number of accepted submissions."""
    accepted = (
        select(FormSubmission.form_id, func.count().label("count"))
        .where(FormSubmission.account_id == account.id, FormSubmission.status == SubmissionStatus.ACCEPTED)
        .group_by(FormSubmission.form_id)
        .subquery()
    )
    query = (
        select(Form, func.coalesce(accepted.c.count, 0))
        .outerjoin(accepted, accepted.c.form_id == Form.id)
        .where(Form.account_id == account.id)
        .order_by(func.lower(Form.name), Form.id)
    )
    if database_id is not None:
        query = query.where(Form.database_id == get_database(account, database_id).id)
    return [(form, count) for form, count in db.session.execute(query)]


def create_form(account: Account, database_id: int, *, name: str, collection_id: int | None = None) -> Form:
    """A new form that creates profiles; its items and settings are added in the builder.

    When the database has a subscription field (``profiles.databases.subscription_field``), the form starts
    with it as an invisible item set to ``subscribed``: signing up (again) subscribes, as an unsubscribe does
    the opposite."""
    database = get_database(account, database_id)
    errors: dict[str, str] = {}
    name = _checked_name(name, errors)
    collection = _checked_collection(account, database, collection_id, errors)
    if errors:
        raise ValidationError(errors)
    form = Form(
        account_id=account.id,
        database_id=database.id,
        collection_id=collection.id if collection else None,
        name=name,
        behaviour="create",
        on_no_match="create",
        key_field_ids=[],
        allowed_origins=[],
        items=_starting_items(database),
        settings=default_settings(),
        revision=1,
    )
    db.session.add(form)
    db.session.commit()
    return form


def _starting_items(database: Database) -> list[dict[str, Any]]:
    field = subscription_field(database)
    if field is None:
        return []
    return [{"id": secrets.token_hex(4), "type": "hidden", "field_id": field.id, "default": SUBSCRIBED}]


def delete_form(account: Account, form_id: int) -> None:
    """Remove a form with its submissions, files and statistics (the database cascades them)."""
    form = get_form(account, form_id)
    db.session.delete(form)
    db.session.commit()


def default_settings() -> dict[str, Any]:
    settings = dict(DEFAULT_SETTINGS)
    settings["double_opt_in"] = dict(DEFAULT_SETTINGS["double_opt_in"])
    return settings


def settings_of(form: Form) -> dict[str, Any]:
    """The form's settings with defaults for anything missing. A field removed since they were saved is left out
    (of the double opt-in values and as the language field): removing a field takes it out of every form's
    settings (``field_references``), and settings saved before it did are read as if it had."""
    settings = default_settings()
    settings.update(form.settings or {})
    settings["double_opt_in"] = {**DEFAULT_SETTINGS["double_opt_in"], **(settings.get("double_opt_in") or {})}
    ids = _field_ids(form)
    return without_fields(settings, lambda field_id: field_id not in ids)


def key_fields_of(form: Form) -> list[int]:
    """The form's key fields that still exist (a removed field is no key: ``settings_of``)."""
    ids = _field_ids(form)
    return [field_id for field_id in form.key_field_ids or [] if field_id in ids]


def without_fields(settings: dict[str, Any], gone: Callable[[int], bool]) -> dict[str, Any]:
    """``settings`` (as stored, or ``settings_of``'s) without the fields for whose id ``gone(id)`` holds: out of
    the double opt-in values, and no longer the language field."""
    result = dict(settings)
    opt_in = result.get("double_opt_in")
    if isinstance(opt_in, dict):
        opt_in = dict(opt_in)
        for name in ("unconfirmed_values", "confirmed_values"):
            if isinstance(opt_in.get(name), dict):
                opt_in[name] = {key: value for key, value in opt_in[name].items() if not gone(_as_id(key))}
        result["double_opt_in"] = opt_in
    if result.get("language_field_id") and gone(_as_id(result["language_field_id"])):
        result["language_field_id"] = None
    return result


def _as_id(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _field_ids(form: Form) -> set[int]:
    """The ids of the fields of the form's database (its profile layer: what settings may name)."""
    query = select(Field.id).where(Field.database_id == form.database_id, Field.collection_id.is_(None))
    return set(db.session.scalars(query))


def mark_changed(form: Form) -> None:
    """Every change: a new revision (the public ETag) in the transaction of the change."""
    form.revision = (form.revision or 0) + 1
    form.updated_at = utcnow()


def _checked_name(name: str, errors: dict[str, str]) -> str:
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = _("Give the form a name.")
    elif len(name) > 100:
        errors["name"] = _("Use at most %(count)s characters.", count=100)
    return name


def _checked_collection(account: Account, database: Database, collection_id, errors) -> Collection | None:
    if not collection_id:
        return None
    collection = collection_of(account, database, collection_id)
    if collection is None:
        errors["collection_id"] = _("Choose a collection of this database.")
    return collection


# --- settings ------------------------------------------------------------------------------------


def update_settings(
    account: Account,
    form_id: int,
    *,
    name: str,
    collection_id: int | None = None,
    behaviour: str = "create",
    key_field_ids: list[int] | None = None,
    on_no_match: str = "create",
    allowed_origins: Sequence[str] | str = (),
    submit_label: str = "",
    success_message: str = "",
    redirect_url: str = "",
    max_submissions_per_profile: int | str = 0,
    min_fill_seconds: int | str = 3,
    notify_email: str = "",
    double_opt_in: dict[str, Any] | None = None,
    languages: Sequence[str] | None = None,
    language_field_id: int | None = None,
) -> Form:
    """Save what a form does on submit and where it may be embedded; every value is checked first.

    ``double_opt_in``: ``enabled``, ``unconfirmed_values`` and ``confirmed_values`` (``{field name or id:
    value}``, checked like any profile write), ``email_subject``, ``email_text``, ``link_ttl_hours``. Texts are
    strings or maps by language. ``languages``: the form's (of nl, en, fr, de; the default first; empty: none
    declared; None: as they are); ``language_field_id``: a profile field holding a visitor's language.
    """
    form = form_for_update(account, form_id)
    database = get_database(account, form.database_id)
    errors: dict[str, str] = {}
    name = _checked_name(name, errors)
    collection = _checked_collection(account, database, collection_id, errors)
    behaviour = (behaviour or "").strip().lower()
    if behaviour not in BEHAVIOURS:
        errors["behaviour"] = _("Choose what the form does on submit.")
    on_no_match = (on_no_match or "").strip().lower()
    if on_no_match not in ON_NO_MATCH:
        errors["on_no_match"] = _("Choose to create a profile or to reject the submission.")
    keys = _checked_key_fields(database, key_field_ids, behaviour, errors)
    origins = _checked_origins(allowed_origins, errors)
    settings: dict[str, Any] = {
        "submit_label": checked_texts(submit_label, "submit_label", 100, errors),
        "success_message": checked_texts(success_message, "success_message", 2000, errors),
        "redirect_url": _checked_redirect(redirect_url, errors),
        "max_submissions_per_profile": _checked_number(
            max_submissions_per_profile, "max_submissions_per_profile", 0, MAX_SUBMISSIONS_PER_PROFILE, errors
        ),
        "min_fill_seconds": _checked_number(min_fill_seconds, "min_fill_seconds", 0, MAX_MIN_FILL_SECONDS, errors),
        "notify_email": _checked_email(notify_email, "notify_email", errors),
        "double_opt_in": _checked_double_opt_in(account, database, double_opt_in or {}, errors),
    }
    stored = (form.settings or {}).get("languages") or []
    settings["languages"] = _checked_languages(stored if languages is None else languages, errors)
    if settings["languages"]:
        settings["language_field_id"] = _checked_language_field(database, language_field_id, errors)
        before = settings_of(form)
        texts = [(name, settings[name], before[name]) for name in SETTING_TEXTS]
        texts += [(name, settings["double_opt_in"][name], before["double_opt_in"][name]) for name in OPT_IN_TEXTS]
        check_text_languages(texts, settings["languages"], errors, had=stored)
    if errors:
        raise ValidationError(errors)
    form.name, form.collection_id, form.behaviour, form.on_no_match = (
        name,
        collection.id if collection else None,
        behaviour,
        on_no_match,
    )
    if stored and not settings["languages"]:
        settings, form.items = _in_one_language(settings, form.items or [], stored[0])
    form.key_field_ids, form.allowed_origins, form.settings = keys, origins, settings
    mark_changed(form)
    db.session.commit()
    return form


def _in_one_language(settings: dict[str, Any], items: list[dict], lang: str) -> tuple[dict[str, Any], list[dict]]:
    """A form's settings and items with every text in ``lang`` only, as plain strings: the form no longer has
    languages, and ``lang`` was its default."""

    def plain(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        return {**values, **{name: localized(values[name], lang, lang) for name in names if name in values}}

    settings = plain(settings, SETTING_TEXTS)
    settings["double_opt_in"] = plain(settings["double_opt_in"], OPT_IN_TEXTS)
    return settings, [plain(item, ITEM_TEXTS) for item in items]


def _checked_key_fields(database: Database, ids, behaviour: str, errors: dict[str, str]) -> list[int]:
    by_id = {field.id: field for field in database.fields}
    keys: list[int] = []
    for value in ids or []:
        try:
            field_id = int(value)
        except (TypeError, ValueError):
            field_id = 0
        if field_id not in by_id:
            errors["key_field_ids"] = _("Key fields must be fields of the form's database.")
            return []
        if field_id not in keys:
            keys.append(field_id)
    if behaviour in ("update", "login", "unsubscribe") and not keys:
        errors["key_field_ids"] = _("Choose the key fields that find the profile.")
    return keys


def normalise_origin(text: str) -> str:
    """``https://Shop.Example:443/`` → ``https://shop.example``; raises ``ValueError`` for anything else."""
    text = text.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(text)
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(text)
    host = parts.hostname.rstrip(".")
    if "*" in host or not host:
        raise ValueError(text)
    try:
        host = host.encode("idna").decode("ascii").lower()
        port = parts.port
    except (UnicodeError, ValueError):
        raise ValueError(text) from None
    scheme = parts.scheme.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _checked_origins(origins, errors: dict[str, str]) -> list[str]:
    if isinstance(origins, str):
        origins = origins.replace(",", " ").split()
    result: list[str] = []
    bad: list[str] = []
    for text in origins or []:
        if not str(text).strip():
            continue
        try:
            origin = normalise_origin(str(text))
        except ValueError:
            bad.append(str(text).strip())
            continue
        if origin not in result:
            result.append(origin)
    if bad:
        errors["allowed_origins"] = _(
            "Not an origin: %(values)s. Write scheme and host only, like https://shop.example (no paths, no *).",
            values=", ".join(bad[:3]),
        )
    elif len(result) > MAX_ORIGINS:
        errors["allowed_origins"] = _("At most %(count)s origins.", count=MAX_ORIGINS)
    return result


def checked_text(value, name: str, limit: int, errors: dict[str, str]) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        errors[name] = _("Use at most %(count)s characters.", count=limit)
    return text


def checked_texts(value, name: str, limit: int, errors: dict[str, str]) -> str | dict[str, str]:
    """A text (``checked_text``), or a map of language → text; languages with no text are left out."""
    if not isinstance(value, dict):
        return checked_text(value, name, limit, errors)
    texts: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in LANGUAGES:
            errors[name] = _("Texts are in nl, en, fr or de.")
            return ""
        texts[lang] = checked_text(text, name, limit, errors)
    return {lang: text for lang, text in texts.items() if text} or ""


def texts_of(value: str | dict[str, str]) -> list[str]:
    """The texts of a checked text, one per language written."""
    return [text for text in (value.values() if isinstance(value, dict) else [value]) if text]


def _checked_languages(languages: Sequence[str], errors: dict[str, str]) -> list[str]:
    chosen = [str(lang) for lang in languages]
    if any(lang not in LANGUAGES for lang in chosen):
        errors["languages"] = _("Choose languages from nl, en, fr, de.")
        return []
    return list(dict.fromkeys(chosen))


def check_text_languages(
    texts: Iterable[tuple[str, Any, Any]],
    languages: Sequence[str],
    errors: dict[str, str],
    *,
    had: Sequence[str] = (),
) -> None:
    """The one check of the languages of a form's texts (its settings' and its items'): ``texts`` are ``(name,
    text as checked, text as stored)``; ``languages`` are the form's (not empty: a form without languages takes
    texts in any of ``LANGUAGES``). A text in another language would never be shown, so it is refused with a
    message under its name, unless the stored text holds that language already (it is kept as it is: read and
    sent back) or the language is one of ``had``, the form's languages until this change (the builder still
    sends the inputs of a language being taken away). Plain strings are in every language."""
    offered = {*languages, *had}
    for name, text, stored in texts:
        held = stored if isinstance(stored, dict) else {}
        foreign = [lang for lang in text if lang not in offered and lang not in held] if isinstance(text, dict) else []
        if foreign:
            errors.setdefault(
                name,
                _(
                    "The form is not in %(foreign)s: write its texts in %(languages)s, or add the language to the "
                    "form's languages.",
                    foreign=", ".join(foreign),
                    languages=", ".join(languages),
                ),
            )


def _checked_language_field(database: Database, field_id: int | None, errors: dict[str, str]) -> int | None:
    if not field_id:
        return None
    if not any(field.id == field_id for field in database.fields):
        errors["language_field_id"] = _("Choose the language field from the database's fields.")
        return None
    return field_id


def _checked_redirect(value, errors: dict[str, str]) -> str:
    url = str(value or "").strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or len(url) > 2000:
        errors["redirect_url"] = _("Enter a full http:// or https:// address.")
    return url


def _checked_number(value, name: str, lowest: int, highest: int, errors: dict[str, str]) -> int:
    try:
        number = int(str(value).strip() or 0)
    except (TypeError, ValueError):
        number = lowest - 1
    if not lowest <= number <= highest:
        errors[name] = _("Enter a whole number from %(low)s to %(high)s.", low=lowest, high=highest)
        return lowest
    return number


def _checked_email(value, name: str, errors: dict[str, str]) -> str:
    text = str(value or "").strip()
    if not text:
        return ""
    try:
        return coerce("email", text, {})
    except FieldValueError:
        errors[name] = _("Enter a valid email address.")
        return text


def _checked_double_opt_in(account: Account, database: Database, given: dict, errors: dict[str, str]) -> dict:
    enabled = bool(given.get("enabled"))
    result: dict[str, Any] = {
        "enabled": enabled,
        "unconfirmed_values": _checked_values(
            account, database, given.get("unconfirmed_values"), "unconfirmed_values", errors
        ),
        "confirmed_values": _checked_values(
            account, database, given.get("confirmed_values"), "confirmed_values", errors
        ),
        "email_subject": checked_texts(given.get("email_subject"), "email_subject", 200, errors),
        "email_text": checked_texts(given.get("email_text"), "email_text", 10000, errors),
        "link_ttl_hours": _checked_number(
            given.get("link_ttl_hours", DEFAULT_LINK_TTL_HOURS), "link_ttl_hours", 1, MAX_LINK_TTL_HOURS, errors
        ),
    }
    if enabled:
        if not result["confirmed_values"]:
            errors.setdefault("confirmed_values", _("Choose the values a confirmation sets."))
        if not result["email_subject"]:
            errors.setdefault("email_subject", _("Give the confirmation email a subject."))
        texts = texts_of(result["email_text"])
        if not texts or any("{link}" not in text for text in texts):
            errors.setdefault("email_text", _("Put {link} in the text: it becomes the confirmation link."))
    return result


def _checked_values(account: Account, database: Database, given, name: str, errors: dict[str, str]) -> dict:
    """``{field name or id: value}`` → ``{field id: stored value}``, checked by the profile values validator."""
    by_key = {str(field.id): field for field in database.fields} | {
        field.name.lower(): field for field in database.fields
    }
    if given is not None and not isinstance(given, dict):
        errors[name] = _("Give the values as a map of field name to value.")
        return {}
    chosen: dict[str, Any] = {}
    fields: list[Field] = []
    for key, value in (given or {}).items():
        field = by_key.get(str(key).lower())
        if field is None:
            errors[name] = _("There is no field named %(name)s.", name=key)
            return {}
        if value is None or value == "":
            continue
        chosen[field.name] = value
        fields.append(field)
    try:
        return profile_values.validate_values(account, fields, chosen, {})
    except ValidationError as error:
        errors[name] = "; ".join(error.errors.values())
        return {}


# --- items ---------------------------------------------------------------------------------------
