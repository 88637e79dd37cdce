"""The admin side of web forms: create, change and delete forms, their items and settings.

Every change is validated here, whatever door it comes through, and raises ``Form.revision`` (the public
definition's ETag) in the same transaction. Items live in ``Form.items``, an ordered JSON list; each item
keeps only the properties of its type (``ITEM_PROPERTIES``), normalised, so that the definition builder and
the validator in ``webapp/widgets`` read one shape. What a submission does is ``services/forms.py``'s work.

Allowed origins are exact origins (``scheme://host[:port]``): no wildcards, so a form embedded on a new site
needs that site's origin added. Text blocks are sanitised with an allow-list (nh3) when they are saved.
"""

import secrets
from typing import Any
from urllib.parse import urlsplit

import nh3
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import FORM_BEHAVIOURS, Account, Collection, Database, Field, Form, FormSubmission, Interest, utcnow
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import values as profile_values
from webapp.profiles.databases import get_collection, get_database
from webapp.profiles.field_types import FieldValueError, coerce

MAX_ID = 2**31 - 1
BEHAVIOURS = FORM_BEHAVIOURS
ON_NO_MATCH = ("create", "reject")
ITEM_TYPES = ("field", "password", "hidden", "interest", "consent", "text", "file", "captcha")
CHOICE_WIDGETS = ("select", "radio", "checkboxes")
MAX_ITEMS = 100
MAX_ORIGINS = 50
MAX_FILE_BYTES = 10 * 1024 * 1024  # what one upload item may allow at most
DEFAULT_FILE_BYTES = 2 * 1024 * 1024
MAX_FILE_TYPES = 20
MAX_SUBMISSIONS_PER_PROFILE = 1000
MAX_MIN_FILL_SECONDS = 600
MAX_LINK_TTL_HOURS = 24 * 30
DEFAULT_LINK_TTL_HOURS = 48

# The properties each item type keeps, besides ``id``, ``type`` and what it is bound to.
ITEM_PROPERTIES: dict[str, tuple[str, ...]] = {
    "field": (
        "label",
        "help",
        "placeholder",
        "required",
        "default",
        "prefill",
        "validation_message",
        "widget",
        "multiline",
    ),
    "password": ("label", "help", "placeholder", "required", "validation_message", "repeat_label"),
    "hidden": ("default",),
    "interest": ("label", "help", "required", "default", "prefill", "validation_message"),
    "consent": ("label", "help", "required", "text", "validation_message"),
    "text": ("html",),
    "file": ("label", "help", "required", "accept", "max_bytes", "validation_message"),
    "captcha": ("label", "help", "validation_message"),
}
BOOLEAN_PROPERTIES = ("required", "prefill", "multiline")
TEXT_LIMITS = {
    "label": 200,
    "help": 500,
    "placeholder": 200,
    "validation_message": 300,
    "repeat_label": 200,
    "text": 5000,
    "html": 20000,
    "default": 2000,
}

# A text block may hold simple formatting and links; no scripts, styles, images or forms.
HTML_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "a",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "small",
    "span",
}
HTML_ATTRIBUTES = {"a": {"href", "title"}}
HTML_URL_SCHEMES = {"http", "https", "mailto"}

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


def item_type_labels() -> dict[str, str]:
    return {
        "field": _l("Field"),
        "password": _l("Password with repeat"),
        "hidden": _l("Invisible field"),
        "interest": _l("Interest"),
        "consent": _l("Consent"),
        "text": _l("Text block"),
        "file": _l("File upload"),
        "captcha": _l("Captcha"),
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
    form = db.session.get(Form, form_id) if 0 < form_id <= MAX_ID else None
    if form is None or form.account_id != account.id:
        raise NotFound(_("Form not found."))
    return form


def _form_for_update(account: Account, form_id: int) -> Form:
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
        .where(FormSubmission.account_id == account.id, FormSubmission.status == "accepted")
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
    """A new form that creates profiles; its items and settings are added in the builder."""
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
        items=[],
        settings=default_settings(),
        revision=1,
    )
    db.session.add(form)
    db.session.commit()
    return form


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
    """The form's settings with defaults for anything missing."""
    settings = default_settings()
    settings.update(form.settings or {})
    settings["double_opt_in"] = {**DEFAULT_SETTINGS["double_opt_in"], **(settings.get("double_opt_in") or {})}
    return settings


