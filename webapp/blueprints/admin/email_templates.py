"""Admin views of email templates: list, create, edit, delete, and a preview against a real profile."""

from flask import flash, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.email_template_inputs import EmailTemplateInputs
from webapp.blueprints.admin.responses import hx_redirect, render, toast
from webapp.blueprints.admin.schema_inputs import apply_errors
from webapp.email import templates as email_templates
from webapp.platform.errors import Conflict, DomainError, ValidationError
from webapp.profiles import databases


def _databases():
    return databases.list_databases(current_account(), include_archived=False)


def _editor(form: EmailTemplateInputs, template=None, *, errors=None, status: int = 200):
    page = render(
        "admin/email/template.html",
        None,
        form=form,
        template=template,
        errors=errors or {},
        crumbs=[
            (_("Email templates"), url_for("admin.email_templates")),
            (template.name if template else _("New template"), None),
        ],
    )
    return page, status


@bp.route("/email/templates", endpoint="email_templates")
def email_template_list():
    """The account's email templates."""
    return render("admin/email/templates.html", None, templates=email_templates.list_templates(current_account()))


@bp.route("/email/templates/new")
@requires("editor")
def email_template_new():
    return _editor(EmailTemplateInputs.of(_databases()))


@bp.route("/email/templates", methods=["POST"])
@requires("editor")
def email_template_create():
    """Save a new template; errors (including template syntax and unsafe access) show inline."""
    form = EmailTemplateInputs(_databases())
    try:
        template = email_templates.save_template(current_account(), form.values())
    except ValidationError as error:
        return _editor(form, errors=apply_errors(form, error.errors), status=422)
    except Conflict as error:
        return _editor(form, errors=apply_errors(form, {"name": error.message}), status=409)
    flash(_("The template is saved."), "success")
    return hx_redirect(url_for("admin.email_template", template_id=template.id))


@bp.route("/email/templates/<int:template_id>")
def email_template(template_id: int):
    template = email_templates.get_template(current_account(), template_id)
    return _editor(EmailTemplateInputs.of(_databases(), template), template)


@bp.route("/email/templates/<int:template_id>", methods=["POST"])
@requires("editor")
def email_template_update(template_id: int):
    account = current_account()
    template = email_templates.get_template(account, template_id)
    form = EmailTemplateInputs(_databases())
    try:
        email_templates.save_template(account, form.values(), template.id)
    except ValidationError as error:
        return _editor(form, template, errors=apply_errors(form, error.errors), status=422)
    except Conflict as error:
        return _editor(form, template, errors=apply_errors(form, {"name": error.message}), status=409)
    flash(_("The template is saved."), "success")
    return hx_redirect(url_for("admin.email_template", template_id=template.id))


@bp.route("/email/templates/<int:template_id>/delete", methods=["POST"])
@requires("editor")
def email_template_delete(template_id: int):
    email_templates.delete_template(current_account(), template_id)
    flash(_("The template is deleted."), "success")
    return hx_redirect(url_for("admin.email_templates"))


@bp.route("/email/templates/preview", methods=["POST"])
@requires("editor")
def email_template_preview():
    """The editor's current values rendered for the chosen profile, with errors per part."""
    form = EmailTemplateInputs(_databases())
    rendered, errors, problem = None, {}, ""
    if not form.preview_profile_id.data:
        problem = _("Enter the id of a profile to preview the template for.")
    else:
        try:
            rendered, errors = email_templates.preview(current_account(), form.values(), form.preview_profile_id.data)
        except DomainError as error:
            problem = error.message
    return toast(
        render(
            "admin/email/_preview.html", "admin/email/_preview.html", rendered=rendered, errors=errors, problem=problem
        ),
        _("Preview updated.") if rendered else _("The template has errors."),
        "success" if rendered else "error",
    )
