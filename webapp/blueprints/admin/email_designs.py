"""Admin views of the visual email editor: design a template from blocks, preview it, send a test, save it.

The editor (GrapesJS + MJML, served from ``static/vendor``) writes its design into hidden inputs; the domain
(``email.designs``) compiles and checks it. The page relaxes the admin's CSP for styles only (the editor styles
its canvas with inline CSS) and for images from https (an email's images live on the sender's site).
"""

import json

from flask import Response, flash, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.email_template_inputs import EmailDesignInputs
from webapp.blueprints.admin.responses import hx_redirect, render, toast
from webapp.blueprints.admin.schema_inputs import apply_errors
from webapp.email import designs
from webapp.email import templates as email_templates
from webapp.platform.errors import Conflict, DomainError, ValidationError
from webapp.profiles import databases

EDITOR_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


def _databases():
    return databases.list_databases(current_account(), include_archived=False)


def _page(form: EmailDesignInputs, template=None, *, design=None, errors=None, status: int = 200):
    account_databases = _databases()
    fields = {str(database.id): [field.name for field in database.fields] for database in account_databases}
    response = Response(
        render(
            "admin/email/design.html",
            None,
            form=form,
            template=template,
            design=design,
            fields=fields,
            starters=designs.starters() if template is None else [],
            errors=errors or {},
            crumbs=[
                (_("Email templates"), url_for("admin.email_templates")),
                (template.name if template else _("New design"), None),
            ],
        ),
        status,
    )
    response.headers["Content-Security-Policy"] = EDITOR_CSP
    return response


def _posted_design(form: EmailDesignInputs) -> dict:
    """What the editor sent, to show again after an error (nothing typed or designed is lost)."""
    try:
        project = json.loads(form.design_project.data or "")
    except ValueError:
        project = None
    return {"mjml": form.design_mjml.data or "", "project": project if isinstance(project, dict) else None}


@bp.route("/email/templates/design/new")
@requires("editor")
def email_design_new():
    """A new design, begun from a starter template (``?starter=``; the newsletter by default)."""
    chosen = designs.starter(request.args.get("starter", "newsletter"))
    form = EmailDesignInputs.of(_databases())
    if not form.subject.data:
        form.subject.data = chosen.name
    return _page(form, design={"mjml": chosen.mjml, "project": None})


@bp.route("/email/templates/design", methods=["POST"])
@requires("editor")
def email_design_create():
    form = EmailDesignInputs(_databases())
    try:
        template = designs.save_design(
            current_account(), form.values(), form.design_mjml.data or "", form.design_project.data or ""
        )
    except ValidationError as error:
        return _page(form, design=_posted_design(form), errors=apply_errors(form, error.errors), status=422)
    except Conflict as error:
        return _page(form, design=_posted_design(form), errors=apply_errors(form, {"name": error.message}), status=409)
    flash(_("The template is saved."), "success")
    return hx_redirect(url_for("admin.email_design", template_id=template.id))


@bp.route("/email/templates/<int:template_id>/design")
def email_design(template_id: int):
    """The template in the visual editor (a template written as HTML opens as one block of raw HTML)."""
    template = email_templates.get_template(current_account(), template_id)
    design = designs.design_of(template) or {"mjml": designs.mjml_of_html(template.html), "project": None}
    return _page(EmailDesignInputs.of(_databases(), template), template, design=design)


@bp.route("/email/templates/<int:template_id>/design", methods=["POST"])
@requires("editor")
def email_design_update(template_id: int):
    account = current_account()
    template = email_templates.get_template(account, template_id)
    form = EmailDesignInputs(_databases())
    try:
        designs.save_design(
            account, form.values(), form.design_mjml.data or "", form.design_project.data or "", template.id
        )
    except ValidationError as error:
        return _page(form, template, design=_posted_design(form), errors=apply_errors(form, error.errors), status=422)
    except Conflict as error:
        errors = apply_errors(form, {"name": error.message})
        return _page(form, template, design=_posted_design(form), errors=errors, status=409)
    flash(_("The template is saved."), "success")
    return hx_redirect(url_for("admin.email_design", template_id=template.id))


@bp.route("/email/templates/design/preview", methods=["POST"])
@requires("editor")
def email_design_preview():
    """The editor's current design rendered for the chosen profile, with its text part."""
    form = EmailDesignInputs(_databases())
    rendered, errors, problem = None, {}, ""
    if not form.preview_profile_id.data:
        problem = _("Enter the id of a profile to preview the template for.")
    else:
        try:
            rendered, errors = designs.preview_design(
                current_account(), form.values(), form.design_mjml.data or "", form.preview_profile_id.data
            )
        except ValidationError as error:
            errors = error.errors
        except DomainError as error:
            problem = error.message
    return toast(
        render(
            "admin/email/_preview.html", "admin/email/_preview.html", rendered=rendered, errors=errors, problem=problem
        ),
        _("Preview updated.") if rendered else _("The template has errors."),
        "success" if rendered else "error",
    )


@bp.route("/email/templates/design/test", methods=["POST"])
@requires("editor")
def email_design_test():
    """Send the editor's current design now to the typed addresses (personalised for the chosen profile)."""
    form = EmailDesignInputs(_databases())
    account = current_account()
    sent, problem = [], ""
    try:
        mjml_source, addresses = form.design_mjml.data or "", form.test_addresses.data or ""
        sent = designs.send_test(account, form.values(), mjml_source, addresses, form.preview_profile_id.data)
    except ValidationError as error:
        problem = "; ".join(error.errors.values())
    except DomainError as error:
        problem = error.message
    response = render("admin/email/_test_send.html", "admin/email/_test_send.html", sent=sent, problem=problem)
    if sent:
        return toast(response, _("The test is sent."))
    return toast(response, _("The test was not sent."), "error")
