"""The dashboard, the first admin screen: a database's last 30 days in figures and charts, and a health strip
when no worker or dispatcher is running (``webapp/dashboard``)."""

from flask import request

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account
from webapp.blueprints.admin.responses import render
from webapp.dashboard import charts, figures


@bp.route("/")
def index():
    """The dashboard of one database (``?database=``; the first by name without one)."""
    account = current_account()
    choices = figures.dashboard_databases(account)
    database_id = request.args.get("database", type=int) or (choices[0].id if choices else None)
    shown = figures.figures(account, database_id) if database_id else None  # another account's id: 404
    return render(
        "admin/dashboard/page.html",
        "admin/dashboard/_dashboard.html",
        databases=choices,
        shown=shown,
        missing=figures.missing_processes(),
        bars=charts.bars,
        line=charts.line,
    )
