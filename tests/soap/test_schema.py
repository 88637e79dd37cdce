"""Databases, fields, collections and unsubscribe values over SOAP."""

import pytest
from zeep.exceptions import Fault

from tests.factories import make_database
from tests.soap.helpers import as_dict, items, pairs
from webapp.extensions import db
from webapp.models import Collection, Database, Field
from webapp.profiles import databases


def test_account_database_by_name_or_id_and_empty_when_missing(soap, token, account):
    database = make_database(account, "Customers")
    by_name = soap.Account_database(access_token=token, identifier="customers")
    assert (by_name.id, by_name.name, by_name.unsubscribebehavior, by_name.countprofiles) == (
        database.id,
        "Customers",
        "update",
        0,
    )
    assert len(by_name.created) == 19
    assert soap.Account_database(access_token=token, identifier=str(database.id)).name == "Customers"
    assert soap.Account_database(access_token=token, identifier="Nope") is None


def test_account_databases_pages(soap, token, account):
    for name in ("Alpha", "Beta", "Gamma"):
        databases.create_database(account, name)
    page = soap.Account_databases(access_token=token, start=1, length=1)
    assert (page.start, page.length, page.total) == (1, 1, 3)
    assert [d.name for d in items(page, "database")] == ["Beta"]
    beyond = soap.Account_databases(access_token=token, start=5, length=10)
    assert (beyond.start, beyond.length, beyond.total, items(beyond, "database")) == (5, 0, 3, [])


def test_create_update_remove_database(soap, token, account):
    created = soap.Account_createDatabase(access_token=token, name="Leads", description="From the shop")
    assert created.name == "Leads" and created.description == "From the shop" and created.archived is False
    assert soap.Database_update(access_token=token, id=created.id, archived=True) == 1
    db.session.rollback()
    stored = db.session.get(Database, created.id)
    assert (stored.name, stored.description, stored.archived) == ("Leads", "From the shop", True)
    assert soap.Database_remove(access_token=token, id=created.id) == 1
    db.session.rollback()
    assert db.session.get(Database, created.id) is None
    assert soap.Database_remove(access_token=token, id=created.id) is None  # not found: empty, no fault


def test_invalid_database_name_is_a_fault_naming_the_field(soap, token, account):
    with pytest.raises(Fault, match="name"):
        soap.Account_createDatabase(access_token=token, name="2024 leads")
    assert databases.list_databases(account) == []


def test_fields_list_and_one_field(soap, token, account):
    database = make_database(account, "Customers")
    page = soap.Database_fields(access_token=token, id=database.id)
    assert [f.name for f in items(page, "field")] == ["Email", "FirstName", "LastName"]
    assert (page.start, page.length, page.total) == (0, 3, 3)
    email = soap.Database_field(access_token=token, id=database.id, identifier="email")
    assert (email.type, email.index, email.ordered, email.displayed, email.specialcontent) == (
        "email",
        True,
        True,
        True,
        "email",
    )
    assert soap.Database_field(access_token=token, id=database.id, identifier="Nope") is None


@pytest.mark.parametrize(
    "wire_type,big,value,ours,wire_back",
    [
        ("integer", None, "7", "number", "integer"),
        ("float", None, None, "decimal", "float"),
        ("text", True, None, "large_text", "text"),
        ("select", None, "red\ngreen", "choice", "select"),
        ("date", None, None, "date", "date"),
        ("email", None, None, "email", "email"),
    ],
)
def test_create_field_maps_copernica_types(soap, token, account, wire_type, big, value, ours, wire_back):
    database = make_database(account, "Customers", fields={})
    created = soap.Database_createField(
        access_token=token, id=database.id, name="Thing", type=wire_type, value=value, big=big, displayed=True
    )
    assert created.type == wire_back
    db.session.rollback()
    field = db.session.get(Field, created.id)
    assert field.type == ours
    if ours == "choice":
        assert field.options["choices"] == ["red", "green"] and created.value == "red\ngreen"
    if ours == "number":
        assert field.default == 7
    if ours == "large_text":
        assert created.big is True


