"""A rollback optionally removes the fields its run created ("Create this field" on the mapping screen), when no
other data uses them; a field holding values written by something else is kept and the report says why."""

import io

import pytest
from sqlalchemy import select

from tests.factories import make_database
from tests.workers import run_burst_worker
from webapp.extensions import db
from webapp.imports import apply as imports_apply
from webapp.imports import new_fields
from webapp.imports import rollback as imports_rollback
from webapp.imports import runs as imports
from webapp.models import Field, ImportRun, Profile, ScheduledWork
from webapp.platform import work
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

FILE = "Email,Shoe size,Orders.Amount\nann@example.com,42,10\nbob@example.com,44,12\n"


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


@pytest.fixture
def database(account):
    found = make_database(account, fields={"Email": {"type": "email", "indexed": True}})
    databases.create_collection(account, found.id, "Orders")
    return found


def field_names(database) -> set[str]:
    db.session.expire_all()
    return {name for name in db.session.scalars(select(Field.name).where(Field.database_id == database.id))}


def run_with_new_fields(account, database, text: str = FILE) -> ImportRun:
    """Upload, create a field for each unmapped column from the mapping screen, and apply the run."""
    run = imports.upload(account, database.id, io.BytesIO(text.encode()), "people.csv")
    new_fields.create_for_column(account, database.id, "Shoe size", "number", definition_id=run.definition_id)
    new_fields.create_for_column(account, database.id, "Orders.Amount", "decimal", definition_id=run.definition_id)
    imports.start_run(account, run.id)
    return imports_apply.apply_run(run.id)


def test_the_fields_a_run_created_are_known(account, database):
    run = run_with_new_fields(account, database)
    assert [f.name for f in imports_rollback.created_fields(account, run)] == ["Shoe_size", "Amount"]


def test_rollback_removes_the_fields_the_run_created_when_asked(account, database):
    run = run_with_new_fields(account, database)
    assert field_names(database) == {"Email", "Shoe_size", "Amount"}
    report = imports_rollback.rollback_run(account, run.id, remove_fields=True)
    assert report.removed == 2
    assert field_names(database) == {"Email"}
    assert report.left == [
        "Field Shoe_size, which this import created, is removed.",
        "Field Amount, which this import created, is removed.",
    ]
    assert imports.get_run(account, run.id).status == "rolled_back"


def test_without_the_option_the_fields_stay(account, database):
    run = run_with_new_fields(account, database)
    report = imports_rollback.rollback_run(account, run.id)
    assert report.left == [] and field_names(database) == {"Email", "Shoe_size", "Amount"}


def test_a_field_holding_values_written_by_something_else_is_kept_and_the_report_says_why(account, database):
    run = run_with_new_fields(account, database)
    profiles.create_profile(account, database.id, {"Email": "carl@example.com", "Shoe_size": 39}, origin=Origin("api"))
    report = imports_rollback.rollback_run(account, run.id, remove_fields=True)
    assert field_names(database) == {"Email", "Shoe_size"}
    assert report.left == [
        "Field Shoe_size, which this import created, is kept: 1 profile holds a value written by something else.",
        "Field Amount, which this import created, is removed.",
    ]
    carl = db.session.scalar(select(Profile).where(Profile.database_id == database.id))
    assert list(carl.fields.values()) == ["carl@example.com", 39]


def test_a_field_changed_since_is_kept(account, database):
    run = run_with_new_fields(account, database, "Email,Shoe size\nann@example.com,42\n")
    profile = db.session.scalar(select(Profile).where(Profile.database_id == database.id))
    profiles.update_profile(account, profile.id, {"Email": "ann@example.org"}, origin=Origin("admin"))
    report = imports_rollback.rollback_run(account, run.id, remove_fields=True)
    assert f"Profile {profile.id} was changed since; it is kept." in report.left
    assert "Field Shoe_size, which this import created, is kept: 1 profile holds a value" in "\n".join(report.left)
    assert "Shoe_size" in field_names(database)


def test_a_field_made_before_the_upload_is_never_removed(account, database):
    create_field(account, FieldSpec(name="Shoe_size", type="number"), database_id=database.id)
    run = imports.upload(account, database.id, io.BytesIO(b"Email,Shoe_size\nann@example.com,42\n"), "people.csv")
    imports.start_run(account, run.id)
    imports_apply.apply_run(run.id)
    assert imports_rollback.created_fields(account, run) == []
    report = imports_rollback.rollback_run(account, run.id, remove_fields=True)
    assert report.left == [] and "Shoe_size" in field_names(database)


def test_a_field_the_unsubscribe_behaviour_uses_is_kept(account, database):
    run = run_with_new_fields(account, database, "Email,Shoe size\nann@example.com,42\n")
    shoe = next(f for f in databases.get_database(account, database.id).fields if f.name == "Shoe_size")
    database.unsubscribe_values = {"fields": {shoe.key: 0}, "interests": {}}
    db.session.commit()
    report = imports_rollback.rollback_run(account, run.id, remove_fields=True)
    assert report.left == [
        "Field Shoe_size, which this import created, is kept: "
        "The unsubscribe behaviour uses field Shoe_size; change it first.",
        "Field Amount, which this import created, is removed.",
    ]
    assert "Shoe_size" in field_names(database)


def test_the_durable_job_removes_the_fields_and_reports_in_the_requesters_language(account, database):
    run = run_with_new_fields(account, database)
    imports_rollback.request_rollback(account, run.id, remove_fields=True, locale="nl")
    row = db.session.scalar(select(ScheduledWork).where(ScheduledWork.kind == "import_rollback"))
    assert row.payload == {"run_id": run.id, "remove_fields": True, "locale": "nl"}
    work.dispatch_due()
    run_burst_worker()
    db.session.expire_all()
    finished = db.session.get(ImportRun, run.id)
    assert finished.status == "rolled_back" and finished.removed == 2
    assert field_names(database) == {"Email"}
    assert "Shoe_size" in finished.error and "verwijderd" in finished.error
