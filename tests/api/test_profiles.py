"""Copernica's REST calls on databases and profiles, as its connectors (the Magento module) make them."""

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Profile, ProfileEvent
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin")


def make_profiles(account, database, *rows):
    return [profiles.create_profile(account, database.id, row, origin=ADMIN) for row in rows]


def test_a_field_condition_finds_the_profile_in_copernicas_list_shape(api, account, database):
    first, _second = make_profiles(
        account, database, {"Email": "a@example.com", "customer_id": 42}, {"Email": "b@example.com", "customer_id": 7}
    )
    response = api.get(f"/database/{database.id}/profiles?fields[]=customer_id%3D%3D42")
    assert response.status_code == 200
    body = response.get_json()
    assert {key: body[key] for key in ("start", "limit", "count", "total")} == {
        "start": 0,
        "limit": 100,
        "count": 1,
        "total": 1,
    }
    (item,) = body["data"]
    assert item["ID"] == str(first.id)
    assert item["fields"] == {"Email": "a@example.com", "customer_id": "42"}
    assert item["database"] == str(database.id)
    assert item["secret"] == first.code


def test_the_operators_copernica_documents(api, account, database):
    make_profiles(
        account,
        database,
        {"Email": "anna@example.com", "customer_id": 1},
        {"Email": "bob@example.com", "customer_id": 5},
        {"Email": "bert@example.org", "customer_id": 9},
    )

    def emails(condition: str) -> list[str]:
        response = api.get(f"/database/{database.id}/profiles", query_string={"fields[]": condition})
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["fields"]["Email"] for item in response.get_json()["data"]]

    assert emails("customer_id!=5") == ["anna@example.com", "bert@example.org"]
    assert emails("customer_id<5") == ["anna@example.com"]
    assert emails("customer_id>5") == ["bert@example.org"]
    assert emails("customer_id<=5") == ["anna@example.com", "bob@example.com"]
    assert emails("Email=~b%") == ["bob@example.com", "bert@example.org"]
    assert emails("Email!~%.com") == ["bert@example.org"]


def test_two_conditions_both_apply_and_the_total_can_be_left_out(api, account, database):
    make_profiles(
        account, database, {"Email": "a@example.com", "customer_id": 3}, {"Email": "b@x.org", "customer_id": 3}
    )
    response = api.get(
        f"/database/{database.id}/profiles",
        query_string=[("fields[]", "customer_id==3"), ("fields[]", "Email=~%.org"), ("total", "false")],
    )
    body = response.get_json()
    assert "total" not in body
    assert [item["fields"]["Email"] for item in body["data"]] == ["b@x.org"]


def test_a_condition_without_an_operator_is_a_problem_naming_it(api, database):
    response = api.get(f"/database/{database.id}/profiles?fields[]=customer_id")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == "fields[]"


def test_put_on_the_database_upserts_by_field_match(api, account, database):
    url = f"/database/{database.id}/profiles?fields[]=customer_id%3D%3D42&create=true"
    assert api.put(url, json={"Email": "new@example.com"}).status_code == 204
    assert api.put(url, json={"Email": "changed@example.com"}).status_code == 204
    found = list(db.session.scalars(select(Profile).where(Profile.database_id == database.id)))
    assert len(found) == 1
    assert profiles.get_profile(account, found[0].id).fields == {
        str(database.fields[0].id): "changed@example.com",
        str(database.fields[1].id): 42,
    }


def test_put_on_the_database_without_create_changes_nothing_when_nothing_matches(api, database):
    url = f"/database/{database.id}/profiles?fields[]=customer_id%3D%3D42"
    assert api.put(url, json={"Email": "new@example.com"}).status_code == 204
    assert db.session.scalar(select(Profile.id)) is None


def test_put_on_the_database_needs_a_condition(api, account, database):
    make_profiles(account, database, {"Email": "a@example.com"})
    response = api.put(f"/database/{database.id}/profiles", json={"Email": "all@example.com"})
    assert response.status_code == 422
    assert db.session.scalar(select(Profile.fields)) == {str(database.fields[0].id): "a@example.com"}


def test_create_read_update_and_remove_a_profile(api, account, database):
    databases.create_interest(account, database.id, "news")
    response = api.post(
        f"/database/{database.id}/profiles",
        json={"fields": {"Email": "a@example.com", "customer_id": "5"}, "interests": ["news"]},
    )
    assert response.status_code == 201
    profile_id = int(response.headers["X-Created"])
    assert response.headers["Location"].endswith(f"/v4/profile/{profile_id}")
    body = api.get(f"/profile/{profile_id}").get_json()
    assert body["fields"] == {"Email": "a@example.com", "customer_id": "5"}
    assert body["interests"] == ["news"]

    assert api.put(f"/profile/{profile_id}/fields", json={"customer_id": 6}).status_code == 204
    assert api.get(f"/profile/{profile_id}/fields").get_json() == {"Email": "a@example.com", "customer_id": "6"}
    event = db.session.scalars(select(ProfileEvent).order_by(ProfileEvent.id.desc())).first()
    assert (event.kind, event.source) == ("profile_updated", "api")

    assert api.delete(f"/profile/{profile_id}").status_code == 204
    assert api.get(f"/profile/{profile_id}").status_code == 404


