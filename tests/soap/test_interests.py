"""Interests over SOAP, and removing fields."""

import pytest
from zeep.exceptions import Fault

from tests.factories import make_database
from tests.soap.helpers import as_dict, events, items, pairs
from webapp.extensions import db
from webapp.models import Field, Interest, Profile
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin")


def test_create_list_update_remove_interests(soap, token, account):
    database = make_database(account, "Customers")
    weekly = soap.Database_createInterest(access_token=token, id=database.id, name="Weekly", group="Mail")
    assert (weekly.name, weekly.groupname) == ("Weekly", "Mail")
    soap.Database_createInterest(access_token=token, id=database.id, name="Sports")
    page = soap.Database_interests(access_token=token, id=database.id)
    assert page.total == 2 and sorted(i.name for i in items(page, "interest")) == ["Sports", "Weekly"]
    with pytest.raises(Fault, match="already exists"):
        soap.Database_createInterest(access_token=token, id=database.id, name="weekly")
    assert soap.Interest_update(access_token=token, id=weekly.id, name="Daily") == 1
    db.session.rollback()
    assert (db.session.get(Interest, weekly.id).name, db.session.get(Interest, weekly.id).group) == ("Daily", "Mail")
    assert soap.Interest_remove(access_token=token, id=weekly.id) == 1
    db.session.rollback()
    assert db.session.get(Interest, weekly.id) is None


def test_profile_interests_read_and_switch(soap, token, account):
    database = make_database(account, "Customers")
    databases.create_interest(account, database.id, "Weekly")
    databases.create_interest(account, database.id, "Sports")
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    assert as_dict(soap.Profile_interests(access_token=token, id=profile.id)) == {"Weekly": "0", "Sports": "0"}
    assert soap.Profile_updateInterests(access_token=token, id=profile.id, interests=pairs(Weekly="yes")) == 1
    assert as_dict(soap.Profile_interests(access_token=token, id=profile.id)) == {"Weekly": "1", "Sports": "0"}
    assert events(profile.id)[-1].source == "soap"
    with pytest.raises(Fault):
        soap.Profile_updateInterests(access_token=token, id=profile.id, interests=pairs(Nope="1"))
    assert as_dict(soap.Profile_interests(access_token=token, id=profile.id)) == {"Weekly": "1", "Sports": "0"}


def test_update_profiles_sets_interests(soap, token, account):
    database = make_database(account, "Customers")
    databases.create_interest(account, database.id, "Weekly")
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    page = soap.Database_updateProfiles(
        access_token=token,
        id=database.id,
        requirements={"requirement": [{"fieldname": "Email", "value": "a@example.com", "operator": "="}]},
        fields=pairs(),
        interests=pairs(Weekly="1"),
        allproperties=True,
    )
    assert page.total == 1 and as_dict(items(page, "profile")[0].interests) == {"Weekly": "1"}
    db.session.rollback()
    assert db.session.get(Profile, profile.id).interests


def test_remove_a_database_field_and_a_collection_field(soap, token, account):
    database = make_database(account, "Customers")
    orders = databases.create_collection(account, database.id, "Orders")
    field = soap.Database_createField(access_token=token, id=database.id, name="Age", type="integer")
    product = soap.Collection_createField(access_token=token, id=orders.id, name="Product")
    assert soap.CollectionField_remove(access_token=token, id=field.id) is None  # not a collection field
    assert soap.Field_remove(access_token=token, id=product.id) is None  # not a database field
    assert soap.Field_remove(access_token=token, id=field.id) == 1
    assert soap.CollectionField_remove(access_token=token, id=product.id) == 1
    db.session.rollback()
    assert db.session.get(Field, field.id) is None and db.session.get(Field, product.id) is None