def test_field_update_changes_only_what_is_given(soap, token, account):
    database = make_database(account, "Customers")
    field = next(f for f in database.fields if f.name == "LastName")
    assert soap.Field_update(access_token=token, id=field.id, name="Surname", index=True) == 1
    db.session.rollback()
    stored = db.session.get(Field, field.id)
    assert (stored.name, stored.type, stored.indexed, stored.shown) == ("Surname", "text", True, True)
    with pytest.raises(Fault, match="type"):
        soap.Field_update(access_token=token, id=field.id, type="hologram")


def test_collections(soap, token, account):
    database = make_database(account, "Customers")
    created = soap.Database_createCollection(access_token=token, id=database.id, name="Orders")
    assert (created.name, created.countsubprofiles, created.unsubscribebehavior) == ("Orders", 0, "nothing")
    assert soap.Database_collection(access_token=token, id=database.id, identifier="orders").id == created.id
    page = soap.Database_collections(access_token=token, id=database.id)
    assert [c.name for c in items(page, "collection")] == ["Orders"] and page.total == 1
    field = soap.Collection_createField(access_token=token, id=created.id, name="Total", type="float")
    assert field.type == "float"
    assert soap.Collection_field(access_token=token, id=created.id, identifier="total").id == field.id
    fields_page = soap.Collection_fields(access_token=token, id=created.id)
    assert [f.name for f in items(fields_page, "collectionfield")] == ["Total"]
    assert soap.CollectionField_update(access_token=token, id=field.id, name="Amount") == 1
    db.session.rollback()
    assert db.session.get(Field, field.id).name == "Amount"
    assert soap.Collection_remove(access_token=token, id=created.id) == 1
    db.session.rollback()
    assert db.session.get(Collection, created.id) is None


def test_views_are_an_empty_paged_list(soap, token, account):
    database = make_database(account, "Customers")
    page = soap.Database_views(access_token=token, id=database.id)
    assert (page.start, page.length, page.total, items(page, "view")) == (0, 0, 0, [])


def test_unsubscribe_values(soap, token, account):
    database = make_database(account, "Customers", fields={"Email": "email", "Newsletter": "text"})
    databases.create_interest(account, database.id, "Weekly")
    assert as_dict(soap.Database_unsubscribeValues(access_token=token, id=database.id)) == {}
    assert (
        soap.Database_setUnsubscribeValues(
            access_token=token, id=database.id, fields=pairs(Newsletter="no", Weekly="0")
        )
        == 1
    )
    assert as_dict(soap.Database_unsubscribeValues(access_token=token, id=database.id)) == {
        "Newsletter": "no",
        "Weekly": "0",
    }
    db.session.rollback()
    assert db.session.get(Database, database.id).unsubscribe_behaviour == "update"
    with pytest.raises(Fault, match="Nope"):
        soap.Database_setUnsubscribeValues(access_token=token, id=database.id, fields=pairs(Nope="x"))
    assert soap.Database_setUnsubscribeValues(access_token=token, id=database.id, behavior="remove") == 1
    db.session.rollback()
    assert db.session.get(Database, database.id).unsubscribe_behaviour == "remove"


def test_missing_database_gives_empty_results_not_faults(soap, token, account):
    assert soap.Database_retrieve(access_token=token, id=999) is None
    page = soap.Database_fields(access_token=token, id=999)
    assert (page.start, page.length, page.total, items(page, "field")) == (0, 0, 0, [])
    assert as_dict(soap.Database_unsubscribeValues(access_token=token, id=999)) == {}


def test_create_field_with_index_builds_its_expression_index(soap, token, account):
    database = make_database(account, "Customers", fields={})
    created = soap.Database_createField(access_token=token, id=database.id, name="City", type="text", index=True)
    db.session.rollback()
    assert db.session.get(Field, created.id).indexed
    from tests.conftest import _field_index_names

    with db.engine.connect() as connection:
        assert f"ix_profile_field_{created.id}" in _field_index_names(connection, connection.dialect.name)
