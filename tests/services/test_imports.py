"""Imports: mapping, policies, dates, line errors, preview, bulk apply through the event spine, rollback,
an idempotent rerun after a crash, and the RQ path with a real worker."""

import io

import pytest
from sqlalchemy import func, select, update

from tests.factories import make_database
from tests.workers import run_burst_worker
from webapp.extensions import db
from webapp.imports import apply as imports_apply
from webapp.imports import mapping as imports_mapping
from webapp.imports import planner as imports_planner
from webapp.imports import rollback as imports_rollback
from webapp.imports import runs as imports
from webapp.models import ImportLineError, ImportRun, Profile, ProfileEvent, ScheduledWork, Subprofile
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    """Uploaded files go to the test's temporary folder, not the instance folder."""
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


FIELDS = {
    "Email": {"type": "email", "indexed": True},
    "FirstName": "text",
    "LastName": "text",
    "Born": "date",
    "Score": "number",
}


@pytest.fixture
def database(account):
    found = make_database(account, fields=FIELDS)
    orders = databases.create_collection(account, found.id, "Orders")
    create_field(account, FieldSpec(name="Number", type="text", required=True), collection_id=orders.id)
    create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=orders.id)
    databases.create_interest(account, found.id, "News")
    return found


def upload(account, database, text: str | bytes, name: str = "file.csv"):
    data = text.encode() if isinstance(text, str) else text
    return imports.upload(account, database.id, io.BytesIO(data), name)


def configure(account, run, **changes):
    definition = imports_mapping.get_definition(account, run.definition_id)
    settings = {
        "mapping": definition.mapping,
        "key_fields": definition.key_fields,
        "on_match": definition.on_match,
        "on_no_match": definition.on_no_match,
        "on_empty": definition.on_empty,
        "options": definition.options,
    }
    settings.update(changes)
    return imports_mapping.update_definition(account, definition.id, **settings)


def run_import(account, database, text, **changes) -> ImportRun:
    run = upload(account, database, text)
    if changes:
        configure(account, run, **changes)
    imports.start_run(account, run.id, anyway=True)  # some tests want every line rejected
    return imports_apply.apply_run(run.id)


def snapshot(database) -> list:
    """Every profile's values by field name, its interests and its subprofiles (ids left out)."""
    db.session.expire_all()
    names = {f.key: f.name for f in database.fields}
    for collection in database.collections:
        names.update({f.key: f"{collection.name}.{f.name}" for f in collection.fields})
    result = []
    for profile in db.session.scalars(select(Profile).where(Profile.database_id == database.id)):
        subs = sorted(
            sorted((names[k], v) for k, v in sub.fields.items())
            for sub in db.session.scalars(select(Subprofile).where(Subprofile.profile_id == profile.id))
        )
        result.append((sorted((names[k], v) for k, v in profile.fields.items()), profile.interests, subs))
    return sorted(result, key=repr)


def by_email(database, email):
    from webapp.models import Account

    found = profiles.find_profiles(db.session.get(Account, database.account_id), database.id, {"Email": email})
    assert len(found) <= 1
    return found[0] if found else None


def value(database, profile, name):
    field = next(f for f in database.fields if f.name == name)
    return profile.fields.get(field.key)


def test_upload_guesses_the_mapping_and_key(account, database):
    run = upload(account, database, "email;FIRSTNAME;orders.total;news;Other\na@example.com;Ann;1;1;x\n")
    definition = imports_mapping.get_definition(account, run.definition_id)
    assert definition.mapping == {
        "email": "field:Email",
        "FIRSTNAME": "field:FirstName",
        "orders.total": "collection:Orders.Total",
        "news": "interest:News",
        "Other": "ignore",
    }
    assert definition.key_fields == ["Email"]
    assert run.status == "pending" and run.file_size > 0
    _format, header = imports.run_header(account, run.id)
    assert header == ["email", "FIRSTNAME", "orders.total", "news", "Other"]


def test_definition_checks(account, database):
    run = upload(account, database, "Email,Name\na@example.com,Ann\n")
    with pytest.raises(ValidationError) as error:
        configure(account, run, mapping={"Email": "field:Nope", "Name": "field:FirstName"})
    assert "Email" in error.value.errors
    with pytest.raises(ValidationError) as error:
        configure(account, run, key_fields=["LastName"])
    assert "key_fields" in error.value.errors
    with pytest.raises(ValidationError):
        configure(account, run, on_match="merge")
    with pytest.raises(ValidationError):
        configure(account, run, mapping={"Email": "field:Email", "Name": "field:Email"})


