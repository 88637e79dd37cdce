"""Profile writes, reads and searches over SOAP (through the event spine, source "soap")."""

import pytest
from sqlalchemy import func, select
from zeep.exceptions import Fault

from tests.factories import make_database
from tests.soap.helpers import as_dict, events, items, pairs, requirements
from webapp.extensions import db
from webapp.models import ApiToken, Profile
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin")
FIELDS = {
    "Email": {"type": "email", "indexed": True},
    "Name": {"type": "text", "indexed": True},
    "City": "text",
    "Age": "number",
    "Born": "date",
}


@pytest.fixture
def database(account):
    return make_database(account, "Customers", fields=FIELDS)


def _people(account, database):
    rows = [
        {"Email": "anna@example.com", "Name": "Anna", "City": "Utrecht", "Age": 31, "Born": "1993-01-02"},
        {"Email": "bob@example.com", "Name": "bob", "City": "Amsterdam", "Age": 45, "Born": "1979-05-06"},
        {"Email": "carla@example.org", "Name": "Carla", "City": "utrecht", "Age": 27},
        {"Email": "dirk@example.org", "Name": "Dirk", "Age": 9},
    ]
    return [profiles.create_profile(account, database.id, row, origin=ADMIN).id for row in rows]


def _search(soap, token, database, *reqs, **options):
    page = soap.Database_searchProfiles(access_token=token, id=database.id, requirements=requirements(*reqs), **options)
    return page, [p.id for p in items(page, "profile")]


def test_create_profile_returns_the_entity_and_journals_with_source_soap(soap, token, account, database):
    interest = databases.create_interest(account, database.id, "Weekly")
    created = soap.Database_createProfile(
        access_token=token,
        id=database.id,
        fields=pairs(Email="Anna@Example.com", Name="Anna", Age="31"),
        interests=pairs(Weekly="1"),
    )
    assert len(created.code) == 32 and len(created.created) == 19 and created.database == database.id
    # An empty value is an empty element, which zeep decodes as None (PHP as "").
    assert as_dict(created.fields) == {
        "Email": "Anna@example.com",
        "Name": "Anna",
        "City": None,
        "Age": "31",
        "Born": None,
    }
    assert as_dict(created.interests) == {"Weekly": "1"}
    [event] = events(created.id)
    token_id = db.session.scalar(select(ApiToken.id))
    assert (event.kind, event.source, event.actor) == ("profile_created", "soap", f"token:{token_id}")
    assert db.session.get(Profile, created.id).interests == [interest.id]