def _changed(form: Form) -> None:
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
    try:
        collection = get_collection(account, int(collection_id))
    except (NotFound, ValueError, TypeError):
        collection = None
    if collection is None or collection.database_id != database.id:
        errors["collection_id"] = _("Choose a collection of this database.")
        return None
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
    allowed_origins: list[str] | str = (),
    submit_label: str = "",
    success_message: str = "",
    redirect_url: str = "",
    max_submissions_per_profile: int | str = 0,
    min_fill_seconds: int | str = 3,
    notify_email: str = "",
    double_opt_in: dict[str, Any] | None = None,
) -> Form:
    """Save what a form does on submit and where it may be embedded; every value is checked first.

    ``double_opt_in``: ``enabled``, ``unconfirmed_values`` and ``confirmed_values`` (``{field name or id:
    value}``, checked like any profile write), ``email_subject``, ``email_text``, ``link_ttl_hours``.
    """
    form = _form_for_update(account, form_id)
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
    settings = {
        "submit_label": _checked_text(submit_label, "submit_label", 100, errors),
        "success_message": _checked_text(success_message, "success_message", 2000, errors),
        "redirect_url": _checked_redirect(redirect_url, errors),
        "max_submissions_per_profile": _checked_number(
            max_submissions_per_profile, "max_submissions_per_profile", 0, MAX_SUBMISSIONS_PER_PROFILE, errors
        ),
        "min_fill_seconds": _checked_number(min_fill_seconds, "min_fill_seconds", 0, MAX_MIN_FILL_SECONDS, errors),
        "notify_email": _checked_email(notify_email, "notify_email", errors),
        "double_opt_in": _checked_double_opt_in(account, database, double_opt_in or {}, errors),
    }
    if errors:
        raise ValidationError(errors)
    form.name, form.collection_id, form.behaviour, form.on_no_match = (
        name,
        collection.id if collection else None,
        behaviour,
        on_no_match,
    )
    form.key_field_ids, form.allowed_origins, form.settings = keys, origins, settings
    _changed(form)
    db.session.commit()
    return form


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


def _checked_text(value, name: str, limit: int, errors: dict[str, str]) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        errors[name] = _("Use at most %(count)s characters.", count=limit)
    return text


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
    result = {
        "enabled": enabled,
        "unconfirmed_values": _checked_values(
            account, database, given.get("unconfirmed_values"), "unconfirmed_values", errors
        ),
        "confirmed_values": _checked_values(
            account, database, given.get("confirmed_values"), "confirmed_values", errors
        ),
        "email_subject": _checked_text(given.get("email_subject"), "email_subject", 200, errors),
        "email_text": _checked_text(given.get("email_text"), "email_text", 10000, errors),
        "link_ttl_hours": _checked_number(
            given.get("link_ttl_hours", DEFAULT_LINK_TTL_HOURS), "link_ttl_hours", 1, MAX_LINK_TTL_HOURS, errors
        ),
    }
    if enabled:
        if not result["confirmed_values"]:
            errors.setdefault("confirmed_values", _("Choose the values a confirmation sets."))
        if not result["email_subject"]:
            errors.setdefault("email_subject", _("Give the confirmation email a subject."))
        if "{link}" not in result["email_text"]:
            errors.setdefault("email_text", _("Put {link} in the text: it becomes the confirmation link."))
    return result


def _checked_values(account: Account, database: Database, given, name: str, errors: dict[str, str]) -> dict:
    """``{field name or id: value}`` → ``{field id: stored value}``, checked by the profile values validator."""
    by_key = {str(field.id): field for field in database.fields} | {
        field.name.lower(): field for field in database.fields
    }
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


def get_item(form: Form, item_id: str) -> dict[str, Any]:
    for item in form.items or []:
        if item.get("id") == item_id:
            return item
    raise NotFound(_("Item not found."))


def bindable_fields(account: Account, form: Form) -> list[Field]:
    """Fields an item may be bound to: the database's, then the collection's (when the form has one)."""
    database = get_database(account, form.database_id)
    fields = list(database.fields)
    if form.collection_id:
        fields += list(get_collection(account, form.collection_id).fields)
    return fields


