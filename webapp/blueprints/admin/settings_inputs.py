"""Forms of the account pages: they check shape and CSRF; the rules live in ``accounts/accounts.py``.

Select fields do not validate their choices (``validate_choice=False``): the service is the one place that
decides which roles, time zones and languages are allowed, and its messages are the ones users see.
"""

import zoneinfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from webapp.accounts.users import role_labels
from webapp.models import ROLES

LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("nl", "Nederlands")]


def role_choices(actor) -> list[SelectChoice]:
    """The roles ``actor`` may hand out (only an owner makes owners), weakest first."""
    labels = role_labels()
    return [SelectChoice(role, labels[role]) for role in ROLES if role != "owner" or actor.has_role("owner")]


def time_zone_choices() -> list[SelectChoice]:
    return [SelectChoice(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


class AccountSettingsInputs(FlaskForm):
    name = StringField(_l("Account name"), validators=[DataRequired(), Length(max=100)])
    time_zone = SelectField(_l("Time zone"), validate_choice=False)
    language = SelectField(_l("Default language"), choices=LANGUAGE_CHOICES, validate_choice=False)
    default_sender = EmailField(_l("Default sender email"), validators=[Optional(), Length(max=255)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.time_zone.choices = time_zone_choices()


class PasswordInputs(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    repeat = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two new passwords differ."))],
    )


class UserInputs(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=255)])
    role = SelectField(_l("Role"), validate_choice=False)
    password = PasswordField(_l("Initial password"), validators=[DataRequired()])

    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(actor)


class InviteInputs(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=255)])
    role = SelectField(_l("Role"), validate_choice=False)

    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(actor)


class RoleInputs(FlaskForm):
    role = SelectField(_l("Role"), validate_choice=False)

    def __init__(self, actor, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices(actor)


class TokenInputs(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    scope = SelectField(
        _l("May"),
        choices=[
            SelectChoice("read", _l("read (REST: only read)")),
            SelectChoice("write", _l("write (REST: read and change profiles)")),
            SelectChoice("admin", _l("admin (everything)")),
        ],
        default="admin",
    )
