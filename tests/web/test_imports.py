"""The imports admin: upload, mapping, preview, start, progress, error report, rollback; roles and CSRF."""

import csv
import io

import pytest
from sqlalchemy import func, select

from tests.factories import make_account, make_database
from tests.workers import run_burst_worker
from webapp.exports import files as export_files
from webapp.extensions import db
from webapp.imports import apply
from webapp.imports import runs as imports
from webapp.models import ImportDefinition, ImportRun, Profile, ScheduledWork
from webapp.platform import work


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    """Uploaded files go to the test's temporary folder, not the instance folder."""
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


CSV = b"Email;FirstName;Score\na@example.com;Ann;1\nb@example.com;Bob;many\n"


def upload(visitor, database, data: bytes = CSV, name: str = "people.csv"):
    return visitor.post(f"/databases/{database.id}/imports", {"file": (io.BytesIO(data), name)})


def only_run() -> ImportRun:
    return db.session.scalar(select(ImportRun))


def test_the_imports_tab_lists_runs(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    page = admin.get(f"/databases/{database.id}/imports").get_data(as_text=True)
    assert "Import a file" in page and "No imports yet" in page
    upload(admin, database)
    page = admin.get(f"/databases/{database.id}/imports").get_data(as_text=True)
    assert "people.csv" in page
    fragment = admin.get(f"/databases/{database.id}/imports", htmx=True).get_data(as_text=True)
    assert "<html" not in fragment and "people.csv" in fragment


def test_upload_opens_the_mapping_screen(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    response = upload(admin, database)
    run = only_run()
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/imports/runs/{run.id}")
    page = admin.get(f"/imports/runs/{run.id}").get_data(as_text=True)
    assert "Map the columns" in page and 'value="field:Email" selected' in page
    assert 'value="ignore" selected' in page  # Score is not a field of this database
    assert "semicolons" in page


def test_an_empty_or_missing_file_is_refused(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    assert upload(admin, database, b"").status_code == 422
    assert admin.post(f"/databases/{database.id}/imports", {}).status_code == 422
    assert only_run() is None


def test_viewers_see_but_cannot_import(browser):
    account = make_account("Acme")
    viewer = browser("viewer", account)
    database = make_database(account)
    page = viewer.get(f"/databases/{database.id}/imports").get_data(as_text=True)
    assert "Import a file" not in page
    assert upload(viewer, database).status_code == 403
    run = imports.upload(account, database.id, io.BytesIO(CSV), "x.csv")
    assert viewer.get(f"/imports/runs/{run.id}").status_code == 200
    assert viewer.post(f"/imports/runs/{run.id}/start").status_code == 403
    assert viewer.get(f"/imports/runs/{run.id}/preview").status_code == 403


def test_forms_need_a_csrf_token(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    response = admin.post(f"/databases/{database.id}/imports", {"file": (io.BytesIO(CSV), "x.csv")}, csrf=False)
    assert response.status_code == 400
    run = imports.upload(account, database.id, io.BytesIO(CSV), "x.csv")
    assert admin.post(f"/imports/runs/{run.id}/start", csrf=False).status_code == 400
    assert admin.post(f"/imports/runs/{run.id}/mapping", {"column-0": "ignore"}, csrf=False).status_code == 400


def test_mapping_preview_start_progress_errors_and_rollback(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(
        account, fields={"Email": {"type": "email", "indexed": True}, "FirstName": "text", "Score": "number"}
    )
    upload(admin, database, b"mail,name,points\na@example.com,Ann,1\nb@example.com,Bob,many\n")
    run = only_run()
    response = admin.post(
        f"/imports/runs/{run.id}/mapping",
        {
            "column-0": "field:Email",
            "column-1": "field:FirstName",
            "column-2": "field:Score",
            "key_fields": "Email",
            "on_match": "update",
            "on_no_match": "create",
            "on_empty": "clear",
            "delimiter": "comma",
            "date_order": "DMY",
        },
    )
    assert response.status_code == 303
    definition = db.session.get(ImportDefinition, run.definition_id)
    db.session.refresh(definition)
    assert definition.mapping == {"mail": "field:Email", "name": "field:FirstName", "points": "field:Score"}
    assert (definition.on_empty, definition.options["delimiter"], definition.options["date_order"]) == (
        "clear",
        ",",
        "DMY",
    )

    preview = admin.post(f"/imports/runs/{run.id}/preview", htmx=True)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<html" not in text
    assert "1 would be created" in text and "1 would be rejected" in text and "many" in text
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 0

    response = admin.post(f"/imports/runs/{run.id}/start")
    assert response.status_code == 303
    assert db.session.scalar(select(ScheduledWork).where(ScheduledWork.kind == "import")).payload == {"run_id": run.id}
    polling = admin.get(f"/imports/runs/{run.id}/progress", htmx=True).get_data(as_text=True)
    assert 'hx-trigger="load delay:1s"' in polling and 'hx-swap="outerHTML"' in polling

    apply.apply_run(run.id)
    finished = admin.get(f"/imports/runs/{run.id}/progress", htmx=True).get_data(as_text=True)
    assert "hx-trigger" not in finished and "1 created" in finished and "1 rejected" in finished
    assert "Roll back" in finished and "errors.csv" in finished

    report = admin.get(f"/imports/runs/{run.id}/errors.csv")
    assert report.mimetype == "text/csv" and "attachment" in report.headers["Content-Disposition"]
    lines = report.get_data().decode("utf-8-sig").splitlines()
    assert lines[0] == "mail,name,points,Row,Reason" and lines[1].startswith("b@example.com,Bob,many,3,Score ")

    listing = admin.get(f"/databases/{database.id}/imports").get_data(as_text=True)
    assert "done" in listing

    assert admin.get(f"/imports/runs/{run.id}/rollback").status_code == 200
    response = admin.post(f"/imports/runs/{run.id}/rollback", htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith(f"/imports/runs/{run.id}")
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 1  # a job does it, not the request
    db.session.expire_all()
    assert db.session.get(ImportRun, run.id).status == "rolling_back"
    rolling = admin.get(f"/imports/runs/{run.id}/progress", htmx=True).get_data(as_text=True)
    assert 'hx-trigger="load delay:1s"' in rolling and "rolling back" in rolling
    work.dispatch_due()
    run_burst_worker()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 0
    finished = admin.get(f"/imports/runs/{run.id}/progress", htmx=True).get_data(as_text=True)
    assert "1 profile removed" in finished and "hx-trigger" not in finished
    db.session.expire_all()
    assert db.session.get(ImportRun, run.id).status == "rolled_back"


def test_a_bad_mapping_is_shown_with_its_errors(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    upload(admin, database)
    run = only_run()
    response = admin.post(
        f"/imports/runs/{run.id}/mapping",
        {
            "column-0": "field:Email",
            "column-1": "field:Email",
            "on_match": "update",
            "on_no_match": "create",
            "on_empty": "leave",
        },
    )
    assert response.status_code == 422 and "mapped to Email already" in response.get_data(as_text=True)


def test_formula_cells_are_neutralised_in_the_error_report(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    run = imports.upload(account, database.id, io.BytesIO(b"Email\n=cmd|x\n"), "x.csv")
    imports.start_run(account, run.id, anyway=True)
    apply.apply_run(run.id)
    lines = admin.get(f"/imports/runs/{run.id}/errors.csv").get_data(as_text=True).splitlines()
    assert lines[1].startswith("\ufeff") is False and lines[1].startswith("'=cmd|x,2,")


def test_the_error_report_is_written_by_the_exports_csv_writer(browser, monkeypatch):
    monkeypatch.setattr(export_files, "FORMULA_STARTS", ("!",))  # the report follows the one writer's rule
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    run = imports.upload(account, database.id, io.BytesIO(b"Email\n!cmd\n=cmd\n"), "x.csv")
    imports.start_run(account, run.id, anyway=True)
    apply.apply_run(run.id)
    lines = admin.get(f"/imports/runs/{run.id}/errors.csv").get_data(as_text=True).splitlines()
    assert lines[1].startswith("'!cmd,2,") and lines[2].startswith("=cmd,3,")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "x.csv", "This file is an image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "export.xls", "old Excel workbook"),
    ],
)
def test_files_that_are_not_text_are_refused_at_upload(browser, data, name, message):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    response = upload(admin, database, data, name)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert only_run() is None


def test_preview_and_start_use_the_mapping_on_the_screen_and_save_it(browser):
    """Issue 20, defect 4: changes not saved with "Save mapping" are what Preview shows and Start imports."""
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}, "Born": "date"})
    upload(admin, database, b"Email;Geboren\na@example.com;31-12-1990\n")
    run = only_run()
    assert db.session.get(ImportDefinition, run.definition_id).mapping["Geboren"] == "ignore"
    screen = {
        "column-0": "field:Email",
        "column-1": "field:Born",
        "key_fields": "Email",
        "on_match": "update",
        "on_no_match": "create",
        "on_empty": "leave",
        "date_order": "DMY",
    }
    preview = admin.post(f"/imports/runs/{run.id}/preview", screen, htmx=True).get_data(as_text=True)
    assert "1990-12-31" in preview and "1 would be created" in preview
    saved = db.session.get(ImportDefinition, run.definition_id)
    db.session.refresh(saved)
    assert saved.mapping["Geboren"] == "field:Born" and saved.options["date_order"] == "DMY"
    response = admin.post(f"/imports/runs/{run.id}/start", {**screen, "date_order": ""})
    assert response.status_code == 422  # the screen now says ISO dates only: every line would be rejected
    assert "would be rejected" in response.get_data(as_text=True)
    assert 'name="start_anyway"' in response.get_data(as_text=True)
    assert admin.post(f"/imports/runs/{run.id}/start", screen).status_code == 303
    apply.apply_run(run.id)
    born = db.session.scalar(select(Profile)).fields
    assert "1990-12-31" in born.values()


def test_a_dutch_admin_gets_the_error_report_in_dutch(browser):
    """Issue 19: reasons in the admin's language (written by the worker in the language of whoever started the
    run), the report's own columns too, and no internal prefix."""
    account = make_account("Acme")
    admin = browser("admin", account)
    admin.user.language = "nl"
    db.session.commit()
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}, "Score": "number"})
    upload(admin, database, "Email;Score;Naam\na@example.com;1;Zoë\nb@example.com;veel;Renée\n".encode("cp1252"))
    run = only_run()
    screen = {"column-0": "field:Email", "column-1": "field:Score", "column-2": "ignore", "key_fields": "Email"}
    policies = {"on_match": "update", "on_no_match": "create", "on_empty": "leave"}
    response = admin.post(f"/imports/runs/{run.id}/start", {**screen, **policies})
    assert response.status_code == 303
    apply.apply_run(run.id)
    report = admin.get(f"/imports/runs/{run.id}/errors.csv")
    assert report.content_type == "text/csv; charset=cp1252"
    rows = list(csv.reader(io.StringIO(report.get_data().decode("cp1252"), newline=""), delimiter=";"))
    assert rows[0] == ["Email", "Score", "Naam", "Rij", "Reden"]
    assert rows[1][:4] == ["b@example.com", "veel", "Renée", "3"]
    assert rows[1][4].startswith("Score ") and "number" not in rows[1][4] and "file:" not in rows[1][4]


