"""Admin views of the Privacy area: find a person by address, download what is held about them, erase or
anonymise them (a request whose work runs in the background, with its report), and the account's retention."""

import json

from flask import make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import actor, current_account, requires
from webapp.blueprints.admin.responses import acted, render
from webapp.models import PrivacyRequestKind
from webapp.platform.errors import ValidationError
from webapp.privacy import access, erasure, people, retention
from webapp.profiles.profiles import get_profile


@bp.route("/privacy")
@requires("admin")
def privacy():
    """Find a person by address across the account's databases; the recent erasure requests."""
    account = current_account()
    address = request.args.get("address", "").strip()
    found, error = [], ""
    if address:
        try:
            found = people.profiles_with_address(account, address)
        except ValidationError as problem:
            error = problem.errors.get("address", problem.message)
    return render(
        "admin/privacy/page.html",
        "admin/privacy/_found.html",
        address=address,
        found=found,
        error=error,
        requests=erasure.list_requests(account),
    )


@bp.route("/privacy/download")
@requires("admin")
def privacy_export():
    """Everything held about the person with this address (or of this profile), as a JSON download."""
    account = current_account()
    profile_id = request.args.get("profile", "")
    if profile_id.isdigit():
        document = access.export_for_profile(account, int(profile_id))
    else:
        document = access.export_for_address(account, request.args.get("address", ""))
    response = make_response(json.dumps(document, ensure_ascii=False, indent=2))
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="personal-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/privacy/erase", methods=["GET", "POST"])
@requires("admin")
def privacy_erase():
    """Erase or anonymise a person: the GET asks first, the POST requests it."""
    account = current_account()
    source = request.form if request.method == "POST" else request.args
    address = source.get("address", "").strip()
    profile = source.get("profile", "")
    kind = source.get("kind", PrivacyRequestKind.ERASE)
    if request.method == "GET":
        who = get_profile(account, int(profile)) if profile.isdigit() else None
        return render(
            "admin/privacy/confirm.html",
            None,
            address=address,
            profile=who,
            kind=kind if kind in tuple(PrivacyRequestKind) else PrivacyRequestKind.ERASE,
        )
    made = erasure.request_erasure(
        account,
        kind=kind,
        requested_by=actor(),
        address=address,
        profile_id=int(profile) if profile.isdigit() else None,
    )
    return acted(
        _("The request is made; its report shows here when the work is done."),
        url_for("admin.privacy_request", request_id=made.id),
    )


@bp.route("/privacy/requests/<int:request_id>")
@requires("admin")
def privacy_request(request_id: int):
    """One erasure or anonymisation request: its status and report (counts per table)."""
    found = erasure.get_request(current_account(), request_id)
    return render(
        "admin/privacy/request.html",
        None,
        found=found,
        crumbs=[(_("Privacy"), url_for("admin.privacy")), (f"#{found.id}", None)],
    )


@bp.route("/privacy/retention", methods=["GET", "POST"])
@requires("admin")
def privacy_retention():
    """The account's retention periods and the last run's report."""
    account = current_account()
    errors: dict[str, str] = {}
    values = dict(request.form) if request.method == "POST" else {}
    if request.method == "POST":
        try:
            retention.save_settings(account, values)
        except ValidationError as problem:
            errors = problem.errors
        else:
            return acted(_("Retention saved."), url_for("admin.privacy_retention"))
    return render(
        "admin/privacy/retention.html",
        None,
        settings=retention.settings_of(account),
        values=values,
        errors=errors,
        owner=current_user.has_role("admin"),
    )


@bp.route("/privacy/retention/run", methods=["POST"])
@requires("admin")
def privacy_retention_run():
    """Run the retention now (in the background)."""
    retention.run_now(current_account())
    return acted(_("Retention will run in a moment."), url_for("admin.privacy_retention"))
