"""Decimal fields keep their scale: the ``decimals`` option rounds half up on the way in and every door writes
the value with that many digits (``499.00``), while sorting and comparisons stay numeric."""

import csv
import io
import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import make_database
from webapp.blueprints.api import shapes as rest_shapes
from webapp.callbacks.deliveries import build_payload
from webapp.email.templates import TemplateValues, render
from webapp.exports.files import ExportOptions, export_collection, export_database
from webapp.imports import apply as imports_apply
from webapp.imports import runs as imports
from webapp.models import Field, ProfileEvent
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, event_feed, lists, profiles, search, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.field_types import FieldValueError, coerce, format_value
from webapp.profiles.fields import FieldSpec, create_field, update_field
from webapp.soap import shapes as soap_shapes

ORIGIN = Origin("admin")
FIELDS = {
    "Email": {"type": "email", "indexed": True},
    "Total": {"type": "decimal", "options": {"decimals": 2}, "indexed": True},
    "Ratio": "decimal",
}


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


@pytest.fixture
def database(account):
    return make_database(account, fields=FIELDS)


def field(database, name) -> Field:
    return next(f for f in database.fields if f.name == name)


def add(account, database, **values):
    return profiles.create_profile(account, database.id, values, origin=ORIGIN)


@pytest.mark.parametrize(
    "given,decimals,stored",
    [
        ("499.00", 2, 499),
        ("2.345", 2, 2.35),  # half up, not to even
        ("2.325", 2, 2.33),
        ("-2.345", 2, -2.35),
        ("0,5", 0, 1),
        ("1234.56789", 3, 1234.568),
        ("7", 10, 7),
        ("2.345", None, 2.345),  # no option: kept as given
    ],
)
def test_values_are_rounded_half_up_to_the_fields_decimals(given, decimals, stored):
    options = {} if decimals is None else {"decimals": decimals}
    assert coerce("decimal", given, options) == stored


def test_a_very_long_number_is_rounded_without_a_precision_error():
    assert coerce("decimal", "1" * 60 + ".125", {"decimals": 2}) == float("1" * 60 + ".13")


@pytest.mark.parametrize(
    "stored,decimals,written",
    [
        (499, 2, "499.00"),
        (2.5, 2, "2.50"),
        (0.1, 3, "0.100"),
        (-3, 1, "-3.0"),
        (12.5, 0, "13"),
        (1e20, 2, "100000000000000000000.00"),
        (2.5, None, 2.5),
        (None, 2, None),
    ],
)
def test_format_value_writes_the_scale(stored, decimals, written):
    kind = Field(type="decimal", options={} if decimals is None else {"decimals": decimals})
    assert format_value(kind, stored) == written


def test_format_value_leaves_other_types_alone():
    assert format_value(Field(type="number", options={"decimals": 2}), 5) == 5
    assert format_value(Field(type="text", options={}), "499.00") == "499.00"


@pytest.mark.parametrize("decimals", ["11", "-1", "two", "1.5"])
def test_the_decimals_option_is_checked(account, database, decimals):
    with pytest.raises(ValidationError) as raised:
        create_field(
            account, FieldSpec(name="Price", type="decimal", options={"decimals": decimals}), database_id=database.id
        )
    assert "from 0 to 10" in raised.value.errors["decimals"]
    assert not any(f.name == "Price" for f in databases.get_database(account, database.id).fields)


def test_empty_decimals_keep_numbers_as_given(account, database):
    created = create_field(
        account, FieldSpec(name="Price", type="decimal", options={"decimals": ""}), database_id=database.id
    )
    assert created.options == {}


def test_setting_decimals_rounds_the_stored_values(account, database):
    profile = add(account, database, Ratio="2.345")
    ratio = field(database, "Ratio")
    update_field(account, ratio.id, FieldSpec(name="Ratio", type="decimal", options={"decimals": "2"}))
    assert profiles.get_profile(account, profile.id).fields[ratio.key] == 2.35
    assert ratio.options == {"decimals": 2}


def test_sorting_and_conditions_stay_numeric(account, database):
    for total in ("10.00", "9.50", "100"):
        add(account, database, Total=total)
    total = field(database, "Total")
    page = lists.list_profiles(account, database.id, sort=f"field:{total.id}")
    assert [p.fields[total.key] for p in page.items] == [9.5, 10, 100]
    found = search.search_profiles(account, database.id, [search.Requirement("Total", "9.99", ">")])
    assert sorted(p.fields[total.key] for p in found.items) == [10, 100]
    assert len(search.search_profiles(account, database.id, [search.Requirement("Total", "10", "=")]).items) == 1


def test_csv_and_json_lines_exports_keep_the_scale(account, database):
    add(account, database, Email="ann@example.com", Total="499", Ratio="0.5")
    export = export_database(account, database.id, ExportOptions(interests=False))
    rows = list(csv.reader(io.StringIO(b"".join(export.chunks).decode("utf-8"))))
    assert rows[0][3:] == ["Email", "Total", "Ratio"] and rows[1][3:] == ["ann@example.com", "499.00", "0.5"]
    lines = export_database(account, database.id, ExportOptions(format="jsonl", interests=False))
    record = json.loads(b"".join(lines.chunks).decode("utf-8").splitlines()[0])
    assert record["fields"]["Total"] == "499.00" and record["fields"]["Ratio"] == 0.5


