"""Admin views of field definitions (of databases and collections)."""

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.databases import collection_context, done, fields_context
from webapp.blueprints.admin.responses import confirm_page, render
from webapp.blueprints.admin.schema_inputs import FieldInputs, apply_errors, field_form_data
from webapp.models import Collection, Database, Field
from webapp.platform.errors import Conflict, ValidationError
from webapp.profiles import databases, fields
from webapp.profiles.field_types import FIELD_TYPES
from webapp.webforms import field_references as form_field_references

FIELDS_PARTIAL = "admin/databases/_fields.html"


def _owner_of(account, field: Field) -> Database | Collection:
    if field.collection_id:
        return databases.get_collection(account, field.collection_id)
    return databases.get_database(account, field.database_id)


def _owner_url(owner: Database | Collection) -> str:
    if isinstance(owner, Collection):
        return url_for("admin.collection", collection_id=owner.id)
    return url_for("admin.database_fields", database_id=owner.id)


def _page(
    owner: Database | Collection,
    form: FieldInputs | None = None,
    *,
    editing=None,
    errors=None,
    notice: str = "",
    status: int = 200,
):
    """The owner's page (database fields, or the collection) with the field form; htmx gets ``_fields.html``."""
    account = current_account()
    context = fields_context(account, owner, form, editing=editing, errors=errors, notice=notice)
    if isinstance(owner, Collection):
        return render("admin/databases/collection.html", FIELDS_PARTIAL, **collection_context(owner, **context)), status
    return render("admin/databases/fields.html", FIELDS_PARTIAL, database=owner, active="fields", **context), status


def _done(owner: Database | Collection, message: str):
    return done(message, _owner_url(owner), FIELDS_PARTIAL, **fields_context(current_account(), owner))


@bp.route("/databases/<int:database_id>/fields")
def database_fields(database_id: int):
    """A database's fields, in order, with the form to add one."""
    return _page(databases.get_database(current_account(), database_id))


@bp.route("/databases/<int:database_id>/fields", methods=["POST"])
@bp.route("/collections/<int:collection_id>/fields", methods=["POST"])
@requires("admin")
def field_create(database_id: int | None = None, collection_id: int | None = None):
    """Add a field to a database or a collection."""
    account = current_account()
    if collection_id is not None:
        owner = databases.get_collection(account, collection_id)
    else:
        owner = databases.get_database(account, database_id)
    form = FieldInputs()
    spec = form.set_databases(databases.list_databases(account)).to_spec(for_collection=collection_id is not None)
    try:
        field = fields.create_field(account, spec, database_id=database_id, collection_id=collection_id)
    except ValidationError as error:
        return _page(owner, form, errors=apply_errors(form, error.errors), status=422)
    except Conflict as error:
        return _page(owner, form, errors={"": error.message}, status=409)
    return _done(owner, _("Field %(name)s is added.", name=field.name))


@bp.route("/fields/<int:field_id>/edit")
@requires("admin")
def field_edit(field_id: int):
    """The owner's fields with this field's form open for editing."""
    account = current_account()
    field = fields.get_field(account, field_id)
    return _page(_owner_of(account, field), FieldInputs(formdata=None, data=field_form_data(field)), editing=field)


@bp.route("/fields/<int:field_id>", methods=["POST"])
@requires("admin")
def field_update(field_id: int):
    """Change a field; a change its stored values cannot survive is refused and nothing changes."""
    account = current_account()
    field = fields.get_field(account, field_id)
    owner = _owner_of(account, field)
    form = FieldInputs()
    spec = form.set_databases(databases.list_databases(account)).to_spec(for_collection=field.collection_id is not None)
    try:
        fields.update_field(account, field.id, spec)
    except ValidationError as error:
        return _page(owner, form, editing=field, errors=apply_errors(form, error.errors), status=422)
    except Conflict as error:
        return _page(owner, form, editing=field, errors={"": error.message}, status=409)
    return _done(owner, _("Field %(name)s is saved.", name=field.name))


@bp.route("/fields/<int:field_id>/move", methods=["POST"])
@requires("admin")
def field_move(field_id: int):
    """Move a field one place up or down."""
    account = current_account()
    field = fields.get_field(account, field_id)
    owner = _owner_of(account, field)
    fields.move_field(account, field.id, -1 if request.form.get("direction") == "up" else 1)
    return _done(owner, _("Field %(name)s is moved.", name=field.name))


@bp.route("/fields/<int:field_id>/delete")
@requires("admin")
def field_delete_confirm(field_id: int):
    """Ask before removing a field (for browsers without JavaScript; htmx asks with ``hx-confirm``)."""
    account = current_account()
    field = fields.get_field(account, field_id)
    owner = _owner_of(account, field)
    message = (
        _("Its value is removed from every subprofile that has one. This cannot be undone.")
        if isinstance(owner, Collection)
        else _("Its value is removed from every profile that has one. This cannot be undone.")
    )
    forms = form_field_references.forms_naming(account, field)
    if forms:
        message += " " + _(
            "It is also taken out of the settings of these forms (key fields, language field, double opt-in "
            "values): %(forms)s.",
            forms=", ".join(form.name for form in forms),
        )
    return confirm_page(
        title=_("Delete field %(name)s?", name=field.name),
        message=message,
        cancel=_owner_url(owner),
        database=owner.database if isinstance(owner, Collection) else owner,
        active="collections" if isinstance(owner, Collection) else "fields",
    )


@bp.route("/fields/<int:field_id>/delete", methods=["POST", "DELETE"])
@requires("admin")
def field_delete(field_id: int):
    """Remove a field and its values; says how many profiles (or subprofiles) lost a value."""
    account = current_account()
    field = fields.get_field(account, field_id)
    owner, name = _owner_of(account, field), field.name
    forms = [form.name for form in form_field_references.forms_naming(account, field)]
    try:
        count = fields.delete_field(account, field.id)
    except Conflict as error:
        return _page(owner, notice=error.message, status=409)
    if isinstance(owner, Collection):
        message = ngettext(
            "Field %(name)s is deleted; %(num)d subprofile lost a value.",
            "Field %(name)s is deleted; %(num)d subprofiles lost a value.",
            count,
            name=name,
        )
    else:
        message = ngettext(
            "Field %(name)s is deleted; %(num)d profile lost a value.",
            "Field %(name)s is deleted; %(num)d profiles lost a value.",
            count,
            name=name,
        )
    if forms:
        message += " " + ngettext(
            "It is taken out of the settings of form %(forms)s.",
            "It is taken out of the settings of forms %(forms)s.",
            len(forms),
            forms=", ".join(forms),
        )
    return _done(owner, message)


@bp.route("/fields/options")
@requires("admin")
def field_options():
    """The type options part of the field form for the chosen type (htmx swaps it when the type changes)."""
    form = FieldInputs(formdata=request.args)
    form.set_databases(databases.list_databases(current_account()))
    if form.type.data not in FIELD_TYPES:
        form.type.data = "text"
    if not (form.length.data or "").strip():
        form.length.data = "255"
    return render_template("admin/databases/_field_options.html", field_form=form, all_options=False)
