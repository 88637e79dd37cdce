"""Admin views of follow-ups: list per database, the step builder, pause/resume, runs, and a profile's runs.

The builder is one form. Its row buttons (add a rule, move an action, …) post the whole form with an ``op``
and get the form back changed but unsaved; kind selects do the same through htmx on change (a plain browser
uses the "Apply" button). Saving posts without ``op``.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin import followup_drafts as followup_builder
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.followup_inputs import FollowUpInputs, builder_labels
from webapp.blueprints.admin.responses import acted, confirm_page, hx_redirect, is_htmx, render, toast
from webapp.followups import actions, definitions, run_history
from webapp.followups import runs as followup_runs
from webapp.followups.definitions import Draft
from webapp.models import Database
from webapp.platform.errors import Conflict, ValidationError
from webapp.profiles import databases, profiles
from webapp.selections import selections

BUILDER_PAGE, BUILDER_PARTIAL = "admin/followups/builder.html", "admin/followups/_builder.html"
RUNS_PAGE, RUNS_PARTIAL = "admin/followups/runs.html", "admin/followups/_runs.html"
PANEL = "admin/followups/_profile_panel.html"


# --- lists -----------------------------------------------------------------------------------------------------


@bp.route("/databases/<int:database_id>/followups")
def database_followups(database_id: int):
    """A database's follow-ups with their status and waiting runs."""
    account = current_account()
    database = databases.get_database(account, database_id)
    items = definitions.list_followups(account, database.id)
    return render(
        "admin/followups/index.html",
        database=database,
        active="followups",
        followups=items,
        counts=run_history.run_counts(account, [item.id for item in items]),
        **builder_labels(),
    )


@bp.route("/followups")
def followups_overview():
    """Every follow-up of the account, by database (runs that need attention stand out)."""
    account = current_account()
    items = definitions.list_followups(account)
    return render(
        "admin/followups/overview.html",
        followups=items,
        databases={d.id: d for d in databases.list_databases(account)},
        counts=run_history.run_counts(account, [item.id for item in items]),
        **builder_labels(),
    )


# --- the builder -----------------------------------------------------------------------------------------------


def _builder(database: Database, draft: Draft, *, followup=None, errors=None, status: int = 200):
    account = current_account()
    collection = next((item for item in database.collections if item.id == draft.collection_id), None)
    counts = run_history.run_counts(account, [followup.id]) if followup else {}
    context = {
        "database": database,
        "active": "followups",
        "followup": followup,
        "draft": draft,
        "form": FollowUpInputs(formdata=None, name=draft.name),
        "errors": errors or {},
        "collection": collection,
        "condition_fields": [*database.fields, *(collection.fields if collection else [])],
        "date_fields": [field for field in database.fields if field.type in definitions.DATE_TYPES],
        "templates": definitions.template_choices(account, database.id),
        "selections": selections.list_selections(account, database.id),
        "forms": definitions.form_choices(account, database.id),
        "surveys": definitions.survey_choices(database),
        "counts": counts.get(followup.id, {}) if followup else {},
        "subprofile_kinds": definitions.SUBPROFILE_KINDS,
        "update_kinds": definitions.UPDATE_KINDS,
        "webhook_secret": actions.webhook_secret(followup) if followup else "",
        "duration_parts": followup_builder.duration_parts,
        "action": url_for("admin.followup_update", followup_id=followup.id)
        if followup
        else url_for("admin.followup_create", database_id=database.id),
        "crumbs": [
            (_("Follow-ups"), url_for("admin.database_followups", database_id=database.id)),
            (followup.name if followup else _("New follow-up"), None),
        ],
        **builder_labels(),
    }
    return render(BUILDER_PAGE, BUILDER_PARTIAL, **context), status


def _posted() -> tuple[Draft, str]:
    """The posted draft and the row operation asked for ("" to save)."""
    draft = followup_builder.parse_draft(request.form.to_dict(flat=False))
    operation = request.form.get("op", "")
    if operation:
        followup_builder.apply_edit(draft, operation, new_action=request.form.get("new_action") or "send_email")
    return draft, operation


