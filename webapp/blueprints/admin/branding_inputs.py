"""The branding form: shape only; the rules (colours, URLs, image types) live in ``email.branding``."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField


class BrandingInputs(FlaskForm):
    logo = FileField(_l("Logo"), render_kw={"accept": "image/png,image/jpeg,image/gif,image/webp"})
    remove_logo = BooleanField(_l("Remove the logo"))
    color_primary = StringField(_l("Main colour"), render_kw={"maxlength": 7, "placeholder": "#0f766e"})
    color_background = StringField(_l("Background colour"), render_kw={"maxlength": 7, "placeholder": "#f6f7f9"})
    confirm_redirect_url = StringField(
        _l("After confirming a sign-up, go to"), render_kw={"maxlength": 2000, "inputmode": "url"}
    )
    unsubscribe_redirect_url = StringField(
        _l("After unsubscribing, go to"), render_kw={"maxlength": 2000, "inputmode": "url"}
    )
