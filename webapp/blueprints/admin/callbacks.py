"""Admin views of callbacks (webhooks): list and add per database, edit, pause/resume, test, delivery log."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.callback_inputs import CallbackInputs, action_labels, source_labels
from webapp.blueprints.admin.responses import confirm_page, is_htmx, render, toast
from webapp.blueprints.admin.schema_inputs import apply_errors
from webapp.callbacks import definitions
from webapp.callbacks import deliveries as callback_sending
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, profiles


def _list_page(database, form: CallbackInputs, *, errors=None, status: int = 200):
    account = current_account()
    page = render(
        "admin/callbacks/index.html",
        "admin/callbacks/_callbacks.html",
        database=database,
        active="callbacks",
        callbacks=definitions.list_callbacks(account, database.id),
        form=form,
        errors=errors or {},
        **_labels(),
    )
    return page, status


def _labels() -> dict:
    return {"action_labels": action_labels(), "source_labels": source_labels()}


def _callback_page(
    callback,
    *,
    form: CallbackInputs | None = None,
    errors=None,
    test_result=None,
    status: int = 200,
    partial: str | None = "admin/callbacks/_callback.html",
):
    account = current_account()
    database = databases.get_database(account, callback.database_id)
    context = {
        "database": database,
        "active": "callbacks",
        "callback": callback,
        "form": form or CallbackInputs.of(database, callback),
        "errors": errors or {},
        **_deliveries(account, callback),
        "test_result": test_result,
        "paused_backlog": callback_sending.PAUSED_BACKLOG,
        **_labels(),
        "crumbs": [
            (_("Callbacks"), url_for("admin.database_callbacks", database_id=database.id)),
            (_("Callback #%(id)s", id=callback.id), None),
        ],
    }
    return render("admin/callbacks/callback.html", partial, **context), status


def _after(message: str, callback, *, level: str = "success", test_result=None):
    """After an action on one callback: the fresh callback panel with a toast, or a redirect with a flash."""
    if is_htmx():
        page, status = _callback_page(callback, test_result=test_result)
        return toast(page, message, level)
    flash(message, "success" if level == "success" else "error")
    return redirect(url_for("admin.callback", callback_id=callback.id), 303)


@bp.route("/databases/<int:database_id>/callbacks")
def database_callbacks(database_id: int):
    """A database's callbacks, with the form to add one (admins)."""
    database = databases.get_database(current_account(), database_id)
    return _list_page(database, CallbackInputs.of(database))


@bp.route("/databases/<int:database_id>/callbacks", methods=["POST"])
@requires("admin")
def callback_create(database_id: int):
    """Add a callback; its page shows the signing secret."""
    account = current_account()
    database = databases.get_database(account, database_id)
    form = CallbackInputs(database)
    try:
        callback = definitions.create_callback(account, database.id, **form.values())
    except ValidationError as error:
        return _list_page(database, form, errors=apply_errors(form, error.errors), status=422)
    message = _("The callback is added. Give its signing secret to the receiver.")
    if is_htmx():
        return toast(
            render_template(
                "admin/callbacks/_callbacks.html",
                database=database,
                active="callbacks",
                callbacks=definitions.list_callbacks(account, database.id),
                form=CallbackInputs.of(database),
                errors={},
                **_labels(),
            ),
            message,
        )
    flash(message, "success")
    return redirect(url_for("admin.callback", callback_id=callback.id), 303)


@bp.route("/callbacks/<int:callback_id>")
def callback(callback_id: int):
    """One callback: settings, secret (admins), status and its delivery log."""
    return _callback_page(definitions.get_callback(current_account(), callback_id), partial=None)


@bp.route("/callbacks/<int:callback_id>/deliveries")
def callback_deliveries(callback_id: int):
    """The delivery log alone (refreshed by htmx)."""
    account = current_account()
    callback = definitions.get_callback(account, callback_id)
    return render_template("admin/callbacks/_deliveries.html", callback=callback, **_deliveries(account, callback))


def _deliveries(account, callback) -> dict:
    """What the delivery log shows: the latest deliveries, counts by status, and their profiles' names."""
    deliveries = callback_sending.list_deliveries(account, callback.id)
    return {
        "deliveries": deliveries,
        "counts": callback_sending.count_deliveries(account, callback.id),
        "profile_names": profiles.display_names(account, (d.profile_id for d in deliveries if d.profile_id)),
    }


