"""Selections: create, rename, edit rules, remove; count (cached with its age), page the members; the standard
selections of a database.

Every function takes the caller's account and reaches rows through it (``get_selection`` raises ``NotFound``
for another account's id). Rules are validated by ``rules.tree.validate`` against the database (and, for a
collection selection, the collection) when saved; a rule naming another selection that leads back to this one
is refused. A count is stored with its time: lists show it with its age and recount on request; the editor
counts live.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp.exports import files as export_files
from webapp.extensions import db
from webapp.models import (
    Account,
    Callback,
    Collection,
    Database,
    ExportDefinition,
    FollowUp,
    Profile,
    Selection,
    StandardSelection,
    Subprofile,
    utcnow,
)
from webapp.platform.errors import Conflict, NotFound, ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_collection, get_database
from webapp.rules import tree as rule_tree
from webapp.rules.list_filter import ListFilter
from webapp.selections.membership import member_ids, subprofile_ids

MAX_NAME = 100
MAX_PAGE = 1000

STANDARD_RULES: dict[StandardSelection, dict[str, Any]] = {
    StandardSelection.SUBSCRIBED: {"match": "all", "rules": [{"subscribed": True}]},
    StandardSelection.HARD_BOUNCED: {"match": "all", "rules": [{"email": "bounced", "bounce": "hard"}]},
    StandardSelection.UNCONFIRMED: {"match": "all", "rules": [{"unconfirmed": True}]},
    StandardSelection.SUPPRESSED: {"match": "all", "rules": [{"suppressed": True}]},
}


def standard_names() -> dict[StandardSelection, str]:
    return {
        StandardSelection.SUBSCRIBED: _("Subscribed"),
        StandardSelection.HARD_BOUNCED: _("Hard bounced"),
        StandardSelection.UNCONFIRMED: _("Unconfirmed sign-ups"),
        StandardSelection.SUPPRESSED: _("Suppressed addresses"),
    }


@dataclass
class Page:
    items: list
    start: int
    total: int | None


@dataclass
class Count:
    value: int
    counted_at: datetime


def get_selection(account: Account, selection_id: int) -> Selection:
    return owned(Selection, account, selection_id, _("Selection not found."))


def list_selections(account: Account, database_id: int) -> list[Selection]:
    database = get_database(account, database_id)
    return list(
        db.session.scalars(
            select(Selection)
            .where(Selection.account_id == account.id, Selection.database_id == database.id)
            .order_by(func.lower(Selection.name), Selection.id)
        )
    )


def scope_for(account: Account, database: Database, collection: Collection | None, selection_id: int | None = None):
    """What a selection's rules may name (``rules.tree.Scope``)."""
    fields = {field.id: field for field in database.fields}
    if collection is not None:
        fields.update({field.id: field for field in collection.fields})
    collections = db.session.scalars(select(Collection).where(Collection.database_id == database.id))
    return rule_tree.Scope(
        fields=fields,
        interest_ids={interest.id for interest in database.interests},
        collections={row.id: {field.id: field for field in row.fields} for row in collections},
        account_id=account.id,
        database_id=database.id,
        selection_id=selection_id,
    )


def check_rules(
    account: Account, database_id: int, rules: Any, *, collection_id: int | None = None, selection_id: int | None = None
) -> dict[str, Any]:
    """``rules`` in their stored form, or ``ValidationError`` saying what is wrong with them."""
    database = get_database(account, database_id)
    collection = _collection_of(account, database, collection_id)
    try:
        return rule_tree.validate(rules, scope_for(account, database, collection, selection_id))
    except ValueError as error:
        raise ValidationError({"rules": str(error)}) from None


def create_selection(
    account: Account,
    database_id: int,
    name: str,
    *,
    description: str = "",
    collection_id: int | None = None,
    rules: Any = None,
    standard: StandardSelection = StandardSelection.NONE,
) -> Selection:
    database = get_database(account, database_id)
    collection = _collection_of(account, database, collection_id)
    cleaned = check_rules(account, database.id, rules, collection_id=collection_id)
    selection = Selection(
        account_id=account.id,
        database_id=database.id,
        collection_id=collection.id if collection else None,
        name=_check_name(database, name),
        description=(description or "").strip(),
        rules=cleaned,
        standard=standard,
    )
    db.session.add(selection)
    db.session.commit()
    return selection


