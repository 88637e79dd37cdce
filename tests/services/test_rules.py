"""The one rule language: every rule type compiled to SQL and evaluated for one profile must find the same
profiles, the ones named here (the suite runs on SQLite, and on PostgreSQL in CI, with the same expectations)."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.factories import make_database
from webapp.email import suppression
from webapp.extensions import db
from webapp.models import EmailResult, Mailing, Profile, ProfileEvent, utcnow
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.rules import evaluate, tree
from webapp.rules.sql import Compiler
from webapp.selections import selections

ADMIN = Origin("admin")


@pytest.fixture
def world(account):
    """Four profiles (ann, bob, cat, dan) with fields, interests, orders, email results and a suppression."""
    today = utcnow().date()
    now = utcnow()
    database = make_database(
        account,
        "Customers",
        fields={
            "Email": {"type": "email", "indexed": True},
            "Name": {"type": "text", "indexed": True},
            "Age": {"type": "number", "indexed": True},
            "Score": "decimal",
            "Birth": "date",
            "Joined": "datetime",
            "Country": "country",
            "Tags": {"type": "choice", "options": {"choices": ["a", "b", "c"], "multiple": True}},
            "Status": {"type": "choice", "options": {"choices": ["subscribed", "unsubscribed"]}},
        },
    )
    databases.set_unsubscribe_behaviour(
        account, behaviour="update", field_values={"Status": "unsubscribed"}, database_id=database.id
    )
    news = databases.create_interest(account, database.id, "News")
    offers = databases.create_interest(account, database.id, "Offers")
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Amount", type="decimal"), collection_id=orders.id)
    create_field(account, FieldSpec(name="Date", type="date"), collection_id=orders.id)

    def person(values, interests=()):
        return profiles.create_profile(
            account, database.id, values, origin=ADMIN, interests={name: True for name in interests}
        )

    people = {
        "ann": person(
            {
                "Email": "ann@example.com",
                "Name": "Ann",
                "Age": 30,
                "Score": 1.5,
                "Birth": f"{today.year - 30}-{today:%m-%d}",
                "Joined": (now - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S"),
                "Country": "NL",
                "Tags": ["a", "b"],
                "Status": "subscribed",
            },
            ["News"],
        ),
        "bob": person(
            {
                "Email": "bob@example.com",
                "Name": "Bob",
                "Age": 17,
                "Score": 2,
                "Birth": "1990-01-01" if f"{today:%m-%d}" != "01-01" else "1990-01-02",
                "Joined": (now + timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S"),
                "Country": "BE",
                "Tags": ["c"],
                "Status": "unsubscribed",
            },
            ["News", "Offers"],
        ),
        "cat": person({"Email": "Cat@Example.com", "Name": "catherine"}),
        "dan": person(
            {
                "Email": "dan@example.com",
                "Name": "Dan_%",
                "Age": 45,
                "Score": 10,
                "Country": "NL",
                "Tags": ["a"],
                "Status": "subscribed",
            },
            ["Offers"],
        ),
    }

    def order(name, amount, days_ago):
        day = (today - timedelta(days=days_ago)).isoformat()
        values = {"Amount": amount, "Date": day}
        subprofiles.create_subprofile(account, people[name].id, orders.id, values, origin=ADMIN)

    order("ann", 150, 10)
    order("ann", 20, 100)
    order("bob", 120, 5)
    order("bob", 300, 20)
    order("dan", 99, 1)

    mailings = {number: Mailing(account_id=account.id, database_id=database.id, name=f"M{number}") for number in (1, 2)}
    db.session.add_all(mailings.values())
    db.session.flush()

    def result(name, mailing, days_ago=0, **moments):
        sent = now - timedelta(days=days_ago)
        db.session.add(
            EmailResult(
                account_id=account.id,
                database_id=database.id,
                profile_id=people[name].id,
                mailing_id=mailings[mailing].id,
                sent_at=sent,
                **{key: (sent if value is True else value) for key, value in moments.items()},
            )
        )

    result("ann", 1, 2, opened_at=True, open_count=1, clicked_at=True, click_count=1)
    result("bob", 1)
    result("bob", 2, bounce="hard", bounced_at=True)
    result("dan", 2, 40, opened_at=True, open_count=2)
    result("dan", 1, bounce="soft", bounced_at=True)
    result("cat", 2, complained_at=True)
    suppression.suppress(account.id, "cat@example.com", suppression.Reason.COMPLAINT)
    db.session.execute(update(ProfileEvent).values(created_at=now - timedelta(days=60)))
    db.session.commit()
    profiles.update_profile(account, people["dan"].id, {"Name": "Dan_%!"}, origin=ADMIN)
    fields = {field.name: field.id for field in database.fields}
    fields.update({field.name: field.id for field in orders.fields})
    return {
        "account": account,
        "database": database,
        "people": people,
        "fields": fields,
        "interests": {"News": news.id, "Offers": offers.id},
        "orders": orders.id,
        "mailings": {number: mailing.id for number, mailing in mailings.items()},
    }


def _names(world, ids) -> set[str]:
    by_id = {profile.id: name for name, profile in world["people"].items()}
    return {by_id[i] for i in ids}


def _check(world, rules, expected: set[str], match: str = "all"):
    account, database = world["account"], world["database"]
    cleaned = selections.check_rules(account, database.id, {"match": match, "rules": rules})
    by_sql = db.session.scalars(
        select(Profile.id).where(Profile.database_id == database.id, Compiler(database).where(cleaned))
    )
    assert _names(world, by_sql) == expected, "SQL"
    loaded = {name: db.session.get(Profile, profile.id) for name, profile in world["people"].items()}
    by_python = {name for name, profile in loaded.items() if evaluate.matches(cleaned, profile)}
    assert by_python == expected, "evaluator"


def field(world, name, operator, value=None, **extra):
    return {"field_id": world["fields"][name], "operator": operator, "value": value, **extra}


FIELD_CASES = [
    (("Name", "=", "ANN"), {"ann"}),
    (("Name", "!=", "ann"), {"bob", "cat", "dan"}),
    (("Age", "<", 18), {"bob"}),
    (("Age", ">", 18), {"ann", "dan"}),
    (("Age", "<=", 30), {"ann", "bob"}),
    (("Age", ">=", 45), {"dan"}),
    (("Score", ">", "1.75"), {"bob", "dan"}),  # as numbers: 10 > 2 > 1.75
    (("Name", "contains", "ATH"), {"cat"}),
    (("Name", "contains", "_%"), {"dan"}),  # wildcards are literal
    (("Name", "starts_with", "da"), {"dan"}),
    (("Email", "=", "cat@example.com"), {"cat"}),
    (("Age", "empty"), {"cat"}),
    (("Age", "not_empty"), {"ann", "bob", "dan"}),
    (("Age", "=", None), {"cat"}),
    (("Country", "in", ["nl"]), {"ann", "dan"}),
    (("Country", "not_in", "NL"), {"bob", "cat"}),
    (("Tags", "=", ["b", "a"]), {"ann"}),
    (("Tags", "contains", "A"), {"ann", "dan"}),
    (("Tags", "empty"), {"cat"}),
    (("Birth", "<", "2000-01-01"), {"ann", "bob"}),
]


@pytest.mark.parametrize("case,expected", FIELD_CASES, ids=[" ".join(map(str, c[:2])) for c, _ in FIELD_CASES])
def test_field_conditions(world, case, expected):
    _check(world, [field(world, *case)], expected)


def test_dates_relative_to_today(world):
    _check(world, [field(world, "Birth", "birthday_today")], {"ann"})
    _check(world, [field(world, "Joined", "in_last_days", days=7)], {"ann"})
    _check(world, [field(world, "Joined", "in_next_days", days=7)], {"bob"})
    _check(world, [field(world, "Joined", "in_last_days", days=1)], set())


def test_changed_in_the_last_days_reads_the_journal(world):
    _check(world, [field(world, "Name", "changed_in_last_days", days=7)], {"dan"})
    _check(world, [field(world, "Age", "changed_in_last_days", days=7)], set())
    _check(world, [field(world, "Age", "changed_in_last_days", days=90)], {"ann", "bob", "dan"})


def test_interests_and_subscription(world):
    news = world["interests"]["News"]
    _check(world, [{"interest_id": news, "value": True}], {"ann", "bob"})
    _check(world, [{"interest_id": news, "value": False}], {"cat", "dan"})
    _check(world, [{"subscribed": True}], {"ann", "cat", "dan"})
    _check(world, [{"subscribed": False}], {"bob"})


def test_subprofile_conditions_with_counts(world):
    big_recent = {
        "match": "all",
        "rules": [field(world, "Amount", ">", 100), field(world, "Date", "in_last_days", days=30)],
    }
    orders = world["orders"]
    _check(world, [{"collection_id": orders, "where": big_recent}], {"ann", "bob"})
    _check(world, [{"collection_id": orders, "where": big_recent, "count": [">=", 2]}], {"bob"})
    _check(world, [{"collection_id": orders, "where": big_recent, "count": ["=", 0]}], {"cat", "dan"})
    _check(world, [{"collection_id": orders, "count": ["=", 0]}], {"cat"})
    _check(world, [{"collection_id": orders, "count": ["=", 2]}], {"ann", "bob"})


def test_email_results(world):
    cases = [
        ({"email": "received", "mailing_id": 1}, {"ann", "bob", "dan"}),
        ({"email": "opened", "days": 30}, {"ann"}),
        ({"email": "opened"}, {"ann", "dan"}),
        ({"email": "clicked", "mailing_id": 1}, {"ann"}),
        ({"email": "not_opened", "mailing_id": 1}, {"bob", "dan"}),
        ({"email": "opened", "not": True}, {"bob", "cat"}),
        ({"email": "bounced", "bounce": "hard"}, {"bob"}),
        ({"email": "bounced", "bounce": "soft"}, {"dan"}),
        ({"email": "bounced"}, {"bob", "dan"}),
        ({"email": "complained"}, {"cat"}),
        ({"email": "received", "days": 30, "mailing_id": 2}, {"bob", "cat"}),
    ]
    for rule, expected in cases:
        if "mailing_id" in rule:  # the mailing's number in the world, as its id
            rule = {**rule, "mailing_id": world["mailings"][rule["mailing_id"]]}
        _check(world, [rule], expected)


def test_suppressed_by_the_profiles_address(world):
    _check(world, [{"suppressed": True}], {"cat"})
    _check(world, [{"suppressed": False}], {"ann", "bob", "dan"})


def test_membership_of_another_selection(world):
    adults = selections.create_selection(
        world["account"], world["database"].id, "Adults", rules={"rules": [field(world, "Age", ">", 18)]}
    )
    _check(world, [{"selection_id": adults.id}], {"ann", "dan"})
    _check(world, [{"selection_id": adults.id, "in": False}], {"bob", "cat"})


def test_nested_groups_and_negation(world):
    offers = world["interests"]["Offers"]
    nested = [
        field(world, "Country", "=", "BE"),
        {"match": "all", "rules": [{"interest_id": offers, "value": True}, field(world, "Age", ">=", 45)]},
    ]
    _check(world, nested, {"bob", "dan"}, match="any")
    _check(world, [field(world, "Age", ">", 18, **{"not": True})], {"bob", "cat"})
    _check(world, [], {"ann", "bob", "cat", "dan"})
    negated_group = {"match": "any", "not": True, "rules": nested}
    _check(world, [negated_group], {"ann", "cat"})
    deep = {"match": "all", "rules": []}
    for _level in range(3):
        deep = {"match": "any", "rules": [deep, field(world, "Name", "=", "cat")]}
    _check(world, [deep], {"ann", "bob", "cat", "dan"})


@pytest.mark.parametrize(
    "rules,message",
    [
        ([{"field_id": 999999, "operator": "="}], "Unknown field"),
        ([{"interest_id": 999999}], "Unknown interest"),
        ([{"collection_id": 999999}], "Unknown collection"),
        ([{"email": "teleported"}], "Unknown email result"),
        ([{"selection_id": 999999}], "Unknown selection"),
        ("not a list", "Rules must be a list"),
        (["not a rule"], "A rule must be an object"),
    ],
)
def test_bad_trees_get_clear_errors(world, rules, message):
    from webapp.platform.errors import ValidationError

    with pytest.raises(ValidationError) as error:
        selections.check_rules(world["account"], world["database"].id, {"match": "all", "rules": rules})
    assert message in error.value.errors["rules"]


def test_bad_field_rules_name_the_field(world):
    from webapp.platform.errors import ValidationError

    for rule, message in [
        (field(world, "Name", "birthday_today"), "Name is not a date"),
        (field(world, "Age", "=", "many"), "Age must be a whole number"),
        (field(world, "Age", "~"), "Unknown operator"),
        (field(world, "Joined", "in_last_days", days=-1), "number of days"),
        (field(world, "Amount", ">", 1), "Unknown field"),  # a collection's field, outside a subprofile rule
    ]:
        with pytest.raises(ValidationError) as error:
            selections.check_rules(world["account"], world["database"].id, {"rules": [rule]})
        assert message in error.value.errors["rules"], rule


def test_too_deep_nesting_is_refused(world):
    deep: dict = {"match": "all", "rules": []}
    for _level in range(tree.MAX_DEPTH + 1):
        deep = {"match": "all", "rules": [deep]}
    with pytest.raises(ValueError, match="nested at most"):
        tree.validate(deep, tree.Scope(fields={}, interest_ids=set()))
