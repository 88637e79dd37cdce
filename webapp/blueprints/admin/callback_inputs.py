"""The callback form: shape only; the rules (URL, condition, actions, sources) live in ``callbacks.deliveries``."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.blueprints.admin.access import current_account
from webapp.models import Database
from webapp.profiles.events import SOURCES
from webapp.selections import selections


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes; the service checks the values (so no ``pre_validate``)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form):
        pass


def action_labels() -> dict[str, str]:
    return {"create": _l("Created"), "update": _l("Updated"), "delete": _l("Deleted")}


def source_labels() -> dict[str, str]:
    labels = {
        "admin": _l("Admin"),
        "form": _l("Web form"),
        "survey": _l("Survey"),
        "soap": _l("SOAP API"),
        "api": _l("REST API"),
        "import": _l("Import"),
        "follow-up": _l("Follow-up"),
        "email": _l("Email"),
        "unsubscribe": _l("Unsubscribe"),
        "bounce": _l("Bounce"),
        "system": _l("System"),
    }
    return {source: labels.get(source, source) for source in SOURCES}


class CallbackInputs(FlaskForm):
    url = StringField(
        _l("URL"),
        render_kw={
            "maxlength": 2000,
            "autocomplete": "off",
            "type": "url",
            "placeholder": "https://example.com/verrijk-callback",
        },
    )
    method = SelectField(
        _l("Body"),
        choices=[
            SelectChoice("json", _l("JSON (application/json)")),
            SelectChoice("post", _l("Form fields (like Copernica's POST callbacks)")),
        ],
    )
    style = SelectField(
        _l("Style"),
        choices=[
            SelectChoice("standard", _l("Standard Webhooks (our variables, HMAC signature)")),
            SelectChoice("copernica", _l("Copernica (Copernica's webhook variables and HTTP Signature)")),
        ],
    )
    collection_id = SelectField(_l("Changes of"), choices=[])
    actions = CheckboxesField(_l("When a profile is"))
    sources = CheckboxesField(_l("Changed through (none ticked: any)"))
    expression = TextAreaField(_l("Condition (optional)"), render_kw={"rows": 3, "spellcheck": "false"})
    selection_id = SelectField(_l("Only for the members of"), choices=[])

    def __init__(self, database: Database, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.selection_id.choices = [SelectChoice("", _l("— everyone —"))] + [
            SelectChoice(str(row.id), row.name) for row in selections.list_selections(current_account(), database.id)
        ]
        self.collection_id.choices = [SelectChoice("", _l("Profiles of this database"))] + [
            SelectChoice(str(collection.id), _l("Subprofiles of collection %(name)s", name=collection.name))
            for collection in database.collections
        ]
        self.actions.choices = [SelectChoice(name, label) for name, label in action_labels().items()]
        self.sources.choices = [SelectChoice(name, label) for name, label in source_labels().items()]

    @classmethod
    def of(cls, database: Database, callback=None) -> "CallbackInputs":
        """An unsubmitted form, filled from ``callback`` when given."""
        if callback is None:
            return cls(database, formdata=None, actions=[], sources=[])
        return cls(
            database,
            formdata=None,
            url=callback.url,
            method=callback.method,
            style=callback.style,
            collection_id=str(callback.collection_id or ""),
            actions=list(callback.actions or []),
            sources=list(callback.sources or []),
            expression=callback.expression,
            selection_id=str(callback.selection_id or ""),
        )

    def values(self) -> dict:
        return {
            "url": self.url.data or "",
            "method": self.method.data or "json",
            "style": self.style.data or "standard",
            "actions": self.actions.data or [],
            "sources": self.sources.data or [],
            "expression": self.expression.data or "",
            "collection_id": int(self.collection_id.data) if (self.collection_id.data or "").isdigit() else None,
            "selection_id": int(self.selection_id.data) if (self.selection_id.data or "").isdigit() else None,
        }
