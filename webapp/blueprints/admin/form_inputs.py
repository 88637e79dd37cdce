"""Forms of the web-form builder: shape only; the rules live in ``webforms/builder.py``."""

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField

from webapp.blueprints.admin.callback_inputs import CheckboxesField
from webapp.models import Database, Field, Form
from webapp.webforms.builder import behaviour_labels, key_fields_of, settings_of
from webapp.webforms.items import DEFAULT_FILE_BYTES, ITEM_PROPERTIES
from webapp.widgets.definition import ITEM_TEXTS, form_languages
from webapp.widgets.languages import LANGUAGES, localized, written_in

# Service error keys that these forms spell differently.
ERROR_ALIASES = {"max_bytes": "max_kilobytes"}

# The item properties the edit form posts as fields of its own (the file size is posted in kilobytes).
POSTED_PROPERTIES = tuple(sorted(set().union(*ITEM_PROPERTIES.values()) - {"max_bytes"}))


# The settings a marketer writes per language (the items' are ``ITEM_TEXTS``).
SETTING_TEXTS = ("submit_label", "success_message", "email_subject", "email_text")


def language_labels() -> dict[str, str]:
    return {"nl": _l("Dutch"), "en": _l("English"), "fr": _l("French"), "de": _l("German")}


def texts_shown(stored: dict[str, Any], names: tuple[str, ...], langs: list[str]) -> dict[str, str]:
    """Stored texts as the per-language inputs show them (``name.<lang>``): a plain string (written before the
    form had languages) under the default language, where it is what every language shows."""
    return {f"{name}.{lang}": written_in(stored.get(name), lang, langs[0]) for name in names for lang in langs}


def _in_one_language(stored: dict[str, Any], langs: list[str]) -> dict[str, str]:
    """Stored values with texts in the default language, for the inputs of a form of one language (a form whose
    languages were taken away shows what it showed, and saving makes its texts plain strings again)."""
    default = langs[0] if langs else ""
    return {name: localized(stored.get(name), default, default) for name in (*ITEM_TEXTS, *SETTING_TEXTS)}


def posted_texts(posted, name: str, langs: list[str]) -> dict[str, str]:
    return {lang: str(posted.get(f"{name}.{lang}") or "") for lang in langs}