def test_a_run_creates_profiles_journalled_in_bulk(account, database):
    run = run_import(account, database, "Email,FirstName,News\na@example.com,Ann,yes\nb@example.com,Bob,0\n")
    assert (run.status, run.lines_total, run.lines_done, run.created, run.updated, run.rejected) == (
        "done",
        2,
        2,
        2,
        0,
        0,
    )
    ann = by_email(database, "a@example.com")
    assert value(database, ann, "FirstName") == "Ann"
    assert ann.interests == [database.interests[0].id]
    found = list(db.session.scalars(select(ProfileEvent).where(ProfileEvent.profile_id == ann.id)))
    assert [(e.kind, e.source, e.reference) for e in found] == [("profile_created", "import", f"import {run.id}")]
    assert found[0].changes["fields"][str(database.fields[1].id)] == [None, "Ann"]


def test_updates_record_old_and_new(account, database):
    profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "FirstName": "Ann", "LastName": "Old"}, origin=Origin("admin")
    )
    run = run_import(account, database, "Email,LastName\nA@EXAMPLE.COM,New\n")
    assert (run.created, run.updated) == (0, 1)
    profile = by_email(database, "a@example.com")
    assert value(database, profile, "LastName") == "New"
    event = db.session.scalar(select(ProfileEvent).where(ProfileEvent.reference == f"import {run.id}"))
    assert event.kind == "profile_updated"
    assert event.changes["fields"][str(database.fields[2].id)] == ["Old", "New"]


def test_duplicate_keys_in_one_file_update_the_profile_the_earlier_line_created(account, database, monkeypatch):
    monkeypatch.setattr(imports_apply, "BATCH_SIZE", 2)
    text = (
        "Email,FirstName,LastName\na@example.com,Ann,\nb@example.com,Bob,\nA@example.com,Anna,Smit\n"
        "a@example.com,,Jones\n"
    )
    run = run_import(account, database, text)
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 2
    ann = by_email(database, "a@example.com")
    assert (value(database, ann, "FirstName"), value(database, ann, "LastName")) == ("Anna", "Jones")
    assert (run.created, run.updated) == (2, 2)


def test_duplicate_keys_inside_one_batch(account, database):
    run = run_import(account, database, "Email,FirstName\na@example.com,Ann\na@example.com,Anna\n")
    assert (run.created, run.updated) == (1, 1)
    assert value(database, by_email(database, "a@example.com"), "FirstName") == "Anna"
    events = list(db.session.scalars(select(ProfileEvent).where(ProfileEvent.reference == f"import {run.id}")))
    assert [e.kind for e in events] == ["profile_created"]


def test_subprofile_notation_one_subprofile_per_line(account, database):
    text = (
        "Email,FirstName,Orders.Number,Orders.Total\na@example.com,Ann,1001,9.95\n"
        "a@example.com,Ann,1002,20\nb@example.com,Bob,,\n"
    )
    run = run_import(account, database, text)
    assert (run.created, run.updated, run.rejected) == (2, 1, 0)
    ann = by_email(database, "a@example.com")
    subs = list(db.session.scalars(select(Subprofile).where(Subprofile.profile_id == ann.id).order_by(Subprofile.id)))
    collection = database.collections[0]
    number, total = collection.fields
    assert [(s.fields[number.key], s.fields[total.key]) for s in subs] == [("1001", 9.95), ("1002", 20)]
    kinds = db.session.scalars(select(ProfileEvent.kind).where(ProfileEvent.subprofile_id.is_not(None))).all()
    assert kinds == ["subprofile_created", "subprofile_created"]
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Subprofile)
            .where(Subprofile.profile_id == by_email(database, "b@example.com").id)
        )
        == 0
    )


def test_a_bad_line_is_rejected_whole_and_good_lines_are_applied(account, database):
    text = (
        "Email,FirstName,Score,Orders.Number,Orders.Total\n"
        "a@example.com,Ann,1,1001,9.95\n"
        "b@example.com,Bob,1,1002,lots\n"
        "not-an-email,Cy,1,,\n"
        "d@example.com,Di,many,,\n"
        "e@example.com,Ed,5\n"
    )
    run = run_import(account, database, text)
    assert (run.created, run.rejected, run.lines_done) == (1, 4, 5)
    assert by_email(database, "b@example.com") is None
    assert db.session.scalar(select(func.count()).select_from(Subprofile)) == 1
    errors = [
        (e.line, e.column, e.value)
        for e in db.session.scalars(
            select(ImportLineError).where(ImportLineError.run_id == run.id).order_by(ImportLineError.line)
        )
    ]
    assert errors == [(3, "Orders.Total", "lots"), (4, "Email", "not-an-email"), (5, "Score", "many"), (6, "", "")]
    rows = list(imports.error_rows(account, run.id))
    assert "Score" in rows[2][3] and "cells" in rows[3][3]


