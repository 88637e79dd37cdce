""" "Create this field" on the import mapping screen: offered for columns that map to nothing, creates the field
(a database field, or a collection field for ``Collection.Field``), and chooses it for the column."""

import io

import pytest
from sqlalchemy import select

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.imports import mapping as imports_mapping
from webapp.imports import new_fields
from webapp.models import Account, Field, ImportRun
from webapp.profiles import databases

CSV = b"Email;First name;Score;Orders.Total\na@example.com;Ann;1;9.95\n"


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


@pytest.fixture
def setting(browser):
    account = make_account("Acme")
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}})
    databases.create_collection(account, database.id, "Orders")
    admin = browser("admin", account)
    admin.post(f"/databases/{database.id}/imports", {"file": (io.BytesIO(CSV), "people.csv")})
    return admin, database, db.session.scalar(select(ImportRun))


def mapping_form(**changes) -> dict:
    return {"column-0": "field:Email", "column-1": "ignore", "column-2": "ignore", "column-3": "ignore", **changes}


def field_named(name: str) -> Field | None:
    return db.session.scalar(select(Field).where(Field.name == name))


def test_columns_without_a_field_offer_to_create_one(setting):
    admin, _database, run = setting
    page = admin.get(f"/imports/runs/{run.id}").get_data(as_text=True)
    assert "Create field First_name" in page and "Create field Score" in page and "Create field Orders.Total" in page
    assert "Create field Email" not in page


def test_htmx_creates_the_field_and_returns_the_rows_with_it_chosen(setting):
    admin, database, run = setting
    data = mapping_form(**{"column-1": "ignore", "create_column": "2", "new-type-2": "number"})
    response = admin.post(f"/imports/runs/{run.id}/fields", data, htmx=True)
    rows = response.get_data(as_text=True)
    assert response.status_code == 200 and rows.lstrip().startswith("<tbody") and "<html" not in rows
    field = field_named("Score")
    assert field.type == "number" and field.database_id == database.id and field.collection_id is None
    assert '<option value="field:Score" selected>' in rows
    assert '<option value="field:Email" selected>' in rows  # the other columns keep what was chosen
    assert "Create field Score" not in rows and "Create field First_name" in rows


def test_a_collection_column_gets_a_collection_field_and_the_mapping_saves(setting):
    admin, _database, run = setting
    admin.post(
        f"/imports/runs/{run.id}/fields", mapping_form(create_column="3", **{"new-type-3": "decimal"}), htmx=True
    )
    field = field_named("Total")
    assert field.collection_id is not None and field.type == "decimal"
    response = admin.post(
        f"/imports/runs/{run.id}/mapping",
        {
            **mapping_form(**{"column-3": "collection:Orders.Total"}),
            "key_fields": "Email",
            "on_match": "update",
            "on_no_match": "create",
            "on_empty": "leave",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    definition = imports_mapping.get_definition(db.session.get(Account, run.account_id), run.definition_id)
    assert definition.mapping["Orders.Total"] == "collection:Orders.Total"


def test_without_javascript_the_whole_page_comes_back_with_the_choice_kept(setting):
    admin, _database, run = setting
    response = admin.post(
        f"/imports/runs/{run.id}/fields",
        mapping_form(**{"column-2": "field:Email", "create_column": "1", "new-type-1": "text"}),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in page
    assert field_named("First_name").type == "text"
    assert '<option value="field:First_name" selected>' in page


def test_a_bad_type_or_a_taken_name_is_shown_on_the_row(setting):
    admin, _database, run = setting
    response = admin.post(
        f"/imports/runs/{run.id}/fields", mapping_form(create_column="2", **{"new-type-2": "choice"}), htmx=True
    )
    assert response.status_code == 422 and "offered field types" in response.get_data(as_text=True)
    assert field_named("Score") is None
    response = admin.post(f"/imports/runs/{run.id}/fields", mapping_form(create_column="9"), htmx=True)
    assert response.status_code == 422


def test_only_admins_create_fields_and_a_csrf_token_is_needed(setting, browser):
    admin, database, run = setting
    editor = browser("editor", db.session.get(Account, database.account_id))
    assert editor.post(f"/imports/runs/{run.id}/fields", mapping_form(create_column="2")).status_code == 403
    assert admin.post(f"/imports/runs/{run.id}/fields", mapping_form(create_column="2"), csrf=False).status_code == 400
    assert field_named("Score") is None


@pytest.mark.parametrize(
    ("text", "name"),
    [("First name", "First_name"), ("2nd phone", "Field_2nd_phone"), ("e-mail (work)", "e_mail_work"), ("Ü", "Field")],
)
def test_column_names_become_field_names(text, name):
    assert new_fields.field_name(text) == name


def test_a_created_field_stays_chosen_after_a_reload(setting):
    """Issue 19: "Create field" maps the column in the definition at once, so a reload keeps it."""
    admin, _database, run = setting
    admin.post(f"/imports/runs/{run.id}/fields", mapping_form(create_column="2", **{"new-type-2": "number"}), htmx=True)
    page = admin.get(f"/imports/runs/{run.id}").get_data(as_text=True)
    assert '<option value="field:Score" selected>' in page


def test_a_column_with_line_breaks_proposes_a_large_text_field(browser):
    account = make_account("Acme")
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}})
    admin = browser("admin", account)
    data = b'Email;Note;City\na@example.com;"first line\nsecond line";Delft\n'
    admin.post(f"/databases/{database.id}/imports", {"file": (io.BytesIO(data), "notes.csv")})
    run = db.session.scalar(select(ImportRun))
    page = admin.get(f"/imports/runs/{run.id}").get_data(as_text=True)
    note = page[page.index('id="new-type-1"') : page.index("</select>", page.index('id="new-type-1"'))]
    city = page[page.index('id="new-type-2"') : page.index("</select>", page.index('id="new-type-2"'))]
    assert '<option value="large_text" selected>' in note and '<option value="text" selected>' in city