def save_list_filter(account: Account, database_id: int, name: str, where: ListFilter) -> Selection:
    """The profile list's search and conditions saved as a selection (``ListFilter.selection_tree``)."""
    database = get_database(account, database_id)
    return create_selection(account, database.id, name, rules=where.selection_tree(database))


def update_selection(
    account: Account,
    selection_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    rules: Any = None,
) -> Selection:
    """Rename, describe or give new rules (``None``: keep); a change of rules forgets the cached count."""
    selection = get_selection(account, selection_id)
    database = get_database(account, selection.database_id)
    if name is not None:
        selection.name = _check_name(database, name, selection.id)
    if description is not None:
        selection.description = description.strip()
    if rules is not None:
        selection.rules = check_rules(
            account, database.id, rules, collection_id=selection.collection_id, selection_id=selection.id
        )
        selection.counted, selection.counted_at = None, None
    selection.updated_at = utcnow()
    db.session.commit()
    return selection


def delete_selection(account: Account, selection_id: int) -> None:
    """Remove a selection; refused while another selection's rules, a follow-up's condition, a callback or a
    scheduled export use it (removing it would silently change who they reach)."""
    selection = get_selection(account, selection_id)
    users = [row for row in rule_tree.selections_using(account.id, selection.id) if row.id != selection.id]
    callbacks = db.session.scalar(select(func.count()).where(Callback.selection_id == selection.id)) or 0
    exports = list(
        db.session.scalars(select(ExportDefinition.name).where(ExportDefinition.selection_id == selection.id))
    )
    if exports:
        raise Conflict(
            _(
                "The scheduled exports %(names)s export this selection's members: change them first.",
                names=", ".join(exports),
            )
        )
    if callbacks:
        raise Conflict(
            ngettext(
                "%(num)s callback calls only for this selection's members: change it first.",
                "%(num)s callbacks call only for this selection's members: change them first.",
                callbacks,
            )
        )
    followups = [
        row.name
        for row in db.session.scalars(select(FollowUp).where(FollowUp.database_id == selection.database_id))
        if selection.id in rule_tree.referenced_selections(row.activation_condition or {})
        or selection.id in rule_tree.referenced_selections(row.execution_condition or {})
    ]
    if followups:
        raise Conflict(
            _(
                "The follow-ups %(names)s use this selection in a condition: change them first.",
                names=", ".join(followups),
            )
        )
    if users:
        raise Conflict(
            _("%(names)s use this selection in their rules: change them first.", names=", ".join(u.name for u in users))
        )
    db.session.delete(selection)
    db.session.commit()


def count_selection(account: Account, selection_id: int) -> Count:
    """Count the members now (profiles; a collection selection: subprofiles) and keep the count with its time."""
    selection = get_selection(account, selection_id)
    value = _count(selection)
    selection.counted, selection.counted_at = value, utcnow()
    db.session.commit()
    return Count(value, selection.counted_at)


def members(account: Account, selection_id: int, *, start: int = 0, length: int = 20, total: bool = True) -> Page:
    """A page of the members in id order (a collection selection: its subprofiles), with the total (``total``
    false: ``None`` unless the page is the last, for a caller that counts on its own)."""
    selection = get_selection(account, selection_id)
    return _page(selection, start, length, with_total=total)


def export_selection(account: Account, selection_id: int, options: export_files.ExportOptions) -> export_files.Export:
    """The members as an export file (a collection selection: its subprofiles), streamed as SQL finds them."""
    selection = get_selection(account, selection_id)
    if selection.collection_id is not None:
        return export_files.export_collection(
            account, selection.collection_id, options, members=subprofile_ids(selection)
        )
    return export_files.export_database(account, selection.database_id, options, members=member_ids(selection))


