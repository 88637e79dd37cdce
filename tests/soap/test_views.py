"""Selections over SOAP in Copernica's shapes: views, their rules (OR-ed, maybe inversed) and conditions
(AND-ed), and a view's members searched by requirements."""

import pytest
from zeep.exceptions import Fault

from tests.factories import make_database
from tests.soap.helpers import items, requirements
from webapp.extensions import db
from webapp.models import Selection
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.selections import selections

ADMIN = Origin("admin")


@pytest.fixture
def people(account):
    database = make_database(account, "Customers", fields={"Email": "email", "City": "text", "Age": "number"})
    databases.create_interest(account, database.id, "News")
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


def test_a_view_built_from_rules_and_conditions_selects_its_members(soap, token, account, people):
    view = soap.Database_createView(access_token=token, id=people.id, name="Delft adults", description="rules")
    assert (view.name, view.description) == ("Delft adults", "rules")
    listed = soap.Database_views(access_token=token, id=people.id)
    assert listed.total == 1 and items(listed, "view")[0].id == view.id
    first = soap.View_createRule(access_token=token, id=view.id, name="Adults in Delft")
    assert (
        soap.Rule_createCondition(
            access_token=token, id=first.id, type="Field", field="City", comparison="equals", value="delft"
        )
        == 1
    )
    assert (
        soap.Rule_createCondition(
            access_token=token, id=first.id, type="Field", field="Age", comparison="more equals", value="18"
        )
        == 2
    )
    page = soap.View_searchProfiles(access_token=token, id=view.id, allproperties=True, start=0, length=10)
    assert _emails(page) == ["ann@example.com"] and page.total == 1
    # a second rule is OR-ed: subscribers to News
    second = soap.View_createRule(access_token=token, id=view.id, name="News readers")
    soap.Rule_createCondition(access_token=token, id=second.id, type="Interest", value="News")
    assert _emails(soap.View_searchProfiles(access_token=token, id=view.id, allproperties=True)) == [
        "ann@example.com",
        "cat@example.com",
    ]
    rules = soap.View_rules(access_token=token, id=view.id)
    assert [(r.name, r.view, r.inversed) for r in items(rules, "rule")] == [
        ("Adults in Delft", view.id, False),
        ("News readers", view.id, False),
    ]
    # searched within the view by requirements
    within = soap.View_searchProfiles(
        access_token=token, id=view.id, allproperties=True, requirements=requirements(("City", "=", "Gouda"))
    )
    assert _emails(within) == ["cat@example.com"]


def test_an_inversed_rule_selects_who_fails_its_conditions(soap, token, account, people):
    view = soap.Database_createView(access_token=token, id=people.id, name="Not in Delft")
    rule = soap.View_createRule(access_token=token, id=view.id, name="Delft", inversed=True)
    soap.Rule_createCondition(
        access_token=token, id=rule.id, type="Field", field="City", comparison="equals", value="Delft"
    )
    assert _emails(soap.View_searchProfiles(access_token=token, id=view.id, allproperties=True)) == [
        "cat@example.com",
        "dan@example.com",
    ]
    assert items(soap.View_rules(access_token=token, id=view.id), "rule")[0].inversed is True


def test_bad_conditions_are_faults_and_change_nothing(soap, token, account, people):
    view = soap.Database_createView(access_token=token, id=people.id, name="V")
    rule = soap.View_createRule(access_token=token, id=view.id, name="R")
    for arguments, message in [
        ({"type": "Field", "field": "Shoe", "comparison": "equals", "value": "1"}, "no field named Shoe"),
        ({"type": "Field", "field": "Age", "comparison": "sounds like", "value": "1"}, "Unknown comparison"),
        ({"type": "Field", "field": "Age", "comparison": "more", "value": "old"}, "Age must be a whole number"),
        ({"type": "Survey", "value": "x"}, "not supported"),
    ]:
        with pytest.raises(Fault, match=message):
            soap.Rule_createCondition(access_token=token, id=rule.id, **arguments)
    db.session.rollback()
    stored = db.session.get(Selection, view.id)
    assert stored.rules["rules"][0]["rules"] == []
    with pytest.raises(Fault, match="already has a selection named"):
        soap.Database_createView(access_token=token, id=people.id, name="v")


def test_a_view_made_in_the_admin_shows_as_one_rule_and_unknown_ids_are_empty(
    soap, token, account, people, other_token
):
    age = next(f.id for f in people.fields if f.name == "Age")
    made = selections.create_selection(
        account, people.id, "Young", rules={"rules": [{"field_id": age, "operator": "<", "value": 25}]}
    )
    listed = items(soap.View_rules(access_token=token, id=made.id), "rule")
    assert [(r.id, r.name) for r in listed] == [(made.id * 1000 + 1, "Rule 1")]
    assert _emails(soap.View_searchProfiles(access_token=token, id=made.id, allproperties=True)) == [
        "bob@example.com",
        "dan@example.com",
    ]
    other = soap.View_searchProfiles(access_token=other_token, id=made.id, allproperties=True)
    assert (other.total, items(other, "profile")) == (0, [])
    assert items(soap.View_rules(access_token=other_token, id=made.id), "rule") == []
    assert soap.Database_views(access_token=other_token, id=people.id).total == 0