def test_a_zero_byte_rejects_its_line_and_is_shown_in_the_report(account, database):
    """PostgreSQL stores no zero byte: a value holding one is a line error, not a failed run; in a column
    that is not imported it does no harm. (A zero byte outside UTF-16 makes the whole file "not text".)"""
    text = "Email,FirstName,Note\na@example.com,An\x00n,x\nb@example.com,Bob,x\x00y\n"
    with pytest.raises(ValidationError, match="not a text file"):
        upload(account, database, text)
    run = run_import(account, database, text.encode("utf-16"))
    assert (run.status, run.created, run.rejected) == ("done", 1, 1)
    assert by_email(database, "a@example.com") is None and by_email(database, "b@example.com") is not None
    (error,) = db.session.scalars(select(ImportLineError).where(ImportLineError.run_id == run.id))
    assert (error.line, error.column, error.value) == (2, "FirstName", "An\ufffdn")
    assert "zero byte" in error.reason
    named = upload(account, database, "Email\nc@example.com\n", "cust\x00omers.csv")
    assert named.file_name == "customers.csv"


def test_required_collection_field_rejects_the_line(account, database):
    run = run_import(account, database, "Email,Orders.Total\na@example.com,5\n")
    assert run.rejected == 1 and by_email(database, "a@example.com") is None


@pytest.mark.parametrize(
    ("on_match", "first", "last"),
    [
        ("update", "New", "Last"),
        ("update_empty", "Old", "Last"),
        ("skip", "Old", None),
    ],
)
def test_on_match_policies(account, database, on_match, first, last):
    profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "FirstName": "Old"}, origin=Origin("admin")
    )
    run = run_import(account, database, "Email,FirstName,LastName\na@example.com,New,Last\n", on_match=on_match)
    profile = by_email(database, "a@example.com")
    assert (value(database, profile, "FirstName"), value(database, profile, "LastName")) == (first, last)
    assert run.skipped == (1 if on_match == "skip" else 0)


def test_on_no_match_ignore(account, database):
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))
    run = run_import(account, database, "Email,FirstName\na@example.com,Ann\nb@example.com,Bob\n", on_no_match="ignore")
    assert (run.created, run.updated, run.skipped) == (0, 1, 1)
    assert by_email(database, "b@example.com") is None


@pytest.mark.parametrize(("on_empty", "expected", "interests"), [("leave", "Old", True), ("clear", None, False)])
def test_on_empty_policies(account, database, on_empty, expected, interests):
    profiles.create_profile(
        account,
        database.id,
        {"Email": "a@example.com", "FirstName": "Old"},
        origin=Origin("admin"),
        interests={"News": True},
    )
    run_import(account, database, "Email,FirstName,News\na@example.com,,\n", on_empty=on_empty)
    profile = by_email(database, "a@example.com")
    assert value(database, profile, "FirstName") == expected
    assert bool(profile.interests) is interests


def test_without_key_fields_every_line_creates(account, database):
    run = run_import(account, database, "Email,FirstName\na@example.com,Ann\nb@example.com,Ann\n", key_fields=[])
    assert run.created == 2


def test_unique_values_inside_one_batch(account, database):
    create_field(account, FieldSpec(name="Customer", type="text", unique=True), database_id=database.id)
    text = "Email,Customer\na@example.com,C1\nb@example.com,c1\nc@example.com,C3\n"
    run = run_import(account, database, text)
    assert (run.created, run.rejected) == (2, 1)
    error = db.session.scalar(select(ImportLineError).where(ImportLineError.run_id == run.id))
    assert (error.line, error.column, error.value) == (3, "Customer", "c1")


