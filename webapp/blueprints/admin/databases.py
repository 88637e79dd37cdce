"""Admin views of databases: list, create, settings, unsubscribe behaviour, interests, collections."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import acted, confirm_page, hx_redirect, is_htmx, render, toast
from webapp.blueprints.admin.schema_inputs import (
    DatabaseInputs,
    DatabaseSettingsInputs,
    DeleteDatabaseInputs,
    FieldInputs,
    InterestInputs,
    NameInputs,
    UnsubscribeState,
    apply_errors,
)
from webapp.models import Collection, Database
from webapp.platform.errors import Conflict, ValidationError
from webapp.profiles import databases
from webapp.profiles.field_types import FIELD_TYPES

# --- shared by the schema views -------------------------------------------------------------------


def done(message: str, url: str, partial, **context):
    """After a change: for htmx the fresh ``partial`` with a toast, otherwise a redirect with a flash."""
    if is_htmx():
        return toast(render_template(partial, **context), message)
    flash(message, "success")
    return redirect(url, 303)


def unsubscribe_context(owner: Database | Collection, state: UnsubscribeState | None = None, errors=None) -> dict:
    """What ``_unsubscribe.html`` needs for a database or a collection."""
    if state is None:
        state = UnsubscribeState.stored(owner, databases.unsubscribe_values_by_name(owner))
    return {
        "owner": owner,
        "owner_is_collection": isinstance(owner, Collection),
        "unsubscribe": state,
        "unsubscribe_errors": errors or {},
        "unsubscribe_changes_nothing": databases.unsubscribe_changes_nothing(owner),
        "unsubscribe_fields": owner.fields,
        "unsubscribe_interests": owner.interests if isinstance(owner, Database) else [],
    }


def collection_context(collection: Collection, **overrides) -> dict:
    """Everything the collection page shows: its name, fields (``_fields.html``) and unsubscribe behaviour."""
    account = current_account()
    context = {
        "collection": collection,
        "database": collection.database,
        "active": "collections",
        "name_form": NameInputs(formdata=None, name=collection.name),
        "name_errors": {},
        "subprofile_count": databases.count_subprofiles(collection),
        **fields_context(account, collection),
        **unsubscribe_context(collection),
    }
    context.update(overrides)
    return context


def fields_context(
    account,
    owner: Database | Collection,
    form: FieldInputs | None = None,
    *,
    editing=None,
    errors=None,
    notice: str = "",
) -> dict:
    """What ``_fields.html`` needs: the owner's fields, the add (or edit) form and the reference targets."""
    all_databases = databases.list_databases(account)
    if form is None:
        form = FieldInputs(formdata=None)
    form.set_databases(all_databases)
    is_collection = isinstance(owner, Collection)
    return {
        "fields_owner": owner,
        "fields_collection": owner if is_collection else None,
        "fields_database": owner.database if is_collection else owner,
        "fields": owner.fields,
        "field_form": form,
        "editing": editing,
        "field_errors": errors or {},
        "field_notice": notice,
        "field_types": FIELD_TYPES,
        "all_options": not is_htmx(),
        "database_names": {database.id: database.name for database in all_databases},
    }


# --- the list of databases ------------------------------------------------------------------------


def _index(form: DatabaseInputs, errors=None, status: int = 200):
    rows = [(database, databases.count_profiles(database)) for database in databases.list_databases(current_account())]
    page = render(
        "admin/databases/index.html", "admin/databases/_databases.html", rows=rows, form=form, errors=errors or {}
    )
    return page, status


@bp.route("/databases", endpoint="databases")
def database_index():
    """The account's databases."""
    return _index(DatabaseInputs(formdata=None))


@bp.route("/databases", methods=["POST"])
@requires("admin")
def database_create():
    """Create a database, then go to its profiles."""
    form = DatabaseInputs()
    try:
        database = databases.create_database(
            current_account(), form.name.data or "", form.description.data or "", subscription=True
        )
    except ValidationError as error:
        return _index(form, apply_errors(form, error.errors), 422)
    flash(
        _(
            "Database %(name)s is created, with the field Subscription that unsubscribes set to unsubscribed. "
            "Add your own fields under Fields.",
            name=database.name,
        ),
        "success",
    )
    return hx_redirect(url_for("admin.profiles", database_id=database.id))


