"""The profile list's conditions (``rules.list_filter``): rows of the rule language combined with the search, the
same profiles for a list, its count, a bulk action over every match and a saved selection; on SQLite and
PostgreSQL. And a whole address searched as the substring it is."""

import pytest

from tests.factories import make_database
from webapp.bulk import runs as bulk_runs
from webapp.bulk.runs import Picked
from webapp.extensions import db
from webapp.models import BulkRun, Profile
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.lists import Filter, count_profiles, list_profiles
from webapp.rules.list_filter import Condition, ListFilter, operators_for, subjects
from webapp.selections import selections


@pytest.fixture
def shop(account):
    database = make_database(
        account,
        fields={
            "Email": {"type": "email", "indexed": True},
            "City": "text",
            "Score": "number",
            "Born": "date",
            "Secret": {"type": "text", "hidden": True},
        },
    )
    news = databases.create_interest(account, database.id, "News")
    rows = [
        ({"Email": "ann@example.nl", "City": "Utrecht", "Score": 5, "Born": "1980-01-02", "Secret": "x"}, True),
        ({"Email": "bob@example.nl", "City": "Delft", "Score": 12, "Secret": "x"}, False),
        ({"Email": "cas@example.com", "City": "utrecht-oost", "Score": 7}, True),
        ({"Email": "dirk@example.com", "Born": "1990-05-06"}, False),
    ]
    made = [
        profiles.create_profile(account, database.id, values, interests={news.id: held}, origin=Origin("admin"))
        for values, held in rows
    ]
    return database, news, made


def field_id(database, name):
    return next(f.id for f in database.fields if f.name == name)


def matched(account, database, made, where):
    """Which of ``made`` the list shows, as letters; the count must agree."""
    page = list_profiles(account, database.id, where=where, limit=100)
    ids = {p.id for p in page.items}
    assert count_profiles(account, database.id, where=where) == len(ids)
    return "".join("abcd"[i] for i, p in enumerate(made) if p.id in ids)


def rows(database, *conditions):
    return ListFilter(rows=tuple(Condition(f"field:{field_id(database, n)}", op, v) for n, op, v in conditions))


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ((("City", "=", "UTRECHT"),), "a"),
        ((("City", "!=", "utrecht"),), "bcd"),  # an empty value is "not utrecht" too
        ((("City", "contains", "trecht"),), "ac"),
        ((("City", "starts_with", "utrecht-"),), "c"),
        ((("City", "empty", ""),), "d"),
        ((("City", "not_empty", ""),), "abc"),
        ((("Score", ">", "6"),), "bc"),  # as numbers: 12 > 6
        ((("Score", "<", "10"),), "ac"),  # no value never compares
        ((("Born", "<", "1985-01-01"),), "a"),
        ((("Score", ">", "6"), ("City", "contains", "utrecht")), "c"),  # rows are all met
        ((("City", "contains", ""),), "abcd"),  # a row without its value is not applied yet
    ],
)
def test_each_operator_means_what_the_rule_language_means(account, shop, conditions, expected):
    database, _news, made = shop
    assert matched(account, database, made, rows(database, *conditions)) == expected


def test_interests_and_the_search_combine_with_the_rows(account, shop):
    database, news, made = shop
    has, has_not = Condition(f"interest:{news.id}", "has"), Condition(f"interest:{news.id}", "has_not")
    assert matched(account, database, made, ListFilter(rows=(has,))) == "ac"
    assert matched(account, database, made, ListFilter(rows=(has_not,))) == "bd"
    assert matched(account, database, made, ListFilter(query="example.nl", rows=(has,))) == "a"
    city = Condition(f"field:{field_id(database, 'City')}", "contains", "utrecht")
    assert matched(account, database, made, ListFilter(query="example.com", rows=(city, has))) == "c"


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        (("field:Secret", "=", "x"), "not a hidden one"),  # a hidden value is never revealed by a filter
        (("field:999999", "=", "x"), "not a hidden one"),
        (("interest:999999", "has", ""), "no such interest"),
        (("field:Score", "contains", "1"), "operators offered"),
        (("field:Score", ">", "many"), "Score"),
        (("field:Born", "=", "yesterday"), "Born"),
    ],
)
def test_a_bad_row_is_refused_naming_what_is_wrong(account, shop, condition, message):
    database, _news, _made = shop
    subject, operator, value = condition
    if subject.startswith("field:") and not subject[6:].isdigit():
        subject = f"field:{field_id(database, subject[6:])}"
    with pytest.raises(ValidationError) as refused:
        count_profiles(account, database.id, where=ListFilter(rows=(Condition(subject, operator, value),)))
    assert message in str(refused.value.errors)


