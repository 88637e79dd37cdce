"""The batch upsert: up to 1,000 profiles matched on key fields, all or nothing, through the bulk paths."""

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Profile, ProfileEvent
from webapp.profiles import profiles
from webapp.profiles.events import Origin


def stored(database) -> dict[int, str]:
    email, customer = (str(field.id) for field in database.fields)
    rows = db.session.execute(select(Profile.fields)).scalars()
    return {row[customer]: row.get(email) for row in rows}


def test_rows_update_matches_and_create_the_rest(api, account, database):
    profiles.create_profile(
        account, database.id, {"Email": "old@example.com", "customer_id": 1}, origin=Origin("admin")
    )
    body = {
        "keys": ["customer_id"],
        "profiles": [
            {"customer_id": 1, "Email": "new@example.com"},
            {"customer_id": 2, "Email": "two@example.com"},
            {"customer_id": "3", "Email": "three@example.com"},
            {"customer_id": 3, "Email": "three-later@example.com"},
        ],
    }
    response = api.post(f"/database/{database.id}/profiles/batch", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"created": 2, "updated": 1, "unchanged": 0}
    assert stored(database) == {1: "new@example.com", 2: "two@example.com", 3: "three-later@example.com"}
    kinds = db.session.scalars(select(ProfileEvent.kind).where(ProfileEvent.source == "api")).all()
    assert sorted(kinds) == ["profile_created", "profile_created", "profile_updated"]
    again = api.post(f"/database/{database.id}/profiles/batch", json=body)
    assert again.get_json() == {"created": 0, "updated": 0, "unchanged": 3}  # rows apply in order: 3 ends as stored


def test_one_bad_row_refuses_the_batch_naming_row_and_field(api, account, database):
    body = {
        "keys": ["customer_id"],
        "profiles": [{"customer_id": 1, "Email": "a@x.com"}, {"customer_id": 2, "Email": "no"}],
    }
    response = api.post(f"/database/{database.id}/profiles/batch", json=body)
    assert response.status_code == 422
    assert [error["field"] for error in response.get_json()["errors"]] == ["profiles[1].Email"]
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 0


def test_keys_and_size_are_checked(api, database):
    url = f"/database/{database.id}/profiles/batch"
    assert api.post(url, json={"keys": ["nope"], "profiles": [{"Email": "a@x.com"}]}).status_code == 422
    assert api.post(url, json={"keys": ["customer_id"], "profiles": [{"Email": "a@x.com"}]}).status_code == 422
    too_many = [{"customer_id": n} for n in range(1001)]
    assert api.post(url, json={"keys": ["customer_id"], "profiles": too_many}).status_code == 422
    assert api.post(url, json={"keys": "customer_id", "profiles": []}).status_code == 422


def test_another_accounts_token_cannot_batch_into_the_database(other_api, database):
    body = {"keys": ["customer_id"], "profiles": [{"customer_id": 1}]}
    assert other_api.post(f"/database/{database.id}/profiles/batch", json=body).status_code == 404


def test_a_batch_feeds_follow_ups_callbacks_and_the_change_feed_like_single_writes(api, account, database):
    """The bulk path hands its events to the bulk subscribers in the writing transaction: a follow-up on new
    profiles gets a run per created profile, a callback a delivery per change, and the feed both events with
    their old and new values."""
    from tests.factories import make_followup
    from webapp.callbacks import definitions
    from webapp.models import CallbackDelivery, FollowUpRun

    email, customer = database.fields
    old = profiles.create_profile(account, database.id, {"Email": "a@x.com", "customer_id": 1}, origin=Origin("admin"))
    cursor = api.get("/events").get_json()["cursor"]
    welcome = make_followup(
        account,
        database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "update_fields", "values": {str(customer.id): "99"}}],
    )
    definitions.create_callback(account, database.id, url="http://127.0.0.1:9/hook")
    body = {
        "keys": ["Email"],
        "profiles": [{"Email": "A@X.com", "customer_id": 2}, {"Email": "new@x.com", "customer_id": 3}],
    }
    assert api.post(f"/database/{database.id}/profiles/batch", json=body).get_json() == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
    }
    new = db.session.scalar(select(Profile).where(Profile.id != old.id))
    runs = db.session.scalars(select(FollowUpRun.profile_id).where(FollowUpRun.followup_id == welcome.id)).all()
    assert runs == [new.id]
    deliveries = db.session.scalars(select(CallbackDelivery.profile_id).order_by(CallbackDelivery.profile_id)).all()
    assert deliveries == [old.id, new.id]
    feed = api.get("/events", query_string={"after": cursor}).get_json()["data"]
    assert sorted((event["kind"], event["profile"]) for event in feed) == [
        ("profile_created", str(new.id)),
        ("profile_updated", str(old.id)),
    ]
    updated = next(event for event in feed if event["kind"] == "profile_updated")
    # The key matched without regard to case; the address is stored as sent, as a single write stores it.
    assert updated["changes"]["fields"] == {"Email": ["a@x.com", "A@x.com"], "customer_id": [1, 2]}
    created = next(event for event in feed if event["kind"] == "profile_created")
    assert created["changes"]["fields"]["Email"][1] == "new@x.com"
    assert {event["source"] for event in feed} == {"api"}


def test_an_indexed_number_key_matches_its_stored_numbers_and_rules_apply_per_row(api, account):
    """The first key indexed and a number: the stored profiles are found through its index (the keys as a
    numeric array); defaults fill new profiles only, a required field is checked on every row."""
    from tests.factories import make_database

    database = make_database(
        account,
        "Shop",
        fields={
            "number": {"type": "number", "indexed": True},
            "Status": {"type": "text", "default": "new"},
            "Name": {"type": "text", "required": True},
        },
    )
    number, status, name = (str(field.id) for field in database.fields)
    kept = profiles.create_profile(
        account, database.id, {"number": 7, "Name": "Seven", "Status": "old"}, origin=Origin("admin")
    )
    body = {"keys": ["number"], "profiles": [{"number": "7", "Name": "Zeven"}, {"number": 8.0, "Name": "Acht"}]}
    response = api.post(f"/database/{database.id}/profiles/batch", json=body)
    assert response.get_json() == {"created": 1, "updated": 1, "unchanged": 0}
    rows = {row[number]: row for row in db.session.execute(select(Profile.fields).order_by(Profile.id)).scalars()}
    assert rows[7] == {number: 7, name: "Zeven", status: "old"}  # matched: no default over its value
    assert rows[8] == {number: 8, name: "Acht", status: "new"}
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 2
    assert db.session.get(Profile, kept.id).fields[name] == "Zeven"
    missing = {"keys": ["number"], "profiles": [{"number": 9, "Status": "x"}, {"number": 7, "Name": ""}]}
    response = api.post(f"/database/{database.id}/profiles/batch", json=missing)
    assert response.status_code == 422
    assert sorted(error["field"] for error in response.get_json()["errors"]) == [
        "profiles[0].Name",
        "profiles[1].Name",
    ]