@bp.route("/databases/<int:database_id>")
def database(database_id: int):
    """A database opens on its profiles."""
    databases.get_database(current_account(), database_id)
    return redirect(url_for("admin.profiles", database_id=database_id))


# --- interests ------------------------------------------------------------------------------------


def _interests(database: Database, form: InterestInputs, *, editing=None, errors=None, status: int = 200):
    page = render(
        "admin/databases/interests.html",
        "admin/databases/_interests.html",
        database=database,
        active="interests",
        form=form,
        editing=editing,
        errors=errors or {},
    )
    return page, status


@bp.route("/databases/<int:database_id>/interests")
def database_interests(database_id: int):
    """A database's interests, by group."""
    return _interests(databases.get_database(current_account(), database_id), InterestInputs(formdata=None))


@bp.route("/databases/<int:database_id>/interests", methods=["POST"])
@requires("admin")
def interest_create(database_id: int):
    """Add an interest."""
    account = current_account()
    database = databases.get_database(account, database_id)
    form = InterestInputs()
    try:
        interest = databases.create_interest(account, database.id, form.name.data or "", form.group.data or "")
    except ValidationError as error:
        return _interests(database, form, errors=apply_errors(form, error.errors), status=422)
    return done(
        _("Interest %(name)s is added.", name=interest.name),
        url_for("admin.database_interests", database_id=database.id),
        "admin/databases/_interests.html",
        database=database,
        active="interests",
        form=InterestInputs(formdata=None),
        editing=None,
        errors={},
    )


@bp.route("/interests/<int:interest_id>/edit")
@requires("admin")
def interest_edit(interest_id: int):
    """The interests page with one interest's form open for editing."""
    account = current_account()
    interest = databases.get_interest(account, interest_id)
    database = databases.get_database(account, interest.database_id)
    form = InterestInputs(formdata=None, name=interest.name, group=interest.group)
    return _interests(database, form, editing=interest)


@bp.route("/interests/<int:interest_id>", methods=["POST"])
@requires("admin")
def interest_update(interest_id: int):
    """Rename an interest or move it to another group."""
    account = current_account()
    interest = databases.get_interest(account, interest_id)
    database = databases.get_database(account, interest.database_id)
    form = InterestInputs()
    try:
        databases.update_interest(account, interest.id, name=form.name.data or "", group=form.group.data or "")
    except ValidationError as error:
        return _interests(database, form, editing=interest, errors=apply_errors(form, error.errors), status=422)
    return done(
        _("Interest %(name)s is saved.", name=interest.name),
        url_for("admin.database_interests", database_id=database.id),
        "admin/databases/_interests.html",
        database=database,
        active="interests",
        form=InterestInputs(formdata=None),
        editing=None,
        errors={},
    )


@bp.route("/interests/<int:interest_id>/delete")
@requires("admin")
def interest_delete_confirm(interest_id: int):
    """Ask before removing an interest (for browsers without JavaScript)."""
    account = current_account()
    interest = databases.get_interest(account, interest_id)
    database = databases.get_database(account, interest.database_id)
    return confirm_page(
        title=_("Delete interest %(name)s?", name=interest.name),
        message=_("Every profile that has this interest loses it. This cannot be undone."),
        cancel=url_for("admin.database_interests", database_id=database.id),
        database=database,
        active="interests",
    )


@bp.route("/interests/<int:interest_id>/delete", methods=["POST", "DELETE"])
@requires("admin")
def interest_delete(interest_id: int):
    """Remove an interest and clear it on every profile."""
    account = current_account()
    interest = databases.get_interest(account, interest_id)
    database = databases.get_database(account, interest.database_id)
    name, url = interest.name, url_for("admin.database_interests", database_id=database.id)
    try:
        databases.delete_interest(account, interest.id)
    except Conflict as error:
        return _interests(database, InterestInputs(formdata=None), errors={"": error.message}, status=409)
    return done(
        _("Interest %(name)s is deleted.", name=name),
        url,
        "admin/databases/_interests.html",
        database=database,
        active="interests",
        form=InterestInputs(formdata=None),
        editing=None,
        errors={},
    )


