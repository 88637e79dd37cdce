"""Imports as a marketer meets them (issue 19): safe keys and forgiving headers, no duplicated subprofiles, a
remembered mapping, Start refused for files that would import nothing, counts that say what happened, the
re-importable error report and rollback as durable work."""

import csv
import io

import pytest
from sqlalchemy import func, select

from tests.factories import make_database
from webapp.extensions import db
from webapp.imports import apply as imports_apply
from webapp.imports import mapping as imports_mapping
from webapp.imports import rollback as imports_rollback
from webapp.imports import runs as imports
from webapp.models import ImportRun, Profile, ProfileEvent, Subprofile
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


@pytest.fixture
def database(account):
    found = make_database(
        account,
        fields={"Email": {"type": "email", "indexed": True}, "FirstName": "text", "City": "text", "Score": "number"},
    )
    orders = databases.create_collection(account, found.id, "Orders")
    create_field(account, FieldSpec(name="OrderId", type="text"), collection_id=orders.id)
    create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=orders.id)
    databases.create_interest(account, found.id, "Newsletter")
    return found


def upload(account, database, text: str | bytes, name: str = "file.csv"):
    data = text.encode() if isinstance(text, str) else text
    return imports.upload(account, database.id, io.BytesIO(data), name)


def run_file(account, database, text, **start) -> ImportRun:
    run = upload(account, database, text)
    imports.start_run(account, run.id, **start)
    return imports_apply.apply_run(run.id)


def definition(account, run):
    return imports_mapping.get_definition(account, run.definition_id)


def orders(database) -> list[tuple]:
    """(OrderId, Total) of every subprofile of Orders, sorted."""
    db.session.expire_all()
    collection = next(c for c in database.collections if c.name == "Orders")
    keys = {f.name: f.key for f in collection.fields}
    subs = db.session.scalars(select(Subprofile).where(Subprofile.collection_id == collection.id))
    return sorted((sub.fields.get(keys["OrderId"]), sub.fields.get(keys["Total"])) for sub in subs)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- keys and headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["E-mail", "e_mail", "EMAIL", "Email address", "E-mail adres", "Émail"])
def test_headers_match_fields_forgivingly(account, database, header):
    run = upload(account, database, f"{header};Voornaam;first name;Woonplaats\na@example.com;Jan;Jan;Delft\n")
    found = definition(account, run)
    assert found.mapping[header] == "field:Email"
    assert found.mapping["first name"] == "field:FirstName"
    assert found.key_fields == ["Email"]


def test_two_people_with_one_first_name_are_never_merged_by_default(account, database):
    """The key is never a first name: with an email column (however it is written) the email is the key;
    without one there is no key and each line is a profile of its own."""
    with_email = run_file(account, database, "FirstName;E-mail\nJan;jan@one.example\nJan;jan@two.example\n")
    assert (with_email.created, with_email.updated) == (2, 0)
    run = upload(account, database, "FirstName;City\nJan;Delft\nJan;Utrecht\n")
    assert definition(account, run).key_fields == []
    warnings = " ".join(imports.preview(account, run.id).warnings)
    assert "No key fields are chosen" in warnings
    imports.start_run(account, run.id)
    without_email = imports_apply.apply_run(run.id)
    assert (without_email.created, without_email.updated) == (2, 0)
    assert count(Profile) == 4


def test_the_preview_warns_loudly_about_a_key_that_is_not_unique(account, database):
    for _copy in range(2):  # Email is not a unique field: two profiles may share an address
        profiles.create_profile(account, database.id, {"Email": "shared@example.com"}, origin=Origin("admin"))
    run = upload(account, database, "Email,FirstName\nshared@example.com,A\nb@example.com,B\nB@example.com,C\n")
    warnings = imports.preview(account, run.id).warnings
    assert any("not unique in the file: 1 line has the key of an earlier line" in w for w in warnings)
    assert any("1 key (Email) matches several profiles" in w for w in warnings)


def test_preview_and_start_use_and_save_the_settings_given(account, database):
    run = upload(account, database, "mail,born\na@example.com,5\n")
    settings = {
        "mapping": {"mail": "field:Email", "born": "field:Score"},
        "key_fields": ["Email"],
        "on_match": "update",
        "on_no_match": "create",
        "on_empty": "clear",
        "options": {"date_order": "DMY"},
    }
    result = imports.preview(account, run.id, settings)
    assert result.counts["create"] == 1 and result.lines[0].values == {"Email": "a@example.com", "Score": 5}
    saved = definition(account, run)
    assert (saved.mapping["born"], saved.on_empty, saved.options["date_order"]) == ("field:Score", "clear", "DMY")
    imports.start_run(account, run.id, {**settings, "on_empty": "leave"})
    assert definition(account, run).on_empty == "leave"