@pytest.mark.parametrize(
    ("date_order", "cell", "stored"),
    [
        ("", "2024-12-31", "2024-12-31"),
        ("", "31-12-2024", None),
        ("DMY", "31-12-2024", "2024-12-31"),
        ("DMY", "1.2.2024", "2024-02-01"),
        ("MDY", "12/31/2024", "2024-12-31"),
        ("MDY", "31/12/2024", None),
        ("DMY", "31-02-2024", None),
        ("DMY", "0000-00-00", None),
        ("DMY", "yesterday", None),
    ],
)
def test_dates(account, database, date_order, cell, stored):
    run = run_import(account, database, f"Email,Born\na@example.com,{cell}\n", options={"date_order": date_order})
    profile = by_email(database, "a@example.com")
    if stored is None:
        assert profile is None and run.rejected == 1
        error = db.session.scalar(select(ImportLineError).where(ImportLineError.run_id == run.id))
        assert (error.column, error.value) == ("Born", cell) and "Born" in error.reason
    else:
        assert value(database, profile, "Born") == stored


def test_datetime_with_declared_order(account, database):
    create_field(account, FieldSpec(name="Seen", type="datetime"), database_id=database.id)
    run_import(account, database, "Email,Seen\na@example.com,31-12-2024 23:59\n", options={"date_order": "DMY"})
    assert value(database, by_email(database, "a@example.com"), "Seen") == "2024-12-31 23:59:00"


def test_huge_field_is_a_line_error(account, database):
    text = f"Email,FirstName\na@example.com,{'x' * 300_000}\nb@example.com,Bob\n"
    run = run_import(account, database, text)
    assert (run.created, run.rejected) == (1, 1)


def test_interest_values_must_be_yes_or_no(account, database):
    run = run_import(account, database, "Email,News\na@example.com,maybe\nb@example.com,ja\n")
    assert (run.created, run.rejected) == (1, 1)


def test_preview_writes_nothing(account, database):
    profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "FirstName": "Old"}, origin=Origin("admin")
    )
    run = upload(
        account,
        database,
        "Email,FirstName,Orders.Number\na@example.com,Ann,1\nb@example.com,Bob,2\n"
        "b@example.com,Bobby,3\nbad,Cy,\na@example.com,Ann,\n",
    )
    before = snapshot(database)
    events_before = db.session.scalar(select(func.count()).select_from(ProfileEvent))
    result = imports.preview(account, run.id, lines=2)
    assert result.counts == {"create": 1, "update": 2, "unchanged": 1, "skip": 0, "reject": 1}
    assert "not unique in the file: 2 lines" in " ".join(result.warnings)
    assert result.complete and result.lines_read == 5
    assert [line.action for line in result.lines] == ["update", "create"]
    assert result.lines[1].values["FirstName"] == "Bob" and result.lines[1].values["Orders.Number"] == "2"
    assert snapshot(database) == before
    assert db.session.scalar(select(func.count()).select_from(ProfileEvent)) == events_before
    assert db.session.scalar(select(func.count()).select_from(ImportLineError)) == 0
    assert imports.get_run(account, run.id).status == "pending"


def test_rollback_undoes_a_run(account, database):
    kept = profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "FirstName": "Old"}, origin=Origin("admin")
    )
    before = snapshot(database)
    run = run_import(
        account, database, "Email,FirstName,News,Orders.Number\na@example.com,New,1,7\nb@example.com,Bob,1,8\n"
    )
    assert snapshot(database) != before
    report = imports_rollback.rollback_run(account, run.id)
    assert (report.removed, report.restored, report.left) == (1, 1, [])
    assert snapshot(database) == before
    assert db.session.get(Profile, kept.id) is not None
    kinds = db.session.scalars(
        select(ProfileEvent.kind).where(ProfileEvent.reference == f"import {run.id} rollback").order_by(ProfileEvent.id)
    ).all()
    assert sorted(kinds) == ["profile_removed", "profile_updated", "subprofile_removed"]
    assert imports.get_run(account, run.id).status == "rolled_back"
    with pytest.raises(ValidationError):
        imports_rollback.rollback_run(account, run.id)


def test_rollback_leaves_what_was_changed_since(account, database):
    existing = profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "FirstName": "Old", "LastName": "Old"}, origin=Origin("admin")
    )
    run = run_import(account, database, "Email,FirstName,LastName\na@example.com,New,New\nb@example.com,Bob,B\n")
    profiles.update_profile(account, existing.id, {"FirstName": "Admin"}, origin=Origin("admin"))
    bob = by_email(database, "b@example.com")
    profiles.update_profile(account, bob.id, {"LastName": "Changed"}, origin=Origin("admin"))
    report = imports_rollback.rollback_run(account, run.id)
    assert report.removed == 0 and report.restored == 1 and len(report.left) == 2
    profile = db.session.get(Profile, existing.id)
    assert (value(database, profile, "FirstName"), value(database, profile, "LastName")) == ("Admin", "Old")
    assert db.session.get(Profile, bob.id) is not None
    assert "FirstName" in imports.get_run(account, run.id).error


