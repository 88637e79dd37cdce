"""Exports started now and downloaded later: a durable work row writes the file, the status says where it is,
the download is a clear problem until the file is there, and only the account's admin tokens reach it."""

import gzip
import os
import time
from datetime import timedelta

import pytest

from tests.api.conftest import Api
from webapp.accounts.tokens import create_api_token
from webapp.exports import downloads
from webapp.extensions import db
from webapp.models import ExportFile, ScheduledWork, utcnow
from webapp.platform import work
from webapp.profiles import databases, fields, profiles
from webapp.profiles.events import Origin


@pytest.fixture
def export_folder(app, tmp_path):
    app.config["EXPORT_FOLDER"] = str(tmp_path)
    yield tmp_path
    app.config.pop("EXPORT_FOLDER")


@pytest.fixture
def customers(account, database):
    for n in range(3):
        profiles.create_profile(account, database.id, {"Email": f"p{n}@example.com"}, origin=Origin("admin"))
    return database


def run_the_work(row_id: int) -> str:
    work_id = db.session.get(ExportFile, row_id).work_id
    db.session.commit()
    return work.run_work(work_id)


def test_an_export_is_written_by_a_worker_and_downloaded_when_done(api, customers, export_folder):
    started = api.post(f"/database/{customers.id}/export-files", json={"fields": ["Email"], "interests": False})
    assert started.status_code == 202
    body = started.get_json()
    assert (body["status"], body["download"]) == ("queued", None)
    export_id = int(body["ID"])
    assert started.headers["Location"].endswith(f"/v4/export-file/{export_id}")
    waiting = api.get(f"/export-file/{export_id}/download")
    assert waiting.status_code == 409 and waiting.mimetype == "application/problem+json"
    assert "still being written" in waiting.get_json()["detail"]
    assert run_the_work(export_id) == "done"
    status = api.get(f"/export-file/{export_id}").get_json()
    assert status["status"] == "done" and status["download"].endswith(f"/export-file/{export_id}/download")
    downloaded = api.get(f"/export-file/{export_id}/download")
    assert downloaded.status_code == 200 and downloaded.mimetype == "text/csv"
    content = downloaded.get_data()
    downloaded.close()
    lines = content.decode().splitlines()
    assert lines[0] == "id,created,modified,Email" and len(lines) == 4
    assert status["size"] == len(content)
    assert "attachment" in downloaded.headers["Content-Disposition"]
    # a second run of the same work row does nothing
    row = db.session.get(ExportFile, export_id)
    assert downloads.run_export_file_work(db.session.get(ScheduledWork, row.work_id)) is None
    assert sorted(path.name for path in export_folder.iterdir()) == [row.stored_name]


def test_a_gzipped_collection_export(api, account, customers, export_folder):
    collection = databases.create_collection(account, customers.id, "Orders")
    started = api.post(
        f"/database/{customers.id}/export-files", json={"collection": collection.id, "gzip": True, "format": "jsonl"}
    )
    export_id = int(started.get_json()["ID"])
    assert run_the_work(export_id) == "done"
    downloaded = api.get(f"/export-file/{export_id}/download")
    content = downloaded.get_data()
    downloaded.close()
    assert downloaded.mimetype == "application/gzip" and gzip.decompress(content) == b""


def test_bad_options_are_refused_at_the_start_and_a_removed_field_fails_the_run(api, account, customers, export_folder):
    path = f"/database/{customers.id}/export-files"
    unknown = api.post(path, json={"fields": ["Shoe size"]})
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["field"] == "fields"
    assert api.post(path, json={"format": "xlsx"}).get_json()["errors"][0]["field"] == "format"
    assert api.post(path, json={"fields": "Email"}).status_code == 422
    assert api.post(path, json={"collection": 999}).status_code == 404
    assert db.session.query(ExportFile).count() == 0
    export_id = int(api.post(path, json={"fields": ["customer_id"]}).get_json()["ID"])
    customer = next(field for field in customers.fields if field.name == "customer_id")
    fields.delete_field(account, customer.id)
    assert run_the_work(export_id) == "done"
    status = api.get(f"/export-file/{export_id}").get_json()
    assert status["status"] == "failed" and "customer_id" in status["error"]
    failed = api.get(f"/export-file/{export_id}/download")
    assert failed.status_code == 409 and "failed" in failed.get_json()["detail"]


def test_old_files_expire_and_orphans_are_deleted(api, customers, export_folder):
    export_id = int(api.post(f"/database/{customers.id}/export-files", json={}).get_json()["ID"])
    run_the_work(export_id)
    orphan = export_folder / "999.csv"
    orphan.write_text("left behind")
    old = time.time() - 2 * 24 * 3600
    os.utime(orphan, (old, old))
    fresh = export_folder / "998.csv"
    fresh.write_text("being written by a transaction not committed yet")
    assert downloads.delete_old_files() == 1
    assert not orphan.exists() and fresh.exists()
    row = db.session.get(ExportFile, export_id)
    row.finished_at = utcnow() - timedelta(days=8)
    db.session.commit()
    assert downloads.delete_old_files() == 1
    db.session.commit()
    assert api.get(f"/export-file/{export_id}").get_json()["status"] == "expired"
    expired = api.get(f"/export-file/{export_id}/download")
    assert expired.status_code == 409 and "deleted" in expired.get_json()["detail"]


def test_export_files_need_an_admin_token_of_the_account(app, api, other_api, account, customers, export_folder):
    export_id = int(api.post(f"/database/{customers.id}/export-files", json={}).get_json()["ID"])
    run_the_work(export_id)
    _token, secret = create_api_token(account, "writer", scope="write")
    writer = Api(app.test_client(), secret)
    assert writer.post(f"/database/{customers.id}/export-files", json={}).status_code == 403
    assert writer.get(f"/export-file/{export_id}/download").status_code == 403
    assert other_api.post(f"/database/{customers.id}/export-files", json={}).status_code == 404
    assert other_api.get(f"/export-file/{export_id}").status_code == 404
    assert other_api.get(f"/export-file/{export_id}/download").status_code == 404
    assert db.session.query(ExportFile).count() == 1
