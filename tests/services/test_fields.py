"""Field definitions: changes migrate stored values or are refused, never corrupt them."""

import pytest
from sqlalchemy import text

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import Profile
from webapp.platform.errors import Conflict, ValidationError
from webapp.profiles import databases, fields, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec

ADMIN = Origin("admin")


def field_named(database, name):
    return next(f for f in database.fields if f.name == name)


def index_names():
    if db.engine.dialect.name == "postgresql":
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'profile'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'profile'"
    return {name for (name,) in db.session.execute(text(sql))}


def test_names_are_checked_and_unique_per_database(account):
    database = make_database(account, fields={"Email": "email"})
    for bad in ("", "1st", "first name", "x" * 65):
        with pytest.raises(ValidationError):
            fields.create_field(account, FieldSpec(name=bad), database_id=database.id)
    with pytest.raises(ValidationError) as error:
        fields.create_field(account, FieldSpec(name="EMAIL"), database_id=database.id)
    assert "already exists" in error.value.errors["name"]


def test_type_options_are_validated(account):
    database = make_database(account, fields={})
    with pytest.raises(ValidationError) as error:
        fields.create_field(account, FieldSpec(name="Colour", type="choice"), database_id=database.id)
    assert "choice" in error.value.errors["choices"]
    with pytest.raises(ValidationError):
        fields.create_field(
            account, FieldSpec(name="Shop", type="reference", options={"database_id": 999}), database_id=database.id
        )
    with pytest.raises(ValidationError) as error:
        fields.create_field(account, FieldSpec(name="Size", type="number", default="big"), database_id=database.id)
    assert "default" in error.value.errors
    field = fields.create_field(
        account,
        FieldSpec(name="Colour", type="choice", options={"choices": "red\nblue\nred\n"}, default="Blue"),
        database_id=database.id,
    )
    assert field.options == {"choices": ["red", "blue"], "multiple": False} and field.default == "blue"


def test_rename_keeps_values(account):
    database = make_database(account, fields={"Name": "text"})
    profile = profiles.create_profile(account, database.id, {"Name": "Ann"}, origin=ADMIN)
    field = field_named(database, "Name")
    fields.update_field(account, field.id, FieldSpec(name="FullName"))
    db.session.refresh(profile)
    assert profile.fields[field.key] == "Ann"


def test_type_change_converts_values_that_fit(account):
    database = make_database(account, fields={"Age": "text"})
    profile = profiles.create_profile(account, database.id, {"Age": "42"}, origin=ADMIN)
    field = field_named(database, "Age")
    fields.update_field(account, field.id, FieldSpec(name="Age", type="number"))
    db.session.refresh(profile)
    assert profile.fields[field.key] == 42


def test_type_change_is_refused_when_a_value_does_not_fit(account):
    database = make_database(account, fields={"Age": "text"})
    profiles.create_profile(account, database.id, {"Age": "42"}, origin=ADMIN)
    odd = profiles.create_profile(account, database.id, {"Age": "forty"}, origin=ADMIN)
    field = field_named(database, "Age")
    with pytest.raises(Conflict) as error:
        fields.update_field(account, field.id, FieldSpec(name="Age", type="number"))
    assert "1 stored values" in error.value.message and f"#{odd.id}" in error.value.message
    db.session.expire_all()
    assert db.session.get(type(field), field.id).type == "text"
    assert db.session.get(Profile, odd.id).fields[field.key] == "forty"


def test_removing_a_choice_in_use_is_refused(account):
    database = make_database(account, fields={"Size": {"type": "choice", "options": {"choices": ["S", "M", "L"]}}})
    profiles.create_profile(account, database.id, {"Size": "L"}, origin=ADMIN)
    field = field_named(database, "Size")
    with pytest.raises(Conflict):
        fields.update_field(account, field.id, FieldSpec(name="Size", type="choice", options={"choices": ["S", "M"]}))


def test_unique_over_duplicates_is_refused(account):
    database = make_database(account, fields={"Email": "email"})
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    profiles.create_profile(account, database.id, {"Email": "A@example.com"}, origin=ADMIN)
    field = field_named(database, "Email")
    with pytest.raises(Conflict) as error:
        fields.update_field(account, field.id, FieldSpec(name="Email", type="email", unique=True))
    assert "a@example.com" in error.value.message
    db.session.expire_all()
    assert not db.session.get(type(field), field.id).unique


def test_required_needs_a_default_to_fill_existing_profiles(account):
    database = make_database(account, fields={"Country": "country"})
    profile = profiles.create_profile(account, database.id, {}, origin=ADMIN)
    field = field_named(database, "Country")
    with pytest.raises(Conflict):
        fields.update_field(account, field.id, FieldSpec(name="Country", type="country", required=True))
    fields.update_field(account, field.id, FieldSpec(name="Country", type="country", required=True, default="nl"))
    db.session.refresh(profile)
    assert profile.fields[field.key] == "NL"


def test_indexed_and_unique_fields_get_expression_indexes(account):
    database = make_database(account, fields={"Email": {"type": "email", "unique": True}, "Name": "text"})
    email, name = field_named(database, "Email"), field_named(database, "Name")
    assert {f"ix_profile_field_{email.id}", f"uq_profile_field_{email.id}"} <= index_names()
    fields.update_field(account, name.id, FieldSpec(name="Name", indexed=True))
    assert f"ix_profile_field_{name.id}" in index_names()
    fields.update_field(account, name.id, FieldSpec(name="Name", indexed=False))
    assert f"ix_profile_field_{name.id}" not in index_names()
    fields.delete_field(account, email.id)
    assert not {f"ix_profile_field_{email.id}", f"uq_profile_field_{email.id}"} & index_names()


def test_delete_removes_values_and_reports_how_many(account):
    database = make_database(account, fields={"Name": "text", "City": "text"})
    profile = profiles.create_profile(account, database.id, {"Name": "Ann", "City": "Delft"}, origin=ADMIN)
    profiles.create_profile(account, database.id, {"City": "Gouda"}, origin=ADMIN)
    name = field_named(database, "Name")
    assert fields.delete_field(account, name.id) == 1
    db.session.refresh(profile)
    assert name.key not in profile.fields and len(profile.fields) == 1


def test_a_field_used_by_the_unsubscribe_behaviour_cannot_be_deleted(account):
    database = make_database(account, fields={"Newsletter": {"type": "choice", "options": {"choices": ["yes", "no"]}}})
    databases.set_unsubscribe_behaviour(
        account, database_id=database.id, behaviour="update", field_values={"Newsletter": "no"}
    )
    with pytest.raises(Conflict):
        fields.delete_field(account, field_named(database, "Newsletter").id)


def test_collection_fields_cannot_be_indexed(account):
    database = make_database(account, fields={})
    orders = databases.create_collection(account, database.id, "Orders")
    with pytest.raises(ValidationError):
        fields.create_field(account, FieldSpec(name="Total", type="decimal", indexed=True), collection_id=orders.id)
    field = fields.create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=orders.id)
    assert field.collection_id == orders.id and field.database_id == database.id


def test_move_field_changes_the_order(account):
    database = make_database(account, fields={"A": "text", "B": "text", "C": "text"})
    fields.move_field(account, field_named(database, "C").id, -1)
    db.session.expire_all()
    assert [f.name for f in databases.get_database(account, database.id).fields] == ["A", "C", "B"]