@bp.route("/databases/<int:database_id>/followups/new")
@requires("editor")
def followup_new(database_id: int):
    """An empty builder (for a collection's subprofiles when ``?collection=`` names one)."""
    database = databases.get_database(current_account(), database_id)
    draft = Draft()
    collection_id = request.args.get("collection", type=int)
    if any(collection.id == collection_id for collection in database.collections):
        draft.collection_id, draft.trigger = collection_id, {"kind": "subprofile_created", "exclude_sources": []}
    return _builder(database, draft)


@bp.route("/databases/<int:database_id>/followups", methods=["POST"])
@requires("editor")
def followup_create(database_id: int):
    """Save a new follow-up (active at once), or apply a row operation to the unsaved draft."""
    account = current_account()
    database = databases.get_database(account, database_id)
    draft, operation = _posted()
    if operation:
        return _builder(database, draft)
    try:
        followup = definitions.create_followup(account, database.id, draft)
    except ValidationError as error:
        return _builder(database, draft, errors=error.errors, status=422)
    message = _("The follow-up is saved and active.")
    url = url_for("admin.followup", followup_id=followup.id)
    flash(message, "success")
    return hx_redirect(url)


@bp.route("/followups/<int:followup_id>")
def followup(followup_id: int):
    """One follow-up in the builder (read-only for viewers), with its status and waiting runs."""
    account = current_account()
    item = definitions.get_followup(account, followup_id)
    database = databases.get_database(account, item.database_id)
    return _builder(database, definitions.draft_of(item), followup=item)


@bp.route("/followups/<int:followup_id>", methods=["POST"])
@requires("editor")
def followup_update(followup_id: int):
    """Save the changed steps, or apply a row operation to the unsaved draft."""
    account = current_account()
    item = definitions.get_followup(account, followup_id)
    database = databases.get_database(account, item.database_id)
    draft, operation = _posted()
    if operation:
        return _builder(database, draft, followup=item)
    try:
        definitions.update_followup(account, item.id, draft)
    except ValidationError as error:
        return _builder(database, draft, followup=item, errors=error.errors, status=422)
    return _after(item, _("The follow-up is saved."))


def _after(item, message: str):
    """After an action on a follow-up: the fresh builder with a toast, or a redirect with a flash."""
    if is_htmx():
        database = databases.get_database(current_account(), item.database_id)
        page, status = _builder(database, definitions.draft_of(item), followup=item)
        return toast(page, message)
    flash(message, "success")
    return redirect(url_for("admin.followup", followup_id=item.id), 303)


@bp.route("/followups/<int:followup_id>/pause", methods=["POST"])
@requires("editor")
def followup_pause(followup_id: int):
    """Stop the follow-up: nothing triggers it and its waiting runs wait."""
    item = definitions.pause_followup(current_account(), followup_id)
    return _after(item, _("The follow-up is paused. Its waiting runs wait until you resume it."))


@bp.route("/followups/<int:followup_id>/resume", methods=["POST"])
@requires("editor")
def followup_resume(followup_id: int):
    """Start the follow-up again; waiting runs that fell due meanwhile run now."""
    item = definitions.resume_followup(current_account(), followup_id)
    return _after(item, _("The follow-up is active again."))


@bp.route("/followups/<int:followup_id>/delete")
@requires("editor")
def followup_delete_confirm(followup_id: int):
    """Ask before removing a follow-up (for browsers without JavaScript)."""
    account = current_account()
    item = definitions.get_followup(account, followup_id)
    return confirm_page(
        title=_("Delete the follow-up %(name)s?", name=item.name),
        message=_("Its waiting runs never run and its run history is removed. This cannot be undone."),
        cancel=url_for("admin.followup", followup_id=item.id),
        database=databases.get_database(account, item.database_id),
        active="followups",
    )


@bp.route("/followups/<int:followup_id>/delete", methods=["POST", "DELETE"])
@requires("editor")
def followup_delete(followup_id: int):
    """Remove a follow-up with its runs."""
    database_id = definitions.delete_followup(current_account(), followup_id)
    return acted(_("The follow-up is deleted."), url_for("admin.database_followups", database_id=database_id))


# --- runs ------------------------------------------------------------------------------------------------------