def add_item(
    account: Account, form_id: int, item_type: str, *, field_id: int | None = None, interest_id: int | None = None
) -> dict[str, Any]:
    """Append an item of ``item_type`` with sensible defaults (a field item is labelled with its field's name)."""
    form = _form_for_update(account, form_id)
    items = list(form.items or [])
    if item_type not in ITEM_TYPES:
        raise ValidationError({"type": _("Choose a kind of item.")})
    if len(items) >= MAX_ITEMS:
        raise ValidationError({"type": _("A form holds at most %(count)s items.", count=MAX_ITEMS)})
    item: dict[str, Any] = {"id": _new_item_id(items), "type": item_type}
    errors: dict[str, str] = {}
    field: Field | None = None
    if item_type in ("field", "password", "hidden"):
        field = _bound_field(account, form, item_type, field_id, items, errors)
        if field is not None:
            item["field_id"] = field.id
            item["label"] = field.name
            item["required"] = field.required and item_type != "hidden"
            item["multiline"] = field.type == "large_text"
            item["widget"] = _default_widget(field)
            if item_type == "hidden":
                item["default"] = field.default
    elif item_type == "interest":
        interest = _bound_interest(account, form, interest_id, items, errors)
        if interest is not None:
            item["interest_id"], item["label"] = interest.id, interest.name
    elif item_type == "captcha" and any(other["type"] == "captcha" for other in items):
        errors["type"] = _("A form has one captcha at most.")
    elif item_type == "consent":
        item["required"] = True
    elif item_type == "file":
        item["max_bytes"] = DEFAULT_FILE_BYTES
    if errors:
        raise ValidationError(errors)
    item = _normalised(item)
    form.items = [*items, item]
    _changed(form)
    db.session.commit()
    return item


def update_item(account: Account, form_id: int, item_id: str, properties: dict[str, Any]) -> dict[str, Any]:
    """Save an item's properties (those of its type; others are ignored). Raises with every problem at once."""
    form = _form_for_update(account, form_id)
    item = get_item(form, item_id)
    field = field_of(account, form, item)
    errors: dict[str, str] = {}
    updated = dict(item)
    for name in ITEM_PROPERTIES[item["type"]]:
        if name in properties or name in BOOLEAN_PROPERTIES:
            updated[name] = _checked_property(name, properties.get(name), item, field, errors)
    if item["type"] == "hidden" and updated.get("default") in (None, ""):
        errors["default"] = _("An invisible field needs a value.")
    if errors:
        raise ValidationError(errors)
    updated = _normalised(updated)
    form.items = [updated if other["id"] == item_id else other for other in form.items]
    _changed(form)
    db.session.commit()
    return updated


def delete_item(account: Account, form_id: int, item_id: str) -> None:
    form = _form_for_update(account, form_id)
    get_item(form, item_id)
    form.items = [item for item in form.items if item["id"] != item_id]
    _changed(form)
    db.session.commit()


def move_item(account: Account, form_id: int, item_id: str, offset: int) -> None:
    """Move an item ``offset`` places (-1 up, 1 down); at either end nothing changes."""
    form = _form_for_update(account, form_id)
    items = list(form.items)
    index = items.index(get_item(form, item_id))
    target = index + offset
    if 0 <= target < len(items) and target != index:
        items.insert(target, items.pop(index))
        form.items = items
        _changed(form)
    db.session.commit()


def reorder_items(account: Account, form_id: int, item_ids: list[str]) -> None:
    """Put the items in the order of ``item_ids`` (a drag and drop); it must name each item exactly once."""
    form = _form_for_update(account, form_id)
    by_id = {item["id"]: item for item in form.items}
    if sorted(item_ids) != sorted(by_id):
        raise ValidationError(_("The form changed meanwhile. Reload the page and try again."))
    if list(item_ids) != list(by_id):
        form.items = [by_id[item_id] for item_id in item_ids]
        _changed(form)
    db.session.commit()


def _new_item_id(items: list[dict]) -> str:
    taken = {item["id"] for item in items}
    while True:
        item_id = secrets.token_hex(4)
        if item_id not in taken:
            return item_id


def _default_widget(field: Field) -> str:
    if field.type != "choice":
        return ""
    return "checkboxes" if (field.options or {}).get("multiple") else "select"


def _bound_field(account, form, item_type, field_id, items, errors) -> Field | None:
    by_id = {field.id: field for field in bindable_fields(account, form)}
    try:
        field = by_id.get(int(field_id or 0))
    except (TypeError, ValueError):
        field = None
    if field is None:
        errors["field_id"] = _("Choose a field of the form's database.")
        return None
    if any(item.get("field_id") == field.id for item in items):
        errors["field_id"] = _("Field %(name)s is on the form already.", name=field.name)
        return None
    if item_type == "password" and field.type != "text":
        errors["field_id"] = _("A password is stored in a text field.")
        return None
    return field


def _bound_interest(account, form, interest_id, items, errors) -> Interest | None:
    database = get_database(account, form.database_id)
    try:
        interest = next((one for one in database.interests if one.id == int(interest_id or 0)), None)
    except (TypeError, ValueError):
        interest = None
    if interest is None:
        errors["interest_id"] = _("Choose an interest of the form's database.")
        return None
    if any(item.get("interest_id") == interest.id for item in items):
        errors["interest_id"] = _("Interest %(name)s is on the form already.", name=interest.name)
        return None
    return interest


