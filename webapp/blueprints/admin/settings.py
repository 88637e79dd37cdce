"""Admin views of the account: settings, users, API tokens."""

from flask import render_template

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import requires


@bp.route("/account")
def account():
    """Account settings and one's own password."""
    return render_template("admin/settings/account.html")


@bp.route("/users")
@requires("admin")
def users():
    """Users of the account."""
    return render_template("admin/settings/users.html")


@bp.route("/tokens")
@requires("admin")
def tokens():
    """API tokens of the account."""
    return render_template("admin/settings/tokens.html")