class Crash(Exception):
    pass


def test_a_rerun_after_a_crash_gives_the_same_database_as_one_clean_run(account, database, monkeypatch):
    monkeypatch.setattr(imports_apply, "BATCH_SIZE", 3)
    lines = [f"u{n % 7}@example.com,Name{n},{n},{1000 + n}" for n in range(20)]
    text = "Email,FirstName,Score,Orders.Number\n" + "\n".join(lines) + "\nbad,x,1,\n"
    clean_db = make_database(account, "Clean", fields=FIELDS)
    orders = databases.create_collection(account, clean_db.id, "Orders")
    create_field(account, FieldSpec(name="Number", type="text"), collection_id=orders.id)
    clean = run_import(account, clean_db, text)

    def crash_after_first_batch(run_id, lines_done):
        raise Crash()

    monkeypatch.setattr(imports_apply, "_after_batch", crash_after_first_batch)
    run = upload(account, database, text)
    imports.start_run(account, run.id)
    with pytest.raises(Crash):
        imports_apply.apply_run(run.id)
    assert imports.get_run(account, run.id).lines_done == 3
    monkeypatch.setattr(imports_apply, "_after_batch", lambda run_id, lines_done: None)
    rerun = imports_apply.apply_run(run.id)
    assert rerun.status == "done" and rerun.lines_done == 21
    counts = (rerun.created, rerun.updated, rerun.rejected)
    assert counts == (clean.created, clean.updated, clean.rejected) == (7, 13, 1)
    assert snapshot(database) == snapshot(clean_db)
    assert (
        db.session.scalar(select(func.count()).select_from(ImportLineError).where(ImportLineError.run_id == run.id))
        == 1
    )


def test_a_rerun_of_a_finished_run_changes_nothing(account, database):
    run = run_import(account, database, "Email\na@example.com\n")
    before = snapshot(database)
    assert imports_apply.apply_run(run.id).status == "done"
    assert snapshot(database) == before


def test_a_damaged_file_fails_the_run(account, database, tmp_path):
    run = upload(account, database, "Email\na@example.com\n")
    imports.start_run(account, run.id)
    with open(run.file_path, "wb") as broken:
        broken.write(b"")
    run = imports_apply.apply_run(run.id)
    assert run.status == "failed" and run.error


def test_start_only_once(account, database):
    run = upload(account, database, "Email\na@example.com\n")
    imports.start_run(account, run.id)
    with pytest.raises(ValidationError):
        imports.start_run(account, run.id)


def run_worker() -> None:
    run_burst_worker()


def test_a_run_goes_through_durable_work_and_a_real_worker(account, database):
    run = upload(account, database, "Email,FirstName\na@example.com,Ann\nb@example.com,Bob\n")
    imports.start_run(account, run.id)
    row = db.session.scalar(select(ScheduledWork).where(ScheduledWork.kind == "import"))
    assert row.payload == {"run_id": run.id}
    assert work.dispatch_due() == 1
    run_worker()
    db.session.expire_all()
    assert db.session.get(ScheduledWork, row.id).status == "done"
    run = db.session.get(ImportRun, run.id)
    assert (run.status, run.created, run.lines_done, run.lines_total) == ("done", 2, 2, 2)
    assert run.started_at and run.finished_at


def test_runs_are_scoped_to_the_account(account, database):
    from tests.factories import make_account
    from webapp.platform.errors import NotFound

    run = upload(account, database, "Email\na@example.com\n")
    other = make_account("Other")
    with pytest.raises(NotFound):
        imports.get_run(other, run.id)
    with pytest.raises(NotFound):
        imports.preview(other, run.id)
    assert imports.list_runs(account, database.id) == [run]