def field_of(account: Account, form: Form, item: dict) -> Field | None:
    if "field_id" not in item:
        return None
    return next((field for field in bindable_fields(account, form) if field.id == item["field_id"]), None)


def _checked_property(name: str, value: Any, item: dict, field: Field | None, errors: dict[str, str]) -> Any:
    if name in BOOLEAN_PROPERTIES:
        return value in (True, "y", "on", "1", "true", 1)
    if name == "html":
        return _sanitised_html(value, errors)
    if name == "accept":
        return _checked_accept(value, errors)
    if name == "max_bytes":
        return _checked_size(value, errors)
    if name == "widget":
        return _checked_widget(value, field, errors)
    if name == "default":
        return _checked_default(value, item, field, errors)
    return _checked_text(value, name, TEXT_LIMITS[name], errors)


def _sanitised_html(value: Any, errors: dict[str, str]) -> str:
    html = str(value or "").strip()
    if len(html) > TEXT_LIMITS["html"]:
        errors["html"] = _("Use at most %(count)s characters.", count=TEXT_LIMITS["html"])
        return ""
    return nh3.clean(
        html,
        tags=HTML_TAGS,
        attributes=HTML_ATTRIBUTES,
        url_schemes=HTML_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()


def _checked_accept(value: Any, errors: dict[str, str]) -> list[str]:
    """File types: extensions (``.pdf``) or MIME types (``image/png``, ``image/*``)."""
    parts = value if isinstance(value, list | tuple) else str(value or "").replace(",", " ").split()
    accepted: list[str] = []
    for part in parts:
        text = str(part).strip().lower()
        if not text:
            continue
        kind, _slash, sub = text.partition("/")
        is_extension = text.startswith(".") and len(text) > 1 and text[1:].replace("-", "").isalnum()
        is_mime = (
            bool(_slash)
            and kind.replace("-", "").isalpha()
            and (sub == "*" or sub.replace("-", "").replace(".", "").replace("+", "").isalnum())
        )
        if not (is_extension or is_mime):
            errors["accept"] = _(
                "Not a file type: %(value)s. Use extensions like .pdf or types like image/png.", value=text
            )
            return []
        if text not in accepted:
            accepted.append(text)
    if len(accepted) > MAX_FILE_TYPES:
        errors["accept"] = _("At most %(count)s file types.", count=MAX_FILE_TYPES)
    return accepted


def _checked_size(value: Any, errors: dict[str, str]) -> int:
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if not 1024 <= size <= MAX_FILE_BYTES:
        errors["max_bytes"] = _("Choose a size from 1 kB to %(size)s MB.", size=MAX_FILE_BYTES // (1024 * 1024))
        return DEFAULT_FILE_BYTES
    return size


def _checked_widget(value: Any, field: Field | None, errors: dict[str, str]) -> str:
    if field is None or field.type != "choice":
        return ""
    widget = str(value or _default_widget(field)).strip().lower()
    multiple = bool((field.options or {}).get("multiple"))
    allowed = ("select", "checkboxes") if multiple else ("select", "radio")
    if widget not in allowed:
        errors["widget"] = (
            _("Choose a drop-down list or checkboxes.") if multiple else _("Choose a drop-down list or radio buttons.")
        )
        return _default_widget(field)
    return widget


def _checked_default(value: Any, item: dict, field: Field | None, errors: dict[str, str]) -> Any:
    if item["type"] == "interest":
        return value in (True, "y", "on", "1", "true", 1)
    if value is None or (isinstance(value, str) and not value.strip()) or field is None:
        return None
    if isinstance(value, str) and len(value) > TEXT_LIMITS["default"]:
        errors["default"] = _("Use at most %(count)s characters.", count=TEXT_LIMITS["default"])
        return None
    try:
        return coerce(field.type, value, field.options)
    except FieldValueError as error:
        errors["default"] = f"{field.name} {error}"
        return None


def _normalised(item: dict[str, Any]) -> dict[str, Any]:
    """The item with exactly the keys of its type, empty ones filled in."""
    kept = {key: item[key] for key in ("id", "type", "field_id", "interest_id") if key in item}
    for name in ITEM_PROPERTIES[item["type"]]:
        value = item.get(name)
        if name in BOOLEAN_PROPERTIES:
            value = bool(value)
        elif name == "accept":
            value = list(value or [])
        elif name == "max_bytes":
            value = int(value or DEFAULT_FILE_BYTES)
        elif name == "default" and item["type"] == "interest":
            value = bool(value)
        elif name == "default":
            value = None if value == "" else value
        elif value is None:
            value = ""
        kept[name] = value
    return kept
