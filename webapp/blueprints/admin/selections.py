"""Admin views of selections: the list per database (counts with their age), the editor (menus, with a live
count and first page while the rules change), members page by page, the standard selections, delete."""

from datetime import datetime

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import acted, confirm_page, hx_redirect, render, toast
from webapp.blueprints.admin.selection_rules import apply_edit, editable_subprofile, kind_of, parse_rules
from webapp.email import templates as email_templates
from webapp.models import utcnow
from webapp.platform.errors import Conflict, DomainError, ValidationError
from webapp.profiles import databases
from webapp.profiles.profiles import display_name
from webapp.rules import tree as rule_tree
from webapp.selections import selections

PAGE = 20


def age(moment: datetime | None) -> str:
    """How long ago a count was made, in words."""
    if moment is None:
        return _("not counted yet")
    seconds = max(0, int((utcnow() - moment).total_seconds()))
    if seconds < 60:
        return _("counted just now")
    if seconds < 3600:
        return ngettext("counted %(num)s minute ago", "counted %(num)s minutes ago", seconds // 60)
    if seconds < 86400:
        return ngettext("counted %(num)s hour ago", "counted %(num)s hours ago", seconds // 3600)
    return ngettext("counted %(num)s day ago", "counted %(num)s days ago", seconds // 86400)


def _labels() -> dict:
    return {
        "rule_kinds": {
            "field": _("Field"),
            "interest": _("Interest"),
            "subscribed": _("Subscription"),
            "subprofile": _("Subprofiles"),
            "email": _("Email result"),
            "suppressed": _("Suppressed address"),
            "selection": _("Selection"),
        },
        "operators": {
            "=": _("is"),
            "!=": _("is not"),
            "<": _("is less than"),
            ">": _("is more than"),
            "<=": _("is at most"),
            ">=": _("is at least"),
            "contains": _("contains"),
            "starts_with": _("starts with"),
            "like": _("matches the pattern (% any text, _ one character)"),
            "not_like": _("does not match the pattern"),
            "empty": _("is empty"),
            "not_empty": _("is not empty"),
            "in": _("is one of (comma-separated)"),
            "not_in": _("is none of (comma-separated)"),
            "in_last_days": _("is in the last … days"),
            "in_next_days": _("is in the next … days"),
            "birthday_today": _("has its anniversary today"),
            "changed_in_last_days": _("changed in the last … days"),
        },
        "email_kinds": {
            "received": _("received"),
            "opened": _("opened"),
            "clicked": _("clicked in"),
            "not_opened": _("received and did not open"),
            "bounced": _("bounced"),
            "complained": _("complained about"),
            "unsubscribed": _("unsubscribed through"),
        },
        "bounces": {"any": _("hard or soft"), "hard": _("hard"), "soft": _("soft")},
        "count_operators": rule_tree.COUNT_OPERATORS,
        "day_operators": rule_tree.DAY_OPERATORS,
        "no_value": rule_tree.NO_VALUE,
        "kind_of": kind_of,
        "editable_subprofile": editable_subprofile,
        "display_name": display_name,
        "age": age,
    }


def _list(database, *, status: int = 200, errors=None):
    account = current_account()
    page = render(
        "admin/selections/index.html",
        "admin/selections/_list.html",
        database=database,
        active="selections",
        selections=selections.list_selections(account, database.id),
        missing=selections.missing_standard_selections(account, database.id),
        errors=errors or {},
        **_labels(),
    )
    return page, status


@bp.route("/databases/<int:database_id>/selections")
def database_selections(database_id: int):
    """A database's selections with their last counts and how old those are."""
    return _list(databases.get_database(current_account(), database_id))


@bp.route("/databases/<int:database_id>/selections/standard", methods=["POST"])
@requires("editor")
def selections_add_standard(database_id: int):
    """Add the standard selections the database lacks."""
    account = current_account()
    database = databases.get_database(account, database_id)
    added = selections.add_standard_selections(account, database.id)
    message = ngettext("%(num)s standard selection added.", "%(num)s standard selections added.", len(added))
    page, status = _list(database)
    return toast(page, message)


@bp.route("/selections/<int:selection_id>/count", methods=["POST"])
@requires("viewer")
def selection_count(selection_id: int):
    """Count a selection now (stored with its time); answers the refreshed list."""
    account = current_account()
    selection = selections.get_selection(account, selection_id)
    selections.count_selection(account, selection.id)
    page, status = _list(databases.get_database(account, selection.database_id))
    return toast(page, _("Counted."))


def _editor(database, selection, rules, *, name="", description="", collection_id=None, errors=None, status=200):
    account = current_account()
    preview_count, preview_page, preview_error = _preview(database, rules, collection_id)
    others = [
        row for row in selections.list_selections(account, database.id) if not selection or row.id != selection.id
    ]
    crumbs = [
        (_("Selections"), url_for("admin.database_selections", database_id=database.id)),
        (selection.name if selection else _("New selection"), None),
    ]
    action = (
        url_for("admin.selection_update", selection_id=selection.id)
        if selection
        else url_for("admin.selection_create", database_id=database.id)
    )
    collection = next((row for row in database.collections if row.id == collection_id), None)
    page = render(
        "admin/selections/editor.html",
        "admin/selections/_editor.html",
        database=database,
        active="selections",
        selection=selection,
        rules=rules,
        name=name,
        description=description,
        collection=collection,
        fields=list(database.fields) + (list(collection.fields) if collection else []),
        collections=list(database.collections),
        other_selections=others,
        templates=email_templates.list_templates(account),
        action=action,
        preview_url=url_for(
            "admin.selection_preview",
            database_id=database.id,
            **({"collection_id": collection_id} if collection_id else {}),
        ),
        preview_count=preview_count,
        preview_page=preview_page,
        preview_error=preview_error,
        errors=errors or {},
        crumbs=crumbs,
        **_labels(),
    )
    return page, status


def _preview(database, rules, collection_id):
    try:
        draft, page = selections.preview(current_account(), database.id, rules, collection_id=collection_id, length=10)
    except ValidationError as error:
        return None, None, "; ".join(error.errors.values())
    except DomainError as error:
        return None, None, error.message
    return page.total, page, ""


@bp.route("/databases/<int:database_id>/selections/new")
def selection_new(database_id: int):
    """An empty editor (``collection_id``: a selection of that collection's subprofiles)."""
    account = current_account()
    database = databases.get_database(account, database_id)
    collection_id = request.args.get("collection_id", type=int)
    if collection_id and not any(row.id == collection_id for row in database.collections):
        collection_id = None
    return _editor(database, None, {"match": "all", "rules": []}, collection_id=collection_id)


@bp.route("/databases/<int:database_id>/selections", methods=["POST"])
@requires("editor")
def selection_create(database_id: int):
    """Save a new selection, or apply a row edit (``op``) to the unsaved editor."""
    account = current_account()
    database = databases.get_database(account, database_id)
    rules = parse_rules(request.form.to_dict(flat=False))
    name, description = request.form.get("name", ""), request.form.get("description", "")
    collection_id = request.form.get("collection_id", type=int)
    operation = request.form.get("op", "")
    if operation:
        tree = apply_edit(rules, operation)
        return _editor(database, None, tree, name=name, description=description, collection_id=collection_id)
    try:
        selection = selections.create_selection(
            account, database.id, name, description=description, collection_id=collection_id, rules=rules
        )
    except ValidationError as error:
        return _editor(
            database,
            None,
            rules,
            name=name,
            description=description,
            collection_id=collection_id,
            errors=error.errors,
            status=422,
        )
    flash(_("The selection is saved."), "success")
    return hx_redirect(url_for("admin.selection", selection_id=selection.id))


@bp.route("/selections/<int:selection_id>")
def selection(selection_id: int):
    """The editor of a saved selection, with its live count and first page."""
    account = current_account()
    found = selections.get_selection(account, selection_id)
    database = databases.get_database(account, found.database_id)
    return _editor(
        database, found, found.rules, name=found.name, description=found.description, collection_id=found.collection_id
    )


@bp.route("/selections/<int:selection_id>", methods=["POST"])
@requires("editor")
def selection_update(selection_id: int):
    """Save name, description and rules, or apply a row edit (``op``) without saving."""
    account = current_account()
    found = selections.get_selection(account, selection_id)
    database = databases.get_database(account, found.database_id)
    rules = parse_rules(request.form.to_dict(flat=False))
    name, description = request.form.get("name", ""), request.form.get("description", "")
    operation = request.form.get("op", "")
    if operation:
        tree = apply_edit(rules, operation)
        return _editor(database, found, tree, name=name, description=description, collection_id=found.collection_id)
    try:
        selections.update_selection(account, found.id, name=name, description=description, rules=rules)
    except ValidationError as error:
        return _editor(
            database,
            found,
            rules,
            name=name,
            description=description,
            collection_id=found.collection_id,
            errors=error.errors,
            status=422,
        )
    flash(_("The selection is saved."), "success")
    return hx_redirect(url_for("admin.selection", selection_id=found.id))


@bp.route("/databases/<int:database_id>/selections/preview", methods=["POST"])
def selection_preview(database_id: int):
    """The live count and first page of the rules being edited (nothing is saved)."""
    account = current_account()
    database = databases.get_database(account, database_id)
    collection_id = request.args.get("collection_id", type=int)
    rules = parse_rules(request.form.to_dict(flat=False))
    count, page, error = _preview(database, rules, collection_id)
    return render(
        "admin/selections/_preview.html",
        "admin/selections/_preview.html",
        database=database,
        collection_id=collection_id,
        preview_count=count,
        preview_page=page,
        preview_error=error,
        **_labels(),
    )


@bp.route("/selections/<int:selection_id>/members")
def selection_members(selection_id: int):
    """The members, a page at a time."""
    account = current_account()
    found = selections.get_selection(account, selection_id)
    database = databases.get_database(account, found.database_id)
    start = max(0, request.args.get("start", 0, type=int))
    page = selections.members(account, found.id, start=start, length=PAGE)
    return render(
        "admin/selections/members.html",
        "admin/selections/_members.html",
        database=database,
        active="selections",
        selection=found,
        members=page,
        size=PAGE,
        crumbs=[
            (_("Selections"), url_for("admin.database_selections", database_id=database.id)),
            (found.name, url_for("admin.selection", selection_id=found.id)),
            (_("Members"), None),
        ],
        **_labels(),
    )


@bp.route("/selections/<int:selection_id>/delete")
@requires("editor")
def selection_delete_confirm(selection_id: int):
    """Ask before removing a selection (for browsers without JavaScript)."""
    account = current_account()
    found = selections.get_selection(account, selection_id)
    database = databases.get_database(account, found.database_id)
    return confirm_page(
        title=_("Delete selection %(name)s?", name=found.name),
        message=_("The selection's rules are removed; no profile is changed."),
        cancel=url_for("admin.selection", selection_id=found.id),
        database=database,
        active="selections",
    )


@bp.route("/selections/<int:selection_id>/delete", methods=["POST"])
@requires("editor")
def selection_delete(selection_id: int):
    account = current_account()
    found = selections.get_selection(account, selection_id)
    database = databases.get_database(account, found.database_id)
    name = found.name
    try:
        selections.delete_selection(account, found.id)
    except Conflict as error:
        page, status = _list(database, errors={"": error.message}, status=409)
        return page, status
    return acted(
        _("Selection %(name)s is deleted.", name=name), url_for("admin.database_selections", database_id=database.id)
    )
