"""The fetched-imports admin: a source with masked credentials, a schedule, fetch now, next run, last error;
roles, CSRF and tenancy."""

from urllib.parse import urlencode

import pytest
from sqlalchemy import delete, select, text

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.imports import sources as import_sources
from webapp.models import ImportDefinition, ImportRun, ScheduledWork, utcnow
from webapp.platform import remote_files

URL = "sftp://127.0.0.1/export/people.csv"


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


def only_definition() -> ImportDefinition:
    return db.session.scalar(select(ImportDefinition))


def create(visitor, database, **changes):
    data = {"source_url": URL, "username": "shop", "password": "hunter2-secret", "schedule": "1h", **changes}
    return visitor.post(f"/databases/{database.id}/imports/sources", data)


def test_a_source_is_created_fetched_at_once_and_shown_masked(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    response = create(admin, database)
    definition = only_definition()
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/imports/definitions/{definition.id}")
    assert definition.source_url == URL and definition.schedule == "1h"
    stored = db.session.execute(text("SELECT credentials FROM import_definition")).scalar()
    assert "hunter2-secret" not in stored
    rows = import_sources._waiting_rows(definition.id)
    assert len(rows) == 1 and rows[0].due_at <= utcnow()  # the scheduled row, made due now
    page = admin.get(f"/imports/definitions/{definition.id}").get_data(as_text=True)
    assert URL in page and "shop" in page and "Fetch now" in page and "Next run" in page
    assert "hunter2" not in page and "A password is stored" in page
    index = admin.get(f"/databases/{database.id}/imports").get_data(as_text=True)
    assert "Fetched imports" in index and "people.csv" in index


def test_bad_sources_are_refused(app, browser, monkeypatch):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    assert create(admin, database, source_url="file:///etc/passwd").status_code == 422
    assert create(admin, database, schedule="every now and then").status_code == 422
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_URLS", False)
    response = create(admin, database)
    assert response.status_code == 422 and "private or reserved" in response.get_data(as_text=True)
    assert only_definition() is None


def test_saving_keeps_the_stored_password_and_shows_the_last_error(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    create(admin, database)
    definition = only_definition()
    response = admin.post(
        f"/imports/definitions/{definition.id}",
        {"source_url": URL, "username": "other", "password": "", "schedule": "0 6 * * *"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    definition = only_definition()
    assert remote_files.credentials_of(definition) == {"username": "other", "password": "hunter2-secret"}
    assert definition.schedule == "0 6 * * *"
    definition.last_error = "The SFTP server refused the credentials."
    db.session.commit()
    page = admin.get(f"/imports/definitions/{definition.id}").get_data(as_text=True)
    assert "Last error" in page and "refused the credentials" in page
    response = admin.post(f"/imports/definitions/{definition.id}", {"source_url": URL, "clear_secrets": "1"})
    db.session.expire_all()
    assert remote_files.credentials_of(only_definition()) == {}


def test_fetch_now_makes_the_waiting_row_due(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    create(admin, database)
    definition = only_definition()
    db.session.execute(delete(ScheduledWork))
    db.session.commit()
    assert admin.post(f"/imports/definitions/{definition.id}/fetch").status_code == 303
    (row,) = import_sources._waiting_rows(definition.id)
    assert row.due_at <= utcnow()


def test_viewers_see_but_cannot_change_and_other_accounts_see_nothing(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    create(admin, database)
    definition = only_definition()
    viewer = browser("viewer", account)
    page = viewer.get(f"/imports/definitions/{definition.id}").get_data(as_text=True)
    assert "Fetch now" not in page and "hunter2" not in page
    assert viewer.post(f"/imports/definitions/{definition.id}/fetch").status_code == 403
    assert viewer.post(f"/imports/definitions/{definition.id}", {"source_url": URL}).status_code == 403
    assert create(viewer, database).status_code == 403
    stranger = browser("admin", make_account("Other"))
    assert stranger.get(f"/imports/definitions/{definition.id}").status_code == 404
    assert stranger.post(f"/imports/definitions/{definition.id}/fetch").status_code == 404


def test_forms_need_a_csrf_token(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    response = admin.post(f"/databases/{database.id}/imports/sources", {"source_url": URL}, csrf=False)
    assert response.status_code == 400
    assert only_definition() is None


def test_a_fetched_run_links_to_its_source(browser, tmp_path):
    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    create(admin, database)
    definition = only_definition()
    path = tmp_path / "people.csv"
    path.write_bytes(b"Email\na@example.com\n")
    run = ImportRun(
        account_id=account.id,
        definition_id=definition.id,
        database_id=database.id,
        status="done",
        file_name="people.csv",
        file_path=str(path),
        file_size=path.stat().st_size,
    )
    db.session.add(run)
    db.session.commit()
    page = admin.get(f"/imports/runs/{run.id}").get_data(as_text=True)
    assert f"/imports/definitions/{definition.id}" in page and "Source and schedule of this import" in page
    page = admin.get(f"/imports/definitions/{definition.id}").get_data(as_text=True)
    assert f"/imports/runs/{run.id}" in page


def test_a_changed_sftp_host_key_is_shown_and_replaced_only_after_confirmation(browser, tmp_path):
    from tests import file_servers

    account = make_account("Acme")
    admin = browser("admin", account)
    database = make_database(account)
    (tmp_path / "people.csv").write_bytes(b"Email\na@example.com\n")
    with file_servers.sftp_server(tmp_path) as (port, _client_key):
        url = f"sftp://127.0.0.1:{port}/people.csv"
        create(admin, database, source_url=url, schedule="")
        definition = only_definition()
        offered = remote_files.fingerprint(remote_files.server_host_key(url))
        page = admin.get(f"/imports/definitions/{definition.id}").get_data(as_text=True)
        assert "not pinned yet" in page and "Replace host key" in page
        definition.last_fetch = {
            "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedPinnedPinnedPinnedPinnedPinned00"
        }
        db.session.commit()
        pinned = remote_files.fingerprint(definition.last_fetch["host_key"])
        assert pinned in admin.get(f"/imports/definitions/{definition.id}").get_data(as_text=True)
        # the GET asks, showing both fingerprints, and changes nothing
        question = admin.get(f"/imports/definitions/{definition.id}/host-key").get_data(as_text=True)
        assert offered in question and pinned in question and "Trust this key" in question
        db.session.expire_all()
        assert only_definition().last_fetch["host_key"].startswith("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinned")
        # a confirmation of another fingerprint is refused; the shown one pins the server's key
        wrong = admin.post(f"/imports/definitions/{definition.id}/host-key?fingerprint=ssh-ed25519+SHA256:nope")
        assert wrong.status_code == 303
        db.session.expire_all()
        assert remote_files.fingerprint(only_definition().last_fetch["host_key"]) == pinned
        response = admin.post(f"/imports/definitions/{definition.id}/host-key?{urlencode({'fingerprint': offered})}")
        assert response.status_code == 303
        db.session.expire_all()
        assert remote_files.fingerprint(only_definition().last_fetch["host_key"]) == offered
        assert browser("editor", account).post(f"/imports/definitions/{definition.id}/host-key").status_code == 403


def test_the_last_fetch_time_reads_like_the_other_times(browser):
    account = make_account("Acme")
    admin = browser("admin", account)
    create(admin, make_database(account))
    definition = only_definition()
    definition.last_fetch = {"at": "2026-12-06T03:10:42", "size": 10}
    db.session.commit()
    page = admin.get(f"/imports/definitions/{definition.id}").get_data(as_text=True)
    assert "2026-12-06 03:10 UTC" in page and "2026-12-06T03:10" not in page
