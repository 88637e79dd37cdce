"""The scheduled-exports admin: create, edit with masked credentials, run now, runs and last error, delete;
roles, CSRF and tenancy."""

import pytest
from sqlalchemy import select, text

from tests.factories import make_account, make_database
from webapp.exports import targets as export_targets
from webapp.extensions import db
from webapp.models import Account, ExportDefinition, ExportRun, ScheduledWork, utcnow
from webapp.platform import remote_files
from webapp.profiles import databases
from webapp.profiles.fields import FieldSpec, create_field

URL = "sftp://127.0.0.1/incoming/"


def only_definition() -> ExportDefinition:
    return db.session.scalar(select(ExportDefinition))


def form(**changes) -> dict:
    return {
        "name": "Nightly",
        "what": "database",
        "fields-database": ["Email", "FirstName"],
        "format": "csv",
        "delimiter": "semicolon",
        "protect_formulas": "1",
        "gzip": "1",
        "target_url": URL,
        "http_method": "PUT",
        "file_name": "customers-{date}.csv.gz",
        "username": "shop",
        "password": "hunter2-secret",
        "schedule": "1d",
        **changes,
    }


@pytest.fixture
def setting(browser):
    account = make_account("Acme")
    return browser("admin", account), make_database(account)


def test_a_scheduled_export_is_created_and_shown_with_masked_credentials(setting):
    admin, database = setting
    assert "New scheduled export" in admin.get(f"/databases/{database.id}/exports").get_data(as_text=True)
    new = admin.get(f"/databases/{database.id}/exports/targets/new").get_data(as_text=True)
    assert "customers-{date}.csv" in new
    response = admin.post(f"/databases/{database.id}/exports/targets", form())
    definition = only_definition()
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/exports/{definition.id}")
    assert definition.fields == ["Email", "FirstName"] and definition.collection_id is None
    assert definition.options["delimiter"] == ";" and definition.options["gzip"] is True
    assert definition.options["interests"] is False and definition.schedule == "1d"
    assert "hunter2" not in db.session.execute(text("SELECT credentials FROM export_definition")).scalar()
    (row,) = export_targets._waiting_rows(definition.id)
    page = admin.get(f"/exports/{definition.id}").get_data(as_text=True)
    assert URL in page and "shop" in page and "Run now" in page and row.due_at.strftime("%Y-%m-%d %H:%M") in page
    assert "hunter2" not in page and "A password is stored" in page
    index = admin.get(f"/databases/{database.id}/exports").get_data(as_text=True)
    assert "Nightly" in index and "1d" in index


def test_the_edit_page_ticks_the_saved_choice_of_what_and_fields(setting):
    admin, database = setting
    account = db.session.get(Account, database.account_id)
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Number", type="text"), collection_id=orders.id)
    admin.post(f"/databases/{database.id}/exports/targets", form())
    definition = only_definition()
    page = admin.get(f"/exports/{definition.id}").get_data(as_text=True)
    assert 'name="what" value="database" checked' in page and f'name="what" value="{orders.id}" checked' not in page
    assert 'value="Email" checked' in page and 'value="FirstName" checked' in page
    assert 'value="LastName">' in page and 'value="Number">' in page
    admin.post(f"/exports/{definition.id}", form(**{"what": str(orders.id), f"fields-{orders.id}": ["Number"]}))
    page = admin.get(f"/exports/{definition.id}").get_data(as_text=True)
    assert f'name="what" value="{orders.id}" checked' in page and 'value="Number" checked' in page
    assert 'value="Email">' in page and 'value="FirstName">' in page


def test_editing_keeps_the_password_unless_a_new_one_is_given(setting):
    admin, database = setting
    admin.post(f"/databases/{database.id}/exports/targets", form())
    definition = only_definition()
    response = admin.post(f"/exports/{definition.id}", form(password="", username="other", schedule=""))
    assert response.status_code == 303
    db.session.expire_all()
    assert remote_files.credentials_of(definition) == {"username": "other", "password": "hunter2-secret"}
    assert export_targets._waiting_rows(definition.id) == []
    admin.post(f"/exports/{definition.id}", form(password="", clear_secrets="1"))
    db.session.expire_all()
    assert "password" not in remote_files.credentials_of(definition)


