"""Admin views of bulk actions: the list's bulk form posts here; a confirmation names what will happen to how many
profiles; the run's page shows its progress, what was left alone, its undo and (an export) its download."""

from pathlib import Path

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import actor, current_account, requires
from webapp.blueprints.admin.profile_inputs import ListState
from webapp.blueprints.admin.responses import acted, confirm_page, render
from webapp.bulk import runs as bulk_runs
from webapp.bulk import undo as bulk_undo
from webapp.bulk.runs import Picked
from webapp.models import BulkRun, BulkRunStatus, Database
from webapp.platform import heartbeats
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, lists

RUN_PAGE, RUN_PARTIAL = "admin/bulk/run.html", "admin/bulk/_run.html"


def action_labels() -> dict[str, str]:
    return {
        "set_field": _("Set a field"),
        "add_interest": _("Add an interest"),
        "remove_interest": _("Remove an interest"),
        "unsubscribe": _("Unsubscribe"),
        "delete": _("Delete"),
        "export": _("Export as CSV"),
    }


def bulk_choices(database: Database) -> dict:
    """What the list's bulk form offers for this database and the current user's role."""
    labels = action_labels()
    if not current_user.has_role("admin"):
        labels.pop("export")
    return {
        "actions": labels,
        "fields": [field for field in database.fields if not field.unique],
        "interests": list(database.interests),
    }


def _selection(form) -> Picked:
    if form.get("scope") == "all":
        return Picked(where=ListState.from_args(form).where())
    ids = [int(value) for value in form.getlist("id") if value.isdigit() and len(value) < 12]
    return Picked(ids=tuple(ids))


def _params(form) -> dict:
    return {"field": form.get("field", ""), "value": form.get("value", ""), "interest": form.get("interest_id", "")}


def _describe(database: Database, action: str, params: dict, count: int) -> str:
    fields = {str(field.id): field.name for field in database.fields}
    interests = {str(interest.id): interest.name for interest in database.interests}
    if action == "set_field":
        name = fields.get(str(params.get("field")), "?")
        return _(
            "Set %(field)s to “%(value)s” for %(count)s profiles?",
            field=name,
            value=params.get("value", ""),
            count=count,
        )
    if action == "add_interest":
        name = interests.get(str(params.get("interest")), "?")
        return _("Add the interest %(interest)s to %(count)s profiles?", interest=name, count=count)
    if action == "remove_interest":
        name = interests.get(str(params.get("interest")), "?")
        return _("Remove the interest %(interest)s from %(count)s profiles?", interest=name, count=count)
    if action == "unsubscribe":
        return _("Unsubscribe %(count)s profiles, as this database's unsubscribe behaviour says?", count=count)
    if action == "delete":
        return _("Delete %(count)s profiles with their subprofiles?", count=count)
    return _("Export %(count)s profiles as a CSV file?", count=count)


@bp.route("/databases/<int:database_id>/bulk", methods=["POST"])
@requires("editor")
def bulk_start(database_id: int):
    """The list's bulk form: without ``confirmed`` a page that says what will happen (and to how many); with it,
    start the run and go to its page."""
    account = current_account()
    database = databases.get_database(account, database_id)
    form = request.form
    action = form.get("action", "")
    if action == "export" and not current_user.has_role("admin"):
        abort(403)
    selection, params = _selection(form), _params(form)
    state = ListState.from_args(form)
    back = url_for("admin.profiles", database_id=database.id, **state.args(cursor=None))
    if selection.ids is not None:
        count = len(set(selection.ids))
    else:
        try:
            count = lists.count_profiles(account, database.id, where=selection.where)
        except ValidationError as error:
            return acted(" ".join(str(message) for message in error.errors.values()), back, "error")
    if form.get("confirmed") != "yes":
        if action not in action_labels() or not count:
            message = _("Pick profiles in the list (or choose all matches) and what to do with them.")
            return acted(message, back, "warning")
        return render_template(
            "admin/bulk/confirm.html",
            database=database,
            active="profiles",
            question=_describe(database, action, params, count),
            form=form,
            state=state,
            undo_possible=action != "export",
            cancel=back,
            danger=action in ("delete", "unsubscribe"),
        )
    try:
        run = bulk_runs.start(account, database.id, action, selection, params=params, actor=actor())
    except ValidationError as error:
        return acted(" ".join(str(message) for message in error.errors.values()), back, "error")
    return redirect(url_for("admin.bulk_run", bulk_id=run.id), 303)


@bp.route("/databases/<int:database_id>/bulk")
def bulk_runs_list(database_id: int):
    """The database's bulk actions, newest first."""
    account = current_account()
    database = databases.get_database(account, database_id)
    return render_template(
        "admin/bulk/index.html",
        database=database,
        active="profiles",
        runs=bulk_runs.list_runs(account, database.id),
        labels=action_labels(),
    )


def _run_context(run: BulkRun) -> dict:
    busy = run.status in (BulkRunStatus.PENDING, BulkRunStatus.RUNNING, BulkRunStatus.UNDOING)
    return {
        "run": run,
        "database": databases.get_database(current_account(), run.database_id),
        "active": "profiles",
        "labels": action_labels(),
        "busy": busy,
        "missing": heartbeats.missing_roles() if busy else [],
        "left": [line for line in run.error.splitlines() if line][:50],
        "left_count": len([line for line in run.error.splitlines() if line]),
        "downloadable": run.action == "export" and run.status == BulkRunStatus.DONE and bool(run.file_path),
    }


@bp.route("/bulk/<int:bulk_id>")
def bulk_run(bulk_id: int):
    """One bulk action: what it did, its progress (the component refreshes itself while it works), its undo."""
    run = bulk_runs.get_run(current_account(), bulk_id)
    return render(RUN_PAGE, RUN_PARTIAL, **_run_context(run))


@bp.route("/bulk/<int:bulk_id>/undo", methods=["GET", "POST"])
@requires("editor")
def bulk_run_undo(bulk_id: int):
    """Undo a bulk action: GET asks, POST queues the undo (and applies a small one at once)."""
    account = current_account()
    run = bulk_runs.get_run(account, bulk_id)
    page = url_for("admin.bulk_run", bulk_id=run.id)
    if request.method == "GET":
        return confirm_page(
            title=_("Undo this bulk action?"),
            message=_(
                "What it changed is put back and the profiles it removed come back; "
                "anything changed again since is left as it is."
            ),
            cancel=page,
            database=databases.get_database(account, run.database_id),
            active="profiles",
            button=_("Undo"),
        )
    try:
        bulk_undo.request_undo(account, run.id)
    except ValidationError as error:
        return acted(" ".join(str(message) for message in error.errors.values()), page, "error")
    return acted(_("The bulk action is being undone."), page)


@bp.route("/bulk/<int:bulk_id>/download")
@requires("admin")
def bulk_run_download(bulk_id: int):
    """The CSV file of a finished bulk export."""
    run = bulk_runs.get_run(current_account(), bulk_id)
    path = Path(run.file_path)
    if (
        run.action != "export"
        or run.status != BulkRunStatus.DONE
        or path != bulk_runs.export_path(run)
        or not path.exists()
    ):
        abort(404)

    def chunks():
        with path.open("rb") as file:
            while block := file.read(65536):
                yield block

    response = Response(chunks(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="profiles-bulk-{run.id}.csv"'
    return response
