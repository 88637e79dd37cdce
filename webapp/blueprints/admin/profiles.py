"""Admin views of profiles and subprofiles: the list, create, inline edit, the profile page and its timeline."""

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from babel.dates import format_datetime
from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import actor, current_account, requires
from webapp.blueprints.admin.bulk import bulk_choices
from webapp.blueprints.admin.profile_inputs import (
    ListState,
    field_inputs,
    interest_groups,
    parse_interests,
    parse_values,
    split_errors,
)
from webapp.blueprints.admin.responses import acted, hx_redirect, is_htmx, render, toast
from webapp.email import suppression
from webapp.hygiene import status as hygiene_status
from webapp.models import Account, Collection, Field, Profile, Subprofile
from webapp.platform.errors import Conflict, NotFound, ValidationError
from webapp.profiles import consents, databases, fields, lists, profiles, subprofiles, timeline, unsubscribe
from webapp.profiles.events import Origin
from webapp.profiles.field_types import format_value
from webapp.rules import list_filter
from webapp.rules.list_filter import Condition
from webapp.selections import selections

# --- helpers --------------------------------------------------------------------------------------


def _origin() -> Origin:
    return Origin("admin", actor=actor())


def _wants_partial() -> bool:
    """An htmx swap, not an htmx history restore (which needs the whole page)."""
    return is_htmx() and not request.headers.get("HX-History-Restore-Request")


def _changed(response, message: str, level: str = "success"):
    """A toast, and tell the profile page's timeline to reload (it listens for ``timeline-changed``)."""
    response = make_response(response)
    triggers = json.loads(response.headers.get("HX-Trigger", "{}") or "{}")
    triggers["timeline-changed"] = True
    response.headers["HX-Trigger"] = json.dumps(triggers)
    return toast(response, message, level)


def _field_of(account: Account, profile: Profile, field_id: int) -> Field:
    field = fields.get_field(account, field_id)
    if field.database_id != profile.database_id or field.collection_id is not None:
        raise NotFound(_("Field not found."))
    return field


@bp.app_template_global()
def account_time(moment: datetime | None) -> str:
    """A stored (naive UTC) timestamp in the current account's time zone, formatted for the user's locale."""
    if moment is None:
        return ""
    local = moment if moment.tzinfo else timeline.local_time(current_account(), moment)
    return format_datetime(local, "medium", locale=str(get_locale() or "en"))


@bp.app_template_filter("field_value")
def field_value(value: Any, field: Field) -> Any:
    """A stored value as screens show it (a decimal keeps its field's scale): ``format_value``."""
    return format_value(field, value)


@bp.app_template_global()
def profile_title(profile: Profile) -> str:
    """A profile as screens name it: its email address or name, else its number."""
    return profiles.display_name(profile)


# --- the list -------------------------------------------------------------------------------------


@bp.route("/databases/<int:database_id>/profiles", endpoint="profiles")
def profile_list(database_id: int):
    """Profiles of a database: search as you type, conditions, sort, keyset pages. ``add`` (a new condition row)
    and ``drop`` (remove row n) change the form and answer with the whole page at the URL without them."""
    account = current_account()
    database = databases.get_database(account, database_id)
    state = ListState.from_args(request.args)
    state = replace(state, rows=list_filter.settle(database, _restructured(state.rows)))
    if _structural() and not is_htmx():
        return redirect(url_for("admin.profiles", database_id=database.id, **state.args()), 303)
    problem = None
    try:
        page = lists.list_profiles(
            account, database.id, where=state.where(), sort=state.sort, descending=state.descending, cursor=state.cursor
        )
    except ValidationError as error:
        problem = " ".join(error.errors.values())
        state = ListState()
        page = lists.list_profiles(account, database.id)
    columns = [field for field in database.fields if field.shown and not field.hidden]
    column_sorts = {"id", "modified"} | {f"field:{field.id}" for field in columns}
    sort_options = lists.sort_options(database)
    context = {
        "database": database,
        "page": page,
        "state": state,
        "problem": problem,
        "columns": columns,
        "sortable": {key for key, _label in sort_options},
        "extra_sorts": [(key, label) for key, label in sort_options if key not in column_sorts],
        "scope": lists.search_scope(database),
        "bulk": bulk_choices(database),
        "subjects": list_filter.subjects(database),
        "operators": {row.subject: list_filter.operators_for(database, row.subject) for row in state.rows},
        "operator_labels": list_filter.OPERATOR_LABELS,
        "max_conditions": list_filter.MAX_CONDITIONS,
    }
    partial = _wants_partial() and request.headers.get("HX-Target") != "profiles-page"
    template = "admin/profiles/_list.html" if partial else "admin/profiles/index.html"
    response = make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    if _structural():
        response.headers["HX-Push-Url"] = url_for("admin.profiles", database_id=database.id, **state.args())
    return response


