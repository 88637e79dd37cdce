"""The email template form: shape only; the rules (addresses, template syntax) live in ``email.templates``."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from webapp.email.templates import TemplateValues, values_of
from webapp.models import Database, EmailTemplate


class EmailTemplateInputs(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 200, "autocomplete": "off"})
    database_id = SelectField(_l("Database"), choices=[])
    subject = StringField(_l("Subject"), render_kw={"maxlength": 500, "autocomplete": "off", "spellcheck": "false"})
    sender = StringField(_l("From"), render_kw={"maxlength": 255, "autocomplete": "off"})
    reply_to = StringField(_l("Reply-To"), render_kw={"maxlength": 255, "autocomplete": "off"})
    html = TextAreaField(_l("HTML part"), render_kw={"rows": 12, "spellcheck": "false", "class": "code"})
    text = TextAreaField(_l("Text part"), render_kw={"rows": 8, "spellcheck": "false", "class": "code"})
    track_opens = BooleanField(_l("Track opens (an invisible image)"))
    track_clicks = BooleanField(_l("Track clicks (links go through a signed redirect)"))
    preview_profile_id = IntegerField(_l("Preview for profile (id)"), validators=[Optional()])

    def __init__(self, databases: list[Database], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.database_id.choices = [SelectChoice("", _l("Any database"))] + [
            SelectChoice(str(database.id), database.name) for database in databases
        ]

    @classmethod
    def of(cls, databases: list[Database], template: EmailTemplate | None = None) -> "EmailTemplateInputs":
        """An unsubmitted form, filled from ``template`` (or the defaults of a new one)."""
        values = values_of(template) if template is not None else TemplateValues(name="", subject="")
        data = {**values.__dict__, "database_id": str(values.database_id or "")}
        return cls(databases, formdata=None, data=data)

    def values(self) -> TemplateValues:
        database_id = (self.database_id.data or "").strip()
        return TemplateValues(
            name=self.name.data or "",
            subject=self.subject.data or "",
            html=self.html.data or "",
            text=self.text.data or "",
            sender=self.sender.data or "",
            reply_to=self.reply_to.data or "",
            track_opens=bool(self.track_opens.data),
            track_clicks=bool(self.track_clicks.data),
            database_id=int(database_id) if database_id.isdigit() else None,
        )


class EmailDesignInputs(EmailTemplateInputs):
    """The visual editor's form: the template's settings, and the design the editor puts in hidden fields."""

    html = None  # type: ignore[assignment]  # made from the design
    text = None  # type: ignore[assignment]  # made from the HTML when sent
    design_mjml = HiddenField()
    design_project = HiddenField()
    test_addresses = StringField(
        _l("Send a test to"), render_kw={"maxlength": 1000, "autocomplete": "email", "placeholder": "you@example.com"}
    )

    def values(self) -> TemplateValues:
        database_id = (self.database_id.data or "").strip()
        return TemplateValues(
            name=self.name.data or "",
            subject=self.subject.data or "",
            sender=self.sender.data or "",
            reply_to=self.reply_to.data or "",
            track_opens=bool(self.track_opens.data),
            track_clicks=bool(self.track_clicks.data),
            database_id=int(database_id) if database_id.isdigit() else None,
        )
