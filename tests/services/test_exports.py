"""Exports: every format, delimiters, quoting, gzip, BOM, formula neutralisation, field selection, interests,
collections, account scoping, and a large export streamed in batches."""

import csv
import gzip
import io
import json

import pytest
from sqlalchemy import event

from tests.factories import make_account, make_database
from webapp.exports import files
from webapp.exports.files import ExportOptions, export_collection, export_database
from webapp.extensions import db
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ORIGIN = Origin("admin")
FIELDS = {
    "Email": "email",
    "Name": "text",
    "Notes": "large_text",
    "Score": "number",
    "Phone": "phone",
    "Colours": {"type": "choice", "options": {"choices": ["red", "blue"], "multiple": True}},
}


@pytest.fixture
def database(account):
    found = make_database(account, fields=FIELDS)
    databases.create_interest(account, found.id, "News")
    databases.create_interest(account, found.id, "Offers")
    return found


def body(export) -> bytes:
    return b"".join(export.chunks)


def rows(export, **reader) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(export).decode("utf-8")), **reader))


def add(account, database, values, **interests):
    return profiles.create_profile(account, database.id, values, origin=ORIGIN, interests=interests)


def test_csv_has_ids_timestamps_fields_and_interests_but_never_the_code(account, database):
    profile = add(
        account,
        database,
        {"Email": "ann@example.com", "Name": "Ann", "Score": 7, "Colours": ["red", "blue"]},
        News=True,
    )
    export = export_database(account, database.id, ExportOptions())
    assert export.content_type.startswith("text/csv")
    assert export.filename.startswith("Customers-") and export.filename.endswith(".csv")
    header, line = rows(export)
    assert header == [
        "id",
        "created",
        "modified",
        "Email",
        "Name",
        "Notes",
        "Score",
        "Phone",
        "Colours",
        "News",
        "Offers",
    ]
    assert line[0] == str(profile.id) and line[1] == profile.created_at.strftime("%Y-%m-%d %H:%M:%S")
    assert line[3:] == ["ann@example.com", "Ann", "", "7", "", "red, blue", "yes", "no"]
    assert profile.code.encode() not in body(export_database(account, database.id, ExportOptions(format="jsonl")))
    assert profile.code.encode() not in body(export_database(account, database.id, ExportOptions()))


@pytest.mark.parametrize("name, delimiter", [("comma", ","), ("semicolon", ";"), ("tab", "\t")])
def test_delimiters_and_quoting_of_delimiters_quotes_and_newlines(account, database, name, delimiter):
    notes = 'a, b; c\td "quoted"\nsecond line'
    add(account, database, {"Name": "Ann", "Notes": notes})
    export = export_database(account, database.id, ExportOptions(delimiter=files.DELIMITERS[name]))
    text = body(export).decode()
    assert text.splitlines()[0].startswith(f"id{delimiter}created{delimiter}modified")
    assert '"a, b; c\td ""quoted""\nsecond line"' in text
    header, line = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    assert line[header.index("Notes")] == notes


def test_tsv(account, database):
    add(account, database, {"Name": "Ann", "Notes": "tab\there"})
    export = export_database(account, database.id, ExportOptions(format="tsv"))
    assert export.filename.endswith(".tsv") and export.content_type.startswith("text/tab-separated-values")
    header, line = rows(export, dialect="excel-tab")
    assert header[:4] == ["id", "created", "modified", "Email"]
    assert line[header.index("Notes")] == "tab\there"


