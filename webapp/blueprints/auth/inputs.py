from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginInputs(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me logged in"))


class LanguageInputs(FlaskForm):
    language = SelectField(_l("Language"), choices=[SelectChoice("en", "English"), SelectChoice("nl", "Nederlands")])


class CodeInputs(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])


class ForgotInputs(FlaskForm):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=255)])


class NewPasswordInputs(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    repeat = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two new passwords differ."))],
    )
