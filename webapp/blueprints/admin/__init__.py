"""The htmx admin: every page needs a logged-in user; actions check the user's role."""

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required

bp = Blueprint("admin", __name__)

# What a user may open while their account requires two-factor login and they have not set it up.
ENROLMENT_ENDPOINTS = {"admin.two_factor_page", "admin.two_factor_start", "admin.two_factor_confirm"}


@bp.before_request
@login_required
def _require_login():
    """Every admin URL needs a logged-in user; changes are audited as theirs; an account that requires
    two-factor login sends a user without it to its set-up first."""
    from webapp.accounts import audit, two_factor

    audit.set_actor(audit.user_actor(current_user, request.remote_addr))
    if two_factor.needs_enrolment(current_user) and request.endpoint not in ENROLMENT_ENDPOINTS:
        return redirect(url_for("admin.two_factor_page"), 303)
    return None


from webapp.blueprints.admin import (  # noqa: E402,F401
    bounces,
    branding,
    bulk,
    callbacks,
    dashboard,
    databases,
    email_designs,
    email_settings,
    email_templates,
    exports,
    fields,
    followups,
    forms,
    hygiene,
    imports,
    jobs,
    mailings,
    privacy,
    profiles,
    security,
    selections,
    settings,
    survey_builder,
    surveys,
)