# --- files that would import nothing ---------------------------------------------------------------------


def test_start_is_refused_for_a_header_only_file(account, database):
    run = upload(account, database, "Email,FirstName\n")
    with pytest.raises(ValidationError, match="no lines"):
        imports.start_run(account, run.id)
    assert imports.get_run(account, run.id).status == "pending"


def test_start_is_refused_when_every_line_would_be_rejected_unless_asked_for(account, database):
    run = upload(account, database, "Email,Score\nnot an address,1\nalso bad,2\n")
    assert "Every line would be rejected" in " ".join(imports.preview(account, run.id).warnings)
    with pytest.raises(ValidationError, match="2 lines would all be rejected"):
        imports.start_run(account, run.id)
    assert imports.get_run(account, run.id).status == "pending"
    imports.start_run(account, run.id, anyway=True)  # to get the error report
    assert imports_apply.apply_run(run.id).rejected == 2


# --- the remembered mapping ------------------------------------------------------------------------------


def test_a_file_with_the_columns_of_a_started_one_takes_its_mapping_key_policies_and_date_order(account, database):
    text = "Klant;Mail;Punten\nJan;a@example.com;3\n"
    first = upload(account, database, text)
    assert definition(account, first).mapping["Mail"] == "ignore"  # nothing like a field name
    settings = {
        "mapping": {"Klant": "field:FirstName", "Mail": "field:Email", "Punten": "field:Score"},
        "key_fields": ["Email"],
        "on_match": "update_empty",
        "on_no_match": "create",
        "on_empty": "clear",
        "options": {"date_order": "DMY", "delimiter": ";"},
    }
    imports.start_run(account, first.id, settings)
    again = definition(account, upload(account, database, text.replace("Jan", "Piet")))
    assert again.mapping == settings["mapping"] and again.key_fields == ["Email"]
    assert (again.on_match, again.on_empty, again.options["date_order"]) == ("update_empty", "clear", "DMY")
    other = definition(account, upload(account, database, "Klant;Mail\nJan;a@example.com\n"))
    assert other.mapping == {"Klant": "ignore", "Mail": "ignore"} and other.key_fields == []


def test_a_pending_upload_is_not_remembered(account, database):
    upload(account, database, "Mail\na@example.com\n")
    found = definition(account, upload(account, database, "Mail\nb@example.com\n"))
    assert found.mapping == {"Mail": "ignore"}


# --- subprofiles -----------------------------------------------------------------------------------------


def test_importing_a_subprofile_file_again_adds_no_subprofile_twice(account, database):
    text = "Email,Orders.OrderId,Orders.Total\na@example.com,1,10\na@example.com,2,20\nb@example.com,3,30\n"
    first = run_file(account, database, text)
    assert (first.created, count(Subprofile)) == (2, 3)
    for _again in range(2):
        preview = imports.preview(account, upload(account, database, text).id)
        assert preview.counts["unchanged"] == 3
        assert any("3 lines hold a subprofile" in warning for warning in preview.warnings)
        run = run_file(account, database, text)
        assert (run.created, run.updated, run.unchanged) == (0, 0, 3)
    assert count(Subprofile) == 3
    changed = run_file(account, database, text + "a@example.com,4,40\na@example.com,4,40\n")
    assert (changed.updated, changed.unchanged, count(Subprofile)) == (1, 4, 4)


def test_a_line_that_changes_nothing_is_unchanged_not_updated(account, database):
    run_file(account, database, "Email,FirstName\na@example.com,Ann\n")
    again = run_file(account, database, "Email,FirstName\na@example.com,Ann\nb@example.com,Bob\n")
    assert (again.created, again.updated, again.unchanged, again.skipped) == (1, 0, 1, 0)


# --- the error report ------------------------------------------------------------------------------------


