"""Follow-up definitions: validated once, whatever door they come through, and managed (create, change, pause, delete).

A definition is a trigger, an activation condition, a delay, an execution condition and actions, in the shapes
of ``FollowUp`` (see ``docs/follow-ups.md``); ``check_definition`` is the one validator.
"""

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from webapp.extensions import db
from webapp.followups import conditions
from webapp.followups.actions import as_int
from webapp.followups.timing import TIME_PATTERN
from webapp.models import (
    ACTION_TYPES,
    TRIGGER_KINDS,
    Account,
    Collection,
    Database,
    EmailTemplate,
    Field,
    FollowUp,
    FollowUpStatus,
    Form,
    Survey,
    utcnow,
)
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles import events
from webapp.profiles.databases import collection_of, get_database


def validate_definition(
    account: Account,
    database_id: int,
    *,
    trigger: Any,
    activation_condition: Any,
    execution_condition: Any,
    delay: Any,
    actions: Any,
    collection_id: int | None = None,
) -> dict[str, str]:
    """Errors by part (``trigger``, ``activation_condition``, ``execution_condition``, ``delay``, ``actions``);
    empty when the definition is fine. ``clean_definition`` gives the stored form as well."""
    return clean_definition(
        account,
        database_id,
        trigger=trigger,
        activation_condition=activation_condition,
        execution_condition=execution_condition,
        delay=delay,
        actions=actions,
        collection_id=collection_id,
    )[1]