def _structural() -> bool:
    return "add" in request.args or "drop" in request.args


def _restructured(rows: tuple) -> tuple:
    """The rows with ``drop`` (a row's index) removed and, for ``add``, an empty row at the end."""
    drop = request.args.get("drop", "")
    if drop.isdigit() and len(drop) < 4:
        rows = rows[: int(drop)] + rows[int(drop) + 1 :]
    if "add" in request.args and len(rows) < list_filter.MAX_CONDITIONS:
        rows = (*rows, Condition("", ""))
    return rows


@bp.route("/databases/<int:database_id>/profiles/count")
def profile_count(database_id: int):
    """How many profiles the list holds: loaded by its own request, so the list never waits for a count."""
    state = ListState.from_args(request.args)
    total = lists.count_profiles(current_account(), database_id, where=state.where())
    return render_template("admin/profiles/_count.html", total=total, query=state.filtered)


@bp.route("/databases/<int:database_id>/profiles/selection", methods=["POST"])
@requires("editor")
def profiles_save_selection(database_id: int):
    """Save the list's search and conditions as a selection, then open it."""
    account = current_account()
    database = databases.get_database(account, database_id)
    state = ListState.from_args(request.form)
    back = url_for("admin.profiles", database_id=database.id, **state.args(cursor=None))
    try:
        saved = selections.save_list_filter(account, database.id, request.form.get("name", ""), state.where())
    except ValidationError as error:
        return acted(" ".join(str(message) for message in error.errors.values()), back, "error")
    opened = url_for("admin.selection", selection_id=saved.id)
    return acted(_("The selection %(name)s is saved.", name=saved.name), opened)


# --- create ---------------------------------------------------------------------------------------


@bp.route("/databases/<int:database_id>/profiles/new", methods=["GET", "POST"])
@requires("editor")
def profile_create(database_id: int):
    """A form generated from the database's fields and interests."""
    account = current_account()
    database = databases.get_database(account, database_id)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            profile = profiles.create_profile(
                account,
                database.id,
                parse_values(database.fields, request.form),
                interests=parse_interests(database.interests, request.form),
                origin=_origin(),
            )
        except ValidationError as error:
            errors, status = error.errors, 422
        except Conflict as error:
            errors, status = {"": error.message}, 409
        else:
            flash(_("Profile %(profile)s created.", profile=profiles.display_name(profile)), "success")
            if request.form.get("then") == "another":
                return hx_redirect(url_for("admin.profile_create", database_id=database.id))
            return hx_redirect(url_for("admin.profile", profile_id=profile.id))
    submitted = request.form if request.method == "POST" else None
    context = {
        "database": database,
        "inputs": field_inputs(account, database.fields, submitted=submitted, errors=errors),
        "other_errors": split_errors(database.fields, errors),
        "groups": interest_groups(database.interests),
        "checked": set(request.form.getlist("interest")) if submitted else set(),
    }
    return render("admin/profiles/new.html", "admin/profiles/_create_form.html", **context), status


# --- inline edit in the list ----------------------------------------------------------------------


@bp.route("/profiles/<int:profile_id>/fields/<int:field_id>")
def profile_cell(profile_id: int, field_id: int):
    """One value of a profile as the list shows it (also what Cancel restores)."""
    account = current_account()
    profile = profiles.get_profile(account, profile_id)
    return render_template("admin/profiles/_cell.html", profile=profile, field=_field_of(account, profile, field_id))


@bp.route("/profiles/<int:profile_id>/fields/<int:field_id>/edit")
@requires("editor")
def profile_cell_edit(profile_id: int, field_id: int):
    """An input for one value, swapped into the list's cell."""
    account = current_account()
    profile = profiles.get_profile(account, profile_id)
    return _edit_cell(account, profile, _field_of(account, profile, field_id))


def _edit_cell(account: Account, profile: Profile, field: Field, submitted=None, errors=None, status: int = 200):
    prefix = f"cell{profile.id}-"
    (control,) = field_inputs(
        account, [field], stored=profile.fields, submitted=submitted, errors=errors, id_prefix=prefix
    )
    other = split_errors([field], errors or {})
    return render_template(
        "admin/profiles/_cell_edit.html", profile=profile, field=field, cell_input=control, other_errors=other
    ), status


