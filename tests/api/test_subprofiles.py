"""Copernica's REST calls on subprofiles: the upsert by field match, the search, the removal."""

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Subprofile
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin")


@pytest.fixture
def quotes(account, database):
    collection = databases.create_collection(account, database.id, "quotes")
    create_field(account, FieldSpec(name="quote_id", type="number"), collection_id=collection.id)
    create_field(account, FieldSpec(name="status", type="text"), collection_id=collection.id)
    return collection


@pytest.fixture
def profile(account, database):
    return profiles.create_profile(account, database.id, {"Email": "a@example.com", "customer_id": 1}, origin=ADMIN)


def test_put_upserts_a_subprofile_by_field_match(api, profile, quotes):
    url = f"/profile/{profile.id}/subprofiles/{quotes.name}?fields[]=quote_id%3D%3D7&create=true"
    assert api.put(url, json={"status": "open"}).status_code == 204
    assert api.put(url, json={"status": "paid"}).status_code == 204
    (only,) = db.session.scalars(select(Subprofile))
    assert api.get(f"/subprofile/{only.id}/fields").get_json() == {"quote_id": "7", "status": "paid"}


def test_get_finds_subprofiles_by_conditions_by_collection_id_or_name(api, account, profile, quotes):
    for quote_id, status in ((3, "deleted"), (3, "open"), (4, "open")):
        api.post(f"/profile/{profile.id}/subprofiles/{quotes.id}", json={"quote_id": quote_id, "status": status})
    response = api.get(
        f"/profile/{profile.id}/subprofiles/{quotes.name}",
        query_string=[("fields[]", "quote_id==3"), ("fields[]", "status!=deleted")],
    )
    body = response.get_json()
    assert (body["count"], body["total"]) == (1, 1)
    (item,) = body["data"]
    assert item["fields"] == {"quote_id": "3", "status": "open"}
    assert (item["profile"], item["collection"]) == (str(profile.id), str(quotes.id))


def test_delete_a_subprofile(api, profile, quotes):
    created = api.post(f"/profile/{profile.id}/subprofiles/quotes", json={"quote_id": 1})
    assert created.status_code == 201
    subprofile_id = created.headers["X-Created"]
    assert api.delete(f"/subprofile/{subprofile_id}").status_code == 204
    assert db.session.scalar(select(func.count()).select_from(Subprofile)) == 0
    assert api.delete(f"/subprofile/{subprofile_id}").status_code == 404


def test_an_unknown_collection_is_404(api, profile, quotes):
    response = api.get(f"/profile/{profile.id}/subprofiles/invoices")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_another_accounts_token_cannot_reach_subprofiles(api, other_api, profile, quotes):
    created = api.post(f"/profile/{profile.id}/subprofiles/quotes", json={"quote_id": 1, "status": "open"})
    subprofile_id = created.headers["X-Created"]
    assert other_api.get(f"/profile/{profile.id}/subprofiles/quotes").status_code == 404
    upsert = f"/profile/{profile.id}/subprofiles/quotes?fields[]=quote_id%3D%3D1&create=true"
    assert other_api.put(upsert, json={"status": "stolen"}).status_code == 404
    assert other_api.delete(f"/subprofile/{subprofile_id}").status_code == 404
    assert api.get(f"/subprofile/{subprofile_id}/fields").get_json()["status"] == "open"


def test_interests_are_switched_by_name(api, account, database, profile):
    databases.create_interest(account, database.id, "news")
    databases.create_interest(account, database.id, "offers")
    assert api.put(f"/profile/{profile.id}/interests", json={"news": 1, "offers": "0"}).status_code == 204
    assert api.get(f"/profile/{profile.id}").get_json()["interests"] == ["news"]
    response = api.put(f"/profile/{profile.id}/interests", json={"news": "perhaps"})
    assert response.status_code == 422
    assert api.get(f"/profile/{profile.id}").get_json()["interests"] == ["news"]