def test_the_error_report_is_the_rejected_lines_whole_in_the_files_own_dialect(account, database):
    text = (
        "Email;FirstName;City;Score\r\na@example.com;Zoë;Den Haag;1\r\nbad;Renée;Köln;2\r\n"
        'c@example.com;"Multi\r\nline";Zürich;veel\r\nshort;line\r\n'
    )
    run = run_file(account, database, text.encode("cp1252"), anyway=True)
    assert (run.created, run.rejected) == (1, 3)
    report = imports.error_report(account, run.id)
    assert report.encoding == "cp1252"
    data = b"".join(report.parts)
    rows = list(csv.reader(io.StringIO(data.decode("cp1252"), newline=""), delimiter=";"))
    assert rows[0] == ["Email", "FirstName", "City", "Score", "Row", "Reason"]
    assert rows[1][:5] == ["bad", "Renée", "Köln", "2", "3"]  # a multi-line cell is one spreadsheet row
    assert rows[2][:5] == ["c@example.com", "Multi\r\nline", "Zürich", "veel", "4"]
    assert rows[3][:3] == ["short", "line", ""] and rows[3][4] == "5"
    assert rows[1][5].startswith("Email ")
    assert sorted(rows[2][5].split("; ")) == [  # every reason of the line, once
        "FirstName must be a single line (use a large text field for more)",
        "Score must be a whole number",
    ]
    assert "cells, the header has 4" in rows[3][5] and "file:" not in data.decode("cp1252")


def test_the_error_report_of_a_utf8_file_has_a_byte_order_mark(account, database):
    run = run_file(account, database, "Email,City\nbad,Zürich\n", anyway=True)
    report = imports.error_report(account, run.id)
    data = b"".join(report.parts)
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["Email", "City", "Row", "Reason"],
        ["bad", "Zürich", "2", next(iter(imports.error_rows(account, run.id)))[3]],
    ]


def test_line_errors_are_written_in_the_language_of_whoever_started_the_run(account, database):
    run = upload(account, database, "Email,Score\na@example.com,veel\n")
    imports.start_run(account, run.id, anyway=True, locale="nl")
    imports_apply.apply_run(run.id)
    (reason,) = [error[3] for error in imports.error_rows(account, run.id)]
    assert reason.startswith("Score ") and "number" not in reason


# --- rollback as durable work ----------------------------------------------------------------------------


def test_rollback_is_queued_work_with_progress_and_counts_that_agree(account, database, monkeypatch):
    monkeypatch.setattr(imports_rollback, "LOOKUP_CHUNK", 2)
    existing = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))
    text = "Email,FirstName\na@example.com,Ann\nb@example.com,Bob\nc@example.com,Cy\nd@example.com,Di\n"
    run = run_file(account, database, text)
    assert (run.created, run.updated) == (3, 1)
    imports_rollback.request_rollback(account, run.id)
    queued = imports.get_run(account, run.id)
    assert (queued.status, queued.rollback_done) == ("rolling_back", 0)
    assert count(Profile) == 4  # nothing is undone in the request
    imports_rollback.apply_rollback(run.id)
    done = imports.get_run(account, run.id)
    assert (done.status, done.rollback_done, done.rollback_total) == ("rolled_back", 4, 4)
    assert (done.removed, done.restored) == (run.created, run.updated)
    assert [p.id for p in db.session.scalars(select(Profile))] == [existing.id]


def test_a_run_that_changed_nothing_offers_no_rollback(account, database):
    run = run_file(account, database, "Email\nbad\n", anyway=True)
    with pytest.raises(ValidationError, match="nothing to roll back"):
        imports_rollback.request_rollback(account, run.id)


def test_an_interrupted_rollback_goes_on_after_its_last_chunk(account, database, monkeypatch):
    monkeypatch.setattr(imports_rollback, "LOOKUP_CHUNK", 2)
    text = "Email\n" + "".join(f"u{n}@example.com\n" for n in range(5))
    run = run_file(account, database, text)
    imports_rollback.request_rollback(account, run.id)
    original = imports_rollback._Undo.journal
    calls = []

    def dies_in_the_second_chunk(self):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        original(self)

    monkeypatch.setattr(imports_rollback._Undo, "journal", dies_in_the_second_chunk)
    with pytest.raises(RuntimeError):
        imports_rollback.apply_rollback(run.id)
    db.session.rollback()
    halfway = imports.get_run(account, run.id)
    assert (halfway.status, halfway.rollback_done, halfway.removed, count(Profile)) == ("rolling_back", 2, 2, 3)
    monkeypatch.setattr(imports_rollback._Undo, "journal", original)
    imports_rollback.apply_rollback(run.id)
    done = imports.get_run(account, run.id)
    assert (done.status, done.removed, count(Profile)) == ("rolled_back", 5, 0)
    removals = select(func.count()).where(
        ProfileEvent.reference == f"import {run.id} rollback", ProfileEvent.kind == "profile_removed"
    )
    assert db.session.scalar(removals) == 5  # one event per profile: no chunk undone twice