def test_a_queued_run_says_when_no_worker_or_dispatcher_is_running(browser):
    """Issue 19, item 5: started with nothing to pick it up, the run says so (and stops saying it once both beat)."""
    from tests.workers import settle_heartbeats
    from webapp.platform import heartbeats
    from webapp.platform.queues import redis_connection

    admin = browser("admin")
    database = make_database(admin.user.account, fields={"Email": {"type": "email", "indexed": True}})
    upload(admin, database, b"Email\na@example.com\n")
    run = only_run()
    mapping = {"column-0": "field:Email", "key_fields": "Email", "on_match": "update", "on_no_match": "create"}
    admin.post(f"/imports/runs/{run.id}/mapping", {**mapping, "on_empty": "keep", "delimiter": "comma"})
    assert admin.post(f"/imports/runs/{run.id}/start").status_code == 303
    redis_connection().delete(heartbeats.KEY, heartbeats.SINCE_KEY)

    silent = admin.get(f"/imports/runs/{run.id}/progress", htmx=True).get_data(as_text=True)
    assert "No worker has been seen" in silent and "No dispatcher has been seen" in silent

    heartbeats.beat(heartbeats.WORKER, "w1")
    heartbeats.beat(heartbeats.DISPATCHER, "d1")
    settle_heartbeats()
    beating = admin.get(f"/imports/runs/{run.id}/progress", htmx=True).get_data(as_text=True)
    assert "No worker has been seen" not in beating and "No dispatcher has been seen" not in beating
    redis_connection().delete(heartbeats.KEY)
