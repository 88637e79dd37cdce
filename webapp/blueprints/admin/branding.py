"""Admin view of the account's branding: logo, colours and the pages to go to after confirming or
unsubscribing (for the public pages and the double opt-in email)."""

from flask import flash, redirect, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.branding_inputs import BrandingInputs
from webapp.blueprints.admin.responses import render
from webapp.blueprints.admin.schema_inputs import apply_errors
from webapp.email import branding
from webapp.platform.errors import ValidationError


def _page(form: BrandingInputs, errors=None, status: int = 200):
    current = branding.branding_of(current_account().id)
    return render("admin/settings/branding.html", None, form=form, current=current, errors=errors or {}), status


@bp.route("/account/branding")
def account_branding():
    """The account's branding (editable by admins)."""
    current = branding.branding_of(current_account().id)
    return _page(BrandingInputs(formdata=None, obj=current))


@bp.route("/account/branding", methods=["POST"])
@requires("admin")
def account_branding_save():
    form = BrandingInputs()
    upload, logo = form.logo.data, None
    if upload and getattr(upload, "filename", ""):
        try:
            logo = upload.read(branding.MAX_LOGO + 1)
        finally:
            upload.close()  # a large upload is a temporary file: closed at once
    try:
        branding.save_branding(
            current_account(),
            color_primary=form.color_primary.data or "",
            color_background=form.color_background.data or "",
            confirm_redirect_url=form.confirm_redirect_url.data or "",
            unsubscribe_redirect_url=form.unsubscribe_redirect_url.data or "",
            logo=logo,
            remove_logo=bool(form.remove_logo.data),
        )
    except ValidationError as error:
        return _page(form, apply_errors(form, error.errors), 422)
    flash(_("The branding is saved."), "success")
    return redirect(url_for("admin.account_branding"), 303)