def preview(
    account: Account, database_id: int, rules: Any, *, collection_id: int | None = None, length: int = 10
) -> tuple[Selection, Page]:
    """The count and first page of unsaved rules (the editor's live view); nothing is stored."""
    database = get_database(account, database_id)
    cleaned = check_rules(account, database.id, rules, collection_id=collection_id)
    draft = Selection(account_id=account.id, database_id=database.id, collection_id=collection_id, rules=cleaned)
    return draft, _page(draft, 0, length)


def add_standard_selections(account: Account, database_id: int) -> list[Selection]:
    """Add the standard selections the database lacks (subscribed, hard bounced, unconfirmed, suppressed)."""
    database = get_database(account, database_id)
    present = set(
        db.session.scalars(
            select(Selection.standard).where(Selection.database_id == database.id, Selection.standard != "")
        )
    )
    names = db.session.scalars(select(Selection.name).where(Selection.database_id == database.id))
    taken = {name.lower() for name in names}
    added = []
    for kind, name in standard_names().items():
        if kind in present:
            continue
        unique, number = name, 2
        while unique.lower() in taken:
            unique, number = f"{name} ({number})", number + 1
        taken.add(unique.lower())
        selection = Selection(
            account_id=account.id,
            database_id=database.id,
            name=unique,
            rules=STANDARD_RULES[kind],
            standard=kind,
        )
        db.session.add(selection)
        added.append(selection)
    db.session.commit()
    return added


def missing_standard_selections(account: Account, database_id: int) -> list[StandardSelection]:
    database = get_database(account, database_id)
    present = set(db.session.scalars(select(Selection.standard).where(Selection.database_id == database.id)))
    return [kind for kind in STANDARD_RULES if kind not in present]


# --- helpers ------------------------------------------------------------------------------------------------


def _collection_of(account: Account, database: Database, collection_id: int | None) -> Collection | None:
    if collection_id in (None, "", 0):
        return None
    try:
        collection = get_collection(account, int(collection_id))
    except (TypeError, ValueError):
        raise NotFound(_("Collection not found.")) from None
    if collection.database_id != database.id:
        raise ValidationError({"collection": _("This collection belongs to another database.")})
    return collection


def _check_name(database: Database, name: str, selection_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the selection a name.")})
    if len(name) > MAX_NAME:
        raise ValidationError({"name": _("A name has at most %(count)s characters.", count=MAX_NAME)})
    clash = db.session.scalar(
        select(Selection.id).where(
            Selection.database_id == database.id,
            func.lower(Selection.name) == name.lower(),
            Selection.id != (selection_id or 0),
        )
    )
    if clash is not None:
        raise ValidationError({"name": _("This database already has a selection named %(name)s.", name=name)})
    return name


def _ids(selection: Selection):
    return subprofile_ids(selection) if selection.collection_id else member_ids(selection)


def _count(selection: Selection) -> int:
    return db.session.scalar(select(func.count()).select_from(_ids(selection).subquery())) or 0


def _page(selection: Selection, start: int, length: int, *, with_total: bool = True) -> Page:
    start = max(0, int(start or 0))
    length = max(0, min(MAX_PAGE, int(length if length is not None else 20)))
    model: type[Profile] | type[Subprofile] = Subprofile if selection.collection_id else Profile
    ids = _ids(selection).order_by(model.id).offset(start).limit(length)
    found = list(db.session.scalars(ids)) if length else []
    query = select(model).where(model.id.in_(found))
    if model is Subprofile:
        query = query.options(selectinload(Subprofile.profile))  # pages name a subprofile by its profile
    loaded: list[Any] = list(db.session.scalars(query)) if found else []
    rows = {row.id: row for row in loaded}
    items = [rows[i] for i in found]
    if length and (0 < len(items) < length or (start == 0 and not items)):
        total: int | None = start + len(items)  # a short page is the last: no count query
    else:
        total = _count(selection) if with_total else None
    return Page(items, start, total)