@bp.route("/profiles/<int:profile_id>/fields/<int:field_id>", methods=["POST"])
@requires("editor")
def profile_cell_update(profile_id: int, field_id: int):
    """Save one value edited in the list; returns the display cell."""
    account = current_account()
    profile = profiles.get_profile(account, profile_id)
    field = _field_of(account, profile, field_id)
    try:
        profile = profiles.update_profile(account, profile.id, parse_values([field], request.form), origin=_origin())
    except ValidationError as error:
        return _edit_cell(account, profile, field, request.form, error.errors, 422)
    except Conflict as error:
        return _edit_cell(account, profile, field, request.form, {"": error.message}, 409)
    cell = render_template("admin/profiles/_cell.html", profile=profile, field=field)
    return toast(cell, _("%(field)s of %(profile)s saved.", field=field.name, profile=profiles.display_name(profile)))


# --- delete ---------------------------------------------------------------------------------------


@bp.route("/profiles/<int:profile_id>/delete", methods=["POST", "DELETE"])
@requires("editor")
def profile_delete(profile_id: int):
    """Remove a profile: DELETE (from a list row) answers with nothing; POST goes back to the list."""
    account = current_account()
    doomed = profiles.get_profile(account, profile_id)
    database_id, name = doomed.database_id, profiles.display_name(doomed)
    profiles.delete_profile(account, profile_id, origin=_origin())
    message = _("Profile %(profile)s deleted.", profile=name)
    if request.method == "DELETE":
        return toast("", message)
    flash(message, "success")
    return hx_redirect(url_for("admin.profiles", database_id=database_id))


# --- the profile page -----------------------------------------------------------------------------


@dataclass
class CollectionView:
    """A collection on the profile page: its subprofiles and the form to add one."""

    collection: Collection
    items: list[Subprofile]
    columns: list[Field]
    inputs: list
    errors: dict[str, str]


def _collection_view(account: Account, profile: Profile, collection: Collection, submitted=None, errors=None):
    errors = errors or {}
    return CollectionView(
        collection=collection,
        items=subprofiles.list_subprofiles(account, profile.id, collection.id),
        columns=[field for field in collection.fields if not field.hidden],
        inputs=field_inputs(
            account, collection.fields, submitted=submitted, errors=errors, prefix=f"c{collection.id}-"
        ),
        errors=split_errors(collection.fields, errors),
    )


def _fields_context(account: Account, profile: Profile, submitted=None, errors=None) -> dict[str, Any]:
    """What the profile's field form needs (``_fields_form.html``)."""
    database = profile.database
    errors = errors or {}
    return {
        "profile": profile,
        "database": database,
        "inputs": field_inputs(account, database.fields, stored=profile.fields, submitted=submitted, errors=errors),
        "other_errors": split_errors(database.fields, errors),
    }


def _profile_context(
    account: Account,
    profile: Profile,
    *,
    before_id: int | None = None,
    submitted=None,
    errors=None,
    collection_errors=None,
) -> dict[str, Any]:
    """What the whole profile page needs; ``collection_errors`` maps a collection id to (submitted, errors)."""
    database = profile.database
    collection_errors = collection_errors or {}
    views = []
    for collection in database.collections:
        failed = collection_errors.get(collection.id)
        views.append(_collection_view(account, profile, collection, *(failed or (None, None))))
    return {
        **_fields_context(account, profile, submitted, errors),
        "groups": interest_groups(database.interests),
        "subscribed": unsubscribe.is_subscribed(profile),
        "email_status": hygiene_status.email_status(account, profile.id),
        "suppression_labels": suppression.REASON_LABELS,
        "unsubscribe_summary": _describe_values(databases.unsubscribe_values_by_name(database)),
        "collections": views,
        "timeline": timeline.events_of_profile(account, profile.id, before_id=before_id),
        "time_zone": timeline.account_zone(account).key,
        "consents": consents.of_profiles(account.id, [profile.id]),
    }


@bp.route("/profiles/<int:profile_id>")
def profile(profile_id: int):
    """A profile: its fields, interests, subscription, subprofiles and timeline."""
    account = current_account()
    before_id = request.args.get("before", type=int)
    return render_template(
        "admin/profiles/profile.html",
        **_profile_context(account, profiles.get_profile(account, profile_id), before_id=before_id),
    )


