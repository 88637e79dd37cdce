"""The rollback page offers to remove the fields the run created ("Create this field"); the job does it."""

import io

from sqlalchemy import select

from tests.factories import make_database
from tests.workers import run_burst_worker
from webapp.extensions import db
from webapp.imports import apply
from webapp.imports import runs as imports
from webapp.models import Field, ImportRun, ScheduledWork
from webapp.platform import work


def text_of(response) -> str:
    return response.get_data(as_text=True)


def committed_field(database_id: int, name: str) -> Field | None:
    db.session.rollback()
    return db.session.scalar(select(Field).where(Field.database_id == database_id, Field.name == name))


def test_the_rollback_page_offers_to_remove_the_fields_the_run_created(browser, account, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}})
    me = browser("admin", account)
    me.post(
        f"/databases/{database.id}/imports", {"file": (io.BytesIO(b"Email,Shoe size\na@example.com,42\n"), "p.csv")}
    )
    run = db.session.scalar(select(ImportRun))
    created = me.post(
        f"/imports/runs/{run.id}/fields",
        {"column-0": "field:Email", "create_column": "1", "new-type-1": "number"},
        htmx=True,
    )
    assert created.status_code == 200
    imports.start_run(account, run.id)
    apply.apply_run(run.id)
    progress = text_of(me.get(f"/imports/runs/{run.id}/progress", htmx=True))
    assert "hx-confirm" not in progress  # the rollback page asks, with the option
    page = text_of(me.get(f"/imports/runs/{run.id}/rollback"))
    assert 'name="remove_fields"' in page and "Also remove the field this import created: Shoe_size" in page
    response = me.post(f"/imports/runs/{run.id}/rollback", {"remove_fields": "y"})
    assert response.status_code in (204, 302, 303)
    db.session.rollback()
    row = db.session.scalar(select(ScheduledWork).where(ScheduledWork.kind == "import_rollback"))
    assert row.payload == {"run_id": run.id, "remove_fields": True, "locale": "en"}
    work.dispatch_due()
    run_burst_worker()
    db.session.rollback()
    assert committed_field(database.id, "Shoe_size") is None
    finished = text_of(me.get(f"/imports/runs/{run.id}/progress", htmx=True))
    assert "Field Shoe_size, which this import created, is removed." in finished


def test_without_created_fields_the_rollback_page_has_no_option(browser, account, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}})
    me = browser("admin", account)
    me.post(f"/databases/{database.id}/imports", {"file": (io.BytesIO(b"Email\na@example.com\n"), "p.csv")})
    run = db.session.scalar(select(ImportRun))
    imports.start_run(account, run.id)
    apply.apply_run(run.id)
    assert "hx-confirm" in text_of(me.get(f"/imports/runs/{run.id}/progress", htmx=True))
    assert 'name="remove_fields"' not in text_of(me.get(f"/imports/runs/{run.id}/rollback"))