def test_the_form_offers_operators_by_field_type_and_no_hidden_field(account, shop):
    database, news, _made = shop
    offered = dict(subjects(database))
    assert f"field:{field_id(database, 'Secret')}" not in offered and f"interest:{news.id}" in offered
    assert "contains" in operators_for(database, f"field:{field_id(database, 'City')}")
    assert "<" in operators_for(database, f"field:{field_id(database, 'Score')}")
    assert "contains" not in operators_for(database, f"field:{field_id(database, 'Score')}")
    assert operators_for(database, f"interest:{news.id}") == ("has", "has_not")


def test_every_match_of_a_bulk_action_is_exactly_the_list_and_the_run_stores_the_tree(account, shop):
    database, news, made = shop
    where = ListFilter(query="utrecht", rows=(Condition(f"interest:{news.id}", "has"),))
    assert matched(account, database, made, where) == "ac"
    run = bulk_runs.start(account, database.id, "add_interest", Picked(where=where), params={"interest": news.id})
    stored = db.session.get(BulkRun, run.id).selection
    assert stored["query"] == "utrecht"
    assert stored["rules"] == {"match": "all", "rules": [{"interest_id": news.id, "value": True}]}
    assert run.total == 2  # counted with the stored tree, applied with it
    score = field_id(database, "Score")
    run = bulk_runs.start(
        account,
        database.id,
        "set_field",
        Picked(where=rows(database, ("Score", ">", "6"))),
        params={"field": field_id(database, "City"), "value": "Leiden"},
    )
    assert run.total == 2 and run.changed == 2
    cities = [db.session.get(Profile, p.id).fields.get(str(field_id(database, "City"))) for p in made]
    assert cities == ["Utrecht", "Leiden", "Leiden", None]
    assert db.session.get(BulkRun, run.id).selection["rules"]["rules"] == [
        {"field_id": score, "operator": ">", "value": 6}
    ]


def test_a_run_stored_before_the_conditions_still_reads_its_interest(account, shop):
    database, news, made = shop
    old = Picked.from_json({"query": "", "interest": news.id, "without_interest": True})
    assert matched(account, database, made, old.where) == "bd"


def test_save_as_selection_has_the_members_the_list_shows(account, shop):
    database, news, made = shop
    where = ListFilter(query="UTRECHT", rows=(Condition(f"interest:{news.id}", "has"),))
    saved = selections.save_list_filter(account, database.id, "Utrecht news", where)
    members = selections.members(account, saved.id, length=100)
    assert sorted(p.id for p in members.items) == sorted(
        p.id for p in list_profiles(account, database.id, where=where).items
    )
    assert len(members.items) == 2
    with pytest.raises(ValidationError):
        selections.save_list_filter(account, database.id, "", where)  # a selection needs a name


# --- a whole address is a substring too ------------------------------------------------------------------


def test_a_whole_address_finds_every_value_holding_it(account):
    """The search is a substring search for an address as for anything else (issue #20): an address written
    after other characters, in another field, or in other case is found; an indexed prefix lookup would not."""
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}, "Name": "text"})
    for email, name in [
        ("ann@example.nl", "Ann"),
        ("joann@example.nl", "Jo"),
        ("kees@example.com", "cc ANN@example.nl"),
        ("ann@example.com", "Other"),
    ]:
        profiles.create_profile(account, database.id, {"Email": email, "Name": name}, origin=Origin("admin"))
    assert count_profiles(account, database.id, where=Filter(query="Ann@Example.nl")) == 3
    assert count_profiles(account, database.id, where=Filter(query="ann@example.")) == 4
