"""Decimal fields in the admin: the decimals option in the field editor, and values shown with their scale on the
profile page, in the list, in the inline editor and in the import preview."""

import io
import json

from sqlalchemy import select

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import Field, ImportRun
from webapp.profiles import profiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin")


def text_of(response) -> str:
    return response.get_data(as_text=True)


def committed_field(database_id: int, name: str) -> Field | None:
    db.session.rollback()
    return db.session.scalar(select(Field).where(Field.database_id == database_id, Field.name == name))


def test_the_field_editor_offers_decimals_and_says_how_values_are_rounded(browser):
    me = browser("admin")
    options = text_of(me.get("/fields/options?type=decimal", htmx=True))
    assert 'name="decimals"' in options and "rounded half up" in options
    database = make_database(me.user.account, fields={})
    response = me.post(
        f"/databases/{database.id}/fields", {"name": "Price", "type": "decimal", "decimals": "2"}, htmx=True
    )
    assert response.status_code == 200 and "2 decimals" in text_of(response)
    assert committed_field(database.id, "Price").options == {"decimals": 2}
    edit = text_of(me.get(f"/fields/{committed_field(database.id, 'Price').id}/edit", htmx=True))
    assert 'name="decimals"' in edit and 'value="2"' in edit


def test_a_bad_decimals_option_is_refused_with_a_clear_error(browser):
    me = browser("admin")
    database = make_database(me.user.account, fields={})
    response = me.post(
        f"/databases/{database.id}/fields", {"name": "Price", "type": "decimal", "decimals": "12"}, htmx=True
    )
    assert "Decimals must be a whole number from 0 to 10." in text_of(response)
    assert committed_field(database.id, "Price") is None


def test_profile_page_list_and_inline_editor_show_the_scale(browser, account):
    database = make_database(
        account,
        fields={"Email": {"type": "email", "indexed": True}, "Total": {"type": "decimal", "options": {"decimals": 2}}},
    )
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com", "Total": "499"}, origin=ADMIN)
    total = next(f for f in database.fields if f.name == "Total")
    me = browser("editor", account)
    page = text_of(me.get(f"/profiles/{profile.id}"))
    assert "499.00" in page and "Rounded half up to 2 digits after the point." in page
    listing = text_of(me.get(f"/databases/{database.id}/profiles"))
    assert "499.00" in listing
    editing = text_of(me.get(f"/profiles/{profile.id}/fields/{total.id}/edit", htmx=True))
    assert 'value="499.00"' in editing, editing
    saved = me.post(f"/profiles/{profile.id}/fields/{total.id}", {f"field-{total.id}": "12.345"}, htmx=True)
    assert "12.35" in text_of(saved) and "toast" in json.loads(saved.headers["HX-Trigger"])
    db.session.expire_all()
    assert profiles.get_profile(account, profile.id).fields[total.key] == 12.35


def test_the_import_preview_shows_the_scale(browser, account, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))
    database = make_database(
        account,
        fields={"Email": {"type": "email", "indexed": True}, "Total": {"type": "decimal", "options": {"decimals": 2}}},
    )
    me = browser("admin", account)
    data = b"Email,Total\nann@example.com,499\n"
    me.post(f"/databases/{database.id}/imports", {"file": (io.BytesIO(data), "people.csv")})
    run = db.session.scalar(select(ImportRun))
    preview = text_of(me.post(f"/imports/runs/{run.id}/preview", htmx=True))
    assert "499.00" in preview