def test_collection_exports_keep_the_scale(account, database):
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Amount", type="decimal", options={"decimals": 2}), collection_id=orders.id)
    profile = add(account, database, Email="ann@example.com")
    subprofiles.create_subprofile(account, profile.id, orders.id, {"Amount": "12.5"}, origin=ORIGIN)
    rows = list(
        csv.reader(io.StringIO(b"".join(export_collection(account, orders.id, ExportOptions()).chunks).decode()))
    )
    assert rows[1][-1] == "12.50"


def test_rest_and_soap_write_the_scale(account, database):
    profile = add(account, database, Email="ann@example.com", Total="499")
    assert rest_shapes.profile_fields(profile)["Total"] == "499.00"
    assert soap_shapes.profile_fields(profile)["Total"] == "499.00"
    pairs = {pair.key: pair.value for pair in soap_shapes.profile(profile).fields.pair}
    assert pairs["Total"] == "499.00"


def test_personalisation_prints_the_scale_and_still_compares_as_a_number(account, database):
    profile = add(account, database, Email="ann@example.com", Total="499", Ratio="0.5")
    template = TemplateValues(
        name="t",
        subject="Your total: {{ profile.Total }}",
        text="{% if profile.Total > 100 %}big {{ profile.Total * 2 }}{% endif %} {{ profile.Ratio }}",
        database_id=database.id,
    )
    rendered = render(template, profile)
    assert rendered.subject == "Your total: 499.00"
    assert rendered.text == "big 998.00 0.5"


def test_callback_payloads_and_the_event_feed_write_the_scale(account, database):
    profile = add(account, database, Email="ann@example.com", Total="499")
    profiles.update_profile(account, profile.id, {"Total": "12.5"}, origin=ORIGIN)
    event = profiles.db.session.scalars(
        select(ProfileEvent).where(ProfileEvent.profile_id == profile.id).order_by(ProfileEvent.id.desc())
    ).first()
    payload = build_payload(event, "update", profiles.get_profile(account, profile.id), None)
    assert payload["fields"]["Total"] == "12.50"
    assert payload["changes"]["Total"] == ["499.00", "12.50"]
    assert event_feed.names(account).describe(event)["fields"]["Total"] == ["499.00", "12.50"]


def test_imports_round_the_values_and_the_preview_shows_the_scale(account, database):
    run = imports.upload(
        account, database.id, io.BytesIO(b"Email,Total\nann@example.com,499\nbob@example.com,2.345\n"), "t.csv"
    )
    preview = imports.preview(account, run.id)
    assert [line.values["Total"] for line in preview.lines] == ["499.00", "2.35"]
    imports.start_run(account, run.id)
    imports_apply.apply_run(run.id)
    total = field(database, "Total")
    stored = sorted(p.fields[total.key] for p in search.search_profiles(account, database.id).items)
    assert stored == [2.35, 499]


def test_the_decimal_fast_path_of_imports_is_not_taken_for_a_field_with_decimals(ctx):
    from webapp.imports.cells import CellCoercer

    coercer = CellCoercer(Field(id=1, name="Total", type="decimal", options={"decimals": 1}))
    assert coercer("2.25") == 2.3 and coercer("2.24") == 2.2
    with pytest.raises(FieldValueError):
        coercer("lots")
    assert Decimal(format_value(coercer.field, coercer("5"))) == Decimal("5.0")


def test_the_profile_timeline_shows_changes_with_the_scale(account, database):
    from webapp.profiles import timeline

    profile = add(account, database, Email="ann@example.com", Total="499")
    profiles.update_profile(account, profile.id, {"Total": "12.5", "Ratio": "0.5"}, origin=ORIGIN)
    newest = timeline.events_of_profile(account, profile.id).entries[0]
    changes = {change.name: (change.old, change.new) for change in newest.fields}
    assert changes == {"Total": ("499.00", "12.50"), "Ratio": (None, 0.5)}


def test_follow_up_values_are_filled_in_with_the_scale(account, database):
    from datetime import datetime

    from webapp.followups.actions import RunContext, render_value

    profile = add(account, database, Email="ann@example.com", Total="499")
    context = RunContext(account, None, None, profile, None, datetime(2026, 12, 6, 12, 0))  # type: ignore[arg-type]
    assert render_value("Total {{ profile.Total }}", context) == "Total 499.00"


@pytest.mark.parametrize("given", ["1e300", "-1.7e308", "1e-300"])
def test_extreme_numbers_are_scaled_without_an_error(given):
    stored = coerce("decimal", given, {"decimals": 10})
    written = format_value(Field(type="decimal", options={"decimals": 10}), stored)
    whole, point, fraction = written.partition(".")
    assert point and fraction == "0" * 10 and "e" not in written.lower()
    assert Decimal(written) == (Decimal(str(stored)) if abs(stored) >= 1 else 0)


def test_a_number_beyond_a_float_is_too_large_with_decimals_too():
    with pytest.raises(FieldValueError, match="too large"):
        coerce("decimal", "1e400", {"decimals": 2})
