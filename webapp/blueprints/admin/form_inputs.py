"""Forms of the web-form builder: shape only; the rules live in ``webforms/builder.py``."""

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField

from webapp.blueprints.admin.callback_inputs import CheckboxesField
from webapp.models import Database, Field, Form
from webapp.webforms.builder import behaviour_labels, settings_of
from webapp.webforms.items import DEFAULT_FILE_BYTES, ITEM_PROPERTIES

# Service error keys that these forms spell differently.
ERROR_ALIASES = {"max_bytes": "max_kilobytes"}

# The item properties the edit form posts as fields of its own (the file size is posted in kilobytes).
POSTED_PROPERTIES = tuple(sorted(set().union(*ITEM_PROPERTIES.values()) - {"max_bytes"}))


def collection_choices(database: Database) -> list[SelectChoice]:
    return [SelectChoice("", _l("None: profiles only"))] + [
        SelectChoice(str(collection.id), collection.name) for collection in database.collections
    ]


class NewFormInputs(FlaskForm):
    name = StringField(
        _l("Name"), render_kw={"maxlength": 100, "autocomplete": "off", "placeholder": _l("Newsletter sign-up")}
    )
    database_id = SelectField(_l("Database"), choices=[], validate_choice=False)
    collection_id = SelectField(_l("Also create a subprofile in"), choices=[], validate_choice=False)

    def __init__(self, databases: list[Database], database: Database | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.database_id.choices = [SelectChoice(str(one.id), one.name) for one in databases]
        self.collection_id.choices = collection_choices(database) if database else []

    def values(self) -> dict[str, Any]:
        return {"name": self.name.data or "", "collection_id": _number(self.collection_id.data)}


class ItemInputs(FlaskForm):
    """Every property an item can have; the template shows those of the item's type."""

    label = StringField(_l("Label"), render_kw={"maxlength": 200})
    help = StringField(_l("Help text"), render_kw={"maxlength": 500})
    placeholder = StringField(_l("Placeholder"), render_kw={"maxlength": 200})
    required = BooleanField(_l("Required"))
    default = StringField(_l("Default value"), render_kw={"maxlength": 2000})
    default_checked = BooleanField(_l("Ticked by default"))
    prefill = BooleanField(_l("Value from the database when the visitor is known"))
    validation_message = StringField(_l("Message when the value is missing or wrong"), render_kw={"maxlength": 300})
    widget = SelectField(
        _l("Show the choices as"),
        choices=[
            SelectChoice("select", _l("Drop-down list")),
            SelectChoice("radio", _l("Radio buttons")),
            SelectChoice("checkboxes", _l("Checkboxes")),
        ],
        validate_choice=False,
    )
    multiline = BooleanField(_l("Several lines"))
    sensitive = BooleanField(_l("Sensitive: never keep the value in the spam log"))
    repeat_label = StringField(_l("Label of the repeat box"), render_kw={"maxlength": 200})
    text = TextAreaField(_l("Consent text (stored with each submission)"), render_kw={"rows": 3, "maxlength": 5000})
    html = TextAreaField(
        _l("Text (HTML: paragraphs, bold, italic, lists and links)"),
        render_kw={"rows": 6, "maxlength": 20000, "spellcheck": "true"},
    )
    accept = StringField(_l("File types"), render_kw={"placeholder": ".pdf, image/png, image/*"})
    max_kilobytes = IntegerField(_l("Maximum size (kB)"), render_kw={"min": 1, "step": 1})

    def __init__(self, *args, field: Field | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if field is not None and field.type == "choice":
            unfit = "radio" if (field.options or {}).get("multiple") else "checkboxes"
            self.widget.choices = [choice for choice in self.widget.choices if choice.value != unfit]

    @classmethod
    def of(cls, item: dict[str, Any], field: Field | None = None) -> "ItemInputs":
        default = item.get("default")
        return cls(
            formdata=None,
            field=field,
            label=item.get("label", ""),
            help=item.get("help", ""),
            placeholder=item.get("placeholder", ""),
            required=bool(item.get("required")),
            default=", ".join(default) if isinstance(default, list) else ("" if default is None else str(default)),
            default_checked=bool(default) if item["type"] == "interest" else False,
            prefill=bool(item.get("prefill")),
            validation_message=item.get("validation_message", ""),
            widget=item.get("widget") or "select",
            multiline=bool(item.get("multiline")),
            sensitive=bool(item.get("sensitive")),
            repeat_label=item.get("repeat_label", ""),
            text=item.get("text", ""),
            html=item.get("html", ""),
            accept=", ".join(item.get("accept") or []),
            max_kilobytes=(item.get("max_bytes") or DEFAULT_FILE_BYTES) // 1024,
        )

    def values(self, item_type: str) -> dict[str, Any]:
        """The posted properties, as the service takes them."""
        values = {name: self[name].data for name in POSTED_PROPERTIES}
        if item_type == "interest":
            values["default"] = bool(self.default_checked.data)
        kilobytes = self.max_kilobytes.raw_data[0] if self.max_kilobytes.raw_data else ""
        values["max_bytes"] = int(kilobytes) * 1024 if str(kilobytes).strip().isdigit() else 0
        return values


class SettingsInputs(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 100, "autocomplete": "off"})
    collection_id = SelectField(_l("Also create a subprofile in"), choices=[], validate_choice=False)
    behaviour = SelectField(_l("On submit"), choices=[], validate_choice=False)
    key_field_ids = CheckboxesField(_l("Key fields (find the profile)"))
    on_no_match = SelectField(
        _l("When no profile matches"),
        choices=[
            SelectChoice("create", _l("Create a new profile")),
            SelectChoice("reject", _l("Reject the submission")),
        ],
        validate_choice=False,
    )
    allowed_origins = TextAreaField(
        _l("Allowed origins"),
        render_kw={"rows": 3, "spellcheck": "false", "placeholder": "https://shop.example\nhttps://www.example.com"},
    )
    submit_label = StringField(_l("Label of the submit button"), render_kw={"maxlength": 100})
    success_message = TextAreaField(_l("Success message"), render_kw={"rows": 2, "maxlength": 2000})
    redirect_url = StringField(
        _l("Or redirect to"), render_kw={"type": "url", "maxlength": 2000, "placeholder": "https://shop.example/thanks"}
    )
    max_submissions_per_profile = StringField(
        _l("Submissions per profile (0: unlimited)"), render_kw={"type": "number", "min": 0}
    )
    min_fill_seconds = StringField(
        _l("Minimum seconds to fill in (spam check)"), render_kw={"type": "number", "min": 0}
    )
    notify_email = StringField(_l("Notify this address of each submission"), render_kw={"type": "email"})
    double_opt_in = BooleanField(_l("Double opt-in: new sign-ups confirm by email"))
    email_subject = StringField(_l("Subject of the confirmation email"), render_kw={"maxlength": 200})
    email_text = TextAreaField(_l("Text of the confirmation email"), render_kw={"rows": 5})
    link_ttl_hours = StringField(_l("The link works for (hours)"), render_kw={"type": "number", "min": 1})

    def __init__(self, database: Database, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.collection_id.choices = collection_choices(database)
        self.behaviour.choices = [SelectChoice(name, label) for name, label in behaviour_labels().items()]
        self.key_field_ids.choices = [SelectChoice(str(field.id), field.name) for field in database.fields]
        self.database = database

    @classmethod
    def of(cls, database: Database, form: Form) -> "SettingsInputs":
        settings = settings_of(form)
        opt_in = settings["double_opt_in"]
        return cls(
            database,
            formdata=None,
            name=form.name,
            collection_id=str(form.collection_id or ""),
            behaviour=form.behaviour,
            key_field_ids=[str(one) for one in form.key_field_ids or []],
            on_no_match=form.on_no_match,
            allowed_origins="\n".join(form.allowed_origins or []),
            submit_label=settings["submit_label"],
            success_message=settings["success_message"],
            redirect_url=settings["redirect_url"],
            max_submissions_per_profile=str(settings["max_submissions_per_profile"]),
            min_fill_seconds=str(settings["min_fill_seconds"]),
            notify_email=settings["notify_email"],
            double_opt_in=bool(opt_in["enabled"]),
            email_subject=opt_in["email_subject"],
            email_text=opt_in["email_text"],
            link_ttl_hours=str(opt_in["link_ttl_hours"]),
        )

    def values(self, posted) -> dict[str, Any]:
        """The service's arguments; the opt-in values come from the posted ``unconfirmed-<field id>`` rows."""
        return {
            "name": self.name.data or "",
            "collection_id": _number(self.collection_id.data),
            "behaviour": self.behaviour.data or "",
            "key_field_ids": self.key_field_ids.data or [],
            "on_no_match": self.on_no_match.data or "",
            "allowed_origins": self.allowed_origins.data or "",
            "submit_label": self.submit_label.data or "",
            "success_message": self.success_message.data or "",
            "redirect_url": self.redirect_url.data or "",
            "max_submissions_per_profile": self.max_submissions_per_profile.data or "0",
            "min_fill_seconds": self.min_fill_seconds.data or "0",
            "notify_email": self.notify_email.data or "",
            "double_opt_in": {
                "enabled": bool(self.double_opt_in.data),
                "unconfirmed_values": opt_in_values(posted, "unconfirmed", self.database),
                "confirmed_values": opt_in_values(posted, "confirmed", self.database),
                "email_subject": self.email_subject.data or "",
                "email_text": self.email_text.data or "",
                "link_ttl_hours": self.link_ttl_hours.data or "0",
            },
        }


def opt_in_values(posted, state: str, database: Database) -> dict[str, str]:
    """``{field id: value}`` of the filled ``<state>-<field id>`` inputs (an empty input sets nothing)."""
    values = {}
    for field in database.fields:
        value = (posted.get(f"{state}-{field.id}") or "").strip()
        if value:
            values[str(field.id)] = value
    return values


def _number(text) -> int | None:
    text = str(text or "").strip()
    return int(text) if text.isdigit() else None
