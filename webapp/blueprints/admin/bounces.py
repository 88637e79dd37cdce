"""Admin views of bounce and complaint intake: received bounces and complaints, the per-database chart, and
the providers' webhook credentials."""

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import hx_redirect, render
from webapp.hygiene import credentials, review
from webapp.hygiene.reports import Kind, Reason
from webapp.models import INTAKE_PROVIDERS
from webapp.platform.errors import ValidationError
from webapp.profiles import profiles
from webapp.profiles.databases import list_databases


@bp.route("/hygiene/reports")
def hygiene_reports():
    """Received bounces and complaints, filterable by kind, reason, profile and message."""
    args = request.args
    profile = args.get("profile", "").strip()
    filters = review.Filters(
        kind=args.get("kind", ""),
        reason=args.get("reason", ""),
        profile_id=int(profile) if profile.isdigit() else None,
        message_id=args.get("message", ""),
    )
    reports = review.list_reports(current_account(), filters)
    return render(
        "admin/hygiene/reports.html",
        "admin/hygiene/_rows.html",
        reports=reports,
        filters=filters,
        kinds=Kind,
        reasons=Reason,
    )


@bp.route("/hygiene/reports/<int:report_id>")
def hygiene_report(report_id: int):
    """One report: its fields and the raw message as text (never rendered as HTML)."""
    account = current_account()
    report = review.get_report(account, report_id)
    return render(
        "admin/hygiene/report.html",
        None,
        report=report,
        profile_names=profiles.display_names(account, [report.profile_id] if report.profile_id else []),
        raw=review.raw_text(report),
        kinds=review.HAND_KINDS,
        reasons=Reason,
        crumbs=[(_("Bounces and complaints"), url_for("admin.hygiene_reports")), (f"#{report.id}", None)],
    )


@bp.route("/hygiene/reports/<int:report_id>/classify", methods=["POST"])
@requires("editor")
def hygiene_classify(report_id: int):
    """Classify an unknown report by hand."""
    try:
        review.classify_by_hand(
            current_account(),
            report_id,
            kind=request.form.get("kind", ""),
            reason=request.form.get("reason", ""),
            user=current_user.email,
        )
    except ValidationError as error:
        flash(error.message, "error")
    else:
        flash(_("The report is classified."), "success")
    return hx_redirect(url_for("admin.hygiene_report", report_id=report_id))


@bp.route("/hygiene/chart")
def hygiene_chart():
    """Per database: unsubscribes, bounces (hard, soft), complaints and confirmations per day, as SVG."""
    account = current_account()
    databases = list_databases(account)
    chosen = request.args.get("database", "")
    database = next((row for row in databases if str(row.id) == chosen), databases[0] if databases else None)
    days = review.daily_counts(account, database.id) if database else []
    peak = max([max(day.counts.values()) for day in days] + [1])
    return render(
        "admin/hygiene/chart.html",
        None,
        databases=databases,
        database=database,
        days=days,
        peak=peak,
        series=review.SERIES,
    )


@bp.route("/hygiene/providers")
@requires("admin")
def hygiene_providers():
    """The webhook URL and secret of each email provider for this account."""
    account = current_account()
    return render(
        "admin/hygiene/providers.html",
        None,
        providers=INTAKE_PROVIDERS,
        configured=credentials.credentials_of(account),
        public=credentials.PUBLIC,
        account=account,
    )


@bp.route("/hygiene/providers", methods=["POST"])
@requires("admin")
def hygiene_providers_save():
    """Store (or clear) one provider's secret."""
    try:
        credentials.set_secret(
            current_account(),
            request.form.get("provider", ""),
            request.form.get("secret", ""),
            clear=request.form.get("clear") == "y",
        )
    except ValidationError as error:
        flash(error.message, "error")
    else:
        flash(_("The webhook settings are saved."), "success")
    return hx_redirect(url_for("admin.hygiene_providers"))
