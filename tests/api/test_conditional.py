"""ETags and If-Match: no lost update between two connectors."""

import pytest

from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field


@pytest.fixture
def profile(account, database):
    return profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))


def test_the_second_of_two_writers_with_the_same_etag_is_refused(api, profile):
    etag = api.get(f"/profile/{profile.id}").headers["ETag"]
    assert etag.startswith('"')
    assert api.get(f"/profile/{profile.id}/fields").headers["ETag"] == etag
    first = api.put(f"/profile/{profile.id}/fields", json={"Email": "b@example.com"}, headers={"If-Match": etag})
    assert first.status_code == 204
    second = api.put(f"/profile/{profile.id}/fields", json={"Email": "c@example.com"}, headers={"If-Match": etag})
    assert second.status_code == 412
    assert second.mimetype == "application/problem+json"
    assert api.get(f"/profile/{profile.id}/fields").get_json()["Email"] == "b@example.com"
    assert api.get(f"/profile/{profile.id}").headers["ETag"] != etag


def test_a_delete_with_an_old_etag_is_refused(api, profile):
    etag = api.get(f"/profile/{profile.id}").headers["ETag"]
    api.put(f"/profile/{profile.id}/fields", json={"Email": "b@example.com"})
    assert api.delete(f"/profile/{profile.id}", headers={"If-Match": etag}).status_code == 412
    fresh = api.get(f"/profile/{profile.id}").headers["ETag"]
    assert api.delete(f"/profile/{profile.id}", headers={"If-Match": fresh}).status_code == 204


@pytest.mark.parametrize("header", ['W/"x"', "no-quotes", '"0-0"'])
def test_a_weak_malformed_or_other_tag_never_matches(api, profile, header):
    response = api.put(f"/profile/{profile.id}/fields", json={"Email": "b@example.com"}, headers={"If-Match": header})
    assert response.status_code == 412


def test_if_match_star_and_no_header_write(api, profile):
    assert (
        api.put(f"/profile/{profile.id}/fields", json={"Email": "b@x.com"}, headers={"If-Match": "*"}).status_code
        == 204
    )
    assert api.put(f"/profile/{profile.id}/fields", json={"Email": "c@x.com"}).status_code == 204


def test_subprofiles_carry_etags_too(api, account, database, profile):
    collection = databases.create_collection(account, database.id, "orders")
    create_field(account, FieldSpec(name="total", type="number"), collection_id=collection.id)
    subprofile_id = api.post(f"/profile/{profile.id}/subprofiles/orders", json={"total": 1}).headers["X-Created"]
    etag = api.get(f"/subprofile/{subprofile_id}").headers["ETag"]
    assert (
        api.put(f"/subprofile/{subprofile_id}/fields", json={"total": 2}, headers={"If-Match": etag}).status_code == 204
    )
    assert (
        api.put(f"/subprofile/{subprofile_id}/fields", json={"total": 3}, headers={"If-Match": etag}).status_code == 412
    )
    assert api.delete(f"/subprofile/{subprofile_id}", headers={"If-Match": etag}).status_code == 412
    assert api.get(f"/subprofile/{subprofile_id}/fields").get_json()["total"] == "2"
