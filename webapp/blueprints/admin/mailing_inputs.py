"""The mailing forms: shape only; the rules (selections of the database, throttle, variants, repeat) live in
``mailings.definitions``."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.mailings.definitions import MailingValues, parse_domain_limits
from webapp.models import Database, EmailTemplate, Mailing, Selection

WEEKDAYS = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
VARIANTS = 4


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MailingInputs(FlaskForm):
    name = StringField(_l("Name"), render_kw={"maxlength": 200, "autocomplete": "off"})
    database_id = SelectField(_l("Database"), choices=[])
    template_id = SelectField(_l("Email template"), choices=[])
    target_ids = SelectMultipleField(_l("Send to (selections)"), choices=[], render_kw={"size": 5})
    exclude_ids = SelectMultipleField(_l("Leave out (selections)"), choices=[], render_kw={"size": 5})
    subject = StringField(_l("Subject"), render_kw={"maxlength": 500, "autocomplete": "off"})
    sender = StringField(_l("From"), render_kw={"maxlength": 255, "autocomplete": "off"})
    per_minute = IntegerField(_l("Messages per minute"), validators=[Optional()], render_kw={"inputmode": "numeric"})
    domain_limits = TextAreaField(_l("Per-domain limits"), render_kw={"rows": 2, "spellcheck": "false"})
    variant_1 = StringField(_l("Subject of variant 1"), render_kw={"maxlength": 500, "autocomplete": "off"})
    variant_2 = StringField(_l("Subject of variant 2"), render_kw={"maxlength": 500, "autocomplete": "off"})
    variant_3 = StringField(_l("Subject of variant 3"), render_kw={"maxlength": 500, "autocomplete": "off"})
    variant_4 = StringField(_l("Subject of variant 4"), render_kw={"maxlength": 500, "autocomplete": "off"})
    template_1 = SelectField(_l("Template of variant 1"), choices=[])
    template_2 = SelectField(_l("Template of variant 2"), choices=[])
    template_3 = SelectField(_l("Template of variant 3"), choices=[])
    template_4 = SelectField(_l("Template of variant 4"), choices=[])
    ab_percent = IntegerField(_l("Sample (percent of the recipients)"), validators=[Optional()], default=20)
    ab_wait_minutes = IntegerField(
        _l("Wait before choosing the winner (minutes)"), validators=[Optional()], default=240
    )
    ab_metric = SelectField(
        _l("Winner by"), choices=[SelectChoice("opens", _l("opens")), SelectChoice("clicks", _l("clicks"))]
    )
    repeat_weekdays = Checkboxes(
        _l("Repeat on"), choices=[SelectChoice(str(day), name) for day, name in enumerate(WEEKDAYS)]
    )
    repeat_time = StringField(_l("At (HH:MM, the account's time zone)"), render_kw={"placeholder": "09:00"})

    def __init__(self, databases: list[Database], templates: list[EmailTemplate], selections, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.database_id.choices = [SelectChoice(str(database.id), database.name) for database in databases]
        choices = [SelectChoice("", _l("Choose a template"))] + [
            SelectChoice(str(template.id), template.name) for template in templates
        ]
        self.template_id.choices = choices
        for number in range(1, VARIANTS + 1):
            getattr(self, f"template_{number}").choices = [SelectChoice("", _l("The mailing's template"))] + choices[1:]
        names = {database.id: database.name for database in databases}
        options = [SelectChoice(str(s.id), f"{names.get(s.database_id, '')}: {s.name}") for s in selections]
        self.target_ids.choices = options
        self.exclude_ids.choices = options

    @classmethod
    def of(cls, databases, templates, selections: list[Selection], mailing: Mailing | None = None) -> "MailingInputs":
        """An unsubmitted form, filled from ``mailing`` (or the defaults of a new one)."""
        data: dict = {"ab_percent": 20, "ab_wait_minutes": 240, "ab_metric": "opens"}
        if mailing is not None:
            data |= {
                "name": mailing.name,
                "database_id": str(mailing.database_id),
                "template_id": str(mailing.template_id or ""),
                "target_ids": [str(i) for i in mailing.target_ids or []],
                "exclude_ids": [str(i) for i in mailing.exclude_ids or []],
                "subject": mailing.subject,
                "sender": mailing.sender,
                "per_minute": mailing.per_minute,
                "domain_limits": ", ".join(f"{d}={n}" for d, n in (mailing.domain_limits or {}).items()),
                "ab_percent": mailing.ab_percent,
                "ab_wait_minutes": mailing.ab_wait_minutes,
                "ab_metric": mailing.ab_metric,
                "repeat_weekdays": [str(day) for day in (mailing.repeat or {}).get("weekdays", [])],
                "repeat_time": (mailing.repeat or {}).get("time", ""),
            }
            for number, variant in enumerate(mailing.variants or [], start=1):
                data[f"variant_{number}"] = variant.get("subject", "")
                data[f"template_{number}"] = str(variant.get("template_id") or "")
        return cls(databases, templates, selections, formdata=None, data=data)

    def values(self) -> MailingValues:
        """The values for the domain; ``ValidationError`` for per-domain limits that are not ``domain=number``."""
        variants = [
            {
                "subject": getattr(self, f"variant_{number}").data or "",
                "template_id": _id(getattr(self, f"template_{number}").data),
            }
            for number in range(1, VARIANTS + 1)
        ]
        weekdays = [int(day) for day in self.repeat_weekdays.data or []]
        repeat_time = (self.repeat_time.data or "").strip()
        return MailingValues(
            name=self.name.data or "",
            database_id=_id(self.database_id.data) or 0,
            template_id=_id(self.template_id.data),
            target_ids=[int(i) for i in self.target_ids.data or [] if str(i).isdigit()],
            exclude_ids=[int(i) for i in self.exclude_ids.data or [] if str(i).isdigit()],
            subject=self.subject.data or "",
            sender=self.sender.data or "",
            per_minute=self.per_minute.data,
            domain_limits=parse_domain_limits(self.domain_limits.data or ""),
            variants=variants,
            ab_percent=self.ab_percent.data or 20,
            ab_wait_minutes=self.ab_wait_minutes.data or 240,
            ab_metric=self.ab_metric.data or "opens",
            repeat={"weekdays": weekdays, "time": repeat_time} if weekdays or repeat_time else {},
        )


def _id(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


class ScheduleInputs(FlaskForm):
    scheduled_at = DateTimeLocalField(_l("Send at (your account's time zone)"), format="%Y-%m-%dT%H:%M")


class TestSendInputs(FlaskForm):
    addresses = StringField(_l("Send a test to"), render_kw={"placeholder": "me@example.com, you@example.com"})
