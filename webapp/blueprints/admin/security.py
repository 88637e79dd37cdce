"""Admin views of security: one's own two-factor login (set up, recovery codes, turn off), the owner's switch
that requires it for the account, and the audit log (filter, CSV; nothing in it can be edited or removed)."""

from datetime import date

from flask import Response, flash, make_response, redirect, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from webapp.accounts import audit, two_factor
from webapp.accounts import users as accounts_users
from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import render
from webapp.blueprints.admin.settings import local_time
from webapp.exports.files import CsvWriter
from webapp.platform.errors import PermissionDenied, ValidationError

TWO_FACTOR_PAGE = "admin/settings/two_factor.html"
AUDIT_PAGE = "admin/settings/audit.html"


def _no_store(response):
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def _two_factor_page(*, enrolment=None, codes=None, problem=None, status=200):
    user = current_user._get_current_object()
    context = {
        "user": user,
        "enrolment": enrolment,
        "codes": codes,
        "problem": problem,
        "required": current_account().require_two_factor,
        "remaining": two_factor.remaining_recovery_codes(user) if user.totp_secret else 0,
    }
    return _no_store(render(TWO_FACTOR_PAGE, **context)), status


@bp.route("/account/two-factor")
def two_factor_page():
    """One's own two-factor login: its state, or the QR code to set it up."""
    user = current_user._get_current_object()
    enrolment = two_factor.enrolment(user) if user.totp_secret is None and user.totp_pending else None
    return _two_factor_page(enrolment=enrolment)


@bp.route("/account/two-factor/start", methods=["POST"])
def two_factor_start():
    """A new secret and its QR code (a secret not yet confirmed is replaced)."""
    return _two_factor_page(enrolment=two_factor.start_enrolment(current_user._get_current_object()))


@bp.route("/account/two-factor/confirm", methods=["POST"])
def two_factor_confirm():
    """Turn two-factor login on with a code of the app; the recovery codes are shown this once."""
    user = current_user._get_current_object()
    try:
        codes = two_factor.confirm_enrolment(user, request.form.get("code", ""))
    except ValidationError as error:
        return _two_factor_page(enrolment=two_factor.enrolment(user), problem=error.message, status=422)
    login_user(user)  # this session goes on under the new session version; others end
    return _two_factor_page(codes=codes)


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
def two_factor_codes():
    """New recovery codes (the old ones stop working); asks for the password."""
    try:
        codes = two_factor.regenerate_recovery_codes(
            current_user._get_current_object(), request.form.get("password", "")
        )
    except ValidationError as error:
        return _two_factor_page(problem=error.message, status=422)
    return _two_factor_page(codes=codes)


@bp.route("/account/two-factor/disable", methods=["POST"])
def two_factor_disable():
    """Turn two-factor login off; asks for the password."""
    try:
        two_factor.disable(current_user._get_current_object(), request.form.get("password", ""))
    except (ValidationError, PermissionDenied) as error:
        return _two_factor_page(problem=error.message, status=error.status)
    flash(_("Two-factor login is off."), "success")
    return redirect(url_for("admin.two_factor_page"), 303)


@bp.route("/account/two-factor/required", methods=["POST"])
@requires("owner")
def two_factor_required():
    """Require (or stop requiring) two-factor login for every user of the account."""
    required = request.form.get("required") == "1"
    try:
        two_factor.set_required(current_account(), current_user._get_current_object(), required)
    except (ValidationError, PermissionDenied) as error:
        flash(error.message, "error")
        return redirect(url_for("admin.two_factor_page"), 303)
    if required:
        flash(_("Every user of the account now logs in with two-factor login."), "success")
    else:
        flash(_("Two-factor login is optional again."), "success")
    return redirect(url_for("admin.two_factor_page"), 303)


# --- the audit log -------------------------------------------------------------------------------


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _filter() -> tuple[audit.AuditFilter, list[str]]:
    problems = []
    user_id = request.args.get("user", "")
    area = request.args.get("area", "")
    since, until = _day("since"), _day("until")
    for name, value in (("since", since), ("until", until)):
        if request.args.get(name) and value is None:
            problems.append(_("Give dates as YYYY-MM-DD."))
    if area and area not in audit.AREAS:
        problems.append(_("Choose an area from the list."))
        area = ""
    wanted = audit.AuditFilter(
        user_id=int(user_id) if user_id.isdigit() and len(user_id) < 10 else None,
        area=area or None,
        since=since,
        until=until,
    )
    return wanted, sorted(set(problems))


@bp.route("/audit")
@requires("admin")
def audit_log():
    """Who changed what in the account, newest first; filter by user, area and dates."""
    wanted, problems = _filter()
    page = max(1, min(int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1, 10_000))
    per_page = 100
    entries = audit.list_entries(current_account(), wanted, limit=per_page + 1, offset=(page - 1) * per_page)
    return render(
        AUDIT_PAGE,
        entries=entries[:per_page],
        more=len(entries) > per_page,
        page_number=page,
        wanted=wanted,
        problems=problems,
        areas=audit.AREAS,
        users=accounts_users.list_users(current_account()),
        when=local_time,
        args={key: value for key, value in request.args.items() if key != "page"},
    )


@bp.route("/audit.csv")
@requires("admin")
def audit_export():
    """The log (as filtered) as CSV, through the one CSV writer."""
    wanted, _problems = _filter()
    rows = audit.csv_rows(current_account(), wanted)

    def lines():
        writer = CsvWriter()
        writer.row(audit.CSV_COLUMNS)
        for row in rows:
            writer.row(row)
            if writer.size > 64_000:
                yield writer.take()
        yield writer.take()

    headers = {"Content-Disposition": 'attachment; filename="audit-log.csv"', "Cache-Control": "no-store"}
    return Response(stream_with_context(lines()), mimetype="text/csv", headers=headers)