@bp.route("/callbacks/<int:callback_id>", methods=["POST"])
@requires("admin")
def callback_update(callback_id: int):
    """Save a callback's URL, body, filters and condition."""
    account = current_account()
    callback = definitions.get_callback(account, callback_id)
    database = databases.get_database(account, callback.database_id)
    form = CallbackInputs(database)
    try:
        definitions.update_callback(account, callback.id, **form.values())
    except ValidationError as error:
        return _callback_page(callback, form=form, errors=apply_errors(form, error.errors), status=422)
    return _after(_("The callback is saved."), callback)


@bp.route("/callbacks/<int:callback_id>/pause", methods=["POST"])
@requires("admin")
def callback_pause(callback_id: int):
    """Stop calling the URL; changes meanwhile are not sent."""
    callback = definitions.pause_callback(current_account(), callback_id)
    return _after(_("The callback is paused."), callback)


@bp.route("/callbacks/<int:callback_id>/resume", methods=["POST"])
@requires("admin")
def callback_resume(callback_id: int):
    """Call the URL again, starting with what is still pending."""
    callback = callback_sending.resume_callback(current_account(), callback_id)
    return _after(_("The callback is active again."), callback)


@bp.route("/callbacks/<int:callback_id>/secret", methods=["POST"])
@requires("admin")
def callback_secret(callback_id: int):
    """Replace the signing secret."""
    callback = definitions.new_callback_secret(current_account(), callback_id)
    return _after(_("The callback has a new signing secret. Give it to the receiver."), callback)


@bp.route("/callbacks/<int:callback_id>/test", methods=["POST"])
@requires("admin")
def callback_test(callback_id: int):
    """Send a test payload now and show the answer."""
    account = current_account()
    result = callback_sending.send_test(account, callback_id)
    callback = definitions.get_callback(account, callback_id)
    if result["ok"]:
        message = _(
            "The test was delivered (HTTP %(status)s in %(ms)s ms).", status=result["status"], ms=result["duration_ms"]
        )
        return _after(message, callback, test_result=result)
    message = _("The test failed: %(error)s", error=result["error"])
    return _after(message, callback, level="error", test_result=result)


@bp.route("/callbacks/<int:callback_id>/delete")
@requires("admin")
def callback_delete_confirm(callback_id: int):
    """Ask before removing a callback (for browsers without JavaScript)."""
    account = current_account()
    callback = definitions.get_callback(account, callback_id)
    database = databases.get_database(account, callback.database_id)
    return confirm_page(
        title=_("Delete the callback to %(url)s?", url=callback.url),
        message=_("Its delivery log and pending deliveries are removed too. This cannot be undone."),
        cancel=url_for("admin.callback", callback_id=callback.id),
        database=database,
        active="callbacks",
    )


@bp.route("/callbacks/<int:callback_id>/delete", methods=["POST", "DELETE"])
@requires("admin")
def callback_delete(callback_id: int):
    """Remove a callback with its delivery log."""
    account = current_account()
    callback = definitions.get_callback(account, callback_id)
    database_id = callback.database_id
    definitions.delete_callback(account, callback.id)
    url = url_for("admin.database_callbacks", database_id=database_id)
    message = _("The callback is deleted.")
    if is_htmx():
        response = toast("", message)
        response.status_code = 204
        response.headers["HX-Redirect"] = url
        return response
    flash(message, "success")
    return redirect(url, 303)


@bp.route("/deliveries/<int:delivery_id>/resend", methods=["POST"])
@requires("admin")
def delivery_resend(delivery_id: int):
    """Send a delivery's payload again."""
    account = current_account()
    delivery = callback_sending.resend_delivery(account, delivery_id)
    callback = definitions.get_callback(account, delivery.callback_id)
    message = _("Delivery #%(id)s is queued to be sent again.", id=delivery.id)
    if is_htmx() and request.headers.get("HX-Target") == "deliveries":
        return toast(
            render_template("admin/callbacks/_deliveries.html", callback=callback, **_deliveries(account, callback)),
            message,
        )
    return _after(message, callback)


@bp.route("/deliveries/<int:delivery_id>/retry", methods=["POST"])
@requires("admin")
def delivery_retry(delivery_id: int):
    """Put a given-up delivery back in line (same id, before the profile's later deliveries)."""
    account = current_account()
    delivery = callback_sending.get_delivery(account, delivery_id)
    callback = definitions.get_callback(account, delivery.callback_id)
    try:
        callback_sending.retry_delivery(account, delivery_id)
    except ValidationError as error:
        return _after(error.message, callback, level="error")
    message = _("Delivery #%(id)s will be tried again.", id=delivery.id)
    if is_htmx() and request.headers.get("HX-Target") == "deliveries":
        return toast(
            render_template("admin/callbacks/_deliveries.html", callback=callback, **_deliveries(account, callback)),
            message,
        )
    return _after(message, callback)
