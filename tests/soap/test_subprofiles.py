"""Collections' subprofiles over SOAP."""

import pytest
from zeep.exceptions import Fault

from tests.factories import make_database
from tests.soap.helpers import as_dict, events, items, pairs, requirements
from webapp.extensions import db
from webapp.models import Subprofile
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin")


@pytest.fixture
def shop(account):
    database = make_database(account, "Customers")
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Product", type="text"), collection_id=orders.id)
    create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=orders.id)
    anna = profiles.create_profile(account, database.id, {"Email": "anna@example.com"}, origin=ADMIN)
    bob = profiles.create_profile(account, database.id, {"Email": "bob@example.com"}, origin=ADMIN)
    return {"database": database, "orders": orders, "anna": anna.id, "bob": bob.id}


def _order(account, shop, who, product, total):
    return subprofiles.create_subprofile(
        account, shop[who], shop["orders"].id, {"Product": product, "Total": total}, origin=ADMIN
    ).id


def test_create_and_list_subprofiles(soap, token, account, shop):
    created = soap.Profile_createSubProfile(
        access_token=token,
        id=shop["anna"],
        collection={"id": shop["orders"].id},
        fields=pairs(Product="Pen", Total="2.50"),
    )
    assert (created.profile, created.collection, len(created.code)) == (shop["anna"], shop["orders"].id, 32)
    assert as_dict(created.fields) == {"Product": "Pen", "Total": "2.5"}
    assert events(shop["anna"])[-1].kind == "subprofile_created" and events(shop["anna"])[-1].source == "soap"
    _order(account, shop, "bob", "Ink", 9)
    page = soap.Profile_subProfiles(
        access_token=token, id=shop["anna"], collection={"id": shop["orders"].id}, allproperties=True
    )
    assert (page.total, [s.id for s in items(page, "subprofile")]) == (1, [created.id])
    with pytest.raises(Fault, match="Total"):
        soap.Profile_createSubProfile(
            access_token=token, id=shop["anna"], collection={"id": shop["orders"].id}, fields=pairs(Total="lots")
        )


def test_search_subprofiles_of_a_profile_and_of_a_collection(soap, token, account, shop):
    pen = _order(account, shop, "anna", "Pen", 2.5)
    book = _order(account, shop, "anna", "Book", 20)
    ink = _order(account, shop, "bob", "Ink", 9)
    page = soap.Profile_searchSubProfiles(
        access_token=token,
        id=shop["anna"],
        collection={"id": shop["orders"].id},
        requirements=requirements(("Total", ">", "5")),
    )
    assert [s.id for s in items(page, "subprofile")] == [book]
    page = soap.Collection_searchSubProfiles(
        access_token=token,
        id=shop["orders"].id,
        requirements=requirements(("Total", "<", "10")),
        order="Total",
        asc=False,
    )
    assert [s.id for s in items(page, "subprofile")] == [ink, pen] and page.total == 2


def test_update_subprofiles(soap, token, account, shop):
    pen = _order(account, shop, "anna", "Pen", 2.5)
    book = _order(account, shop, "anna", "Book", 20)
    updated = soap.Profile_updateSubProfiles(
        access_token=token,
        id=shop["anna"],
        collection={"id": shop["orders"].id},
        requirements=requirements(("Product", "=", "pen")),
        fields=pairs(Total="3"),
    )
    assert updated.total == 1 and [s.id for s in items(updated, "subprofile")] == [pen]
    assert soap.SubProfile_updateFields(access_token=token, id=book, fields=pairs(Product="Atlas")) == 1
    db.session.rollback()
    product, total = (f.key for f in shop["orders"].fields)
    assert db.session.get(Subprofile, pen).fields[total] == 3
    assert db.session.get(Subprofile, book).fields[product] == "Atlas"
    created = soap.Profile_updateSubProfiles(
        access_token=token,
        id=shop["anna"],
        collection={"id": shop["orders"].id},
        requirements=requirements(("Product", "=", "Lamp")),
        fields=pairs(Total="40"),
        create=True,
    )
    assert created.total == 1
    page = soap.Profile_subProfiles(
        access_token=token, id=shop["anna"], collection={"id": shop["orders"].id}, allproperties=True
    )
    assert page.total == 3 and as_dict(items(page, "subprofile")[-1].fields) == {"Product": "Lamp", "Total": "40"}
    assert {e.source for e in events(shop["anna"]) if e.kind.startswith("subprofile")} == {"admin", "soap"}