def _runs_context(item) -> dict:
    account = current_account()
    status = request.args.get("status", "")
    runs_page = run_history.list_runs(account, item.id, status=status, before=request.args.get("before", type=int))
    review = run_history.review_runs(account, item.id)
    shown = [run.profile_id for run in [*runs_page.items, *review] if run.profile_id]
    return {
        "database": databases.get_database(account, item.database_id),
        "active": "followups",
        "followup": item,
        "status": status,
        "runs_page": runs_page,
        "review": review,
        "profile_names": profiles.display_names(account, shown),
        "counts": run_history.run_counts(account, [item.id])[item.id],
        "crumbs": [
            (_("Follow-ups"), url_for("admin.database_followups", database_id=item.database_id)),
            (item.name, url_for("admin.followup", followup_id=item.id)),
            (_("Runs"), None),
        ],
        **builder_labels(),
    }


@bp.route("/followups/<int:followup_id>/runs")
def followup_runs_page(followup_id: int):
    """A follow-up's runs (filtered by status, newest first) and the runs that need review."""
    item = definitions.get_followup(current_account(), followup_id)
    return render(RUNS_PAGE, RUNS_PARTIAL, **_runs_context(item))


def _panel_context(profile_id: int) -> dict:
    account = current_account()
    profile = profiles.get_profile(account, profile_id)
    return {
        "database": profile.database,
        "profile_id": profile.id,
        "profile_name": profiles.display_name(profile),
        "runs": run_history.runs_of_profile(account, profile.id),
        **builder_labels(),
    }


@bp.route("/profiles/<int:profile_id>/followups")
def profile_followups(profile_id: int):
    """The follow-ups panel of a profile page: waiting runs (cancel) and past runs with their outcome."""
    return render("admin/followups/profile_runs.html", PANEL, **_panel_context(profile_id))


def _run_done(run, message: str, level: str = "success"):
    """After an action on a run: the panel it was pressed in (profile or runs page), or a redirect."""
    account = current_account()
    on_profile = request.form.get("view") == "profile" and run.profile_id is not None
    if is_htmx():
        if on_profile:
            page = render_template(PANEL, **_panel_context(run.profile_id))
        else:
            page = render(RUNS_PAGE, RUNS_PARTIAL, **_runs_context(definitions.get_followup(account, run.followup_id)))
        return toast(page, message, level)
    flash(message, "success" if level == "success" else "error")
    if on_profile:
        return redirect(url_for("admin.profile", profile_id=run.profile_id), 303)
    return redirect(url_for("admin.followup_runs_page", followup_id=run.followup_id), 303)


def _run_action(followup_run_id: int, change, message: str):
    account = current_account()
    run = followup_runs.get_run(account, followup_run_id)
    try:
        change(account, run.id)
    except Conflict as error:
        return _run_done(run, error.message, "error")
    return _run_done(run, message)


@bp.route("/followup-runs/<int:followup_run_id>/cancel", methods=["POST"])
@requires("editor")
def followup_run_cancel(followup_run_id: int):
    """Cancel a run that has not started."""
    return _run_action(followup_run_id, followup_runs.cancel_run, _("The run is cancelled."))


@bp.route("/followup-runs/<int:followup_run_id>/retry", methods=["POST"])
@requires("editor")
def followup_run_retry(followup_run_id: int):
    """Run a failed run again, from the action that failed."""
    return _run_action(followup_run_id, followup_runs.retry_run, _("The run is retried now."))


@bp.route("/followup-runs/<int:followup_run_id>/mark-sent", methods=["POST"])
@requires("editor")
def followup_run_mark_sent(followup_run_id: int):
    """A run interrupted while sending: the email arrived; go on with the next action."""
    return _run_action(
        followup_run_id,
        lambda account, run_id: followup_runs.resolve_review(account, run_id, resend=False),
        _("The email counts as sent; the run goes on."),
    )


@bp.route("/followup-runs/<int:followup_run_id>/resend", methods=["POST"])
@requires("editor")
def followup_run_resend(followup_run_id: int):
    """A run interrupted while sending: send the email again (same Message-ID)."""
    return _run_action(
        followup_run_id,
        lambda account, run_id: followup_runs.resolve_review(account, run_id, resend=True),
        _("The email is queued to be sent again."),
    )