def test_a_job_that_dies_mid_import_is_retried_and_continues(account, database, monkeypatch):
    monkeypatch.setattr(imports_apply, "BATCH_SIZE", 2)
    text = "Email,FirstName\n" + "\n".join(f"u{n}@example.com,N{n}" for n in range(7)) + "\n"
    run = upload(account, database, text)
    imports.start_run(account, run.id)
    calls = []

    def die_once(run_id, lines_done):
        calls.append(lines_done)
        if len(calls) == 2:
            raise Crash("worker died")

    monkeypatch.setattr(imports_apply, "_after_batch", die_once)
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    row = db.session.scalar(select(ScheduledWork).where(ScheduledWork.kind == "import"))
    assert (row.status, row.attempts) == ("pending", 1)
    assert db.session.get(ImportRun, run.id).lines_done == 4
    row.due_at = row.created_at
    db.session.commit()
    work.dispatch_due()
    run_worker()
    db.session.expire_all()
    run = db.session.get(ImportRun, run.id)
    assert (run.status, run.lines_done, run.created) == ("done", 7, 7)
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 7
    assert db.session.get(ScheduledWork, row.id).status == "done"


def test_several_key_fields_must_all_match(account, database):
    profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "FirstName": "Ann", "Score": 1}, origin=Origin("admin")
    )
    run = run_import(
        account,
        database,
        "Email,FirstName,Score\na@example.com,ANN,2\na@example.com,Bea,3\n",
        key_fields=["Email", "FirstName"],
    )
    assert (run.created, run.updated) == (1, 1)
    found = {
        value(database, p, "FirstName"): value(database, p, "Score")
        for p in db.session.scalars(select(Profile).where(Profile.database_id == database.id))
    }
    assert found == {"ANN": 2, "Bea": 3}


def test_a_number_key_field(account, database):
    profiles.create_profile(account, database.id, {"Email": "a@example.com", "Score": 7}, origin=Origin("admin"))
    run = run_import(account, database, "Score,FirstName\n7,Ann\n8,Bob\n", key_fields=["Score"])
    assert (run.created, run.updated) == (1, 1)
    assert value(database, by_email(database, "a@example.com"), "FirstName") == "Ann"


def test_rollback_keeps_a_subprofile_changed_since(account, database):
    from webapp.profiles import subprofiles

    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))
    run = run_import(account, database, "Email,Orders.Number\na@example.com,1\na@example.com,2\n")
    first, second = db.session.scalars(select(Subprofile).order_by(Subprofile.id)).all()
    subprofiles.update_subprofile(account, first.id, {"Number": "1b"}, origin=Origin("admin"))
    report = imports_rollback.rollback_run(account, run.id)
    assert len(report.left) == 1 and str(first.id) in report.left[0]
    assert db.session.scalars(select(Subprofile.id)).all() == [first.id]


def test_rollback_of_an_unfinished_run_is_refused(account, database):
    run = upload(account, database, "Email\na@example.com\n")
    with pytest.raises(ValidationError):
        imports_rollback.rollback_run(account, run.id)


def test_a_long_run_continues_in_slices_of_durable_work(account, database, monkeypatch):
    monkeypatch.setattr(imports_apply, "BATCH_SIZE", 2)
    monkeypatch.setattr(imports_apply, "SLICE_SECONDS", 0)
    text = "Email\n" + "\n".join(f"u{n}@example.com" for n in range(5)) + "\n"
    run = upload(account, database, text)
    imports.start_run(account, run.id)
    for _slice in range(3):
        assert work.dispatch_due() == 1
        run_worker()
        db.session.expire_all()
    run = db.session.get(ImportRun, run.id)
    assert (run.status, run.lines_done, run.created) == ("done", 5, 5)
    rows = db.session.scalars(select(ScheduledWork.status).where(ScheduledWork.kind == "import")).all()
    assert rows == ["done", "done", "done"]


def test_a_second_job_of_the_same_run_stops_instead_of_applying_a_batch_twice(account, database, monkeypatch):
    monkeypatch.setattr(imports_apply, "BATCH_SIZE", 2)
    run = upload(account, database, "Email\na@example.com\nb@example.com\nc@example.com\n")
    imports.start_run(account, run.id)
    second_job_ran = []

    def another_job_moves_on(run_id, lines_done):
        if not second_job_ran:
            second_job_ran.append(True)
            db.session.execute(update(ImportRun).where(ImportRun.id == run_id).values(lines_done=lines_done + 1))
            db.session.commit()

    monkeypatch.setattr(imports_apply, "_after_batch", another_job_moves_on)
    assert imports_apply.apply_run(run.id) is None
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 2


# --- the set-based path (PostgreSQL) against the line-by-line planner ---------------------------------------

RICH_FILE = (
    "Email,FirstName,LastName,Score,News,Orders.Number,Orders.Total\n"
    "a@example.com,Ann,,7,yes,1001,9.95\n"
    "b@example.com,Bob,Bos,,no,,\n"
    "c@example.com,,Vos,many,,,\n"
    "D@example.com,Di,,3,,1002,\n"
    "e@example.com,Old,Old,1,,,\n"
    ",Nobody,,,,,\n"
    "f@example.com,Fay,,,maybe,,\n"
    "g@example.com,,,,,,\n"
)


