"""The items of a web form: add, change, move and delete them, each validated and normalised to its type.

Items live in ``Form.items``, an ordered JSON list; each item keeps only the properties of its type
(``ITEM_PROPERTIES``), normalised, so that the definition builder and the validator in ``webapp/widgets`` read one
shape. Every change raises ``Form.revision`` (the public definition's ETag) in the same transaction.
"""

import secrets
from typing import Any

import nh3
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.extensions import db
from webapp.models import Account, Field, Form, Interest
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles.databases import get_collection, get_database
from webapp.profiles.field_types import FieldValueError, coerce
from webapp.profiles.fields import field_label
from webapp.profiles.flags import parse_flag
from webapp.webforms.builder import check_text_languages, checked_texts, form_for_update, mark_changed
from webapp.widgets.definition import ITEM_TEXTS, form_languages

ITEM_TYPES = ("field", "password", "hidden", "interest", "consent", "text", "file", "captcha")


CHOICE_WIDGETS = ("select", "radio", "checkboxes")


MAX_ITEMS = 100


MAX_FILE_BYTES = 10 * 1024 * 1024  # what one upload item may allow at most


DEFAULT_FILE_BYTES = 2 * 1024 * 1024


MAX_FILE_TYPES = 20


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
        "sensitive",
    ),
    "password": ("label", "help", "placeholder", "required", "validation_message", "repeat_label"),
    "hidden": ("default",),
    "interest": ("label", "help", "required", "default", "prefill", "validation_message"),
    "consent": ("label", "help", "required", "text", "validation_message"),
    "text": ("html",),
    "file": ("label", "help", "required", "accept", "max_bytes", "validation_message"),
    "captcha": ("label", "help", "validation_message"),
}


# ``sensitive``: what the item posts is never kept in the spam log (as for password items).
BOOLEAN_PROPERTIES = ("required", "prefill", "multiline", "sensitive")


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
    form = form_for_update(account, form_id)
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
            item["label"] = field_label(field, account.language or "en")  # in the account's language
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
    mark_changed(form)
    db.session.commit()
    return item


def update_item(account: Account, form_id: int, item_id: str, properties: dict[str, Any]) -> dict[str, Any]:
    """Save an item's properties (those of its type; others are ignored). Raises with every problem at once.

    Texts are a string or a map by language; on a form with languages, a text takes no new language the form
    does not have (``builder.check_text_languages``, as for the settings)."""
    form = form_for_update(account, form_id)
    item = get_item(form, item_id)
    field = field_of(account, form, item)
    errors: dict[str, str] = {}
    updated = dict(item)
    for name in ITEM_PROPERTIES[item["type"]]:
        if name in properties or name in BOOLEAN_PROPERTIES:
            updated[name] = _checked_property(name, properties.get(name), item, field, errors)
    if item["type"] == "hidden" and updated.get("default") in (None, ""):
        errors["default"] = _("An invisible field needs a value.")
    if languages := form_languages(form):
        names = [name for name in ITEM_PROPERTIES[item["type"]] if name in ITEM_TEXTS]
        texts = [(name, updated.get(name), item.get(name)) for name in names]
        check_text_languages(texts, languages, errors)
    if errors:
        raise ValidationError(errors)
    updated = _normalised(updated)
    form.items = [updated if other["id"] == item_id else other for other in form.items]
    mark_changed(form)
    db.session.commit()
    return updated


def delete_item(account: Account, form_id: int, item_id: str) -> None:
    form = form_for_update(account, form_id)
    get_item(form, item_id)
    form.items = [item for item in form.items if item["id"] != item_id]
    mark_changed(form)
    db.session.commit()


def move_item(account: Account, form_id: int, item_id: str, offset: int) -> None:
    """Move an item ``offset`` places (-1 up, 1 down); at either end nothing changes."""
    form = form_for_update(account, form_id)
    items = list(form.items)
    index = items.index(get_item(form, item_id))
    target = index + offset
    if 0 <= target < len(items) and target != index:
        items.insert(target, items.pop(index))
        form.items = items
        mark_changed(form)
    db.session.commit()


def reorder_items(account: Account, form_id: int, item_ids: list[str]) -> None:
    """Put the items in the order of ``item_ids`` (a drag and drop); it must name each item exactly once."""
    form = form_for_update(account, form_id)
    by_id = {item["id"]: item for item in form.items}
    if sorted(item_ids) != sorted(by_id):
        raise ValidationError(_("The form changed meanwhile. Reload the page and try again."))
    if list(item_ids) != list(by_id):
        form.items = [by_id[item_id] for item_id in item_ids]
        mark_changed(form)
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
        return parse_flag(value) is True
    if name == "html":
        html = checked_texts(value, name, TEXT_LIMITS[name], errors)
        if isinstance(html, dict):
            return {lang: _sanitised_html(text, errors) for lang, text in html.items()}
        return _sanitised_html(html, errors)
    if name == "accept":
        return _checked_accept(value, errors)
    if name == "max_bytes":
        return _checked_size(value, errors)
    if name == "widget":
        return _checked_widget(value, field, errors)
    if name == "default":
        return _checked_default(value, item, field, errors)
    return checked_texts(value, name, TEXT_LIMITS[name], errors)


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
        return parse_flag(value) is True
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
    kept: dict[str, Any] = {key: item[key] for key in ("id", "type", "field_id", "interest_id") if key in item}
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