def test_json_lines_are_typed_and_never_altered(account, database):
    add(
        account,
        database,
        {"Name": "=SUM(A1)", "Score": 3, "Colours": ["blue"], "Phone": "+31 20 123 4567"},
        Offers=True,
    )
    add(account, database, {"Name": "Bob"})
    export = export_database(account, database.id, ExportOptions(format="jsonl"))
    assert export.filename.endswith(".jsonl") and export.content_type.startswith("application/jsonl")
    lines = body(export).decode().splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["fields"] == {
        "Email": None,
        "Name": "=SUM(A1)",
        "Notes": None,
        "Score": 3,
        "Phone": "+31201234567",
        "Colours": ["blue"],
    }
    assert first["interests"] == {"News": False, "Offers": True}
    assert set(first) == {"id", "created", "modified", "fields", "interests"}
    assert second["fields"]["Name"] == "Bob" and second["id"] > first["id"]


def test_gzip_round_trip(account, database):
    for number in range(30):
        add(account, database, {"Name": f"Person {number}"})
    export = export_database(account, database.id, ExportOptions(gzip=True, format="jsonl"))
    assert export.filename.endswith(".jsonl.gz") and export.content_type == "application/gzip"
    lines = gzip.decompress(body(export)).decode().splitlines()
    assert [json.loads(line)["fields"]["Name"] for line in lines] == [f"Person {n}" for n in range(30)]


def test_bom_for_excel(account, database):
    add(account, database, {"Name": "Zoë"})
    data = body(export_database(account, database.id, ExportOptions(bom=True)))
    assert data.startswith(b"\xef\xbb\xbfid,")
    assert "Zoë" in data.decode("utf-8-sig")
    assert not body(export_database(account, database.id, ExportOptions())).startswith(b"\xef\xbb\xbf")
    assert not body(export_database(account, database.id, ExportOptions(bom=True, format="jsonl"))).startswith(
        b"\xef\xbb\xbf"
    )


@pytest.mark.parametrize("value", ["=1+2", "+cmd", "-2+3", "@SUM(A1)", "=\tx"])
def test_formula_neutralisation_on_by_default_and_off_on_request(account, database, value):
    add(account, database, {"Notes": value})
    header, line = rows(export_database(account, database.id, ExportOptions()))
    assert line[header.index("Notes")] == "'" + value
    header, line = rows(export_database(account, database.id, ExportOptions(protect_formulas=False)))
    assert line[header.index("Notes")] == value


@pytest.mark.parametrize("value", ["\tx", "\rx", "=x", "+x", "-x", "@x"])
def test_cells_starting_with_a_tab_or_carriage_return_are_neutralised_too(value):
    assert files.csv_cell(value, True) == "'" + value
    assert files.csv_cell(value, False) == value


def test_the_csv_writer_writes_every_cell_through_csv_cell_and_streams_what_it_took():
    writer = files.CsvWriter()
    writer.row(["=1+2", None, ["a", "b"], 3])
    assert writer.size > 0
    assert writer.take() == '\'=1+2,,"a, b",3\r\n'
    assert writer.size == 0 and writer.take() == ""
    tsv = files.CsvWriter(tsv=True, protect_formulas=False)
    tsv.row(["=x", "y"])
    assert tsv.take() == "=x\ty\r\n"


def test_formula_neutralisation_leaves_numbers_and_plain_text(account, database):
    add(account, database, {"Notes": "plain = fine", "Score": -5, "Phone": "+31201234567"})
    header, line = rows(export_database(account, database.id, ExportOptions(format="tsv")), dialect="excel-tab")
    assert line[header.index("Notes")] == "plain = fine"
    assert line[header.index("Score")] == "-5"
    assert line[header.index("Phone")] == "'+31201234567"


def test_field_selection_in_the_given_order_without_interests(account, database):
    add(account, database, {"Name": "Ann", "Email": "ann@example.com"}, News=True)
    options = ExportOptions(fields=["name", "Email", "Name"], interests=False)
    header, line = rows(export_database(account, database.id, options))
    assert header == ["id", "created", "modified", "Name", "Email"]
    assert line[3:] == ["Ann", "ann@example.com"]
    record = json.loads(
        body(export_database(account, database.id, ExportOptions(format="jsonl", fields=[], interests=False)))
    )
    assert record["fields"] == {} and "interests" not in record


