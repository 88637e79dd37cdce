"""A form turned into its public JSON definition: what embed.js renders and the hosted page shows.

Each item becomes a dict with a ``name`` (the name to post: ``f<field id>``, ``i<interest id>``, ``c<item id>``,
``file_<item id>``, ``_altcha``) and an input ``type`` that follows the bound field's type. The validator in
``widgets/validation.py`` reads the same names, so what is shown and what is accepted cannot drift apart.
"""

from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, or_, select

from webapp.extensions import db
from webapp.models import Field, Form, Interest
from webapp.profiles.database_config import FieldSnapshot
from webapp.profiles.field_types import DEFAULT_TEXT_LENGTH, LARGE_TEXT_LENGTH
from webapp.widgets.languages import localized

# Input type per field type; ``choice`` and multi-line text depend on the item's widget.
INPUT_TYPES = {
    "text": "text",
    "email": "email",
    "phone": "tel",
    "number": "number",
    "decimal": "number",
    "date": "date",
    "datetime": "datetime",
    "country": "text",
    "large_text": "textarea",
    "reference": "number",
}
HONEYPOT = "_hp"
TOKEN = "_token"  # noqa: S105 - the name of the fill-time token field, not a secret
IDEMPOTENCY_KEY = "_idempotency_key"
CAPTCHA = "_altcha"
REPEAT_SUFFIX = "_repeat"
LANG = "_lang"  # the language the visitor saw the form in, posted along
# The texts a marketer writes, each a string or a map by language (``widgets/languages.py``).
ITEM_TEXTS = ("label", "help", "placeholder", "validation_message", "repeat_label", "text", "html")
SETTING_TEXTS = ("submit_label", "success_message")


@dataclass(frozen=True)
class InterestSnapshot:
    id: int
    name: str
    group: str
    position: int


@dataclass(frozen=True)
class Bindings:
    """The fields (of the database, and of the form's collection) and interests a form's items refer to,
    as detached snapshots: kept per process and database configuration version (like ``database_config``)."""

    fields: dict[int, FieldSnapshot]
    interests: dict[int, InterestSnapshot]


_bindings: dict[tuple[int, int | None], tuple[tuple, Bindings]] = {}


def bindings(form: Form) -> Bindings:
    # created_at too: SQLite may give a new database the id of a removed one (and tests restart ids).
    version = (form.database.config_version, form.database.created_at)
    cached = _bindings.get((form.database_id, form.collection_id))
    if cached is not None and cached[0] == version:
        return cached[1]
    layer: ColumnElement[bool] = Field.collection_id.is_(None)
    if form.collection_id:
        layer = or_(layer, Field.collection_id == form.collection_id)
    fields = db.session.scalars(select(Field).where(Field.database_id == form.database_id, layer))
    interests = db.session.scalars(select(Interest).where(Interest.database_id == form.database_id))
    bound = Bindings(
        {field.id: FieldSnapshot.of(field) for field in fields},
        {item.id: InterestSnapshot(item.id, item.name, item.group, item.position) for item in interests},
    )
    _bindings[(form.database_id, form.collection_id)] = (version, bound)
    return bound


def item_name(item: dict[str, Any]) -> str:
    """The name an item's value is posted under (empty for items without input, like text blocks)."""
    kind = item.get("type")
    if kind in ("field", "password", "hidden"):
        return f"f{item.get('field_id')}"
    if kind == "interest":
        return f"i{item.get('interest_id')}"
    if kind == "consent":
        return f"c{item['id']}"
    if kind == "file":
        return f"file_{item['id']}"
    if kind == "captcha":
        return CAPTCHA
    return ""


def live_items(form: Form, bound: Bindings) -> list[dict[str, Any]]:
    """The form's items whose field or interest still exists (a removed field drops out of the form)."""
    items = []
    for item in form.items or []:
        if item.get("type") in ("field", "password", "hidden") and item.get("field_id") not in bound.fields:
            continue
        if item.get("type") == "interest" and item.get("interest_id") not in bound.interests:
            continue
        items.append(item)
    return items


def input_type(item: dict[str, Any], field: FieldSnapshot | None) -> str:
    kind = item["type"]
    if kind == "text":
        return "html"
    if kind != "field":
        return kind
    assert field is not None, "a field item is live only while its field is bound (live_items)"
    if field.type == "choice":
        return item.get("widget") or ("checkboxes" if field.options.get("multiple") else "select")
    if field.type == "text" and item.get("multiline"):
        return "textarea"
    return INPUT_TYPES.get(field.type, "text")


def messages() -> dict[str, str]:
    """Client-side messages in the visitor's language (the server's own messages are the ones that count)."""
    return {
        "required": _("This field is required."),
        "email": _("Enter a valid email address, like name@example.com."),
        "number": _("Enter a number."),
        "date": _("Enter a date like 2024-12-31."),
        "repeat": _("The passwords do not match."),
        "network": _("The form could not be sent. Check your connection."),
        "retry": _("Try again"),
        "captcha": _("Solving the anti-spam check…"),
        "too_large": _("This file is too large."),
    }


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"] + path


