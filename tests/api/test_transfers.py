"""Imports (upload or remote file, status with progress, rollback) and exports over REST."""

import io
import json

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.imports import apply as imports_apply
from webapp.imports import rollback as imports_rollback
from webapp.models import ImportDefinition, ImportRun, Profile, ScheduledWork
from webapp.profiles import profiles
from webapp.profiles.events import Origin


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def send_file(api, database, text: str, headers=None, **form):
    data = {"file": (io.BytesIO(text.encode()), "people.csv"), **form}
    url = f"/database/{database.id}/imports"
    return api.post(url, data=data, content_type="multipart/form-data", headers=headers or {})


def test_an_uploaded_file_is_imported_with_progress_and_rolled_back_as_a_job(api, account, database):
    profiles.create_profile(account, database.id, {"Email": "a@example.com", "customer_id": 1}, origin=Origin("admin"))
    started = send_file(api, database, "Email,customer_id\na@example.com,5\nb@example.com,6\n")
    assert started.status_code == 202, started.get_data(as_text=True)
    queued = started.get_json()
    assert (queued["status"], queued["progress"]) == ("queued", 0.0)
    assert started.headers["Location"].endswith(f"/import/{queued['ID']}")
    run_id = int(queued["ID"])
    imports_apply.apply_run(run_id)
    done = api.get(f"/import/{run_id}").get_json()
    assert (done["status"], done["progress"], done["lines"]) == ("done", 1.0, {"total": 2, "done": 2})
    assert (done["counts"]["created"], done["counts"]["updated"]) == (1, 1)
    rolling = api.post(f"/import/{run_id}/rollback")
    assert rolling.status_code == 202 and rolling.get_json()["status"] == "rolling_back"
    imports_rollback.apply_rollback(run_id)
    undone = api.get(f"/import/{run_id}").get_json()
    assert (undone["status"], undone["rollback"]["removed"], undone["rollback"]["restored"]) == ("rolled_back", 1, 1)
    assert count(Profile) == 1
    again = api.post(f"/import/{run_id}/rollback")
    assert again.status_code == 422


def test_a_file_that_cannot_start_is_a_problem_and_leaves_nothing_behind(api, database, tmp_path):
    header_only = send_file(api, database, "Email,customer_id\n")
    assert header_only.status_code == 422
    empty = send_file(api, database, "")
    assert empty.status_code == 422 and empty.get_json()["errors"][0]["field"] == "file"
    bad_settings = send_file(api, database, "Email\na@example.com\n", settings='{"mapping": {}}')
    assert bad_settings.status_code == 422 and bad_settings.get_json()["errors"][0]["field"] == "settings"
    missing = api.post(f"/database/{database.id}/imports", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert (count(ImportRun), count(ImportDefinition), count(ScheduledWork)) == (0, 0, 0)
    assert not any(path.is_file() for path in (tmp_path / "imports").rglob("*"))


def test_settings_choose_the_mapping_and_key(api, account, database):
    profiles.create_profile(account, database.id, {"Email": "a@example.com", "customer_id": 1}, origin=Origin("admin"))
    settings = json.dumps(
        {
            "mapping": {"mail": "field:Email", "number": "field:customer_id"},
            "key_fields": ["Email"],
            "on_match": "skip",
            "on_no_match": "create",
            "on_empty": "leave",
        }
    )
    started = send_file(api, database, "mail,number\na@example.com,9\nc@example.com,3\n", settings=settings)
    assert started.status_code == 202, started.get_data(as_text=True)
    imports_apply.apply_run(int(started.get_json()["ID"]))
    counts = api.get(f"/import/{started.get_json()['ID']}").get_json()["counts"]
    assert (counts["created"], counts["skipped"]) == (1, 1)


def test_a_remote_file_is_fetched_once_by_a_worker_and_its_runs_are_its_status(app, api, database):
    started = api.post(f"/database/{database.id}/import-sources", json={"url": "https://files.example.com/p.csv"})
    assert started.status_code == 202, started.get_data(as_text=True)
    source = started.get_json()
    assert (source["url"], source["runs"]) == ("https://files.example.com/p.csv", [])
    (row,) = db.session.scalars(select(ScheduledWork)).all()
    assert (row.kind, row.payload["once"]) == ("import_fetch", True)
    assert api.get(f"/import-source/{source['ID']}").get_json()["ID"] == source["ID"]
    refused = api.post(f"/database/{database.id}/import-sources", json={"url": "file:///etc/passwd"})
    assert refused.status_code == 422
    app.config["ALLOW_PRIVATE_URLS"] = False
    try:
        private = api.post(f"/database/{database.id}/import-sources", json={"url": "http://127.0.0.1/p.csv"})
    finally:
        app.config["ALLOW_PRIVATE_URLS"] = True
    assert private.status_code == 422
    assert count(ImportDefinition) == 1


def test_imports_of_another_account_are_not_found_and_read_tokens_cannot_start_one(
    app, api, other_api, account, database
):
    from tests.api.conftest import Api
    from webapp.accounts.tokens import create_api_token

    started = send_file(api, database, "Email\na@example.com\n")
    run_id = started.get_json()["ID"]
    assert other_api.get(f"/import/{run_id}").status_code == 404
    assert other_api.post(f"/import/{run_id}/rollback").status_code == 404
    assert send_file(other_api, database, "Email\nb@example.com\n").status_code == 404
    _token, secret = create_api_token(account, "reader", scope="read")
    reader = Api(app.test_client(), secret)
    assert reader.get(f"/import/{run_id}").status_code == 200
    assert send_file(reader, database, "Email\nc@example.com\n").status_code == 403
    assert reader.get(f"/database/{database.id}/export").status_code == 403
    assert count(ImportRun) == 1


def test_an_export_streams_the_database_as_the_admin_downloads_it(api, other_api, account, database):
    profiles.create_profile(account, database.id, {"Email": "a@example.com", "customer_id": 4}, origin=Origin("admin"))
    response = api.get(f"/database/{database.id}/export?format=csv&fields[]=Email")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    header, row = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert header.split(",")[-1] == "Email" and "customer_id" not in header  # only the fields asked for
    assert row.split(",")[-1] == "a@example.com"
    assert api.get(f"/database/{database.id}/export?format=xls").status_code == 422
    assert other_api.get(f"/database/{database.id}/export").status_code == 404


def test_a_retried_upload_with_its_idempotency_key_starts_one_import(api, database):
    """A client re-sending the same upload builds a new multipart boundary: the key still recognises it."""
    headers = {"Idempotency-Key": "import-1"}
    first = send_file(api, database, "Email\na@example.com\n", headers=headers)
    again = send_file(api, database, "Email\na@example.com\n", headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["ID"] == first.get_json()["ID"]
    other = send_file(api, database, "Email\nb@example.com\n", headers=headers)
    assert other.status_code == 422
    assert count(ImportRun) == 1


def test_a_scheduled_export_of_a_selection_names_its_view(api, other_api, account, database):
    from webapp.exports import targets
    from webapp.selections import selections

    selection = selections.create_selection(account, database.id, "Everyone")
    spec = targets.TargetSpec(name="Nightly", target_url="sftp://127.0.0.1/in/", file_name="x.csv")
    everyone = targets.create_export(account, database.id, spec)
    chosen = targets.create_export(
        account, database.id, targets.TargetSpec(**{**spec.__dict__, "selection_id": selection.id})
    )
    assert api.get(f"/export/{chosen.id}").get_json()["view"] == str(selection.id)
    assert api.get(f"/export/{everyone.id}").get_json()["view"] is None
    assert other_api.get(f"/export/{chosen.id}").status_code == 404