# --- collections ----------------------------------------------------------------------------------


def _collections(database: Database, form: NameInputs, *, errors=None, status: int = 200):
    rows = [(collection, databases.count_subprofiles(collection)) for collection in database.collections]
    page = render(
        "admin/databases/collections.html",
        "admin/databases/_collections.html",
        database=database,
        active="collections",
        rows=rows,
        form=form,
        errors=errors or {},
    )
    return page, status


@bp.route("/databases/<int:database_id>/collections")
def database_collections(database_id: int):
    """A database's collections with their number of subprofiles."""
    return _collections(databases.get_database(current_account(), database_id), NameInputs(formdata=None))


@bp.route("/databases/<int:database_id>/collections", methods=["POST"])
@requires("admin")
def collection_create(database_id: int):
    """Add a collection, then open it to give it fields."""
    account = current_account()
    database = databases.get_database(account, database_id)
    form = NameInputs()
    try:
        collection = databases.create_collection(account, database.id, form.name.data or "")
    except ValidationError as error:
        return _collections(database, form, errors=apply_errors(form, error.errors), status=422)
    flash(_("Collection %(name)s is created. Give it fields below.", name=collection.name), "success")
    return hx_redirect(url_for("admin.collection", collection_id=collection.id))


@bp.route("/collections/<int:collection_id>")
def collection(collection_id: int):
    """A collection: its name, fields and unsubscribe behaviour (htmx gets the fields part)."""
    found = databases.get_collection(current_account(), collection_id)
    return render("admin/databases/collection.html", "admin/databases/_fields.html", **collection_context(found))


@bp.route("/collections/<int:collection_id>/rename", methods=["POST"])
@requires("admin")
def collection_rename(collection_id: int):
    """Rename a collection."""
    account = current_account()
    found = databases.get_collection(account, collection_id)
    form = NameInputs()
    try:
        databases.rename_collection(account, found.id, form.name.data or "")
    except ValidationError as error:
        context = collection_context(found, name_form=form, name_errors=apply_errors(form, error.errors))
        return render("admin/databases/collection.html", "admin/databases/_collection_name.html", **context), 422
    flash(_("Collection is renamed to %(name)s.", name=found.name), "success")
    return hx_redirect(url_for("admin.collection", collection_id=found.id))


@bp.route("/collections/<int:collection_id>/delete")
@requires("admin")
def collection_delete_confirm(collection_id: int):
    """Ask before removing a collection (for browsers without JavaScript)."""
    found = databases.get_collection(current_account(), collection_id)
    count = databases.count_subprofiles(found)
    return confirm_page(
        title=_("Delete collection %(name)s?", name=found.name),
        message=ngettext(
            "Its %(num)d subprofile and its fields are removed with it. This cannot be undone.",
            "Its %(num)d subprofiles and its fields are removed with it. This cannot be undone.",
            count,
        ),
        cancel=url_for("admin.database_collections", database_id=found.database_id),
        database=found.database,
        active="collections",
    )


@bp.route("/collections/<int:collection_id>/delete", methods=["POST", "DELETE"])
@requires("admin")
def collection_delete(collection_id: int):
    """Remove a collection with its subprofiles."""
    account = current_account()
    found = databases.get_collection(account, collection_id)
    database, name = found.database, found.name
    count = databases.delete_collection(account, found.id)
    message = ngettext(
        "Collection %(name)s is deleted with %(num)d subprofile.",
        "Collection %(name)s is deleted with %(num)d subprofiles.",
        count,
        name=name,
    )
    url = url_for("admin.database_collections", database_id=database.id)
    if is_htmx() and request.headers.get("HX-Target") != "collections":
        return acted(message, url)
    rows = [(collection, databases.count_subprofiles(collection)) for collection in database.collections]
    return done(
        message,
        url,
        "admin/databases/_collections.html",
        database=database,
        active="collections",
        rows=rows,
        form=NameInputs(formdata=None),
        errors={},
    )


# --- settings -------------------------------------------------------------------------------------