def test_unknown_fields_and_bad_options_are_refused(account, database):
    with pytest.raises(ValidationError) as error:
        export_database(account, database.id, ExportOptions(fields=["Nope"]))
    assert "fields" in error.value.errors
    with pytest.raises(ValidationError):
        export_database(account, database.id, ExportOptions(format="xlsx"))
    with pytest.raises(ValidationError):
        export_database(account, database.id, ExportOptions(delimiter="|"))


def test_collection_export(account, database):
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Number", type="text"), collection_id=orders.id)
    create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=orders.id)
    other = databases.create_collection(account, database.id, "Pets")
    ann = add(account, database, {"Name": "Ann"})
    bob = add(account, database, {"Name": "Bob"})
    first = subprofiles.create_subprofile(account, ann.id, orders.id, {"Number": "A1", "Total": "9.95"}, origin=ORIGIN)
    second = subprofiles.create_subprofile(account, bob.id, orders.id, {"Number": "-B2"}, origin=ORIGIN)
    subprofiles.create_subprofile(account, bob.id, other.id, {}, origin=ORIGIN)
    export = export_collection(account, orders.id, ExportOptions())
    assert export.filename.startswith("Customers-Orders-")
    header, *lines = rows(export)
    assert header == ["profile_id", "subprofile_id", "created", "modified", "Number", "Total"]
    assert [line[:2] for line in lines] == [[str(ann.id), str(first.id)], [str(bob.id), str(second.id)]]
    assert lines[0][4:] == ["A1", "9.95"] and lines[1][4:] == ["'-B2", ""]
    records = [
        json.loads(line)
        for line in body(
            export_collection(account, orders.id, ExportOptions(format="jsonl", fields=["Total"]))
        ).splitlines()
    ]
    assert records[0] == {
        "profile_id": ann.id,
        "subprofile_id": first.id,
        "created": lines[0][2],
        "modified": lines[0][3],
        "fields": {"Total": 9.95},
    }


def test_other_accounts_objects_are_not_found(account, database):
    orders = databases.create_collection(account, database.id, "Orders")
    add(account, database, {"Name": "Ann"})
    stranger = make_account("Other")
    with pytest.raises(NotFound):
        export_database(stranger, database.id, ExportOptions())
    with pytest.raises(NotFound):
        export_collection(stranger, orders.id, ExportOptions())


def test_large_export_is_streamed_in_batches(account, database, monkeypatch):
    rows_in = [{"Name": f"Person {number}", "Score": number} for number in range(5000)]
    profiles.bulk_create_profiles(account, database.id, rows_in, origin=ORIGIN)
    queries = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM profile" in statement:
            queries.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        export = export_database(account, database.id, ExportOptions(gzip=False))
        queries.clear()
        chunks = export.chunks
        header = next(chunks)
        assert header.startswith(b"id,") and queries == []
        first = next(chunks)
        assert len(queries) == 1 and first.count(b"\r\n") == files.BATCH_SIZE
        rest = list(chunks)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(rest) == 4 and len(queries) == 6  # the sixth finds the end
    assert max(len(chunk) for chunk in [first, *rest]) < len(header + first + b"".join(rest)) / 4
    lines = list(csv.reader(io.StringIO((header + first + b"".join(rest)).decode())))
    assert len(lines) == 5001 and lines[-1][3:5] == ["", "Person 4999"]


def test_large_gzipped_export_yields_many_chunks(account, database, monkeypatch):
    monkeypatch.setattr(files, "BATCH_SIZE", 100)
    profiles.bulk_create_profiles(
        account, database.id, ({"Notes": "x" * 2000 + str(n)} for n in range(1000)), origin=ORIGIN
    )
    chunks = list(export_database(account, database.id, ExportOptions(gzip=True)).chunks)
    assert len(chunks) > 5
    assert len(gzip.decompress(b"".join(chunks)).decode().splitlines()) == 1001
