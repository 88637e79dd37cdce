"""Admin views of mailings: list, create, edit, test send, send now, schedule, repeat, pause, resume, cancel,
live progress and results; a profile's mailings."""

from datetime import datetime

from flask import flash, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.mailing_inputs import MailingInputs, ScheduleInputs, TestSendInputs
from webapp.blueprints.admin.responses import hx_redirect, render, toast
from webapp.blueprints.admin.schema_inputs import apply_errors
from webapp.email import templates as email_templates
from webapp.mailings import definitions, lifecycle, results
from webapp.models import Mailing, MailingStatus
from webapp.platform.errors import DomainError, NotFound, ValidationError
from webapp.profiles import databases, profiles

CHART_LABELS = {"sent": "sent", "opens": "opens", "clicks": "clicks"}


def _inputs(mailing: Mailing | None = None, *, submitted: bool = False) -> MailingInputs:
    account = current_account()
    choices = (
        databases.list_databases(account, include_archived=False),
        email_templates.list_templates(account),
        [
            selection
            for database in databases.list_databases(account, include_archived=False)
            for selection in definitions.selections_of(account, database.id)
        ],
    )
    return MailingInputs(*choices) if submitted else MailingInputs.of(*choices, mailing)


def _page(mailing: Mailing | None, form: MailingInputs, *, errors=None, status: int = 200):
    account = current_account()
    context = {
        "mailing": mailing,
        "form": form,
        "errors": errors or {},
        "schedule_form": ScheduleInputs(formdata=None),
        "test_form": TestSendInputs(formdata=None),
        "editable": mailing is None or mailing.status in definitions.EDITABLE,
        "crumbs": [(_("Mailings"), url_for("admin.mailings")), (mailing.name if mailing else _("New mailing"), None)],
    }
    if mailing is not None:
        context |= _progress_context(account, mailing)
    return render("admin/mailings/mailing.html", None, **context), status


def _progress_context(account, mailing: Mailing) -> dict:
    start, step, series = results.timeline(account, mailing.id)
    labels = {"sent": _("Sent"), "opens": _("Unique opens"), "clicks": _("Unique clicks")}
    return {
        "mailing": mailing,
        "counted": results.results_of(account, mailing.id),
        "chart": results.chart_svg(series, labels=labels) if series else "",
        "chart_start": start,
        "chart_step": step,
        "review": results.review_list(account, mailing.id),
        "occurrences": definitions.occurrences(account, mailing.id),
        "live": mailing.status in (MailingStatus.SENDING, MailingStatus.TESTING),
    }


@bp.route("/mailings", endpoint="mailings")
def mailing_list():
    """The account's mailings, newest first."""
    account = current_account()
    return render(
        "admin/mailings/index.html",
        None,
        mailings=definitions.list_mailings(account),
        has_templates=bool(email_templates.list_templates(account)),
    )


@bp.route("/mailings/new")
@requires("editor")
def mailing_new():
    return _page(None, _inputs())


@bp.route("/mailings", methods=["POST"])
@requires("editor")
def mailing_create():
    form = _inputs(submitted=True)
    try:
        mailing = definitions.create_mailing(current_account(), form.values())
    except ValidationError as error:
        return _page(None, form, errors=apply_errors(form, error.errors), status=422)
    flash(_("The mailing is saved."), "success")
    return hx_redirect(url_for("admin.mailing", mailing_id=mailing.id))


@bp.route("/mailings/<int:mailing_id>")
def mailing(mailing_id: int):
    found = definitions.get_mailing(current_account(), mailing_id)
    return _page(found, _inputs(found))


@bp.route("/mailings/<int:mailing_id>", methods=["POST"])
@requires("editor")
def mailing_update(mailing_id: int):
    account = current_account()
    found = definitions.get_mailing(account, mailing_id)
    form = _inputs(submitted=True)
    try:
        definitions.update_mailing(account, mailing_id, form.values())
    except ValidationError as error:
        return _page(found, form, errors=apply_errors(form, error.errors), status=422)
    except DomainError as error:
        return _page(found, form, errors={"": error.message}, status=409)
    flash(_("The mailing is saved."), "success")
    return hx_redirect(url_for("admin.mailing", mailing_id=mailing_id))


@bp.route("/mailings/<int:mailing_id>/progress")
def mailing_progress(mailing_id: int):
    """The live part of the page: status, progress, results, chart (polled while sending)."""
    account = current_account()
    found = definitions.get_mailing(account, mailing_id)
    return render("admin/mailings/progress.html", "admin/mailings/_progress.html", **_progress_context(account, found))


