"""The follow-up builder's form and labels: shape and CSRF only.

The steps (trigger, conditions, delay, actions) are rows the admin adds and removes, posted under flat names
that ``blueprints.admin.followup_drafts.parse_draft`` reads; the rules of a definition live in
``followups.triggers`` (``check_definition``).
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from webapp.blueprints.admin.callback_inputs import source_labels
from webapp.models import FollowUpRunStatus


class FollowUpInputs(FlaskForm):
    """The follow-up's name; the rest of the builder is read by the service from the posted rows."""

    name = StringField(_l("Name"), validators=[Length(max=100)], render_kw={"maxlength": 100, "autocomplete": "off"})


def trigger_labels() -> dict[str, str]:
    return {
        "profile_created": _l("A profile is created"),
        "profile_updated": _l("A profile is changed"),
        "profile_removed": _l("A profile is removed"),
        "subprofile_created": _l("A subprofile is created"),
        "subprofile_updated": _l("A subprofile is changed"),
        "subprofile_removed": _l("A subprofile is removed"),
        "form_submitted": _l("A web form is submitted"),
        "survey_completed": _l("A survey is completed"),
        "email_opened": _l("An email is opened"),
        "email_clicked": _l("A link in an email is clicked"),
        "unsubscribed": _l("A profile unsubscribes"),
        "bounced": _l("An email bounces"),
        "date_field": _l("A date in a field is reached"),
    }


def operator_labels() -> dict[str, str]:
    return {
        "=": _l("is"),
        "!=": _l("is not"),
        "<": _l("is less than"),
        ">": _l("is more than"),
        "contains": _l("contains"),
        "empty": _l("is empty"),
        "not_empty": _l("is not empty"),
        "in": _l("is one of (comma-separated)"),
    }


def rule_kind_labels() -> dict[str, str]:
    return {
        "field": _l("Field"),
        "interest": _l("Interest"),
        "subscribed": _l("Subscription"),
        "selection": _l("Selection"),
    }


def delay_labels() -> dict[str, str]:
    return {
        "none": _l("No delay: run at once"),
        "duration": _l("Wait a while"),
        "time_of_day": _l("Wait until a time of day"),
        "date_field": _l("Wait until a date in a field"),
    }


def unit_labels() -> dict[str, str]:
    return {"minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days")}


def action_labels() -> dict[str, str]:
    return {
        "send_email": _l("Send an email"),
        "update_fields": _l("Change fields"),
        "create_subprofile": _l("Create a subprofile"),
        "set_interests": _l("Set or clear interests"),
        "unsubscribe": _l("Unsubscribe the profile"),
        "remove_profile": _l("Remove the profile"),
        "webhook": _l("Call a webhook"),
    }


def run_status_labels() -> dict[str, str]:
    return {
        FollowUpRunStatus.PENDING: _l("waiting"),
        FollowUpRunStatus.QUEUED: _l("queued"),
        FollowUpRunStatus.SENDING: _l("sending"),
        FollowUpRunStatus.DONE: _l("done"),
        FollowUpRunStatus.SKIPPED: _l("skipped"),
        FollowUpRunStatus.FAILED: _l("failed"),
        FollowUpRunStatus.CANCELLED: _l("cancelled"),
        FollowUpRunStatus.REVIEW: _l("needs review"),
    }


def builder_labels() -> dict:
    """Every label the builder templates need."""
    return {
        "trigger_labels": trigger_labels(),
        "operator_labels": operator_labels(),
        "rule_kind_labels": rule_kind_labels(),
        "delay_labels": delay_labels(),
        "unit_labels": unit_labels(),
        "action_labels": action_labels(),
        "source_labels": source_labels(),
        "run_status_labels": run_status_labels(),
    }
