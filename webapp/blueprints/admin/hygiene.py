"""Admin views of subscription hygiene: the account's suppression list (search, export, lift) and a database's
bounce, complaint and sign-up policy."""

from flask import Response, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.hygiene_inputs import HygieneInputs, format_values, parse_values
from webapp.blueprints.admin.responses import acted, render
from webapp.blueprints.admin.schema_inputs import apply_errors
from webapp.email import suppression
from webapp.exports.files import CsvWriter
from webapp.hygiene import policies
from webapp.platform.errors import ValidationError
from webapp.profiles import databases

POLICY_NAMES = ("hard", "soft", "complaint", "signup")


@bp.route("/email/suppression")
def suppression_list():
    """The account's suppressed addresses, searchable, newest first."""
    search, lifted = request.args.get("q", "")[:320], request.args.get("lifted") == "1"
    number = request.args.get("page", 1, type=int) or 1
    rows, total = suppression.list_suppressed(current_account(), search=search, include_lifted=lifted, page=number)
    return render(
        "admin/email/suppression.html",
        "admin/email/_suppression_rows.html",
        rows=rows,
        total=total,
        search=search,
        lifted=lifted,
        page_number=number,
        pages=max(1, -(-total // suppression.PAGE_SIZE)),
        labels=suppression.REASON_LABELS,
    )


@bp.route("/email/suppression.csv")
@requires("editor")
def suppression_export():
    """The list (as filtered) as CSV, streamed through the one CSV writer."""
    search, lifted = request.args.get("q", "")[:320], request.args.get("lifted") == "1"
    rows = suppression.export_rows(current_account(), search=search, include_lifted=lifted)

    def lines():
        writer = CsvWriter()
        for row in rows:
            writer.row(row)
            if writer.size > 64_000:
                yield writer.take()
        yield writer.take()

    headers = {"Content-Disposition": 'attachment; filename="suppression.csv"', "Cache-Control": "no-store"}
    return Response(stream_with_context(lines()), mimetype="text/csv", headers=headers)


@bp.route("/email/suppression/<int:suppression_id>/lift", methods=["POST"])
@requires("admin")
def suppression_lift(suppression_id: int):
    """Lift a suppression: mail may go to the address again."""
    row = suppression.lift(current_account(), suppression_id, by=current_user.email)
    return acted(_("Mail may go to %(address)s again.", address=row.address), url_for("admin.suppression_list"))


@bp.route("/databases/<int:database_id>/hygiene")
def database_hygiene(database_id: int):
    """A database's bounce, complaint and sign-up policy."""
    account = current_account()
    database = databases.get_database(account, database_id)
    row = policies.get_policy(account, database.id)
    data = {
        name: getattr(row, name)
        for name in ("hard_threshold", "hard_action", "soft_threshold", "soft_action", "complaint_action")
    }
    data |= {"signup_days": row.signup_days, "signup_action": row.signup_action}
    for name in POLICY_NAMES:
        data[f"{name}_values"] = format_values(policies.values_by_name(database, getattr(row, f"{name}_values")))
    return _page(database, HygieneInputs(formdata=None, data=data))


@bp.route("/databases/<int:database_id>/hygiene", methods=["POST"])
@requires("admin")
def database_hygiene_save(database_id: int):
    account = current_account()
    database = databases.get_database(account, database_id)
    form = HygieneInputs()
    settings = policies.PolicySettings(
        hard_threshold=form.hard_threshold.data if form.hard_threshold.data is not None else 1,
        hard_action=form.hard_action.data or "",
        hard_values=parse_values(form.hard_values.data),
        soft_threshold=form.soft_threshold.data if form.soft_threshold.data is not None else 5,
        soft_action=form.soft_action.data or "",
        soft_values=parse_values(form.soft_values.data),
        complaint_action=form.complaint_action.data or "",
        complaint_values=parse_values(form.complaint_values.data),
        signup_days=form.signup_days.data,
        signup_action=form.signup_action.data or "",
        signup_values=parse_values(form.signup_values.data),
    )
    try:
        policies.save_policy(account, database.id, settings)
    except ValidationError as error:
        return _page(database, form, apply_errors(form, error.errors), status=422)
    return acted(_("The hygiene policy is saved."), url_for("admin.database_hygiene", database_id=database.id))


def _page(database, form: HygieneInputs, errors: dict | None = None, status: int = 200):
    page = render(
        "admin/databases/hygiene.html", None, database=database, active="hygiene", form=form, errors=errors or {}
    )
    return page, status