def _settings(
    database: Database,
    *,
    form=None,
    form_errors=None,
    delete_form=None,
    delete_errors=None,
    state=None,
    unsubscribe_errors=None,
    partial=None,
    status: int = 200,
):
    context = {
        "database": database,
        "active": "settings",
        "form": form
        or DatabaseSettingsInputs(
            formdata=None, name=database.name, description=database.description, archived=database.archived
        ),
        "form_errors": form_errors or {},
        "delete_form": delete_form or DeleteDatabaseInputs(formdata=None),
        "delete_errors": delete_errors or {},
        "profile_count": databases.count_profiles(database),
        **unsubscribe_context(database, state, unsubscribe_errors),
    }
    return render("admin/databases/settings.html", partial, **context), status


@bp.route("/databases/<int:database_id>/settings")
def database_settings(database_id: int):
    """A database's name, description, archiving, unsubscribe behaviour and deletion."""
    return _settings(databases.get_database(current_account(), database_id))


@bp.route("/databases/<int:database_id>/settings", methods=["POST"])
@requires("admin")
def database_update(database_id: int):
    """Save name, description and archived."""
    account = current_account()
    database = databases.get_database(account, database_id)
    form = DatabaseSettingsInputs()
    try:
        databases.update_database(
            account,
            database.id,
            name=form.name.data or "",
            description=form.description.data or "",
            archived=bool(form.archived.data),
        )
    except ValidationError as error:
        errors = apply_errors(form, error.errors)
        return _settings(
            database, form=form, form_errors=errors, partial="admin/databases/_database_form.html", status=422
        )
    flash(_("Database settings are saved."), "success")
    return hx_redirect(url_for("admin.database_settings", database_id=database.id))


@bp.route("/databases/<int:database_id>/unsubscribe", methods=["POST"])
@bp.route("/collections/<int:collection_id>/unsubscribe", methods=["POST"])
@requires("admin")
def unsubscribe_update(database_id: int | None = None, collection_id: int | None = None):
    """Save what an unsubscribe does to a profile of this database (or a subprofile of this collection)."""
    account = current_account()
    if collection_id is not None:
        owner = databases.get_collection(account, collection_id)
        url = url_for("admin.collection", collection_id=owner.id)
    else:
        owner = databases.get_database(account, database_id)
        url = url_for("admin.database_settings", database_id=owner.id)
    state = UnsubscribeState.submitted(request.form, owner)
    try:
        databases.set_unsubscribe_behaviour(
            account,
            behaviour=state.behaviour,
            field_values=state.field_values_to_set(),
            interest_values=state.interest_values_to_set(),
            database_id=database_id,
            collection_id=collection_id,
        )
    except ValidationError as error:
        context = unsubscribe_context(owner, state, error.errors)
        if collection_id is not None:
            page = render(
                "admin/databases/collection.html",
                "admin/databases/_unsubscribe.html",
                **collection_context(owner, **context),
            )
            return page, 422
        return _settings(
            owner, state=state, unsubscribe_errors=error.errors, partial="admin/databases/_unsubscribe.html", status=422
        )
    message = _("The unsubscribe behaviour is saved.")
    if owner.unsubscribe_behaviour == "nothing":
        message = _("Saved, but unsubscribes are now ignored: in the EU that is unlawful.")
    return done(message, url, "admin/databases/_unsubscribe.html", **unsubscribe_context(owner))


@bp.route("/databases/<int:database_id>/delete", methods=["POST"])
@requires("admin")
def database_delete(database_id: int):
    """Delete a database with everything in it, once its name is typed to confirm."""
    account = current_account()
    database = databases.get_database(account, database_id)
    form = DeleteDatabaseInputs()
    typed = (form.confirm_name.data or "").strip()
    if typed != database.name:
        errors = {"confirm_name": _("Type %(name)s exactly to confirm.", name=database.name)}
        return _settings(
            database,
            delete_form=form,
            delete_errors=apply_errors(form, errors),
            partial="admin/databases/_danger_zone.html",
            status=422,
        )
    name = database.name
    try:
        databases.delete_database(account, database.id)
    except Conflict as error:
        return _settings(
            database,
            delete_form=form,
            delete_errors={"": error.message},
            partial="admin/databases/_danger_zone.html",
            status=409,
        )
    flash(_("Database %(name)s is deleted.", name=name), "success")
    return hx_redirect(url_for("admin.databases"))
