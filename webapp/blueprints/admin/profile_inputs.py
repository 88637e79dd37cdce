"""Profile and subprofile forms generated from field definitions: what to render, and what was submitted.

Inputs are named ``field-<id>`` (with an optional prefix when a page holds several forms), never by field
name, so no field can collide with ``csrf_token`` or another form's inputs. Submissions are parsed into the
``{field name: value}`` the services speak; validation itself is the services' job. ``ListState`` reads and
writes the search, conditions, order and page of a profile list URL.
"""

from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from itertools import groupby
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from webapp.models import Account, Field, Interest
from webapp.platform.errors import NotFound
from webapp.profiles import databases
from webapp.profiles.field_types import decimals_of, format_value
from webapp.rules.list_filter import MAX_CONDITIONS, MAX_VALUE, Condition, ListFilter

INPUT_TYPES = {
    "text": "text",
    "email": "email",
    "phone": "tel",
    "number": "number",
    "decimal": "number",
    "date": "date",
    "datetime": "datetime-local",
    "country": "text",
    "reference": "number",
}


@dataclass
class FieldInput:
    """One generated form control: ``widget`` is ``input``, ``select`` or ``textarea``."""

    field: Field
    name: str
    id: str
    widget: str
    input_type: str = "text"
    value: str = ""
    selected: list[str] = dataclass_field(default_factory=list)
    choices: list[str] = dataclass_field(default_factory=list)
    multiple: bool = False
    required: bool = False
    error: str | None = None
    placeholder: str = ""
    help: str = ""
    attributes: dict[str, str] = dataclass_field(default_factory=dict)


def input_name(field: Field, prefix: str = "") -> str:
    return f"{prefix}field-{field.id}"


def field_inputs(
    account: Account,
    fields: list[Field],
    *,
    stored: dict[str, Any] | None = None,
    submitted: MultiDict | None = None,
    errors: dict[str, str] | None = None,
    prefix: str = "",
    id_prefix: str = "",
) -> list[FieldInput]:
    """Controls for ``fields``: showing ``submitted`` input when re-rendering, else ``stored`` values.

    ``stored=None`` (and nothing submitted) means a new record: controls show the fields' defaults.
    """
    errors = errors or {}
    return [
        _field_input(
            account,
            field,
            stored=stored,
            submitted=submitted,
            error=errors.get(field.name),
            prefix=prefix,
            id_prefix=id_prefix,
        )
        for field in fields
    ]


def _field_input(
    account: Account, field: Field, *, stored, submitted, error, prefix: str, id_prefix: str
) -> FieldInput:
    options = field.options or {}
    name = input_name(field, prefix)
    control = FieldInput(
        field=field,
        name=name,
        id=f"{id_prefix}{name}",
        widget="input",
        input_type=INPUT_TYPES.get(field.type, "text"),
        required=field.required,
        error=error,
    )
    if submitted is not None:
        raw: Any = [v for v in submitted.getlist(name) if v] if options.get("multiple") else submitted.get(name, "")
    else:
        raw = field.default if stored is None else stored.get(field.key)
    if field.type == "choice":
        control.widget = "select"
        control.choices = [str(choice) for choice in options.get("choices") or []]
        control.multiple = bool(options.get("multiple"))
        values = raw if isinstance(raw, list | tuple) else ([] if raw in (None, "") else [raw])
        control.selected = [str(value) for value in values]
        if control.multiple:
            control.help = _("Hold Ctrl (Cmd on a Mac) to choose more than one.")
        return control
    control.value = _as_input_text(field, raw)
    if field.type == "large_text":
        control.widget = "textarea"
    elif field.type == "text":
        control.attributes["maxlength"] = str(options.get("length") or 255)
    elif field.type == "email":
        control.placeholder = "name@example.com"
        control.attributes["autocomplete"] = "off"
    elif field.type == "phone":
        control.placeholder = "+31 20 123 4567"
        if options.get("region"):
            control.help = _("Numbers without a country code are read as %(region)s numbers.", region=options["region"])
    elif field.type == "number":
        control.attributes["step"] = "1"
    elif field.type == "decimal":
        decimals = decimals_of(options)
        control.attributes["step"] = "any"  # more digits are welcome: they are rounded, not refused
        control.placeholder = "12.50"
        if decimals is not None:
            control.help = _("Rounded half up to %(count)s digits after the point.", count=decimals)
    elif field.type == "datetime":
        control.attributes["step"] = "1"
    elif field.type == "country":
        control.placeholder = "NL"
        control.attributes["maxlength"] = "60"
        control.help = _("An ISO 3166 country code, like NL or BE.")
    elif field.type == "reference":
        control.attributes["min"] = "1"
        control.attributes["step"] = "1"
        control.help = _reference_help(account, options.get("database_id"))
    return control