def seed_rich(account, database):
    for values, interests in (
        ({"Email": "a@example.com", "FirstName": "Old", "LastName": "Keep", "Score": 1}, {"News": True}),
        ({"Email": "d@example.com"}, {}),
        ({"Email": "e@example.com", "FirstName": "Old", "LastName": "Old", "Score": 1}, {}),
    ):
        profiles.create_profile(account, database.id, values, origin=Origin("admin"), interests=interests)


def journal(database, run) -> list:
    """The run's events with field and interest names instead of ids, in a stable order."""
    fields = {f.key: f.name for f in database.fields}
    fields.update({f.key: f.name for c in database.collections for f in c.fields})
    names = {"fields": fields, "interests": {str(i.id): i.name for i in database.interests}}
    found = []
    for event in db.session.scalars(select(ProfileEvent).where(ProfileEvent.reference == f"import {run.id}")):
        changes = {
            section: sorted((names[section][key], pair) for key, pair in (event.changes.get(section) or {}).items())
            for section in ("fields", "interests")
            if section in event.changes
        }
        found.append((event.kind, event.source, repr(changes)))
    return sorted(found)


def named_snapshot(database) -> list:
    """``snapshot`` with interest names instead of ids (two databases' ids differ)."""
    names = {i.id: i.name for i in database.interests}
    return sorted((fields, sorted(names[i] for i in interests), subs) for fields, interests, subs in snapshot(database))


def line_errors(run) -> list:
    return [
        (e.line, e.column, e.value, e.reason)
        for e in db.session.scalars(
            select(ImportLineError).where(ImportLineError.run_id == run.id).order_by(ImportLineError.line)
        )
    ]


def rich_database(account, name, *, with_default: bool = False):
    found = make_database(account, name, fields=FIELDS)
    if with_default:
        create_field(account, FieldSpec(name="Origin", type="text", default="shop"), database_id=found.id)
    orders = databases.create_collection(account, found.id, "Orders")
    create_field(account, FieldSpec(name="Number", type="text", required=True), collection_id=orders.id)
    create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=orders.id)
    databases.create_interest(account, found.id, "News")
    seed_rich(account, found)
    return found


def without_column(text: str, name: str) -> str:
    rows = [line.split(",") for line in text.splitlines()]
    index = rows[0].index(name)
    return "".join(",".join(row[:index] + row[index + 1 :]) + "\n" for row in rows)


