"""Starting a bulk action, and reading runs.

A run is started in one transaction with its durable work row (kind ``bulk_action``); the dispatcher hands it to
a worker, which goes through the selection in chunks (``apply``). A small selection (at most ``RUN_AT_ONCE``
profiles, a page) is also applied at once in the request, so the marketer sees the result without waiting for a
worker; the queued work row then finds the run done and does nothing.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.models import BULK_ACTIONS, Account, BulkRun, BulkRunStatus, Database, Profile, ProfileEvent
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import MAX_ID, owned
from webapp.profiles.databases import get_database
from webapp.profiles.field_types import FieldValueError, coerce
from webapp.rules.list_filter import ListFilter

KIND = "bulk_action"
RUN_AT_ONCE = 200
MAX_PICKED = 1000


@dataclass(frozen=True)
class Picked:
    """Profiles ``ids`` picked on a page, or (``ids`` None) every match of a list's ``where``: its search and
    conditions, stored with the run as a validated rule tree, so the run applies exactly what was counted."""

    ids: tuple[int, ...] | None = None
    where: ListFilter = ListFilter()

    def as_json(self, database: Database) -> dict[str, Any]:
        if self.ids is not None:
            return {"ids": list(self.ids)}
        return self.where.as_json(database)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Picked":
        if data.get("ids") is not None:
            return cls(ids=tuple(int(i) for i in data["ids"]))
        return cls(where=ListFilter.from_json(data))

    def conditions(self, database: Database) -> list[ColumnElement]:
        if self.ids is not None:
            return [Profile.id.in_(self.ids)]
        return self.where.conditions(database)


def start(
    account: Account,
    database_id: int,
    action: str,
    selection: Picked,
    *,
    params: dict[str, Any] | None = None,
    actor: str = "",
) -> BulkRun:
    """Check the action and its values, count the selection, and queue the run (then apply it at once when small)."""
    database = get_database(account, database_id)
    params = _checked(database, action, dict(params or {}))
    if selection.ids is not None:
        ids = tuple(sorted({i for i in selection.ids if 0 < i <= MAX_ID}))
        if not ids:
            raise ValidationError({"selection": _("Pick at least one profile.")})
        if len(ids) > MAX_PICKED:
            raise ValidationError(
                {"selection": _("Pick at most %(count)s profiles, or choose all matches.", count=MAX_PICKED)}
            )
        selection = Picked(ids=ids)
    if selection.ids is None:
        selection = Picked(where=ListFilter.from_json(selection.where.as_json(database)))  # what the run stores
    in_database = (Profile.account_id == account.id, Profile.database_id == database.id)
    conditions = selection.conditions(database)
    total, highest = db.session.execute(
        select(func.count(), func.max(Profile.id)).where(*in_database, *conditions)
    ).one()
    if not total:
        raise ValidationError({"selection": _("No profiles match, so there is nothing to do.")})
    floor = db.session.scalar(select(func.max(ProfileEvent.id))) or 0
    run = BulkRun(
        account_id=account.id,
        database_id=database.id,
        action=action,
        params=params,
        selection={**selection.as_json(database), "event_floor": floor},
        status=BulkRunStatus.PENDING,
        actor=actor,
        total=total,
        max_profile_id=highest or 0,
    )
    db.session.add(run)
    db.session.flush()
    work.schedule(KIND, payload={"run_id": run.id}, account_id=account.id)
    db.session.commit()
    if total <= RUN_AT_ONCE:
        from webapp.bulk.apply import apply_run

        apply_run(run.id)
    return get_run(account, run.id)


def get_run(account: Account, run_id: int) -> BulkRun:
    return owned(BulkRun, account, run_id, _("Bulk action not found."))


def list_runs(account: Account, database_id: int, *, limit: int = 20) -> list[BulkRun]:
    database = get_database(account, database_id)
    query = (
        select(BulkRun)
        .where(BulkRun.account_id == account.id, BulkRun.database_id == database.id)
        .order_by(BulkRun.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def export_path(run: BulkRun) -> Path:
    folder = Path(current_app.config.get("BULK_EXPORT_FOLDER") or Path(current_app.instance_path) / "bulk-exports")
    return folder / f"{int(run.account_id)}-{int(run.id)}.csv"


def reference(run: BulkRun) -> str:
    return f"bulk {run.id}"


def _checked(database: Database, action: str, params: dict[str, Any]) -> dict[str, Any]:
    if action not in BULK_ACTIONS:
        raise ValidationError({"action": _("Choose what to do with the profiles.")})
    if action == "set_field":
        field = next((f for f in database.fields if str(f.id) == str(params.get("field"))), None)
        if field is None:
            raise ValidationError({"field": _("Choose a field of this database.")})
        if field.unique:
            raise ValidationError(
                {"field": _("%(name)s is unique: many profiles cannot get the same value.", name=field.name)}
            )
        try:
            value = coerce(field.type, params.get("value"), field.options)
        except FieldValueError as error:
            raise ValidationError({"value": f"{field.name} {error}"}) from None
        if value is None and field.required:
            raise ValidationError({"value": _("%(name)s is required: give it a value.", name=field.name)})
        return {"field": field.id, "name": field.name, "value": params.get("value")}
    if action in ("add_interest", "remove_interest"):
        interest = next((i for i in database.interests if str(i.id) == str(params.get("interest"))), None)
        if interest is None:
            raise ValidationError({"interest": _("Choose an interest of this database.")})
        return {"interest": interest.id, "name": interest.name}
    return {}