def _as_input_text(field: Field, value: Any) -> str:
    """A stored (or submitted) value as an HTML input shows it."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    text = str(format_value(field, value))
    if field.type == "datetime" and len(text) >= 16 and text[10] == " ":
        return text[:10] + "T" + text[11:]
    return text


def _reference_help(account: Account, database_id: Any) -> str:
    try:
        target = databases.get_database(account, int(database_id or 0))
    except (NotFound, TypeError, ValueError):
        return _("The id of a profile.")
    return _("The id of a profile in %(database)s.", database=target.name)


def parse_values(fields: list[Field], form: MultiDict, *, prefix: str = "") -> dict[str, Any]:
    """``{field name: submitted value}`` for every field whose control was in the form.

    A multiple choice sends a hidden empty value before its options, so choosing nothing still counts.
    """
    values: dict[str, Any] = {}
    for field in fields:
        name = input_name(field, prefix)
        if name not in form:
            continue
        if (field.options or {}).get("multiple"):
            values[field.name] = [value for value in form.getlist(name) if value]
        else:
            values[field.name] = form.get(name, "")
    return values


def split_errors(fields: list[Field], errors: dict[str, str]) -> dict[str, str]:
    """The errors that belong to no field control (shown above the form)."""
    names = {field.name for field in fields}
    return {name: message for name, message in errors.items() if name not in names}


@dataclass
class InterestGroup:
    name: str
    interests: list[Interest]


def interest_groups(interests: list[Interest]) -> list[InterestGroup]:
    """Interests grouped by their group name (the model orders them by group already)."""
    return [InterestGroup(name, list(items)) for name, items in groupby(interests, key=lambda i: i.group or "")]


def parse_interests(interests: list[Interest], form: MultiDict, *, name: str = "interest") -> dict[str, bool]:
    """Every interest of the database on or off, as the checkboxes say."""
    checked = set(form.getlist(name))
    return {str(interest.id): str(interest.id) in checked for interest in interests}


# --- list URLs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListState:
    """What a list URL says: search, conditions (``ff``/``fo``/``fv`` repeated: subject, operator, value per
    row; an older ``interest=12`` or ``-12`` link becomes a has / has-not row), order and page."""

    query: str = ""
    sort: str = "id"
    descending: bool = False
    cursor: str | None = None
    rows: tuple[Condition, ...] = ()

    @classmethod
    def from_args(cls, args) -> "ListState":
        return cls(
            query=args.get("q", "").strip()[:200],
            sort=args.get("sort") or "id",
            descending=args.get("dir") == "desc",
            cursor=args.get("cursor") or None,
            rows=_rows(args),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query arguments of this state with ``changes``; defaults are left out to keep URLs short."""
        state = replace(self, **changes)
        return {
            "q": state.query or None,
            "ff": [row.subject for row in state.rows] or None,
            "fo": [row.operator for row in state.rows] or None,
            "fv": [row.value for row in state.rows] or None,
            "sort": state.sort if state.sort != "id" else None,
            "dir": "desc" if state.descending else None,
            "cursor": state.cursor,
        }

    def filter_args(self) -> dict[str, Any]:
        """Only the search and conditions (what a count, a bulk action and a saved selection take)."""
        return {key: value for key, value in self.args(cursor=None).items() if key in ("q", "ff", "fo", "fv")}

    def where(self) -> ListFilter:
        """The search and conditions of this state, as the profile lists and bulk actions take them."""
        return ListFilter(query=self.query, rows=self.rows)

    @property
    def filtered(self) -> bool:
        return self.where().filtered

    def sort_args(self, key: str) -> dict[str, Any]:
        """Arguments of the link that sorts by ``key``: ascending first, then toggling direction."""
        return self.args(sort=key, descending=self.sort == key and not self.descending, cursor=None)


def _rows(args) -> tuple[Condition, ...]:
    subjects, operators, values = args.getlist("ff"), args.getlist("fo"), args.getlist("fv")
    rows = [
        Condition(subject[:40], operator[:20], value[:MAX_VALUE])
        for subject, operator, value in zip(subjects, operators, values + [""] * len(subjects), strict=False)
    ]
    interest = (args.get("interest") or "").strip()
    if interest.lstrip("-").isdigit() and len(interest) < 12:
        rows.append(Condition(f"interest:{interest.lstrip('-')}", "has_not" if interest.startswith("-") else "has"))
    return tuple(rows[: MAX_CONDITIONS + 1])  # one more than allowed, so the filter refuses rather than drops
