"""Admin views of databases: list, create, settings, unsubscribe behaviour, interests, collections."""

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account
from webapp.blueprints.admin.responses import render
from webapp.services import databases


@bp.route("/")
def index():
    """The account's databases."""
    return render("admin/databases/index.html", items=databases.list_databases(current_account()))
