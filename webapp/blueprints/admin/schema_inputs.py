"""Forms of the database-schema admin: databases, fields, interests, collections, unsubscribe behaviour.

The forms only carry shape (and render with ``_macros.field``); every rule lives in the services, whose
``ValidationError.errors`` are put back on the form with ``apply_errors``.
"""

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, TextAreaField

from webapp.models import Collection, Database, Field
from webapp.profiles.field_types import FIELD_TYPES
from webapp.profiles.fields import FieldSpec

# Types whose options the field form asks for (the others have none).
TYPES_WITH_OPTIONS = ("text", "choice", "phone", "reference")

# Service error keys that a form spells differently.
ERROR_ALIASES = {"database_id": "reference_database"}


def apply_errors(form: FlaskForm, errors: dict[str, str]) -> dict[str, str]:
    """Attach service errors to the form's inputs; return those that belong to no input (shown on top)."""
    rest = {}
    for name, message in errors.items():
        form_field = form._fields.get(ERROR_ALIASES.get(name, name)) if name else None
        if form_field is not None and form_field.name != "csrf_token":
            form_field.errors = [*form_field.errors, message]
        else:
            rest[name] = message
    return rest


class SchemaInputs(FlaskForm):
    """A form whose element ids carry ``id_prefix``, so that several forms can share a page."""

    id_prefix = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.id_prefix:
            for form_field in self:
                form_field.id = f"{self.id_prefix}-{form_field.name}"
                form_field.label.field_id = form_field.id


class DatabaseInputs(SchemaInputs):
    id_prefix = "database"
    name = StringField(_l("Name"), render_kw={"maxlength": 64, "autocomplete": "off"})
    description = TextAreaField(_l("Description"), render_kw={"rows": 2})


class DatabaseSettingsInputs(DatabaseInputs):
    archived = BooleanField(_l("Archived"))


class DeleteDatabaseInputs(SchemaInputs):
    id_prefix = "delete"
    confirm_name = StringField(_l("Type the name of the database to confirm"), render_kw={"autocomplete": "off"})


class NameInputs(SchemaInputs):
    """A collection's name (create and rename)."""

    id_prefix = "collection"

    name = StringField(_l("Name"), render_kw={"maxlength": 64, "autocomplete": "off"})


class InterestInputs(SchemaInputs):
    id_prefix = "interest"
    name = StringField(_l("Name"), render_kw={"maxlength": 64, "autocomplete": "off"})
    group = StringField(_l("Group"), render_kw={"maxlength": 64, "list": "interest-groups", "autocomplete": "off"})


class FieldInputs(SchemaInputs):
    """The add/edit form of a field; its ids are plain (``name``, ``type``…) as it is the page's main form."""

    name = StringField(_l("Name"), render_kw={"maxlength": 64, "autocomplete": "off"})
    label_en = StringField(_l("Label in English"), render_kw={"maxlength": 100, "lang": "en"})
    label_nl = StringField(_l("Label in Dutch"), render_kw={"maxlength": 100, "lang": "nl"})
    type = SelectField(
        _l("Type"), choices=[SelectChoice(name, kind.label) for name, kind in FIELD_TYPES.items()], default="text"
    )
    length = StringField(_l("Maximum length"), default="255", render_kw={"inputmode": "numeric"})
    choices = TextAreaField(_l("Choices, one per line"), render_kw={"rows": 4})
    multiple = BooleanField(_l("Allow more than one choice"))
    region = StringField(_l("Default region"), render_kw={"maxlength": 2, "placeholder": "NL"})
    decimals = StringField(_l("Decimals"), render_kw={"inputmode": "numeric", "placeholder": _l("as given")})
    reference_database = SelectField(_l("Refers to profiles of"), choices=[], validate_choice=False)
    default = StringField(_l("Default value"))
    required = BooleanField(_l("Required"))
    shown = BooleanField(_l("Column in the profile list"), default=True)
    hidden = BooleanField(_l("Hidden in the profile editor"))
    indexed = BooleanField(_l("Indexed (fast search and sort)"))
    unique = BooleanField(_l("Unique (no two profiles share a value)"))
    personal = BooleanField(_l("Personal data"))

    def set_databases(self, databases) -> "FieldInputs":
        """Offer the account's databases as targets of a reference field."""
        self.reference_database.choices = [SelectChoice("", _l("Choose a database"))] + [
            SelectChoice(str(database.id), database.name) for database in databases
        ]
        return self

    @staticmethod
    def type_label(type_name: str) -> str:
        kind = FIELD_TYPES.get(type_name)
        return str(kind.label) if kind else type_name

    def to_spec(self, *, for_collection: bool = False) -> FieldSpec:
        """The ``FieldSpec`` the services take; only the options of the chosen type are passed on."""
        type_name = self.type.data or "text"
        options: dict[str, Any] = {}
        if type_name == "text":
            options = {"length": (self.length.data or "").strip()}
        elif type_name == "choice":
            options = {"choices": self.choices.data or "", "multiple": bool(self.multiple.data)}
        elif type_name == "phone":
            options = {"region": self.region.data or ""}
        elif type_name == "decimal":
            options = {"decimals": (self.decimals.data or "").strip()}
        elif type_name == "reference":
            options = {"database_id": self.reference_database.data or ""}
        return FieldSpec(
            name=(self.name.data or "").strip(),
            type=type_name,
            options=options,
            default=self.default.data or None,
            required=bool(self.required.data),
            shown=bool(self.shown.data),
            hidden=bool(self.hidden.data),
            indexed=False if for_collection else bool(self.indexed.data),
            unique=False if for_collection else bool(self.unique.data),
            personal=bool(self.personal.data),
            labels={"en": self.label_en.data or "", "nl": self.label_nl.data or ""},
        )


