"""Inputs of a database's hygiene policy: shape only; ``hygiene.policies`` checks the values."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import Optional

ACTION_CHOICES = [
    SelectChoice("nothing", _l("Only suppress the address")),
    SelectChoice("set_fields", _l("Set field values")),
    SelectChoice("unsubscribe", _l("Unsubscribe (the database's unsubscribe behaviour)")),
    SelectChoice("remove", _l("Remove the profile")),
]
SIGNUP_CHOICES = [SelectChoice("remove", _l("Remove the profile")), SelectChoice("set_fields", _l("Set field values"))]


class HygieneInputs(FlaskForm):
    hard_threshold = IntegerField(_l("Hard bounces before acting"), validators=[Optional()])
    hard_action = SelectField(_l("Then"), choices=ACTION_CHOICES)
    hard_values = TextAreaField(_l("Values to set"), render_kw={"rows": 2, "placeholder": "Status = bounced"})
    soft_threshold = IntegerField(_l("Soft bounces in a row before acting"), validators=[Optional()])
    soft_action = SelectField(_l("Then"), choices=ACTION_CHOICES)
    soft_values = TextAreaField(_l("Values to set"), render_kw={"rows": 2})
    complaint_action = SelectField(_l("On a complaint"), choices=ACTION_CHOICES)
    complaint_values = TextAreaField(_l("Values to set"), render_kw={"rows": 2})
    signup_days = IntegerField(_l("Days to wait for a confirmation"), validators=[Optional()])
    signup_action = SelectField(_l("Then"), choices=SIGNUP_CHOICES)
    signup_values = TextAreaField(_l("Values to set"), render_kw={"rows": 2})


def parse_values(text: str | None) -> dict[str, str]:
    """``name = value`` lines → ``{name: value}`` (blank lines skipped; a line without ``=`` names an empty value)."""
    values = {}
    for line in (text or "").splitlines():
        if line.strip():
            name, _sign, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def format_values(values: dict[str, object]) -> str:
    return "\n".join(f"{name} = {value}" for name, value in values.items())