def clean_definition(
    account: Account,
    database_id: int,
    *,
    trigger: Any,
    activation_condition: Any,
    execution_condition: Any,
    delay: Any,
    actions: Any,
    collection_id: int | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The definition in its stored form (condition values coerced to their fields' types) and the errors."""
    database = db.session.get(Database, database_id)
    if database is None or database.account_id != account.id:
        return {}, {"database_id": _("Database not found.")}
    collection = collection_of(account, database, collection_id) if collection_id else None
    if collection_id and collection is None:
        return {}, {"collection_id": _("Choose a collection of this database.")}
    scope = _Scope(account, database, collection)
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    parts = (
        ("trigger", trigger, scope.trigger),
        ("activation_condition", activation_condition, scope.condition),
        ("execution_condition", execution_condition, scope.condition),
        ("delay", delay, scope.delay),
        ("actions", actions, scope.actions),
    )
    for name, value, check in parts:
        try:
            cleaned[name] = check(value)
        except ValueError as error:
            errors[name] = str(error)
    return cleaned, errors


@dataclass
class _Scope:
    account: Account
    database: Database
    collection: Collection | None

    @property
    def profile_fields(self) -> dict[int, Field]:
        return {field.id: field for field in self.database.fields}

    @property
    def condition_fields(self) -> dict[int, Field]:
        fields = self.profile_fields
        if self.collection is not None:
            fields.update({field.id: field for field in self.collection.fields})
        return fields

    @property
    def interest_ids(self) -> set[int]:
        return {interest.id for interest in self.database.interests}

    def condition(self, value: Any) -> dict[str, Any]:
        return conditions.validate(
            value,
            self.condition_fields,
            self.interest_ids,
            collections={row.id: {field.id: field for field in row.fields} for row in self.database.collections},
            account_id=self.account.id,
            database_id=self.database.id,
        )

    def trigger(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or value.get("kind") not in TRIGGER_KINDS:
            raise ValueError(_("Choose what triggers the follow-up."))
        kind = value["kind"]
        cleaned: dict[str, Any] = {"kind": kind}
        if kind in SUBPROFILE_KINDS and self.collection is None:
            raise ValueError(_("Choose the collection whose subprofiles trigger the follow-up."))
        excluded = [str(source) for source in value.get("exclude_sources") or []]
        unknown = [source for source in excluded if source not in events.SOURCES]
        if unknown:
            raise ValueError(_("Unknown source: %(names)s.", names=", ".join(unknown)))
        cleaned["exclude_sources"] = excluded
        if kind in UPDATE_KINDS:
            if kind == "subprofile_updated":
                assert self.collection is not None  # a subprofile trigger without a collection was refused above
                owner = self.collection.fields
            else:
                owner = self.database.fields
            known = {field.id: field for field in owner}
            field_ids = [as_int(item) for item in value.get("fields") or []]
            if any(field_id not in known for field_id in field_ids):
                raise ValueError(_("Choose fields of this database or collection."))
            cleaned["fields"] = field_ids
            if value.get("to_value") not in (None, ""):
                if len(field_ids) != 1:
                    raise ValueError(_("'Changed to a value' needs exactly one field."))
                cleaned["to_value"] = conditions.validate(
                    {"rules": [{"field_id": field_ids[0], "operator": "=", "value": value["to_value"]}]},
                    known,
                    set(),
                )["rules"][0]["value"]
        if kind == "survey_completed" and value.get("survey_id") not in (None, ""):
            survey_id = as_int(value["survey_id"])
            if survey_id not in {survey.id for survey in survey_choices(self.database)}:
                raise ValueError(_("Choose a survey of this database."))
            cleaned["survey_id"] = survey_id
        if kind == "email_clicked" and value.get("link"):
            cleaned["link"] = str(value["link"]).strip()
        if kind == "date_field":
            cleaned.update(self._date_moment(value))
            cleaned["yearly"] = bool(value.get("yearly"))
        return cleaned

    def delay(self, value: Any) -> dict[str, Any]:
        value = value or {"kind": "none"}
        kind = value.get("kind") if isinstance(value, dict) else None
        if kind == "none":
            return {"kind": "none"}
        if kind == "duration":
            seconds = as_int(value.get("seconds"))
            if seconds is None or seconds < 0:
                raise ValueError(_("Give the delay in whole seconds (0 or more)."))
            return {"kind": "duration", "seconds": seconds}
        if kind == "time_of_day":
            return {"kind": "time_of_day", "time": _time(value.get("time"))}
        if kind == "date_field":
            return {"kind": "date_field", **self._date_moment(value)}
        raise ValueError(_("Choose none, a duration, a time of day or a date field."))

    def _date_moment(self, value: dict) -> dict[str, Any]:
        field_id = as_int(value.get("field_id"))
        field = self.profile_fields.get(field_id) if field_id is not None else None
        if field is None or field.type not in DATE_TYPES:
            raise ValueError(_("Choose a date field of this database."))
        offset = as_int(value.get("offset_days", 0))
        if offset is None:
            raise ValueError(_("Give the offset in whole days."))
        return {"field_id": field.id, "offset_days": offset, "time": _time(value.get("time") or "00:00")}

    def actions(self, value: Any) -> list[dict[str, Any]]:
        from webapp.followups import actions as followup_actions

        if not isinstance(value, list) or not value:
            raise ValueError(_("Add at least one action."))
        cleaned = []
        for number, action in enumerate(value, start=1):
            if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
                raise ValueError(_("Action %(number)s: choose what it does.", number=number))
            try:
                cleaned.append(followup_actions.validate(self.account, self.database, action))
            except ValueError as error:
                raise ValueError(_("Action %(number)s: %(error)s", number=number, error=error)) from None
        return cleaned


def _time(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) == 4 and text[1] == ":":
        text = "0" + text
    if not TIME_PATTERN.match(text):
        raise ValueError(_("Give a time as HH:MM."))
    return text


def check_definition(account: Account, database_id: int, **parts: Any) -> dict[str, Any]:
    """``clean_definition`` raising ``ValidationError`` on errors (for callers that create follow-ups)."""
    cleaned, errors = clean_definition(account, database_id, **parts)
    if errors:
        raise ValidationError(errors)
    return cleaned


UPDATE_KINDS = ("profile_updated", "subprofile_updated")


SUBPROFILE_KINDS = ("subprofile_created", "subprofile_updated", "subprofile_removed")


DATE_TYPES = ("date", "datetime")


NAME_LENGTH = 100


@dataclass
class Draft:
    """A follow-up being edited: its name, scope and the five parts of its definition (stored shape)."""

    name: str = ""
    collection_id: int | None = None
    form_id: int | None = None
    trigger: dict[str, Any] = field(default_factory=lambda: {"kind": "profile_created", "exclude_sources": []})
    activation_condition: dict[str, Any] = field(default_factory=lambda: {"match": "all", "rules": []})
    execution_condition: dict[str, Any] = field(default_factory=lambda: {"match": "all", "rules": []})
    delay: dict[str, Any] = field(default_factory=lambda: {"kind": "none"})
    actions: list[dict[str, Any]] = field(default_factory=list)

    def parts(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "activation_condition": self.activation_condition,
            "execution_condition": self.execution_condition,
            "delay": self.delay,
            "actions": self.actions,
        }


def draft_of(followup: FollowUp) -> Draft:
    """The stored follow-up as a draft for the builder."""
    return Draft(
        name=followup.name,
        collection_id=followup.collection_id,
        form_id=followup.form_id,
        trigger=dict(followup.trigger or {}),
        activation_condition=dict(followup.activation_condition or {"match": "all", "rules": []}),
        execution_condition=dict(followup.execution_condition or {"match": "all", "rules": []}),
        delay=dict(followup.delay or {"kind": "none"}),
        actions=[dict(action) for action in followup.actions or []],
    )


def list_followups(account: Account, database_id: int | None = None) -> list[FollowUp]:
    """The account's follow-ups (of one database when given), by name."""
    statement = select(FollowUp).where(FollowUp.account_id == account.id).order_by(FollowUp.name, FollowUp.id)
    if database_id is not None:
        statement = statement.where(FollowUp.database_id == get_database(account, database_id).id)
    return list(db.session.scalars(statement))


def get_followup(account: Account, followup_id: int) -> FollowUp:
    return owned(FollowUp, account, followup_id, _("Follow-up not found."))


def create_followup(account: Account, database_id: int, draft: Draft) -> FollowUp:
    """Save a new, active follow-up; ``ValidationError`` by part (``name``, ``trigger``, …) when it is not fine."""
    database = get_database(account, database_id)
    followup = FollowUp(account_id=account.id, database_id=database.id, status=FollowUpStatus.ACTIVE)
    _store(account, followup, draft)
    db.session.add(followup)
    db.session.commit()
    return followup


def update_followup(account: Account, followup_id: int, draft: Draft) -> FollowUp:
    """Save a changed definition; runs already scheduled keep their due time and run the new actions."""
    followup = get_followup(account, followup_id)
    _store(account, followup, draft)
    followup.updated_at = utcnow()
    db.session.commit()
    return followup


def _store(account: Account, followup: FollowUp, draft: Draft) -> None:
    errors = {}
    name = draft.name.strip()
    if not name:
        errors["name"] = _("Give the follow-up a name.")
    elif len(name) > NAME_LENGTH:
        errors["name"] = _("A name has at most %(count)s characters.", count=NAME_LENGTH)
    collection_id = draft.collection_id if isinstance(draft.collection_id, int) else None
    if draft.collection_id is not None and collection_id is None:
        errors["collection_id"] = _("Choose a collection of this database.")
    form_id = _checked_form(account, followup.database_id, draft.form_id, errors)
    cleaned, problems = clean_definition(account, followup.database_id, collection_id=collection_id, **draft.parts())
    errors.update(problems)
    if errors:
        db.session.rollback()
        raise ValidationError(errors)
    followup.name, followup.collection_id, followup.form_id = name, collection_id, form_id
    for part, value in cleaned.items():
        setattr(followup, part, value)


def _checked_form(account: Account, database_id: int, form_id: Any, errors: dict[str, str]) -> int | None:
    """The web form a form-submitted trigger listens to (None: any form of the database)."""
    if form_id is None:
        return None
    form = next((item for item in form_choices(account, database_id) if item.id == form_id), None)
    if form is None:
        errors["form_id"] = _("Choose a web form of this database.")
        return None
    return form.id


def delete_followup(account: Account, followup_id: int) -> int:
    """Remove a follow-up with its runs (those still waiting never run); returns its database id."""
    followup = get_followup(account, followup_id)
    database_id = followup.database_id
    db.session.delete(followup)
    db.session.commit()
    return database_id


def pause_followup(account: Account, followup_id: int) -> FollowUp:
    """Stop triggering and stop waiting runs from executing (they wait until it is resumed)."""
    return _set_status(account, followup_id, FollowUpStatus.PAUSED)


def resume_followup(account: Account, followup_id: int) -> FollowUp:
    """Trigger again; waiting runs that fell due meanwhile run now."""
    return _set_status(account, followup_id, FollowUpStatus.ACTIVE)


def _set_status(account: Account, followup_id: int, status: FollowUpStatus) -> FollowUp:
    followup = get_followup(account, followup_id)
    followup.status, followup.updated_at = status, utcnow()
    db.session.commit()
    return followup


def template_choices(account: Account, database_id: int) -> list[EmailTemplate]:
    """The email templates a send-email action may use: the account's general ones and the database's own."""
    return list(
        db.session.scalars(
            select(EmailTemplate)
            .where(
                EmailTemplate.account_id == account.id,
                or_(EmailTemplate.database_id.is_(None), EmailTemplate.database_id == database_id),
            )
            .order_by(EmailTemplate.name)
        )
    )


def survey_choices(database: Database) -> list[Survey]:
    """The surveys of the database, for the survey-completed trigger (a database is its account's)."""
    return list(db.session.scalars(select(Survey).where(Survey.database_id == database.id).order_by(Survey.name)))


def form_choices(account: Account, database_id: int) -> list[Form]:
    """The web forms of the database, for the form-submitted trigger."""
    return list(
        db.session.scalars(
            select(Form).where(Form.account_id == account.id, Form.database_id == database_id).order_by(Form.name)
        )
    )