def _act(mailing_id: int, action, message: str):
    """Run a lifecycle action; its error is a toast (htmx) or a flash on the mailing's page."""
    url = url_for("admin.mailing", mailing_id=mailing_id)
    try:
        action()
    except NotFound:
        raise  # another account's mailing: as absent as one that does not exist
    except DomainError as error:
        text = error.message or "; ".join(getattr(error, "errors", {}).values())
        flash(text, "error")
        return toast(hx_redirect(url), text, "error")
    flash(message, "success")
    return hx_redirect(url)


@bp.route("/mailings/<int:mailing_id>/send", methods=["POST"])
@requires("editor")
def mailing_send(mailing_id: int):
    return _act(mailing_id, lambda: lifecycle.send_now(current_account(), mailing_id), _("Sending has started."))


@bp.route("/mailings/<int:mailing_id>/schedule", methods=["POST"])
@requires("editor")
def mailing_schedule(mailing_id: int):
    form = ScheduleInputs()
    account = current_account()
    definitions.get_mailing(account, mailing_id)  # another account's: not found, whatever the input
    local: datetime | None = form.scheduled_at.data
    if local is None:
        return _act(mailing_id, _missing_time, "")
    at = lifecycle.local_to_utc(local, lifecycle.zone_of(account))
    return _act(mailing_id, lambda: lifecycle.schedule_at(account, mailing_id, at), _("The mailing is scheduled."))


def _missing_time():
    raise ValidationError({"scheduled_at": _("Choose the date and time to send at.")})


@bp.route("/mailings/<int:mailing_id>/repeat", methods=["POST"])
@requires("editor")
def mailing_repeat(mailing_id: int):
    return _act(
        mailing_id, lambda: lifecycle.start_repeating(current_account(), mailing_id), _("The mailing repeats now.")
    )


@bp.route("/mailings/<int:mailing_id>/pause", methods=["POST"])
@requires("editor")
def mailing_pause(mailing_id: int):
    return _act(mailing_id, lambda: lifecycle.pause(current_account(), mailing_id), _("The mailing is paused."))


@bp.route("/mailings/<int:mailing_id>/resume", methods=["POST"])
@requires("editor")
def mailing_resume(mailing_id: int):
    return _act(mailing_id, lambda: lifecycle.resume(current_account(), mailing_id), _("Sending goes on."))


@bp.route("/mailings/<int:mailing_id>/cancel", methods=["POST"])
@requires("editor")
def mailing_cancel(mailing_id: int):
    return _act(mailing_id, lambda: lifecycle.cancel(current_account(), mailing_id), _("The mailing is cancelled."))


@bp.route("/mailings/<int:mailing_id>/delete", methods=["POST"])
@requires("editor")
def mailing_delete(mailing_id: int):
    try:
        definitions.delete_mailing(current_account(), mailing_id)
    except NotFound:
        raise
    except DomainError as error:
        flash(error.message, "error")
        return hx_redirect(url_for("admin.mailing", mailing_id=mailing_id))
    flash(_("The mailing is deleted."), "success")
    return hx_redirect(url_for("admin.mailings"))


@bp.route("/mailings/<int:mailing_id>/test", methods=["POST"])
@requires("editor")
def mailing_test(mailing_id: int):
    form = TestSendInputs()
    addresses = form.addresses.data or ""
    return _act(
        mailing_id,
        lambda: lifecycle.send_test(current_account(), mailing_id, addresses),
        _("The test is sent to %(addresses)s.", addresses=addresses),
    )


@bp.route("/mailings/<int:mailing_id>/review/<int:recipient_id>", methods=["POST"])
@requires("editor")
def mailing_review(mailing_id: int, recipient_id: int):
    resend = request.form.get("resend") == "1"
    message = _("It will be sent again.") if resend else _("It counts as sent.")
    return _act(
        mailing_id,
        lambda: lifecycle.resolve_review(current_account(), mailing_id, recipient_id, resend=resend),
        message,
    )


@bp.route("/profiles/<int:profile_id>/mailings")
def profile_mailings(profile_id: int):
    """On the profile page: every mailing the profile received and what the person did with it."""
    account = current_account()
    profile = profiles.get_profile(account, profile_id)
    return render(
        "admin/mailings/profile.html",
        "admin/mailings/_profile_section.html",
        profile=profile,
        received=results.received_by(account, profile.id),
    )
