"""The one validator of a form submission, shared by the embed API, the hosted page and the admin preview.

Each value is checked with the bound field's own type (``profiles/field_types.py``), so a form accepts exactly
what the database field accepts. Errors are keyed by item name (what the client posted), ``""`` for the
whole form. The result also says what to write: field values by field name (profile and collection layer
apart), interests, consent texts, files, and the data to log (passwords left out).
"""

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from webapp.models import Form
from webapp.profiles.database_config import FieldSnapshot
from webapp.profiles.field_types import FieldValueError, coerce, is_empty
from webapp.profiles.flags import parse_flag
from webapp.widgets.definition import REPEAT_SUFFIX, Bindings, in_form_language, input_type, item_name, live_items


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str
    data: bytes


@dataclass
class CleanSubmission:
    """A submission checked against its form: ``errors`` empty means it may be written."""

    errors: dict[str, str] = field(default_factory=dict)
    profile_values: dict[str, Any] = field(default_factory=dict)  # field name → coerced value
    subprofile_values: dict[str, Any] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)  # field name → the password given
    interests: dict[int, bool] = field(default_factory=dict)
    consents: dict[str, str] = field(default_factory=dict)  # item id → the text agreed to
    files: list[tuple[dict, UploadedFile]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # item name → value, for the submission log

    @property
    def valid(self) -> bool:
        return not self.errors


def posted(values: dict[str, Any], name: str) -> list[str]:
    """Every value posted under ``name`` (forms post a name once per ticked checkbox)."""
    value = values.get(name)
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [str(item) for item in items]


def first(values: dict[str, Any], name: str) -> str:
    found = posted(values, name)
    return found[0].strip() if found else ""


def validate_submission(
    form: Form,
    bound: Bindings,
    values: dict[str, Any],
    files: dict[str, UploadedFile] | None = None,
    lang: str | None = None,
) -> CleanSubmission:
    """Check ``values`` against the form; messages and consent texts in ``lang`` (None: the form's default)."""
    clean = CleanSubmission()
    texts = in_form_language(form, lang)["items"]
    for item in live_items(form, bound):
        check = _CHECKS.get(item["type"])
        if check is not None:
            check(clean, {**item, **texts[item["id"]]}, bound, values, files or {})
    return clean


def _message(item: dict, fallback: str) -> str:
    return item.get("validation_message") or fallback


def _label(item: dict, field_: FieldSnapshot | None = None) -> str:
    return item.get("label") or (field_.name if field_ is not None else _("This field"))


def _put(clean: CleanSubmission, field_: FieldSnapshot, value: Any) -> None:
    target = clean.subprofile_values if field_.collection_id else clean.profile_values
    target[field_.name] = value


def _check_field(clean: CleanSubmission, item: dict, bound: Bindings, values: dict, files: dict) -> None:
    field_ = bound.fields[item["field_id"]]
    name = item_name(item)
    raw: Any = posted(values, name) if input_type(item, field_) == "checkboxes" else first(values, name)
    if is_empty(raw):
        if item.get("required"):
            clean.errors[name] = _message(item, _("%(label)s is required.", label=_label(item, field_)))
        return
    try:
        value = coerce(field_.type, raw, field_.options)
    except FieldValueError as error:
        clean.errors[name] = _message(item, _("%(label)s %(problem)s.", label=_label(item, field_), problem=error))
        return
    _put(clean, field_, value)
    clean.data[name] = value


def _check_password(clean: CleanSubmission, item: dict, bound: Bindings, values: dict, files: dict) -> None:
    field_ = bound.fields[item["field_id"]]
    name = item_name(item)
    password = posted(values, name)[0] if posted(values, name) else ""
    if not password:
        if item.get("required"):
            clean.errors[name] = _message(item, _("%(label)s is required.", label=_label(item, field_)))
        return
    if first(values, name + REPEAT_SUFFIX) != password.strip():
        clean.errors[name + REPEAT_SUFFIX] = _("The passwords do not match.")
        return
    clean.passwords[field_.name] = password


def _check_hidden(clean: CleanSubmission, item: dict, bound: Bindings, values: dict, files: dict) -> None:
    """A hidden item always stores its configured default: what a client posts for it is ignored."""
    field_ = bound.fields[item["field_id"]]
    if is_empty(item.get("default")):
        return
    try:
        value = coerce(field_.type, item["default"], field_.options)
    except FieldValueError:
        return  # the builder validates defaults; a field changed since then simply gets nothing
    _put(clean, field_, value)
    clean.data[item_name(item)] = value


def _ticked(values: dict, name: str) -> bool:
    return parse_flag(first(values, name)) is True


def _check_interest(clean: CleanSubmission, item: dict, bound: Bindings, values: dict, files: dict) -> None:
    name = item_name(item)
    ticked = _ticked(values, name)
    if item.get("required") and not ticked:
        interest = bound.interests[item["interest_id"]]
        clean.errors[name] = _message(item, _("%(label)s is required.", label=item.get("label") or interest.name))
        return
    clean.interests[item["interest_id"]] = ticked
    clean.data[name] = ticked


def _check_consent(clean: CleanSubmission, item: dict, bound: Bindings, values: dict, files: dict) -> None:
    name = item_name(item)
    if _ticked(values, name):
        clean.consents[item["id"]] = item.get("text") or item.get("label") or ""
        clean.data[name] = True
    elif item.get("required"):
        clean.errors[name] = _message(item, _("You must agree to continue."))


def _check_file(clean: CleanSubmission, item: dict, bound: Bindings, values: dict, files: dict) -> None:
    name = item_name(item)
    upload = files.get(name)
    if upload is None or not upload.filename:
        if item.get("required"):
            clean.errors[name] = _message(item, _("%(label)s is required.", label=_label(item)))
        return
    max_bytes = int(item.get("max_bytes") or 0)
    if max_bytes and len(upload.data) > max_bytes:
        clean.errors[name] = _("This file is too large (at most %(size)s).", size=_size(max_bytes))
        return
    if not accepts(item.get("accept") or [], upload):
        clean.errors[name] = _message(item, _("This type of file is not accepted."))
        return
    clean.files.append((item, upload))
    clean.data[name] = upload.filename


def accepts(accept: list[str], upload: UploadedFile) -> bool:
    """Whether a file matches an HTML ``accept`` list: extensions (``.pdf``), MIME types, ``image/*``."""
    if not accept:
        return True
    filename, content_type = upload.filename.lower(), (upload.content_type or "").lower().split(";")[0].strip()
    for pattern in (entry.strip().lower() for entry in accept):
        if pattern.startswith(".") and filename.endswith(pattern):
            return True
        if pattern.endswith("/*") and content_type.startswith(pattern[:-1]):
            return True
        if pattern == content_type:
            return True
    return False


def _size(count: int) -> str:
    return f"{count / 1_000_000:.1f} MB" if count >= 1_000_000 else f"{max(1, count // 1000)} kB"


_CHECKS = {
    "field": _check_field,
    "password": _check_password,
    "hidden": _check_hidden,
    "interest": _check_interest,
    "consent": _check_consent,
    "file": _check_file,
}
