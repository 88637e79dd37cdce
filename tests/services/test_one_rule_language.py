"""One rule language for every filter by field values (issue 15): the comparisons of ``profiles.field_conditions``
serve the rule compiler, the evaluator, Copernica's requirement search and callbacks' typed-in conditions, and
each of these means the same by SQL (SQLite here, PostgreSQL in CI) and in Python."""

import pytest
from sqlalchemy import select

from tests.services.test_rules import _check, field, world  # noqa: F401 - world is a fixture
from webapp.callbacks import conditions
from webapp.callbacks.deliveries import condition_values
from webapp.extensions import db
from webapp.models import Profile
from webapp.platform.errors import ValidationError
from webapp.profiles import search
from webapp.rules import tree
from webapp.rules.sql import Compiler

# --- the rule options and operators search brought -------------------------------------------------------------

OPTION_CASES = [
    (("Name", "like", "ann"), {"ann"}),
    (("Name", "like", "%ATH%"), {"cat"}),
    (("Name", "like", "_an%"), {"dan"}),  # wildcards
    (("Name", "not_like", "%a%"), {"bob"}),
    (("Email", "like", "%@example.com"), {"ann", "bob", "cat", "dan"}),
    (("Age", "like", "1%"), {"bob"}),  # a number as the text the database holds
    (("Age", "not_like", "1%"), {"ann", "cat", "dan"}),  # an empty value is not like "1%"
    (("Name", "=", "ann", {"case_sensitive": True}), set()),
    (("Name", "=", "Ann", {"case_sensitive": True}), {"ann"}),
    (("Name", "!=", "Ann", {"case_sensitive": True}), {"bob", "cat", "dan"}),
    (("Name", "<", "B", {"case_sensitive": True}), {"ann"}),  # upper case sorts first, as stored
    (("Name", "like", "c%", {"case_sensitive": True}), {"cat"}),
    (("Name", "like", "C%", {"case_sensitive": True}), set()),
    (("Tags", "=", "a", {"each": True}), {"ann", "dan"}),
    (("Tags", "!=", "a", {"each": True}), {"bob", "cat"}),
    (("Tags", "in", ["c", "b"], {"each": True}), {"ann", "bob"}),
    (("Tags", "not_in", ["a"], {"each": True}), {"bob", "cat"}),
    (("Tags", ">", "b", {"each": True}), {"bob"}),
    (("Tags", "=", "a"), {"dan"}),  # without each: the set of choices
]


@pytest.mark.parametrize("case,expected", OPTION_CASES, ids=[" ".join(map(str, c)) for c, _ in OPTION_CASES])
def test_like_and_the_comparison_options(world, case, expected):  # noqa: F811
    name, operator, value, *options = case
    _check(world, [field(world, name, operator, value, **(options[0] if options else {}))], expected)


def test_options_are_kept_only_where_they_mean_something(world):  # noqa: F811
    fields = {row.id: row for row in world["database"].fields}
    scope = tree.Scope(fields=fields, interest_ids=set())
    ids = world["fields"]
    cleaned = tree.validate(
        {
            "rules": [
                {"field_id": ids["Name"], "operator": "=", "value": "x", "case_sensitive": True, "each": True},
                {"field_id": ids["Age"], "operator": "=", "value": 3, "case_sensitive": True},
                {"field_id": ids["Tags"], "operator": "=", "value": "A", "each": True},
            ]
        },
        scope,
    )
    assert cleaned["rules"] == [
        {"field_id": ids["Name"], "operator": "=", "value": "x", "case_sensitive": True},
        {"field_id": ids["Age"], "operator": "=", "value": 3},
        {"field_id": ids["Tags"], "operator": "=", "value": "a", "each": True},  # one choice, as the field spells it
    ]


# --- search: a requirement means what the rule means --------------------------------------------------------------

SEARCH_CASES = [
    (("Name", "ann", "="), ("Name", "=", "ann")),
    (("Name", "Ann", "=", True), ("Name", "=", "Ann", {"case_sensitive": True})),
    (("Name", "ann", "<>"), ("Name", "!=", "ann")),
    (("Age", "18", ">"), ("Age", ">", 18)),
    (("Age", "", "="), ("Age", "empty", None)),
    (("Email", "%@EXAMPLE.com", "LIKE"), ("Email", "like", "%@EXAMPLE.com")),
    (("Name", "d%", "NOT LIKE"), ("Name", "not_like", "d%")),
    (("Tags", "a", "="), ("Tags", "contains", "a")),
    (("Tags", "a", "!="), ("Tags", "not_contains", "a")),
]


