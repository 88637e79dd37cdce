"""The per-process snapshot of a database's configuration is never used after the change that outdates it."""

import pytest

from tests.factories import make_database
from webapp.callbacks import definitions
from webapp.extensions import db
from webapp.models import Database
from webapp.platform.errors import ValidationError
from webapp.profiles import database_config, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field, delete_field, update_field

SOAP = Origin("soap")


def version(database_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Database, database_id).config_version


def test_a_new_field_is_validated_on_the_next_write(account):
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=SOAP)
    profiles.update_profile(account, profile.id, {"FirstName": "Ann"}, origin=SOAP)  # snapshot built
    before = version(database.id)
    create_field(account, FieldSpec(name="Age", type="number"), database_id=database.id)
    assert version(database.id) > before
    with pytest.raises(ValidationError) as raised:
        profiles.update_profile(account, profile.id, {"Age": "old"}, origin=SOAP)
    assert "Age" in raised.value.errors
    assert profiles.update_profile(account, profile.id, {"Age": "42"}, origin=SOAP).fields


def test_a_changed_or_removed_field_is_seen_on_the_next_write(account):
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=SOAP)
    field = next(f for f in database.fields if f.name == "LastName")
    profiles.update_profile(account, profile.id, {"LastName": "Smith"}, origin=SOAP)
    update_field(account, field.id, FieldSpec(name="Surname", type="text"))
    with pytest.raises(ValidationError):
        profiles.update_profile(account, profile.id, {"LastName": "Jones"}, origin=SOAP)
    profiles.update_profile(account, profile.id, {"Surname": "Jones"}, origin=SOAP)
    delete_field(account, field.id)
    with pytest.raises(ValidationError):
        profiles.update_profile(account, profile.id, {"Surname": "Brown"}, origin=SOAP)


def test_callbacks_raise_the_version_and_are_seen_at_once(account):
    database = make_database(account)
    db.session.expire_all()
    assert not database_config.has_callbacks(db.session.get(Database, database.id), None)
    before = version(database.id)
    definitions.create_callback(account, database.id, url="https://hooks.example.com/in")
    assert version(database.id) > before
    assert database_config.has_callbacks(db.session.get(Database, database.id), None)
    assert not database_config.has_callbacks(db.session.get(Database, database.id), 12345)


def test_a_snapshot_is_rebuilt_only_when_the_version_moves(account):
    database = make_database(account)
    db.session.expire_all()
    loaded = db.session.get(Database, database.id)
    first = database_config.snapshot(loaded)
    assert database_config.snapshot(loaded) is first
    assert {field.name for field in first.fields} == {"Email", "FirstName", "LastName"}
    create_field(account, FieldSpec(name="City", type="text"), database_id=database.id)
    db.session.expire_all()
    assert database_config.snapshot(db.session.get(Database, database.id)) is not first