def test_validation_fault_names_the_field_and_stores_nothing(soap, token, account, database):
    with pytest.raises(Fault, match="Age"):
        soap.Database_createProfile(access_token=token, id=database.id, fields=pairs(Name="Anna", Age="old"))
    with pytest.raises(Fault, match="Nope"):
        soap.Database_createProfile(access_token=token, id=database.id, fields=pairs(Nope="x"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 0


def test_update_fields_and_read_them_back(soap, token, account, database):
    [anna, *_] = _people(account, database)
    assert soap.Profile_updateFields(access_token=token, id=anna, fields=pairs(City="Zwolle", Age="")) == 1
    values = as_dict(soap.Profile_fields(access_token=token, id=anna))
    assert values["City"] == "Zwolle" and values["Age"] is None and values["Email"] == "anna@example.com"
    assert events(anna)[-1].changes["fields"]
    assert events(anna)[-1].source == "soap"
    assert soap.Profile_updateFields(access_token=token, id=99999, fields=pairs(City="x")) is None
    assert as_dict(soap.Profile_fields(access_token=token, id=99999)) == {}


def test_database_profiles_pages_with_and_without_properties(soap, token, account, database):
    ids = _people(account, database)
    page = soap.Database_profiles(access_token=token, id=database.id, start=1, length=2)
    assert (page.start, page.length, page.total) == (1, 2, 4)
    assert [p.id for p in items(page, "profile")] == ids[1:3]
    assert all(p.fields is None for p in items(page, "profile"))
    full = soap.Database_profiles(access_token=token, id=database.id, allproperties=True, length=1)
    assert as_dict(items(full, "profile")[0].fields)["Name"] == "Anna"


@pytest.mark.parametrize(
    "requirement,expected",
    [
        (("Name", "=", "anna"), [0]),  # indexed text: case-insensitive by default
        (("Name", "=", "anna", True), []),  # case-sensitive
        (("Name", "=", "Anna", True), [0]),
        (("City", "=", "UTRECHT"), [0, 2]),  # not indexed
        (("City", "!=", "utrecht"), [1, 3]),  # empty values are "not equal"
        (("City", "=", ""), [3]),  # = empty: profiles without a value
        (("Age", ">", "30"), [0, 1]),
        (("Age", ">=", "31"), [0, 1]),
        (("Age", "<", "27"), [3]),
        (("Age", "<=", "27"), [2, 3]),
        (("Born", "<", "1990-01-01"), [1]),  # empty dates never compare
        (("Email", "LIKE", "%@example.org"), [2, 3]),
        (("Name", "LIKE", "c%"), [2]),
        (("Name", "like", "C%", True), [2]),
        (("Name", "LIKE", "c%", True), []),
        (("City", "<>", "Amsterdam"), [0, 2, 3]),
    ],
)
def test_search_operators(soap, token, account, database, requirement, expected):
    ids = _people(account, database)
    page, found = _search(soap, token, database, requirement)
    assert found == [ids[i] for i in expected]
    assert page.total == len(expected)


def test_search_combines_requirements_skips_unknown_fields_and_defaults_to_equals(soap, token, account, database):
    ids = _people(account, database)
    page = soap.Database_searchProfiles(
        access_token=token,
        id=database.id,
        requirements={
            "requirement": [
                {"fieldname": "City", "value": "utrecht"},
                {"fieldname": "Age", "value": "30", "operator": "<"},
                {"fieldname": "NoSuchField", "value": "x", "operator": "="},
            ]
        },
    )
    assert [p.id for p in items(page, "profile")] == [ids[2]]


def test_search_order_and_paging(soap, token, account, database):
    ids = _people(account, database)
    page, found = _search(soap, token, database, ("Age", ">", "0"), order="Age", asc=False, start=1, length=2)
    assert found == [ids[0], ids[2]] and (page.start, page.length, page.total) == (1, 2, 4)
    _, by_name = _search(soap, token, database, order="Name")
    assert by_name == [ids[0], ids[1], ids[2], ids[3]]


def test_search_faults_on_bad_values_and_operators(soap, token, account, database):
    with pytest.raises(Fault, match="Age"):
        _search(soap, token, database, ("Age", ">", "old"))
    with pytest.raises(Fault, match="operator"):
        _search(soap, token, database, ("Age", "~", "1"))
    with pytest.raises(Fault, match="order"):
        _search(soap, token, database, order="Nope")


def test_update_profiles_by_requirements_and_create(soap, token, account, database):
    ids = _people(account, database)
    updated = soap.Database_updateProfiles(
        access_token=token,
        id=database.id,
        requirements=requirements(("City", "=", "utrecht")),
        fields=pairs(Age="50"),
    )
    # Copernica answers a paged collection of the updated profiles
    assert (updated.start, updated.length, updated.total) == (0, 2, 2)
    assert [p.id for p in items(updated, "profile")] == [ids[0], ids[2]]
    db.session.rollback()
    assert [db.session.get(Profile, i).fields.get(str(_field(database, "Age"))) for i in ids] == [50, 45, 50, 9]
    created = soap.Database_updateProfiles(
        access_token=token,
        id=database.id,
        requirements=requirements(("Email", "=", "new@example.com")),
        fields=pairs(Name="Newbie"),
        create=True,
        allproperties=True,
    )
    assert created.total == 1 and as_dict(items(created, "profile")[0].fields)["Name"] == "Newbie"
    page, found = _search(soap, token, database, ("Email", "=", "NEW@example.com"), allproperties=True)
    assert len(found) == 1 and as_dict(items(page, "profile")[0].fields)["Name"] == "Newbie"
    assert events(found[0])[0].source == "soap"


def test_update_profiles_is_all_or_nothing(soap, token, account, database):
    ids = _people(account, database)
    databases.create_interest(account, database.id, "Weekly")
    with pytest.raises(Fault, match="Age"):
        soap.Database_updateProfiles(
            access_token=token, id=database.id, requirements=requirements(), fields=pairs(City="Delft", Age="old")
        )
    db.session.rollback()
    assert all(db.session.get(Profile, i).fields.get(str(_field(database, "City"))) != "Delft" for i in ids)


def test_remove_profiles_by_ids_and_profile_remove(soap, token, other_token, account, database):
    ids = _people(account, database)
    assert soap.Database_removeProfiles(access_token=token, id=database.id, ids={"item": [ids[0], ids[1], 424242]}) == 1
    assert soap.Profile_remove(access_token=other_token, id=ids[2]) is None  # another account's: not found
    assert soap.Profile_remove(access_token=token, id=ids[2]) == 1
    db.session.rollback()
    assert [i for i in ids if db.session.get(Profile, i)] == [ids[3]]
    assert [e.kind for e in events(ids[0])][-1] == "profile_removed"
    assert events(ids[2])[-1].source == "soap"


def _field(database, name):
    return next(f.id for f in database.fields if f.name == name)


@pytest.mark.parametrize(
    ("value", "held"), [("1", True), ("ja", True), ("anything", True), ("0", False), ("Off", False), ("nee", False)]
)
def test_create_profile_reads_interests_with_the_shared_flag_parser(soap, token, account, database, value, held):
    interest = databases.create_interest(account, database.id, "Weekly")
    created = soap.Database_createProfile(
        access_token=token, id=database.id, fields=pairs(Email="a@example.com"), interests=pairs(Weekly=value)
    )
    assert db.session.get(Profile, created.id).interests == ([interest.id] if held else [])
