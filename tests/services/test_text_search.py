"""Substring search across a database's text fields, and the interest filter, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import select

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import Profile
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, profiles, text_search
from webapp.profiles.events import Origin
from webapp.profiles.field_expressions import dialect_name
from webapp.profiles.lists import Filter, count_profiles, list_profiles


@pytest.fixture
def database(account):
    database = make_database(
        account,
        fields={
            "Email": {"type": "email", "indexed": True},
            "Name": "text",
            "Notes": {"type": "text", "shown": False},
            "Score": "number",
        },
    )
    news = databases.create_interest(account, database.id, "News")
    rows = [
        ({"Email": "kees@example.nl", "Name": "Kees", "Score": 1}, [news.id]),
        ({"Email": "anna@voorbeeld.nl", "Name": "Anna de Vries", "Notes": "met via example.nl"}, []),
        ({"Email": "piet@example.com", "Name": "Piet", "Score": 12345}, [news.id]),
        ({"Email": "joop@EXAMPLE.NL", "Name": 'Joop 100% "zeker" (EXAMPLE.NL)'}, []),
    ]
    for values, held in rows:
        profiles.create_profile(account, database.id, values, interests={i: True for i in held}, origin=Origin("admin"))
    return database


def emails(account, database, **kwargs):
    key = next(str(f.id) for f in database.fields if f.name == "Email")
    page = list_profiles(account, database.id, where=Filter(**kwargs), limit=100)
    return sorted(p.fields[key] for p in page.items)


def test_a_domain_finds_every_address_at_it_in_any_case_and_in_other_text_fields(account, database):
    assert emails(account, database, query="example.nl") == ["anna@voorbeeld.nl", "joop@example.nl", "kees@example.nl"]
    assert count_profiles(account, database.id, where=Filter(query="example.nl")) == 3
    assert emails(account, database, query="DE VRIES") == ["anna@voorbeeld.nl"]
    assert emails(account, database, query="Kees@Example.NL") == ["kees@example.nl"]  # a whole address
    assert emails(account, database, query="kees@example.com") == []  # its local part alone is not a match


def test_wildcards_and_quotes_are_plain_characters_and_numbers_are_not_text(account, database):
    assert emails(account, database, query="100%") == ["joop@example.nl"]
    assert emails(account, database, query='"zeker"') == ["joop@example.nl"]
    assert emails(account, database, query="%") == ["joop@example.nl"]
    assert emails(account, database, query="_") == []
    assert emails(account, database, query="2345") == []  # a number field is not searched as text
    assert emails(account, database, query="nobody") == []


def test_a_profile_id_is_found_too(account, database):
    first = db.session.scalars(select(Profile).order_by(Profile.id)).first()
    assert first.id in [p.id for p in list_profiles(account, database.id, query=str(first.id)).items]


def test_the_interest_filter_combines_with_the_search(account, database):
    news = database.interests[0]
    assert emails(account, database, interest_id=news.id) == ["kees@example.nl", "piet@example.com"]
    assert emails(account, database, interest_id=news.id, without_interest=True) == [
        "anna@voorbeeld.nl",
        "joop@example.nl",
    ]
    assert emails(account, database, query="example", interest_id=news.id) == ["kees@example.nl", "piet@example.com"]
    with pytest.raises(ValidationError):
        emails(account, database, interest_id=news.id + 1000)


def test_another_database_is_never_searched(account, database):
    other = make_database(account, "Other", fields={"Email": "email"})
    profiles.create_profile(account, other.id, {"Email": "x@example.nl"}, origin=Origin("admin"))
    assert len(emails(account, database, query="example.nl")) == 3
    assert count_profiles(account, other.id, where=Filter(query="example.nl")) == 1


def test_too_long_a_search_is_a_clear_error(account, database):
    with pytest.raises(ValidationError) as error:
        emails(account, database, query="x" * 201)
    assert "200" in str(error.value.errors)


def test_postgresql_answers_from_the_trigram_index(account, database):
    """On PostgreSQL with pg_trgm the migration made the index and the planner can use it for the search."""
    if dialect_name() != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's (this test runs when DATABASE_URL is PostgreSQL)")
    if not text_search.trigram_index_exists():
        pytest.skip("this PostgreSQL has no pg_trgm extension")
    condition = text_search.text_condition(database, "example.nl")
    statement = select(Profile.id).where(condition)
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    db.session.execute(db.text("SET LOCAL enable_seqscan = off"))
    explain = db.text("EXPLAIN " + str(compiled).replace("%%", "%"))
    plan = "\n".join(row[0] for row in db.session.execute(explain))
    assert "ix_profile_text_trgm" in plan
