"""Profile_move (merging profiles) and callbacks over SOAP."""

import pytest
from zeep.exceptions import Fault

from tests.factories import make_database
from tests.soap.helpers import events, items
from webapp.extensions import db
from webapp.models import Callback, Profile, ProfileAlias, Subprofile
from webapp.profiles import databases, merges, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin")


def test_profile_move_merges_into_the_target(soap, token, account):
    database = make_database(
        account, "Customers", fields={"Email": {"type": "email", "unique": True}, "Name": "text", "City": "text"}
    )
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Product"), collection_id=orders.id)
    weekly = databases.create_interest(account, database.id, "Weekly")
    source = profiles.create_profile(
        account,
        database.id,
        {"Email": "old@example.com", "Name": "Old", "City": "Ede"},
        origin=ADMIN,
        interests={"Weekly": True},
    )
    target = profiles.create_profile(account, database.id, {"Name": "New"}, origin=ADMIN)
    order = subprofiles.create_subprofile(account, source.id, orders.id, {"Product": "Pen"}, origin=ADMIN)
    source_id, target_id, source_code, order_id = source.id, target.id, source.code, order.id
    assert soap.Profile_move(access_token=token, id=source_id, profile={"id": target_id}) == 1
    db.session.rollback()
    assert db.session.get(Profile, source_id) is None
    merged = db.session.get(Profile, target_id)
    by_name = {f.name: f.key for f in database.fields}
    assert merged.fields[by_name["Name"]] == "New"  # the target's values win
    assert merged.fields[by_name["Email"]] == "old@example.com"  # empty ones are filled (unique too)
    assert merged.fields[by_name["City"]] == "Ede"
    assert merged.interests == [weekly.id]
    assert db.session.get(Subprofile, order_id).profile_id == target_id
    kinds = [(e.kind, e.source) for e in events(target_id)]
    assert ("profile_created", "admin") in kinds and ("subprofile_created", "admin") in kinds
    assert kinds[-1] == ("profile_updated", "soap")
    assert events(source_id)[-1].kind == "profile_removed"
    alias = db.session.query(ProfileAlias).one()
    assert (alias.code, alias.old_profile_id, alias.profile_id) == (source_code, source_id, target_id)
    assert merges.profile_for_code(account.id, source_code).id == target_id


def test_profile_move_refusals(soap, token, account):
    one = make_database(account, "One")
    two = make_database(account, "Two")
    a = profiles.create_profile(account, one.id, {"Email": "a@example.com"}, origin=ADMIN).id
    b = profiles.create_profile(account, two.id, {"Email": "b@example.com"}, origin=ADMIN).id
    with pytest.raises(Fault, match="same database"):
        soap.Profile_move(access_token=token, id=a, profile={"id": b})
    with pytest.raises(Fault, match="itself"):
        soap.Profile_move(access_token=token, id=a, profile={"id": a})
    assert soap.Profile_move(access_token=token, id=a, profile={"id": 98765}) is None
    db.session.rollback()
    assert db.session.get(Profile, a) is not None and db.session.query(ProfileAlias).count() == 0


def test_create_and_list_callbacks(soap, token, account):
    database = make_database(account, "Customers")
    created = soap.Database_createCallback(
        access_token=token,
        id=database.id,
        url="https://hooks.example.com/in",
        method="post",
        expression="",
        sources={"item": ["soap", "form"]},
        actions={"item": ["create"]},
    )
    assert (created.url, created.method) == ("https://hooks.example.com/in", "post")
    db.session.rollback()
    stored = db.session.get(Callback, created.id)
    assert (stored.sources, stored.actions, stored.database_id) == (["soap", "form"], ["create"], database.id)
    page = soap.Database_callbacks(access_token=token, id=database.id)
    assert page.total == 1 and [c.id for c in items(page, "callback")] == [created.id]
    with pytest.raises(Fault, match="json or post"):
        soap.Database_createCallback(
            access_token=token, id=database.id, url="https://hooks.example.com/in", method="xml"
        )
