"""The import mapping screen's lawful basis: purpose, text and basis saved with the mapping and shown again, and
the records the import writes on the profile page."""

import io

import pytest
from sqlalchemy import select

from tests.factories import make_database
from webapp.extensions import db
from webapp.imports import apply as imports_apply
from webapp.imports import runs as imports
from webapp.models import ImportDefinition, Profile


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


def test_the_admin_mapping_screen_saves_the_statement(browser, account):
    admin = browser("admin", account)
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}})
    run = imports.upload(account, database.id, io.BytesIO(b"Email\nann@example.com\n"), "people.csv")
    form = {"column-0": "field:Email", "key_fields": "Email", "on_match": "update", "on_no_match": "create"}
    form |= {"on_empty": "leave", "consent_purpose": "newsletter", "consent_text": "At the fair"}
    form |= {"consent_basis": "legitimate interest"}
    assert admin.post(f"/imports/runs/{run.id}/mapping", form).status_code in (200, 303)
    db.session.expire_all()
    definition = db.session.get(ImportDefinition, run.definition_id)
    assert definition.options["consent"] == {
        "purpose": "newsletter",
        "text": "At the fair",
        "basis": "legitimate interest",
    }
    page = admin.get(f"/imports/runs/{run.id}").get_data(as_text=True)
    assert 'value="newsletter"' in page and '<option value="legitimate interest" selected>' in page

    imports.start_run(account, run.id)
    imports_apply.apply_run(run.id)
    [profile] = db.session.scalars(select(Profile).where(Profile.database_id == database.id))
    section = admin.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert f"import #{run.id}" in section and '<span class="badge">newsletter</span>' in section
    assert "(legitimate interest)" in section and "At the fair" in section