def form_languages(form: Form) -> list[str]:
    """The languages the form's texts are written in, its default first; empty for a form of one language that
    never said which (its texts are plain strings, shown in whatever language the visitor asks for)."""
    return list((form.settings or {}).get("languages") or [])


def form_text(form: Form, text: Any, lang: str | None) -> str:
    """One of the form's texts in ``lang`` (None: the form's default language)."""
    languages = form_languages(form)
    default = languages[0] if languages else ""
    return localized(text, lang or default, default)


def in_form_language(form: Form, lang: str | None) -> dict[str, Any]:
    """The form's texts in ``lang`` (None: its default): ``{"items": {id: {name: text}}, setting: text}``; an
    item lists only its texts written per language (its plain strings are right as they are)."""
    settings = form.settings or {}
    texts: dict[str, Any] = {name: form_text(form, settings.get(name), lang) for name in SETTING_TEXTS}
    texts["items"] = {
        item["id"]: {name: form_text(form, item[name], lang) for name in ITEM_TEXTS if isinstance(item.get(name), dict)}
        for item in form.items or []
    }
    return texts


def form_definition(form: Form, bound: Bindings | None = None, lang: str | None = None) -> dict[str, Any]:
    """The public JSON definition of a form in ``lang`` (one of its languages; None: the form's default), without
    prefill: the service adds that for known visitors."""
    bound = bound or bindings(form)
    settings = form.settings or {}
    texts = in_form_language(form, lang)
    definition = {
        "key": form.key,
        "name": form.name,
        "submit_url": public_url(f"/p/forms/{form.key}/submissions"),
        "token_url": public_url(f"/p/forms/{form.key}/token"),
        "hosted_url": public_url(f"/f/{form.key}"),
        "submit_label": texts["submit_label"] or _("Send"),
        "success_message": texts["success_message"] or _("Thank you!"),
        "redirect_url": settings.get("redirect_url") or None,
        "lang": lang or (form_languages(form) or [str(get_locale() or "en")])[0],
        "messages": messages(),
        "items": [
            item_definition(form, {**item, **texts["items"][item["id"]]}, bound) for item in live_items(form, bound)
        ],
    }
    if form_languages(form):
        definition["languages"] = form_languages(form)
    return definition


def item_definition(form: Form, item: dict[str, Any], bound: Bindings) -> dict[str, Any]:
    """One item in the public shape; its texts are already in one language (``in_form_language``)."""
    field = bound.fields.get(item["field_id"]) if item["type"] in ("field", "password", "hidden") else None
    kind = input_type(item, field)
    result: dict[str, Any] = {"name": item_name(item), "type": kind, "id": item["id"]}
    for key in ("label", "help", "placeholder", "validation_message"):
        if item.get(key):
            result[key] = item[key]
    if kind not in ("html", "hidden", "captcha") and "label" not in result:
        result["label"] = _default_label(item, field, bound)
    if item.get("required"):
        result["required"] = True
    if item.get("default") not in (None, "", []):
        result["default"] = item["default"]
    if field is not None:
        result.update(_field_attributes(field, kind))
    if kind == "html":
        result["html"] = item.get("html", "")
    elif kind == "consent":
        result["text"] = item.get("text", "")
    elif kind == "file":
        result["accept"] = ",".join(item.get("accept") or [])
        result["max_bytes"] = int(item.get("max_bytes") or 0)
    elif kind == "password":
        result["repeat_label"] = item.get("repeat_label") or _("Repeat password")
    elif kind == "captcha":
        result["captcha_url"] = public_url(f"/p/forms/{form.key}/captcha")
    return {key: value for key, value in result.items() if key == "name" or value not in (None, "")}


def _default_label(item: dict[str, Any], field: FieldSnapshot | None, bound: Bindings) -> str:
    if field is not None:
        return field.name
    if item["type"] == "interest":
        return bound.interests[item["interest_id"]].name
    if item["type"] == "consent":
        return item.get("text") or _("I agree")
    return ""


def _field_attributes(field: FieldSnapshot, kind: str) -> dict[str, Any]:
    if kind in ("select", "radio", "checkboxes"):
        choices = field.options.get("choices") or []
        return {"options": [{"value": str(choice), "label": str(choice)} for choice in choices]}
    if field.type == "text":
        return {"maxlength": int(field.options.get("length") or DEFAULT_TEXT_LENGTH)}
    if field.type == "large_text":
        return {"maxlength": LARGE_TEXT_LENGTH}
    if field.type in ("number", "reference"):
        return {"step": 1}
    if field.type == "decimal":
        return {"step": "any"}
    return {}