@pytest.mark.parametrize("requirement,rule", SEARCH_CASES, ids=[" ".join(map(str, r)) for r, _ in SEARCH_CASES])
def test_a_requirement_finds_what_its_rule_finds(world, requirement, rule):  # noqa: F811
    account, database = world["account"], world["database"]
    found = search.search_profiles(account, database.id, [search.Requirement(*requirement)])
    name, operator, value, *options = rule
    if operator == "not_contains":  # the rule language says it with "not"
        compiled = {"rules": [{**field(world, name, "contains", value), "not": True}]}
    else:
        compiled = {"rules": [field(world, name, operator, value, **(options[0] if options else {}))]}
    by_rule = db.session.scalars(
        select(Profile.id).where(Profile.database_id == database.id, Compiler(database).where(compiled))
    )
    assert {profile.id for profile in found.items} == set(by_rule)
    assert found.total == len(found.items)


# --- callbacks' typed-in conditions --------------------------------------------------------------------------------

VALUES = {"City": "Delft", "Age": 30, "Phone": None, "Newsletter": True, "Sport": False, "Tags": ["a", "b"], "E": ""}


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('Tags == "a"', True),  # a multiple choice compares choice by choice
        ('Tags != "a"', False),
        ('Tags in ["x", "b"]', True),
        ('Tags not in ["x", "b"]', False),
        ('Tags < "b"', True),
        ("Sport == false", True),  # an interest: false is "not held"
        ("Sport != true", True),
        ("empty(Sport)", True),
        ("Sport", False),
        ('Newsletter == "TRUE"', True),
        ('Newsletter == "yes"', False),
        ('Newsletter contains "ru"', True),  # anything else compares the text "true"
        ('City < "e"', True),  # text compares as text
        ("City == 12", False),
        ("Age == 30 and not not City", True),
        ("false or Age > 29.5", True),
        ("false", False),
        ('E == "x"', False),
        ('E != "x"', True),
        ('Unknown != "x"', True),  # a name without a value compares as empty
        ("empty(Unknown)", True),
    ],
)
def test_more_conditions(ctx, expression, expected):
    assert conditions.matches(expression, VALUES) is expected


def test_a_condition_parses_into_a_rule_tree(ctx):
    assert conditions.parse('City == "Delft" and not (Age < 18 or empty(Email))') == {
        "match": "all",
        "rules": [
            {"name": "City", "operator": "=", "value": "Delft"},
            {
                "match": "any",
                "rules": [{"name": "Age", "operator": "<", "value": 18}, {"name": "Email", "operator": "empty"}],
                "not": True,
            },
        ],
    }
    with pytest.raises(ValidationError):
        conditions.parse("City ==")


@pytest.mark.parametrize(
    "expression",
    [
        'Name == "ann"',
        'Name != "ANN"',
        "Age >= 18",
        "Age < 18 or empty(Age)",
        'Tags == "a"',
        'Tags != "a"',
        'Tags in ["c", "x"]',
        'Tags contains "b"',
        "News",
        "not News and Offers",
        "News == false",
        'Country in ["NL", "DE"] and not empty(Email)',
        'Email contains "@EXAMPLE"',
    ],
)
def test_a_bound_condition_compiles_to_sql_that_finds_what_the_evaluator_finds(world, expression):  # noqa: F811
    """Bound to the database's field and interest ids, a callback's condition is a tree the rule compiler turns
    into SQL (literals of the fields' types), and SQL and the evaluator agree on every profile."""
    database = world["database"]
    ids = {name.lower(): key for name, key in {**world["fields"], **world["interests"]}.items()}
    interests = {name.lower(): True for name in world["interests"]}
    bound = {"rules": [conditions.bind(conditions.parse(expression), lambda name: ids[name.lower()], interests)]}
    by_sql = set(
        db.session.scalars(
            select(Profile.id).where(Profile.database_id == database.id, Compiler(database).where(bound))
        )
    )
    loaded = [db.session.get(Profile, profile.id) for profile in world["people"].values()]
    by_condition = {profile.id for profile in loaded if conditions.matches(expression, condition_values(profile, None))}
    assert by_sql == by_condition, [condition_values(profile, None) for profile in loaded]
