"""The htmx admin: every page needs a logged-in user; actions check the user's role."""

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("admin", __name__)


@bp.before_request
@login_required
def _require_login():
    """Every admin URL needs a logged-in user."""


from webapp.blueprints.admin import (  # noqa: E402,F401
    bounces,
    callbacks,
    databases,
    email_settings,
    email_templates,
    exports,
    fields,
    followups,
    forms,
    hygiene,
    imports,
    jobs,
    privacy,
    profiles,
    settings,
    surveys,
)
