"""Searching by requirements (the SOAP API's searches): index use, and the skipped unknown field."""

import pytest
from sqlalchemy import text

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import Profile
from webapp.platform.errors import ValidationError
from webapp.profiles import profiles, search
from webapp.profiles.events import Origin
from webapp.profiles.search import Requirement

ADMIN = Origin("admin")


def _query_plan(statement) -> str:
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        rows = db.session.execute(text(f"EXPLAIN {compiled}"))
    else:
        rows = db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
    return "\n".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize("operator,value", [("=", "Anna@Example.com"), ("LIKE", "anna%"), (">=", "b")])
def test_a_case_insensitive_requirement_on_an_indexed_field_uses_its_index(account, operator, value):
    if operator == "LIKE" and db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite's LIKE optimisation does not apply to expression indexes (PostgreSQL's does)")
    database = make_database(account, "Customers")
    email = next(f for f in database.fields if f.name == "Email")
    for n in range(30):
        profiles.create_profile(account, database.id, {"Email": f"p{n}@example.com"}, origin=ADMIN)
    conditions = search._conditions(database.fields, [Requirement("Email", value, operator)], "profile")
    from sqlalchemy import select

    statement = select(Profile.id).where(Profile.database_id == database.id, *conditions)
    assert f"ix_profile_field_{email.id}" in _query_plan(statement)


def test_requirement_on_an_unknown_field_is_skipped(account):
    database = make_database(account, "Customers")
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    found = search.search_profiles(account, database.id, [Requirement("Shoe size", "42")])
    assert found.total == 1


def test_unknown_operator_is_refused(account):
    database = make_database(account, "Customers")
    with pytest.raises(ValidationError) as error:
        search.search_profiles(account, database.id, [Requirement("Email", "x", "~=")])
    assert "operator" in error.value.errors


def test_case_sensitive_like_treats_glob_characters_literally(account):
    database = make_database(account, "Customers", fields={"Code": "text"})
    star = profiles.create_profile(account, database.id, {"Code": "A*1"}, origin=ADMIN).id
    profiles.create_profile(account, database.id, {"Code": "AB1"}, origin=ADMIN)
    found = search.search_profiles(account, database.id, [Requirement("Code", "A*%", "LIKE", True)])
    assert [p.id for p in found.items] == [star]


def test_totals_are_right_on_short_full_and_empty_pages(account):
    from tests.factories import make_database
    from webapp.profiles import profiles
    from webapp.profiles.events import Origin
    from webapp.profiles.search import Requirement, search_profiles

    database = make_database(account)
    for number in range(7):
        profiles.create_profile(account, database.id, {"FirstName": f"Ann{number}"}, origin=Origin("soap"))
    like_ann = [Requirement("FirstName", "ann%", "LIKE")]
    assert [search_profiles(account, database.id, like_ann, start=s, length=3).total for s in (0, 3, 6, 9)] == [7] * 4
    assert len(search_profiles(account, database.id, like_ann, start=6, length=3).items) == 1
    assert search_profiles(account, database.id, [Requirement("FirstName", "Bob")], length=3).total == 0
