"""Forms of the account's mail settings: shape only; ``email.account_settings`` checks the values."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import Optional


class SmtpInputs(FlaskForm):
    smtp_url = StringField(
        _l("SMTP server URL"),
        render_kw={
            "maxlength": 2000,
            "autocomplete": "off",
            "placeholder": "smtp://user:password@mail.example.com:587",
        },
    )
    clear_smtp_url = BooleanField(_l("Use the default server again"))
    rate_per_minute = IntegerField(_l("Send rate (messages per minute)"), validators=[Optional()])


class DkimInputs(FlaskForm):
    dkim_domain = StringField(_l("Domain"), render_kw={"maxlength": 253, "placeholder": "example.com"})
    dkim_selector = StringField(_l("Selector"), render_kw={"maxlength": 63, "placeholder": "verrijk1"})
    dkim_private_key = TextAreaField(
        _l("Existing private key (PEM)"), render_kw={"rows": 6, "autocomplete": "off", "spellcheck": "false"}
    )