def test_a_bad_value_is_a_field_level_problem_and_stores_nothing(api, account, database):
    (profile,) = make_profiles(account, database, {"Email": "a@example.com", "customer_id": 1})
    response = api.put(f"/profile/{profile.id}/fields", json={"customer_id": "many", "Email": "b@example.com"})
    assert response.status_code == 422
    assert [error["field"] for error in response.get_json()["errors"]] == ["customer_id"]
    assert api.get(f"/profile/{profile.id}/fields").get_json()["Email"] == "a@example.com"


def test_databases_fields_interests_and_collections(api, account, database):
    databases.create_interest(account, database.id, "news", "letters")
    databases.create_collection(account, database.id, "orders")
    listed = api.get("/databases").get_json()
    assert [item["name"] for item in listed["data"]] == ["Customers"]
    assert listed["total"] == 1
    fields = api.get(f"/database/{database.id}/fields").get_json()["data"]
    assert [(f["name"], f["type"]) for f in fields] == [("Email", "email"), ("customer_id", "integer")]
    interests = api.get(f"/database/{database.id}/interests").get_json()["data"]
    assert [(i["name"], i["group"]) for i in interests] == [("news", "letters")]
    collections = api.get(f"/database/{database.id}/collections").get_json()["data"]
    assert [c["name"] for c in collections] == ["orders"]


def test_without_a_token_the_answer_is_401_problem(api, database):
    api.secret = None
    response = api.get(f"/database/{database.id}/profiles")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_token_as_access_token_parameter_and_under_every_prefix(api, database):
    for prefix in ("/v1", "/v2", "/v3", "/v4", "/api/v1"):
        api.prefix = prefix
        response = api.get(f"/database/{database.id}?access_token={api.secret}", bearer=False)
        assert response.status_code == 200, prefix
        assert response.get_json()["ID"] == str(database.id)


def test_a_revoked_or_wrong_token_is_refused(api, account, database):
    from webapp.accounts.tokens import list_api_tokens, revoke_api_token

    assert api.get("/databases", headers={"Authorization": "Bearer vrk_wrong"}).status_code == 401
    revoke_api_token(account, list_api_tokens(account)[0].id)
    assert api.get("/databases").status_code == 401


def test_another_accounts_token_never_sees_nor_changes_the_data(api, other_api, account, database):
    (profile,) = make_profiles(account, database, {"Email": "a@example.com", "customer_id": 42})
    assert other_api.get("/databases").get_json()["data"] == []
    assert other_api.get(f"/database/{database.id}/profiles").status_code == 404
    assert other_api.get(f"/profile/{profile.id}").status_code == 404
    assert other_api.put(f"/profile/{profile.id}/fields", json={"customer_id": 1}).status_code == 404
    upsert = f"/database/{database.id}/profiles?fields[]=customer_id%3D%3D42&create=true"
    assert other_api.put(upsert, json={"Email": "x@example.com"}).status_code == 404
    assert other_api.delete(f"/profile/{profile.id}").status_code == 404
    assert api.get(f"/profile/{profile.id}/fields").get_json() == {"Email": "a@example.com", "customer_id": "42"}


@pytest.mark.parametrize("query", ["start=99999999999999999999", "limit=1001", "start=-1", "limit=x"])
def test_paging_out_of_range_is_a_problem(api, database, query):
    response = api.get(f"/database/{database.id}/profiles?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("path", ["profiles", "subprofiles"])
def test_total_false_runs_no_count_query_and_total_true_counts_beyond_the_page(api, account, database, path):
    """Copernica's ``total``: by default the list says how many match in all (a full page needs a count
    query); ``total=false`` leaves it out and the count query is not run at all."""
    from sqlalchemy import event

    from webapp.profiles import subprofiles
    from webapp.profiles.fields import FieldSpec, create_field

    people = make_profiles(account, database, *({"Email": f"p{n}@example.com", "customer_id": n} for n in range(3)))
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="item", type="text"), collection_id=orders.id)
    for n in range(3):
        subprofiles.create_subprofile(account, people[0].id, orders.id, {"item": f"i{n}"}, origin=ADMIN)
    url = f"/database/{database.id}/profiles" if path == "profiles" else f"/profile/{people[0].id}/subprofiles/Orders"
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.lower())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        counted = api.get(url, query_string={"limit": 2}).get_json()
        counting = [s for s in statements if "count(" in s]
        statements.clear()
        uncounted = api.get(url, query_string={"limit": 2, "total": "false"}).get_json()
        not_counting = [s for s in statements if "count(" in s]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert (counted["count"], counted["total"]) == (2, 3)
    assert counting  # a full page: only a count query knows the total
    assert uncounted["count"] == 2 and "total" not in uncounted
    assert not_counting == []