def test_a_collection_key_updates_the_subprofile_it_finds_and_a_rollback_puts_it_back(account, database):
    text = "Email,Orders.OrderId,Orders.Total\na@example.com,A1,10\na@example.com,A2,20\n"
    key = {"key_fields": ["Email", "Orders.OrderId"]}
    settings = {
        "mapping": {
            "Email": "field:Email",
            "Orders.OrderId": "collection:Orders.OrderId",
            "Orders.Total": "collection:Orders.Total",
        },
        "on_match": "update",
        "on_no_match": "create",
        "on_empty": "leave",
        "options": {},
        **key,
    }
    first = upload(account, database, text)
    imports.start_run(account, first.id, settings)
    imports_apply.apply_run(first.id)
    assert count(Subprofile) == 2
    for _again in range(2):  # the remembered mapping keeps the collection key
        again = upload(account, database, text)
        assert definition(account, again).key_fields == ["Email", "Orders.OrderId"]
        imports.start_run(account, again.id)
        run = imports_apply.apply_run(again.id)
        assert (run.created, run.updated, run.unchanged, count(Subprofile)) == (0, 0, 2, 2)
    changed = upload(account, database, "Email,Orders.OrderId,Orders.Total\na@example.com,a1,15\na@example.com,A3,30\n")
    imports.start_run(account, changed.id)
    run = imports_apply.apply_run(changed.id)
    assert (run.updated, count(Subprofile)) == (2, 3)  # A1 (keys compared case-insensitively) changed, A3 added
    assert orders(database) == [("A2", 20), ("A3", 30), ("a1", 15)]  # updated like a profile: as the line has it
    updated_events = select(func.count()).where(
        ProfileEvent.reference == f"import {run.id}", ProfileEvent.kind == "subprofile_updated"
    )
    assert db.session.scalar(updated_events) == 1
    imports_rollback.rollback_run(account, run.id)
    db.session.expire_all()
    assert orders(database) == [("A1", 10), ("A2", 20)]


def test_a_collection_key_must_be_mapped_and_non_empty(account, database):
    run = upload(account, database, "Email,Orders.OrderId,Orders.Total\na@example.com,,10\n")
    settings = {
        "mapping": {"Email": "field:Email", "Orders.OrderId": "ignore", "Orders.Total": "collection:Orders.Total"},
        "key_fields": ["Email", "Orders.OrderId"],
        "on_match": "update",
        "on_no_match": "create",
        "on_empty": "leave",
    }
    with pytest.raises(ValidationError, match="Orders.OrderId must be mapped"):
        imports_mapping.update_definition(account, run.definition_id, **settings)
    settings["mapping"]["Orders.OrderId"] = "collection:Orders.OrderId"
    preview = imports.preview(account, run.id, settings)
    assert preview.counts["reject"] == 1 and "OrderId is empty" in preview.lines[0].errors[0][2]


@pytest.mark.parametrize("set_based", [True, False])
def test_a_repeated_orders_file_never_piles_up_on_either_path(account, database, monkeypatch, set_based):
    if set_based and db.engine.dialect.name != "postgresql":
        pytest.skip("the set-based path is PostgreSQL's")
    from webapp.imports import planner as imports_planner

    if set_based:

        def not_line_by_line(planner, rows):
            raise AssertionError("the batch went through the planner")

        monkeypatch.setattr(imports_apply, "plan_rows", not_line_by_line)
    else:
        monkeypatch.setattr(imports_planner.Planner, "bulk_ready", lambda planner: False)
    text = "Email,Orders.OrderId,Orders.Total\na@example.com,1,10\nb@example.com,2,20\n"
    runs = [run_file(account, database, text) for _time in range(3)]
    assert [(run.created, run.updated, run.unchanged) for run in runs] == [(2, 0, 0), (0, 0, 2), (0, 0, 2)]
    assert orders(database) == [("1", 10), ("2", 20)]
    more = run_file(account, database, "Email,Orders.OrderId,Orders.Total\na@example.com,3,30\nb@example.com,2,20\n")
    assert (more.updated, more.unchanged) == (1, 1)
    assert orders(database) == [("1", 10), ("2", 20), ("3", 30)]