def test_remove_subprofiles(soap, token, account, shop):
    pen = _order(account, shop, "anna", "Pen", 2.5)
    book = _order(account, shop, "anna", "Book", 20)
    ink = _order(account, shop, "bob", "Ink", 9)
    assert soap.SubProfile_remove(access_token=token, id=pen) == 1
    assert soap.SubProfile_remove(access_token=token, id=pen) is None
    assert (
        soap.Collection_removeSubProfiles(
            access_token=token, id=shop["orders"].id, requirements=requirements(("Product", "=", "ink"))
        )
        == 1
    )
    db.session.rollback()
    assert [s.id for s in db.session.query(Subprofile).order_by(Subprofile.id)] == [book]
    assert events(shop["bob"])[-1].kind == "subprofile_removed"
    assert ink


def test_collection_sub_profile_and_update_across_profiles(soap, token, account, shop):
    pen = _order(account, shop, "anna", "Pen", 2.5)
    bob_pen = _order(account, shop, "bob", "Pen", 1)
    _order(account, shop, "bob", "Book", 20)
    found = soap.Collection_subProfile(access_token=token, id=shop["orders"].id, identifier=str(pen))
    assert (found.id, found.profile, as_dict(found.fields)["Product"]) == (pen, shop["anna"], "Pen")
    assert soap.Collection_subProfile(access_token=token, id=shop["orders"].id, identifier="999999") is None
    updated = soap.Collection_updateSubProfiles(
        access_token=token,
        id=shop["orders"].id,
        requirements=requirements(("Product", "=", "pen")),
        fields=pairs(Total="4"),
    )
    assert (updated.total, sorted(s.id for s in items(updated, "subprofile"))) == (2, sorted([pen, bob_pen]))
    db.session.rollback()
    total = shop["orders"].fields[1].key
    assert [db.session.get(Subprofile, i).fields[total] for i in (pen, bob_pen)] == [4, 4]


def test_move_a_subprofile_to_another_profile(soap, token, account, shop):
    pen = _order(account, shop, "anna", "Pen", 2.5)
    assert soap.SubProfile_moveToProfile(access_token=token, id=pen, profile={"id": shop["bob"]}) == 1
    db.session.rollback()
    assert db.session.get(Subprofile, pen).profile_id == shop["bob"]
    assert [e.kind for e in events(shop["anna"]) if e.subprofile_id == pen][-1] == "subprofile_removed"
    assert [e.kind for e in events(shop["bob"]) if e.subprofile_id == pen] == ["subprofile_created"]
    other = make_database(account, "Other")
    stranger = profiles.create_profile(account, other.id, {"Email": "x@example.com"}, origin=ADMIN)
    with pytest.raises(Fault, match="another database"):
        soap.SubProfile_moveToProfile(access_token=token, id=pen, profile={"id": stranger.id})
    db.session.rollback()
    assert db.session.get(Subprofile, pen).profile_id == shop["bob"]


def test_collection_unsubscribe_applies_the_collections_behaviour(soap, token, account, shop):
    pen = _order(account, shop, "anna", "Pen", 2.5)
    databases.set_unsubscribe_behaviour(
        account, behaviour="remove", field_values={}, interest_values={}, collection_id=shop["orders"].id
    )
    other = databases.create_collection(account, shop["database"].id, "Other")
    assert soap.Collection_unsubscribe(access_token=token, id=other.id, subprofile={"id": pen}) is None
    assert soap.Collection_unsubscribe(access_token=token, id=shop["orders"].id, subprofile={"id": pen}) == 1
    db.session.rollback()
    assert db.session.get(Subprofile, pen) is None
    assert events(shop["anna"])[-1].kind == "unsubscribed"