def _posts_language(posted, lang: str) -> bool:
    return any(str(posted.get(f"{name}.{lang}") or "").strip() for name in ITEM_TEXTS)


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

    def __init__(self, *args, field: Field | None = None, langs: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.langs = langs or []  # the form's languages: its texts get an input per language
        self.texts: dict[str, str] = {}  # what those inputs show, by ``name.<lang>``
        if field is not None and field.type == "choice":
            unfit = "radio" if (field.options or {}).get("multiple") else "checkboxes"
            self.widget.choices = [choice for choice in self.widget.choices if choice.value != unfit]

    @classmethod
    def of(cls, item: dict[str, Any], field: Field | None = None, langs: list[str] | None = None) -> "ItemInputs":
        default = item.get("default")
        plain = _in_one_language(item, langs or [])
        inputs = cls(
            formdata=None,
            field=field,
            langs=langs,
            label=plain.get("label", ""),
            help=plain.get("help", ""),
            placeholder=plain.get("placeholder", ""),
            required=bool(item.get("required")),
            default=", ".join(default) if isinstance(default, list) else ("" if default is None else str(default)),
            default_checked=bool(default) if item["type"] == "interest" else False,
            prefill=bool(item.get("prefill")),
            validation_message=plain.get("validation_message", ""),
            widget=item.get("widget") or "select",
            multiline=bool(item.get("multiline")),
            sensitive=bool(item.get("sensitive")),
            repeat_label=plain.get("repeat_label", ""),
            text=plain.get("text", ""),
            html=plain.get("html", ""),
            accept=", ".join(item.get("accept") or []),
            max_kilobytes=(item.get("max_bytes") or DEFAULT_FILE_BYTES) // 1024,
        )
        inputs.texts = texts_shown(item, ITEM_TEXTS, inputs.langs)
        return inputs

    def values(self, item_type: str, posted=None) -> dict[str, Any]:
        """The posted properties, as the service takes them; texts per language when the form has languages."""
        values = {name: self[name].data for name in POSTED_PROPERTIES}
        if self.langs:
            # An editor opened before a language was taken away still posts its inputs: they go to the service,
            # which keeps a text the item holds in that language and refuses a new one, and are shown again.
            stale = [lang for lang in LANGUAGES if lang not in self.langs and _posts_language(posted, lang)]
            self.langs = [*self.langs, *stale]
            values |= {name: posted_texts(posted, name, self.langs) for name in ITEM_TEXTS}
            self.texts = {f"{name}.{lang}": text for name in ITEM_TEXTS for lang, text in values[name].items()}
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
    languages = CheckboxesField(_l("Languages of the form's texts"))
    default_language = SelectField(_l("Default language"), choices=[], validate_choice=False)
    language_field_id = SelectField(_l("Profile field with the language"), choices=[], validate_choice=False)

    def __init__(self, database: Database, *args, langs: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.collection_id.choices = collection_choices(database)
        self.behaviour.choices = [SelectChoice(name, label) for name, label in behaviour_labels().items()]
        self.key_field_ids.choices = [SelectChoice(str(field.id), field.name) for field in database.fields]
        languages = [SelectChoice(lang, label) for lang, label in language_labels().items()]
        self.languages.choices, self.default_language.choices = languages, languages
        self.language_field_id.choices = [SelectChoice("", _l("(none)"))] + [
            SelectChoice(str(field.id), field.name) for field in database.fields
        ]
        self.database = database
        self.langs = langs or []  # the form's languages as stored: its texts get an input per language
        self.texts: dict[str, str] = {}  # what those inputs show, by ``name.<lang>``

    @classmethod
    def of(cls, database: Database, form: Form) -> "SettingsInputs":
        settings = settings_of(form)
        opt_in = settings["double_opt_in"]
        langs = form_languages(form)
        plain = _in_one_language({**settings, **opt_in}, langs)
        inputs = cls(
            database,
            formdata=None,
            langs=langs,
            name=form.name,
            collection_id=str(form.collection_id or ""),
            behaviour=form.behaviour,
            key_field_ids=[str(one) for one in key_fields_of(form)],
            on_no_match=form.on_no_match,
            allowed_origins="\n".join(form.allowed_origins or []),
            submit_label=plain.get("submit_label", ""),
            success_message=plain.get("success_message", ""),
            redirect_url=settings["redirect_url"],
            max_submissions_per_profile=str(settings["max_submissions_per_profile"]),
            min_fill_seconds=str(settings["min_fill_seconds"]),
            notify_email=settings["notify_email"],
            double_opt_in=bool(opt_in["enabled"]),
            email_subject=plain.get("email_subject", ""),
            email_text=plain.get("email_text", ""),
            link_ttl_hours=str(opt_in["link_ttl_hours"]),
            languages=langs,
            default_language=langs[0] if langs else "",
            language_field_id=str(settings.get("language_field_id") or ""),
        )
        inputs.texts = texts_shown({**settings, **opt_in}, SETTING_TEXTS, langs)
        return inputs

    def values(self, posted) -> dict[str, Any]:
        """The service's arguments; the opt-in values come from the posted ``unconfirmed-<field id>`` rows, the
        texts from an input per language when the form has languages."""
        texts = {name: self[name].data or "" for name in SETTING_TEXTS}
        if self.langs:
            texts = {name: posted_texts(posted, name, self.langs) for name in SETTING_TEXTS}
            self.texts = {f"{name}.{lang}": text for name, by_lang in texts.items() for lang, text in by_lang.items()}
        ticked = [lang for lang in LANGUAGES if lang in (self.languages.data or [])]
        default = self.default_language.data if self.default_language.data in ticked else (ticked or [""])[0]
        return {
            "name": self.name.data or "",
            "collection_id": _number(self.collection_id.data),
            "behaviour": self.behaviour.data or "",
            "key_field_ids": self.key_field_ids.data or [],
            "on_no_match": self.on_no_match.data or "",
            "allowed_origins": self.allowed_origins.data or "",
            "submit_label": texts["submit_label"],
            "success_message": texts["success_message"],
            "redirect_url": self.redirect_url.data or "",
            "max_submissions_per_profile": self.max_submissions_per_profile.data or "0",
            "min_fill_seconds": self.min_fill_seconds.data or "0",
            "notify_email": self.notify_email.data or "",
            "double_opt_in": {
                "enabled": bool(self.double_opt_in.data),
                "unconfirmed_values": opt_in_values(posted, "unconfirmed", self.database),
                "confirmed_values": opt_in_values(posted, "confirmed", self.database),
                "email_subject": texts["email_subject"],
                "email_text": texts["email_text"],
                "link_ttl_hours": self.link_ttl_hours.data or "0",
            },
            "languages": [default, *(lang for lang in ticked if lang != default)] if ticked else [],
            "language_field_id": _number(self.language_field_id.data),
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