def field_form_data(field: Field) -> dict[str, Any]:
    """The edit form's initial values for a stored field."""
    options = field.options or {}
    default = field.default
    if isinstance(default, list):
        default = ", ".join(str(item) for item in default)
    return {
        "name": field.name,
        "label_en": (field.labels or {}).get("en", ""),
        "label_nl": (field.labels or {}).get("nl", ""),
        "type": field.type,
        "length": str(options.get("length", 255)),
        "choices": "\n".join(options.get("choices", [])),
        "multiple": bool(options.get("multiple")),
        "region": options.get("region", ""),
        "decimals": "" if options.get("decimals") is None else str(options["decimals"]),
        "reference_database": str(options.get("database_id", "")),
        "default": "" if default is None else str(default),
        "required": field.required,
        "shown": field.shown,
        "hidden": field.hidden,
        "indexed": field.indexed,
        "unique": field.unique,
        "personal": field.personal,
    }


def unsubscribe_input(kind: str, name: str) -> str:
    """The name of the form input that holds the unsubscribe value of a field (``field``) or interest."""
    return f"{kind}-{name}"


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)


@dataclass
class UnsubscribeState:
    """What the unsubscribe form shows: the behaviour and, per field and interest name, the value to set."""

    behaviour: str
    field_values: dict[str, str]
    interest_states: dict[str, str]  # name -> "on", "off" or "" (leave as is)

    @classmethod
    def stored(cls, owner: Database | Collection, values_by_name: dict[str, Any]) -> "UnsubscribeState":
        field_names = {field.name for field in owner.fields}
        interests = owner.interests if isinstance(owner, Database) else []
        return cls(
            behaviour=owner.unsubscribe_behaviour,
            field_values={name: _shown(value) for name, value in values_by_name.items() if name in field_names},
            interest_states={
                interest.name: ("on" if values_by_name[interest.name] else "off")
                for interest in interests
                if interest.name in values_by_name
            },
        )

    @classmethod
    def submitted(cls, form, owner: Database | Collection) -> "UnsubscribeState":
        """Read the posted rows; an empty row means "leave this value as it is"."""
        interests = owner.interests if isinstance(owner, Database) else []
        return cls(
            behaviour=form.get("behaviour", ""),
            field_values={
                field.name: form.get(unsubscribe_input("field", field.name), "").strip() for field in owner.fields
            },
            interest_states={
                interest.name: form.get(unsubscribe_input("interest", interest.name), "") for interest in interests
            },
        )

    def field_values_to_set(self) -> dict[str, str]:
        return {name: value for name, value in self.field_values.items() if value}

    def interest_values_to_set(self) -> dict[str, bool]:
        return {name: state == "on" for name, state in self.interest_states.items() if state in ("on", "off")}