@bp.route("/profiles/<int:profile_id>", methods=["POST"])
@requires("editor")
def profile_update(profile_id: int):
    """Save the profile page's field form."""
    account = current_account()
    current = profiles.get_profile(account, profile_id)
    status, errors = 200, None
    try:
        profiles.update_profile(
            account, current.id, parse_values(current.database.fields, request.form), origin=_origin()
        )
    except ValidationError as error:
        status, errors = 422, error.errors
    except Conflict as error:
        status, errors = 409, {"": error.message}
    if errors is None and not is_htmx():
        flash(_("Profile saved."), "success")
        return redirect(url_for("admin.profile", profile_id=current.id), 303)
    submitted = request.form if errors else None
    if not is_htmx():
        context = _profile_context(account, current, submitted=submitted, errors=errors)
        return render_template("admin/profiles/profile.html", **context), status
    body = render_template("admin/profiles/_fields_form.html", **_fields_context(account, current, submitted, errors))
    if errors:
        return body, status
    return _changed(body, _("Profile saved."))


@bp.route("/profiles/<int:profile_id>/interests", methods=["POST"])
@requires("editor")
def profile_interests(profile_id: int):
    """Save the interest checkboxes (htmx sends them on every change)."""
    account = current_account()
    current = profiles.get_profile(account, profile_id)
    wanted = parse_interests(current.database.interests, request.form)
    profiles.update_profile(account, current.id, {}, interests=wanted, origin=_origin())
    if not is_htmx():
        flash(_("Interests saved."), "success")
        return redirect(url_for("admin.profile", profile_id=current.id) + "#interests", 303)
    body = render_template(
        "admin/profiles/_interests.html", profile=current, groups=interest_groups(current.database.interests)
    )
    return _changed(body, _("Interests saved."))


@bp.route("/profiles/<int:profile_id>/unsubscribe", methods=["POST"])
@requires("editor")
def profile_unsubscribe(profile_id: int):
    """Unsubscribe as the database's unsubscribe behaviour says, and tell what that did."""
    account = current_account()
    current = profiles.get_profile(account, profile_id)
    database_id, name = current.database_id, profiles.display_name(current)
    values = databases.unsubscribe_values_by_name(current.database)
    behaviour = unsubscribe.unsubscribe(account, current.id, origin=_origin())
    if behaviour == "remove":
        flash(
            _(
                "%(profile)s is unsubscribed and, as this database's unsubscribe behaviour says, removed.",
                profile=name,
            ),
            "success",
        )
        return hx_redirect(url_for("admin.profiles", database_id=database_id))
    if behaviour == "update" and values:
        flash(_("%(profile)s is unsubscribed: %(values)s.", profile=name, values=_describe_values(values)), "success")
    elif behaviour == "update":
        flash(
            _(
                "The unsubscribe is recorded and the address gets no more marketing email, but this database has "
                "no unsubscribe values yet, so no value changed. Set them in the database's settings."
            ),
            "warning",
        )
    else:
        flash(
            _(
                "The unsubscribe is recorded and the address gets no more marketing email, but this database's "
                "unsubscribe behaviour is “nothing”, so no values changed. Ignoring unsubscribes is unlawful in "
                "the EU: choose another behaviour in the database's settings."
            ),
            "warning",
        )
    return hx_redirect(url_for("admin.profile", profile_id=profile_id))


def _describe_values(values: dict[str, Any]) -> str:
    """``Newsletter = off, Status = unsubscribed``: unsubscribe values as a sentence part."""
    return ", ".join(f"{name} = {_describe(value)}" for name, value in values.items())


def _describe(value: Any) -> str:
    if value is True:
        return _("on")
    if value is False:
        return _("off")
    if value is None:
        return _("(empty)")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


@bp.route("/profiles/<int:profile_id>/timeline")
def profile_timeline(profile_id: int):
    """A page of the timeline (htmx: newest first, or older than ``before``)."""
    account = current_account()
    current = profiles.get_profile(account, profile_id)
    before_id = request.args.get("before", type=int)
    if not is_htmx():
        return redirect(url_for("admin.profile", profile_id=current.id, before=before_id) + "#timeline")
    return render_template(
        "admin/profiles/_timeline_items.html",
        profile=current,
        timeline=timeline.events_of_profile(account, current.id, before_id=before_id),
    )


# --- subprofiles ----------------------------------------------------------------------------------