def test_bad_input_is_refused_with_every_error_and_the_form_kept(setting):
    admin, database = setting
    response = admin.post(
        f"/databases/{database.id}/exports/targets",
        form(target_url="file:///etc/passwd", file_name="../x.csv", schedule="often"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Only http, https, ftp, ftps and sftp" in page and "without folders" in page and "cron" in page
    assert 'value="Nightly"' in page and "hunter2" not in page
    assert only_definition() is None


def test_a_collection_of_another_database_is_not_found(setting):
    admin, database = setting
    account = db.session.get(Account, database.account_id)
    collection = databases.create_collection(account, make_database(account, "Other").id, "Orders")
    response = admin.post(f"/databases/{database.id}/exports/targets", form(what=str(collection.id)))
    assert response.status_code == 404
    assert only_definition() is None


def test_run_now_queues_the_upload_and_the_page_shows_runs_and_the_last_error(setting):
    admin, database = setting
    admin.post(f"/databases/{database.id}/exports/targets", form(schedule=""))
    definition = only_definition()
    assert admin.post(f"/exports/{definition.id}/run").status_code == 303
    (row,) = export_targets._waiting_rows(definition.id)
    assert row.due_at <= utcnow() and row.payload["once"] is True
    db.session.add(
        ExportRun(
            account_id=definition.account_id,
            definition_id=definition.id,
            work_id=row.id,
            status="failed",
            attempts=3,
            file_name="customers-2026-11-27.csv.gz",
            error="The server answered 503.",
        )
    )
    definition.last_error = "The server answered 503."
    db.session.commit()
    page = admin.get(f"/exports/{definition.id}").get_data(as_text=True)
    assert "customers-2026-11-27.csv.gz" in page and "The server answered 503." in page and "failed" in page
    row.status = "queued"
    db.session.commit()
    response = admin.post(f"/exports/{definition.id}/run", htmx=True)
    assert response.status_code == 204  # redirected, with the reason flashed
    assert "in progress" in admin.get(f"/exports/{definition.id}").get_data(as_text=True)


def test_delete_asks_then_removes(setting):
    admin, database = setting
    admin.post(f"/databases/{database.id}/exports/targets", form())
    definition = only_definition()
    assert "Delete scheduled export" in admin.get(f"/exports/{definition.id}/delete").get_data(as_text=True)
    response = admin.post(f"/exports/{definition.id}/delete")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/databases/{database.id}/exports")
    assert only_definition() is None
    assert db.session.scalar(select(ScheduledWork.id).where(ScheduledWork.kind == export_targets.KIND)) is None


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_see_or_change_scheduled_exports(browser, role):
    account = make_account("Acme")
    database = make_database(account)
    definition = export_targets.create_export(
        account, database.id, export_targets.TargetSpec(name="N", target_url=URL, file_name="n.csv")
    )
    visitor = browser(role, account)
    assert visitor.get(f"/exports/{definition.id}").status_code == 403
    assert visitor.post(f"/exports/{definition.id}/run").status_code == 403
    assert visitor.post(f"/databases/{database.id}/exports/targets", form()).status_code == 403


def test_posts_need_a_csrf_token(setting):
    admin, database = setting
    assert admin.post(f"/databases/{database.id}/exports/targets", form(), csrf=False).status_code == 400


def test_a_scheduled_export_takes_a_selection_of_its_database_only(setting):
    from webapp.selections import selections

    admin, database = setting
    account = db.session.get(Account, database.account_id)
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Number", type="text"), collection_id=orders.id)
    everyone = selections.create_selection(account, database.id, "Everyone")
    big_orders = selections.create_selection(account, database.id, "Big orders", collection_id=orders.id)
    other = make_account("Other")
    theirs = selections.create_selection(other, make_database(other, "Theirs").id, "Theirs")
    db.session.commit()
    assert 'name="selection_id"' in admin.get(f"/databases/{database.id}/exports/targets/new").get_data(as_text=True)
    refused = admin.post(f"/databases/{database.id}/exports/targets", form(selection_id=str(theirs.id)))
    assert refused.status_code == 422 and "Choose a selection of this database." in refused.get_data(as_text=True)
    assert only_definition() is None
    admin.post(f"/databases/{database.id}/exports/targets", form(selection_id=str(everyone.id)))
    definition = only_definition()
    assert (definition.selection_id, definition.collection_id) == (everyone.id, None)
    page = admin.get(f"/exports/{definition.id}").get_data(as_text=True)
    assert f'<option value="{everyone.id}" selected>Everyone</option>' in page
    # a collection's selection: its collection's fields are the ones exported, whatever "what" says
    admin.post(
        f"/exports/{definition.id}",
        form(**{"selection_id": str(big_orders.id), "what": "database", f"fields-{orders.id}": ["Number"]}),
    )
    db.session.expire_all()
    definition = only_definition()
    assert (definition.selection_id, definition.collection_id, definition.fields) == (
        big_orders.id,
        orders.id,
        ["Number"],
    )
    admin.post(f"/exports/{definition.id}", form(selection_id=""))
    db.session.expire_all()
    assert only_definition().selection_id is None
