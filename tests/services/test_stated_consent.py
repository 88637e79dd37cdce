"""A lawful basis stated by an import (a mapping option): a consent record (purpose, text, basis, source and
reference) for each profile created or changed, written in the batch's transaction by one ``INSERT … SELECT``, on
the set-based and the line-by-line path. (REST: tests/api/test_stated_consent.py; the mapping screen:
tests/web/test_import_consent.py.)"""

import io

import pytest
from sqlalchemy import select

from tests.factories import make_database
from webapp.extensions import db
from webapp.imports import apply as imports_apply
from webapp.imports import mapping as imports_mapping
from webapp.imports import planner as imports_planner
from webapp.imports import runs as imports
from webapp.models import ConsentRecord, ImportDefinition
from webapp.platform.errors import ValidationError
from webapp.profiles import consents, profiles
from webapp.profiles.events import Origin

NEWSLETTER = {"purpose": "newsletter", "text": "Signed up at the fair, 2026", "basis": "consent"}


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


@pytest.fixture
def database(account):
    return make_database(account, fields={"Email": {"type": "email", "indexed": True}, "FirstName": "text"})


def run_import(account, database, text, consent):
    run = imports.upload(account, database.id, io.BytesIO(text.encode()), "people.csv")
    definition = db.session.get(ImportDefinition, run.definition_id)
    imports_mapping.update_definition(
        account,
        definition.id,
        mapping=definition.mapping,
        key_fields=["Email"],
        on_match="update",
        on_no_match="create",
        on_empty="leave",
        options={**(definition.options or {}), "consent": consent},
    )
    imports.start_run(account, run.id)
    return imports_apply.apply_run(run.id)


def records():
    db.session.expire_all()
    return db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.profile_id)).all()


def existing(account, database, address, name):
    return profiles.create_profile(account, database.id, {"Email": address, "FirstName": name}, origin=Origin("admin"))


@pytest.mark.parametrize("set_based", [True, False])
def test_an_import_records_the_basis_for_each_profile_it_creates_or_changes(account, database, monkeypatch, set_based):
    if not set_based:
        monkeypatch.setattr(imports_planner.Planner, "bulk_ready", lambda planner: False)
    changed = existing(account, database, "bo@example.com", "Bo")
    same = existing(account, database, "cy@example.com", "Cy")
    text = "Email,FirstName\nann@example.com,Ann\nbo@example.com,Bob\ncy@example.com,Cy\n"
    run = run_import(account, database, text, NEWSLETTER)
    assert (run.created, run.updated, run.unchanged) == (1, 1, 1)
    found = records()
    made = db.session.scalar(select(ConsentRecord.profile_id).where(ConsentRecord.profile_id.not_in([changed.id])))
    assert [row.profile_id for row in found] == sorted([changed.id, made])
    assert same.id not in [row.profile_id for row in found]  # a line that changed nothing states nothing
    for row in found:
        assert (row.source, row.reference, row.item, row.text, row.basis, row.ip) == (
            "import",
            str(run.id),
            "newsletter",
            "Signed up at the fair, 2026",
            "consent",
            "",
        )
        assert row.account_id == account.id and row.database_id == database.id


def test_an_import_without_the_option_records_nothing(account, database):
    run_import(account, database, "Email\nann@example.com\n", None)
    assert records() == []


def test_records_cover_every_batch_of_a_long_import(account, database, monkeypatch):
    monkeypatch.setattr(imports_apply, "BATCH_SIZE", 2)
    lines = "".join(f"p{number}@example.com\n" for number in range(5))
    run_import(account, database, "Email\n" + lines, {"purpose": "service", "basis": "contract"})
    assert len(records()) == 5 and {row.basis for row in records()} == {"contract"}


def test_a_bad_statement_is_refused_on_the_mapping(account, database):
    with pytest.raises(ValidationError) as raised:
        run_import(account, database, "Email\nann@example.com\n", {"purpose": "news", "basis": "because"})
    assert "legitimate interest" in raised.value.errors["consent"]
    with pytest.raises(ValidationError):
        consents.stated({"purpose": "", "text": "x"})
    with pytest.raises(ValidationError):
        consents.stated({"purpose": "news", "colour": "red"})
    assert consents.stated({"purpose": " news ", "basis": "Legitimate Interest"}) == consents.Stated(
        "news", "", "legitimate interest"
    )