@bp.route("/profiles/<int:profile_id>/collections/<int:collection_id>/subprofiles", methods=["POST"])
@requires("editor")
def subprofile_create(profile_id: int, collection_id: int):
    """Add a subprofile to one of the profile's collections."""
    account = current_account()
    current = profiles.get_profile(account, profile_id)
    collection = databases.get_collection(account, collection_id)
    prefix = f"c{collection.id}-"
    errors, status = None, 200
    try:
        created = subprofiles.create_subprofile(
            account,
            current.id,
            collection.id,
            parse_values(collection.fields, request.form, prefix=prefix),
            origin=_origin(),
        )
    except ValidationError as error:
        errors, status = error.errors, 422
    if errors is None and not is_htmx():
        flash(_("Subprofile #%(id)s added to %(collection)s.", id=created.id, collection=collection.name), "success")
        return redirect(url_for("admin.profile", profile_id=current.id) + f"#collection-{collection.id}", 303)
    if errors is not None and not is_htmx():
        context = _profile_context(account, current, collection_errors={collection.id: (request.form, errors)})
        return render_template("admin/profiles/profile.html", **context), status
    view = _collection_view(account, current, collection, *((request.form, errors) if errors else ()))
    body = render_template("admin/profiles/_collection.html", profile=current, view=view)
    if errors is not None:
        return body, status
    return _changed(body, _("Subprofile #%(id)s added to %(collection)s.", id=created.id, collection=collection.name))


@bp.route("/subprofiles/<int:subprofile_id>")
def subprofile_row(subprofile_id: int):
    """A subprofile's row (what Cancel restores)."""
    account = current_account()
    item = subprofiles.get_subprofile(account, subprofile_id)
    return _subprofile_row(item)


def _subprofile_row(item: Subprofile):
    columns = [field for field in item.collection.fields if not field.hidden]
    return render_template("admin/profiles/_subprofile_row.html", item=item, columns=columns)


@bp.route("/subprofiles/<int:subprofile_id>/edit")
@requires("editor")
def subprofile_edit(subprofile_id: int):
    """Edit a subprofile: a row of inputs for htmx, a page of its own otherwise."""
    account = current_account()
    item = subprofiles.get_subprofile(account, subprofile_id)
    return _subprofile_form(account, item)


def _subprofile_form(account: Account, item: Subprofile, submitted=None, errors=None, status: int = 200):
    collection = item.collection
    errors = errors or {}
    visible = [field for field in collection.fields if not field.hidden] if _wants_partial() else collection.fields
    context = {
        "item": item,
        "profile": item.profile,
        "database": item.profile.database,
        "collection": collection,
        "inputs": field_inputs(
            account, visible, stored=item.fields, submitted=submitted, errors=errors, id_prefix=f"sub{item.id}-"
        ),
        "other_errors": split_errors(visible, errors),
    }
    return render("admin/profiles/subprofile_edit.html", "admin/profiles/_subprofile_edit_row.html", **context), status


@bp.route("/subprofiles/<int:subprofile_id>", methods=["POST"])
@requires("editor")
def subprofile_update(subprofile_id: int):
    """Save a subprofile; htmx gets its row back."""
    account = current_account()
    item = subprofiles.get_subprofile(account, subprofile_id)
    try:
        item = subprofiles.update_subprofile(
            account, item.id, parse_values(item.collection.fields, request.form), origin=_origin()
        )
    except ValidationError as error:
        return _subprofile_form(account, item, request.form, error.errors, 422)
    message = _("Subprofile #%(id)s saved.", id=item.id)
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("admin.profile", profile_id=item.profile_id) + f"#collection-{item.collection_id}", 303)
    return _changed(_subprofile_row(item), message)


@bp.route("/subprofiles/<int:subprofile_id>/delete", methods=["POST", "DELETE"])
@requires("editor")
def subprofile_delete(subprofile_id: int):
    """Remove a subprofile; htmx gets the collection's section back."""
    account = current_account()
    item = subprofiles.get_subprofile(account, subprofile_id)
    current, collection = item.profile, item.collection
    subprofiles.delete_subprofile(account, item.id, origin=_origin())
    message = _("Subprofile #%(id)s deleted.", id=subprofile_id)
    if not is_htmx():
        flash(message, "success")
        return redirect(url_for("admin.profile", profile_id=current.id) + f"#collection-{collection.id}", 303)
    body = render_template(
        "admin/profiles/_collection.html", profile=current, view=_collection_view(account, current, collection)
    )
    return _changed(body, message)
