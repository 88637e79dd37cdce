"""Admin views of fetched imports: a source URL with masked credentials, a schedule, "fetch now", next run and
last error."""

from flask import flash, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.host_keys import confirm_host_key, pin_host_key
from webapp.blueprints.admin.responses import hx_redirect, render
from webapp.extensions import db
from webapp.imports import mapping as imports_mapping
from webapp.imports import sources as import_sources
from webapp.models import ImportDefinition
from webapp.platform import remote_files
from webapp.platform.errors import ValidationError
from webapp.profiles import databases


def _source_form():
    form = request.form
    return {
        "source_url": form.get("source_url", ""),
        "schedule": form.get("schedule", ""),
        "username": form.get("username", ""),
        "password": form.get("password", ""),
        "private_key": form.get("private_key", ""),
    }


def _source_page(definition: ImportDefinition, *, errors=None, form=None, status: int = 200):
    account = current_account()
    database = databases.get_database(account, definition.database_id)
    runs = import_sources.recent_runs(definition)
    masked = remote_files.masked_credentials(definition)
    values = form or {
        "source_url": definition.source_url,
        "schedule": definition.schedule,
        "username": masked["username"],
    }
    return render(
        "admin/imports/source.html",
        None,
        database=database,
        active="imports",
        definition=definition,
        masked=masked,
        values=values,
        errors=errors or {},
        runs=runs,
        next_run=import_sources.next_run_at(definition),
        host_key=remote_files.fingerprint(definition.last_fetch["host_key"])
        if (definition.last_fetch or {}).get("host_key")
        else "",
    ), status


@bp.route("/databases/<int:database_id>/imports/sources", methods=["POST"])
@requires("admin")
def import_source_create(database_id: int):
    """A new fetched import; its first file is fetched at once and waits for a mapping."""
    account = current_account()
    database = databases.get_database(account, database_id)
    from webapp.blueprints.admin.imports import _index

    try:
        definition = import_sources.create_source(account, database.id, **_source_form())
    except ValidationError as error:
        return _index(database, error.errors, 422)
    import_sources.fetch_now(account, definition.id)
    flash(_("The file is being fetched. Map its columns when it has arrived."), "success")
    return hx_redirect(url_for("admin.import_source", definition_id=definition.id))


@bp.route("/imports/definitions/<int:definition_id>")
def import_source(definition_id: int):
    """A fetched import: its source, schedule, next run, last error and runs."""
    return _source_page(imports_mapping.get_definition(current_account(), definition_id))


@bp.route("/imports/definitions/<int:definition_id>", methods=["POST"])
@requires("admin")
def import_source_update(definition_id: int):
    """Change the source URL, credentials (an empty password or key keeps the stored one) and schedule."""
    account = current_account()
    definition = imports_mapping.get_definition(account, definition_id)
    form = _source_form()
    try:
        import_sources.set_source(account, definition.id, clear_secrets=bool(request.form.get("clear_secrets")), **form)
    except ValidationError as error:
        db.session.rollback()
        form.pop("password"), form.pop("private_key")
        return _source_page(
            imports_mapping.get_definition(account, definition_id), errors=error.errors, form=form, status=422
        )
    flash(_("The source is saved."), "success")
    return hx_redirect(url_for("admin.import_source", definition_id=definition.id))


@bp.route("/imports/definitions/<int:definition_id>/fetch", methods=["POST"])
@requires("admin")
def import_source_fetch(definition_id: int):
    """Fetch the file now (in a worker)."""
    account = current_account()
    definition = imports_mapping.get_definition(account, definition_id)
    try:
        import_sources.fetch_now(account, definition.id)
    except ValidationError as error:
        return _source_page(definition, errors=error.errors, status=422)
    flash(_("The file will be fetched in a moment."), "success")
    return hx_redirect(url_for("admin.import_source", definition_id=definition.id))


@bp.route("/imports/definitions/<int:definition_id>/host-key")
@requires("admin")
def import_source_host_key_confirm(definition_id: int):
    """Ask before pinning the SFTP server's new host key."""
    account = current_account()
    definition = imports_mapping.get_definition(account, definition_id)
    return confirm_host_key(
        lambda: import_sources.host_key_check(account, definition.id),
        page=url_for("admin.import_source", definition_id=definition.id),
        database=databases.get_database(account, definition.database_id),
        active="imports",
        action=lambda offered: url_for(
            "admin.import_source_host_key", definition_id=definition.id, fingerprint=offered
        ),
    )


@bp.route("/imports/definitions/<int:definition_id>/host-key", methods=["POST"])
@requires("admin")
def import_source_host_key(definition_id: int):
    """Pin the key whose fingerprint the admin confirmed."""
    account = current_account()
    return pin_host_key(
        lambda fingerprint: import_sources.replace_host_key(account, definition_id, fingerprint),
        page=url_for("admin.import_source", definition_id=definition_id),
    )