@pytest.mark.parametrize(
    ("on_match", "on_no_match", "on_empty", "with_default", "with_interests"),
    [
        ("update", "create", "leave", False, True),
        ("update", "create", "leave", False, False),
        ("update", "create", "clear", True, True),
        ("update_empty", "create", "leave", False, True),
        ("skip", "create", "clear", False, False),
        ("update", "ignore", "leave", False, True),
        ("update_empty", "ignore", "clear", True, False),
    ],
)
def test_the_set_based_path_does_what_the_planner_does(
    account, monkeypatch, on_match, on_no_match, on_empty, with_default, with_interests
):
    """Without defaults and interests the new profiles' events come from Python, else from SQL."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    policies = {"on_match": on_match, "on_no_match": on_no_match, "on_empty": on_empty}
    text = RICH_FILE if with_interests else without_column(RICH_FILE, "News")
    by_planner_db = rich_database(account, "ByPlanner", with_default=with_default)
    with monkeypatch.context() as patch:
        patch.setattr(imports_planner.Planner, "bulk_ready", lambda planner: False)
        by_planner = run_import(account, by_planner_db, text, **policies)
    set_based_db = rich_database(account, "SetBased", with_default=with_default)

    def not_line_by_line(planner, rows):
        raise AssertionError("the batch went through the planner")

    monkeypatch.setattr(imports_apply, "plan_rows", not_line_by_line)
    set_based = run_import(account, set_based_db, text, **policies)
    counts = ("status", "created", "updated", "skipped", "rejected", "lines_done")
    assert [getattr(set_based, name) for name in counts] == [getattr(by_planner, name) for name in counts]
    assert named_snapshot(set_based_db) == named_snapshot(by_planner_db)
    assert journal(set_based_db, set_based) == journal(by_planner_db, by_planner)
    assert line_errors(set_based) == line_errors(by_planner)


def test_the_set_based_path_reports_a_lines_errors_as_the_planner_does(account, monkeypatch):
    """The set-based path validates cells in the order of their field keys (what PostgreSQL stores); a line
    with several bad cells still gets its errors in the order the line-by-line path gives them (the mapping's).
    Here the keys run Zeta, Ab and the mapping Ab, Zeta."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    fields = {"Email": {"type": "email", "indexed": True}, "Zeta": "number", "Ab": "number"}
    text = "Email,Zeta,Ab\na@example.com,many,few\nb@example.com,1,2\n"

    def errors(run) -> list:
        return [
            (e.line, e.column, e.value, e.reason)
            for e in db.session.scalars(
                select(ImportLineError).where(ImportLineError.run_id == run.id).order_by(ImportLineError.id)
            )
        ]

    by_planner_db = make_database(account, "ByPlanner", fields=fields)
    with monkeypatch.context() as patch:
        patch.setattr(imports_planner.Planner, "bulk_ready", lambda planner: False)
        by_planner = run_import(account, by_planner_db, text)
    set_based = run_import(account, make_database(account, "SetBased", fields=fields), text)
    assert [column for _line, column, _value, _reason in errors(by_planner)] == ["Ab", "Zeta"]
    assert errors(set_based) == errors(by_planner)


def test_import_events_reach_callbacks_and_follow_ups_unless_they_ignore_imports(account, database):
    from tests.factories import make_followup
    from webapp.callbacks import definitions
    from webapp.models import CallbackDelivery, FollowUpRun

    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))
    every_source = definitions.create_callback(account, database.id, url="http://127.0.0.1:9/hook")
    admin_only = definitions.create_callback(account, database.id, url="http://127.0.0.1:9/hook", sources=["admin"])
    first_name = next(f for f in database.fields if f.name == "FirstName")
    actions = [{"type": "update_fields", "values": {first_name.key: "Welcome"}}]
    welcome = make_followup(account, database, trigger={"kind": "profile_created"}, actions=actions)
    not_imports = make_followup(
        account,
        database,
        name="Not for imports",
        actions=actions,
        trigger={"kind": "profile_created", "exclude_sources": ["import"]},
    )
    run = run_import(account, database, "Email,LastName\na@example.com,Smit\nb@example.com,Bos\nc@example.com,Vos\n")
    assert (run.created, run.updated) == (2, 1)

    def payloads(callback):
        return sorted(
            (d.payload["type"], d.payload["source"])
            for d in db.session.scalars(select(CallbackDelivery).where(CallbackDelivery.callback_id == callback.id))
        )

    def runs(followup):
        return db.session.scalar(
            select(func.count()).select_from(FollowUpRun).where(FollowUpRun.followup_id == followup.id)
        )

    assert payloads(every_source) == [("create", "import"), ("create", "import"), ("update", "import")]
    assert payloads(admin_only) == []
    assert (runs(welcome), runs(not_imports)) == (2, 0)


def test_a_required_field_left_empty_is_decided_by_what_the_line_matches(account):
    database = make_database(account, "Required", fields=FIELDS)
    create_field(account, FieldSpec(name="Code", type="text", required=True), database_id=database.id)
    profiles.create_profile(account, database.id, {"Email": "a@example.com", "Code": "A1"}, origin=Origin("admin"))
    text = "Email,Code,FirstName\na@example.com,,Ann\nb@example.com,,Bob\nc@example.com,C3,Cy\n"
    run = run_import(account, database, text)
    assert (run.created, run.updated, run.rejected) == (1, 1, 1)
    assert value(database, by_email(database, "a@example.com"), "Code") == "A1"
    assert [
        (e.line, e.column) for e in db.session.scalars(select(ImportLineError).where(ImportLineError.run_id == run.id))
    ] == [(3, "Code")]


def test_a_number_over_the_int_digit_limit_rejects_its_line_only(account, database):
    """Over 4,300 digits Python refuses to parse an int (a plain ValueError): that line is rejected, the rest done."""
    text = f"Email,Score\na@example.com,1\nb@example.com,{'9' * 5000}\nc@example.com,3\n"
    run = run_import(account, database, text)
    assert (run.status, run.created, run.rejected) == ("done", 2, 1)
    [error] = db.session.scalars(select(ImportLineError).where(ImportLineError.run_id == run.id))
    assert error.column == "Score" and "30 digits" in error.reason
    assert by_email(database, "b@example.com") is None
