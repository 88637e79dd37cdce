"""Admin views of the account's mail: the development catcher's messages and the mail settings (SMTP, DKIM)."""

from flask import current_app, flash, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.email_settings_inputs import DkimInputs, SmtpInputs
from webapp.blueprints.admin.responses import hx_redirect, render
from webapp.blueprints.admin.schema_inputs import apply_errors
from webapp.email import account_settings, delivery
from webapp.platform.errors import ValidationError


@bp.route("/email/caught")
def caught_mail():
    """Messages the development catcher kept for this account (when no SMTP server is configured)."""
    account = current_account()
    return render(
        "admin/email/caught.html",
        None,
        messages=delivery.list_caught(account.id),
        catching=not account_settings.effective(account.id).smtp_url,
    )


@bp.route("/email/caught/<int:caught_id>")
def caught_message(caught_id: int):
    caught = delivery.get_caught(current_account().id, caught_id)
    message = delivery.parse(caught.raw)
    html, text = message.get_body(("html",)), message.get_body(("plain",))
    return render(
        "admin/email/caught_message.html",
        None,
        caught=caught,
        message=message,
        html=html.get_content() if html else "",
        text=text.get_content() if text else "",
        crumbs=[(_("Caught mail"), url_for("admin.caught_mail")), (caught.subject or "—", None)],
    )


def _settings_page(smtp_form=None, dkim_form=None, *, errors=None, status: int = 200):
    account = current_account()
    row = account_settings.settings_of(account)
    smtp_form = smtp_form or SmtpInputs(formdata=None, data={"rate_per_minute": row.rate_per_minute})
    dkim_form = dkim_form or DkimInputs(
        formdata=None, data={"dkim_domain": row.dkim_domain, "dkim_selector": row.dkim_selector or "verrijk1"}
    )
    page = render(
        "admin/email/settings.html",
        None,
        smtp_form=smtp_form,
        dkim_form=dkim_form,
        errors=errors or {},
        masked_url=account_settings.masked_smtp_url(account),
        default_rate=current_app.config["MAIL_RATE_LIMIT"],
        dkim=row,
        dns_record=account_settings.dkim_dns_record(row),
    )
    return page, status


@bp.route("/email/settings")
@requires("admin")
def mail_settings_page():
    return _settings_page()


@bp.route("/email/settings", methods=["POST"])
@requires("admin")
def mail_settings_save():
    """Save the SMTP URL (blank keeps the stored one) and the send rate."""
    form = SmtpInputs()
    url = "" if form.clear_smtp_url.data else ((form.smtp_url.data or "").strip() or None)
    try:
        account_settings.update_settings(current_account(), smtp_url=url, rate_per_minute=form.rate_per_minute.data)
    except ValidationError as error:
        return _settings_page(smtp_form=form, errors=apply_errors(form, error.errors), status=422)
    flash(_("The mail settings are saved."), "success")
    return hx_redirect(url_for("admin.mail_settings_page"))


@bp.route("/email/settings/dkim", methods=["POST"])
@requires("admin")
def mail_dkim_generate():
    """Generate a new DKIM key pair, or import an existing private key (``mode=import``); the page then shows
    the DNS record to publish."""
    form = DkimInputs()
    names = {"domain": form.dkim_domain.data or "", "selector": form.dkim_selector.data or ""}
    importing = request.form.get("mode") == "import"
    try:
        if importing:
            account_settings.import_dkim_key(
                current_account(), **names, private_key_pem=form.dkim_private_key.data or ""
            )
        else:
            account_settings.generate_dkim_key(current_account(), **names)
    except ValidationError as error:
        return _settings_page(dkim_form=form, errors=apply_errors(form, error.errors), status=422)
    if importing:
        flash(_("The DKIM key is imported. Check that the DNS record below is published."), "success")
    else:
        flash(_("A new DKIM key is made. Publish the DNS record below; mail is signed with it from now on."), "success")
    return hx_redirect(url_for("admin.mail_settings_page"))


@bp.route("/email/settings/dkim/remove", methods=["POST"])
@requires("admin")
def mail_dkim_remove():
    account_settings.remove_dkim_key(current_account())
    flash(_("The DKIM key is removed: mail is no longer signed."), "success")
    return hx_redirect(url_for("admin.mail_settings_page"))
