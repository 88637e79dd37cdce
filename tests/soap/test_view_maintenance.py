"""Reading and maintaining selections over SOAP in Copernica's shapes: a view by name, its database, update,
remove, its members page by page, nested views (none), rules updated, removed and their conditions listed; a
collection's miniviews; and another account's ids answered as unknown, changing nothing."""

import pytest
from zeep.exceptions import Fault

from tests.factories import make_database
from tests.soap.helpers import items, requirements
from webapp.exports import targets
from webapp.extensions import db
from webapp.models import Selection
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.selections import selections

ADMIN = Origin("admin")


@pytest.fixture
def people(account):
    database = make_database(account, "Customers", fields={"Email": "email", "City": "text", "Age": "number"})
    databases.create_interest(account, database.id, "News", group="Letters")
    rows = [
        ("ann@example.com", "Delft", 30, True),
        ("bob@example.com", "Delft", 17, False),
        ("cat@example.com", "Gouda", 45, True),
        ("dan@example.com", "Gouda", 20, False),
    ]
    for email, city, age, news in rows:
        profiles.create_profile(
            account, database.id, {"Email": email, "City": city, "Age": age}, origin=ADMIN, interests={"News": news}
        )
    return database


def _emails(page) -> list[str]:
    return [next(p.value for p in profile.fields.pair if p.key == "Email") for profile in items(page, "profile")]


def _view_with_rules(soap, token, database):
    """A view "Delft adults OR News": rule 1 City equals Delft AND Age >= 18, rule 2 has the interest News."""
    view = soap.Database_createView(access_token=token, id=database.id, name="Picked")
    first = soap.View_createRule(access_token=token, id=view.id, name="Delft adults")
    soap.Rule_createCondition(access_token=token, id=first.id, type="Field", field="City", value="Delft")
    soap.Rule_createCondition(
        access_token=token, id=first.id, type="Field", field="Age", comparison="more equals", value="18"
    )
    second = soap.View_createRule(access_token=token, id=view.id, name="Readers")
    soap.Rule_createCondition(access_token=token, id=second.id, type="Interest", value="News")
    return view, first, second


def test_a_view_is_found_by_name_or_id_updated_and_its_members_paged(soap, token, people):
    view, _, _ = _view_with_rules(soap, token, people)
    assert soap.Database_view(access_token=token, id=people.id, identifier="picked").id == view.id
    assert soap.Database_view(access_token=token, id=people.id, identifier=str(view.id)).name == "Picked"
    assert soap.Database_view(access_token=token, id=people.id, identifier="Nothing") is None
    assert soap.View_database(access_token=token, id=view.id).id == people.id
    assert soap.View_update(access_token=token, id=view.id, description="for the newsletter") == 1
    retrieved = soap.View_retrieve(access_token=token, id=view.id)
    assert (retrieved.name, retrieved.description) == ("Picked", "for the newsletter")  # the name stays
    assert soap.View_update(access_token=token, id=view.id, name="Chosen") == 1
    assert soap.View_retrieve(access_token=token, id=view.id).name == "Chosen"
    first = soap.View_profiles(access_token=token, id=view.id, allproperties=True, start=0, length=1)
    assert (_emails(first), first.start, first.length, first.total) == (["ann@example.com"], 0, 1, 2)
    second = soap.View_profiles(access_token=token, id=view.id, allproperties=True, start=1, length=1)
    assert (_emails(second), second.start, second.total) == (["cat@example.com"], 1, 2)
    nested = soap.View_views(access_token=token, id=view.id)
    assert (nested.total, items(nested, "view")) == (0, [])
    other = soap.Database_createView(access_token=token, id=people.id, name="Other")
    with pytest.raises(Fault, match="already has a selection named"):
        soap.View_update(access_token=token, id=other.id, name="chosen")


def test_rules_are_renamed_inversed_removed_and_their_conditions_listed(soap, token, people):
    view, first, second = _view_with_rules(soap, token, people)
    conditions = soap.Rule_conditions(access_token=token, id=first.id)
    assert conditions.total == 2 and items(conditions, "interestcondition") == []
    assert [
        (c.id, c.type, c.field, c.comparison, c.value, c.numericComparison, c.disabled)
        for c in items(conditions, "fieldcondition")
    ] == [(1, "Field", "City", "equals", "Delft", False, False), (2, "Field", "Age", "more equals", "18", True, False)]
    (interest,) = items(soap.Rule_conditions(access_token=token, id=second.id), "interestcondition")
    assert (interest.id, interest.type, interest.interest, interest.interestgroup, interest.value) == (
        1,
        "Interest",
        "News",
        "Letters",
        "1",
    )
    paged = soap.Rule_conditions(access_token=token, id=first.id, start=1, length=1)
    assert (paged.start, paged.length, paged.total) == (1, 1, 2)
    assert [c.field for c in items(paged, "fieldcondition")] == ["Age"]
    # inversed: everyone who is not a Delft adult, or reads News
    assert soap.Rule_update(access_token=token, id=first.id, name="Not Delft adults", inversed=True) == 1
    assert [(r.name, r.inversed) for r in items(soap.View_rules(access_token=token, id=view.id), "rule")] == [
        ("Not Delft adults", True),
        ("Readers", False),
    ]
    assert _emails(soap.View_profiles(access_token=token, id=view.id, allproperties=True)) == [
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
        "dan@example.com",
    ]
    with pytest.raises(Fault, match="no disabled rules"):
        soap.Rule_update(access_token=token, id=second.id, disabled=True)
    # removing the first rule: the readers' rule moves up and takes its id
    assert soap.Rule_remove(access_token=token, id=first.id) == 1
    (left,) = items(soap.View_rules(access_token=token, id=view.id), "rule")
    assert (left.id, left.name) == (first.id, "Readers")
    assert _emails(soap.View_profiles(access_token=token, id=view.id, allproperties=True)) == [
        "ann@example.com",
        "cat@example.com",
    ]
    assert soap.Rule_conditions(access_token=token, id=second.id).total == 0  # no second rule any more


def test_a_view_in_use_cannot_be_removed_and_an_unused_one_can(soap, token, account, people):
    view, _, _ = _view_with_rules(soap, token, people)
    export = targets.create_export(
        account,
        people.id,
        targets.TargetSpec(name="Nightly", target_url="sftp://127.0.0.1/in/", file_name="x.csv", selection_id=view.id),
    )
    with pytest.raises(Fault, match="Nightly"):
        soap.View_remove(access_token=token, id=view.id)
    targets.delete_export(account, export.id)
    assert soap.View_remove(access_token=token, id=view.id) == 1
    assert soap.View_retrieve(access_token=token, id=view.id) is None
    db.session.rollback()
    assert db.session.get(Selection, view.id) is None


def test_a_collections_miniviews_are_listed_created_and_searched(soap, token, account, people):
    orders = databases.create_collection(account, people.id, "Orders")
    create_field(account, FieldSpec(name="Product", type="text"), collection_id=orders.id)
    create_field(account, FieldSpec(name="Size", type="text"), collection_id=orders.id)
    ann = profiles.create_profile(account, people.id, {"Email": "eve@example.com"}, origin=ADMIN)
    for product, size in (("shoe", "42"), ("hat", "L"), ("hat", "M")):
        subprofiles.create_subprofile(account, ann.id, orders.id, {"Product": product, "Size": size}, origin=ADMIN)
    created = soap.Collection_createMiniView(access_token=token, id=orders.id, name="Hats", description="only hats")
    assert (created.name, created.description) == ("Hats", "only hats")
    listed = soap.Collection_miniViews(access_token=token, id=orders.id)
    assert listed.total == 1 and [m.id for m in items(listed, "miniview")] == [created.id]
    assert soap.MiniView_retrieve(access_token=token, id=created.id).name == "Hats"
    # a miniview is no view: not among the database's views, not reachable as one
    assert soap.Database_views(access_token=token, id=people.id).total == 0
    assert soap.View_retrieve(access_token=token, id=created.id) is None
    assert soap.View_profiles(access_token=token, id=created.id).total == 0
    product = next(f.id for f in orders.fields if f.name == "Product")
    selections.update_selection(
        account, created.id, rules={"rules": [{"field_id": product, "operator": "=", "value": "hat"}]}
    )
    found = soap.MiniView_searchSubProfiles(access_token=token, id=created.id, allproperties=True)
    sizes = [next(p.value for p in s.fields.pair if p.key == "Size") for s in items(found, "subprofile")]
    assert (found.total, sizes) == (2, ["L", "M"])
    narrowed = soap.MiniView_searchSubProfiles(
        access_token=token, id=created.id, allproperties=True, requirements=requirements(("Size", "=", "M"))
    )
    assert narrowed.total == 1 and items(narrowed, "subprofile")[0].collection == orders.id


def test_another_accounts_views_rules_and_miniviews_are_unknown_and_unchanged(
    soap, token, other_token, account, people
):
    view, first, _ = _view_with_rules(soap, token, people)
    orders = databases.create_collection(account, people.id, "Orders")
    mini = soap.Collection_createMiniView(access_token=token, id=orders.id, name="All orders")
    assert soap.Database_view(access_token=other_token, id=people.id, identifier="Picked") is None
    assert soap.View_retrieve(access_token=other_token, id=view.id) is None
    assert soap.View_database(access_token=other_token, id=view.id) is None
    assert soap.View_profiles(access_token=other_token, id=view.id).total == 0
    assert soap.View_views(access_token=other_token, id=view.id).total == 0
    conditions = soap.Rule_conditions(access_token=other_token, id=first.id)
    assert (conditions.total, items(conditions, "fieldcondition")) == (0, [])
    assert soap.Collection_miniViews(access_token=other_token, id=orders.id).total == 0
    assert soap.MiniView_retrieve(access_token=other_token, id=mini.id) is None
    assert soap.MiniView_searchSubProfiles(access_token=other_token, id=mini.id).total == 0
    assert soap.Collection_createMiniView(access_token=other_token, id=orders.id, name="Theirs") is None
    assert soap.View_update(access_token=other_token, id=view.id, name="Taken") is None
    assert soap.Rule_update(access_token=other_token, id=first.id, name="Taken", inversed=True) is None
    assert soap.Rule_remove(access_token=other_token, id=first.id) is None
    assert soap.View_remove(access_token=other_token, id=view.id) is None
    # all of it still there, as it was
    assert soap.View_retrieve(access_token=token, id=view.id).name == "Picked"
    assert [(r.name, r.inversed) for r in items(soap.View_rules(access_token=token, id=view.id), "rule")] == [
        ("Delft adults", False),
        ("Readers", False),
    ]
    assert [m.name for m in items(soap.Collection_miniViews(access_token=token, id=orders.id), "miniview")] == [
        "All orders"
    ]
