"""Profiles: validation on every write, and the event spine (one event per change, rolled back together)."""

import pytest
from sqlalchemy import func, select

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.models import Profile, ProfileEvent
from webapp.platform.errors import Conflict, NotFound, ValidationError
from webapp.profiles import databases, events, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin", actor="user:1 a@example.com")


def event_rows(profile_id=None):
    query = select(ProfileEvent).order_by(ProfileEvent.id)
    if profile_id is not None:
        query = query.where(ProfileEvent.profile_id == profile_id)
    return list(db.session.scalars(query))


def test_create_stores_coerced_values_and_one_event(account):
    database = make_database(account)
    profile = profiles.create_profile(
        account, database.id, {"email": "Jan@Example.COM", "FirstName": " Jan "}, origin=ADMIN
    )
    email = next(f for f in database.fields if f.name == "Email")
    assert profile.fields[email.key] == "Jan@example.com"
    assert len(profile.code) == 32
    [event] = event_rows(profile.id)
    assert (event.kind, event.source, event.actor) == ("profile_created", "admin", ADMIN.actor)
    assert event.changes["fields"][email.key] == [None, "Jan@example.com"]


def test_bad_value_names_the_field_and_stores_nothing(account):
    database = make_database(account, fields={"Email": "email", "Age": "number"})
    with pytest.raises(ValidationError) as error:
        profiles.create_profile(account, database.id, {"Email": "nope", "Age": "abc"}, origin=ADMIN)
    assert "Email" in error.value.errors["Email"] and "valid email" in error.value.errors["Email"]
    assert "whole number" in error.value.errors["Age"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 0
    assert event_rows() == []


def test_unknown_field_is_an_error(account):
    database = make_database(account)
    with pytest.raises(ValidationError) as error:
        profiles.create_profile(account, database.id, {"Nickname": "x"}, origin=ADMIN)
    assert "Nickname" in error.value.errors


def test_required_and_default(account):
    database = make_database(
        account,
        fields={
            "Email": {"type": "email", "required": True},
            "Newsletter": {"type": "choice", "options": {"choices": ["yes", "no"]}, "default": "no"},
        },
    )
    with pytest.raises(ValidationError) as error:
        profiles.create_profile(account, database.id, {}, origin=ADMIN)
    assert "required" in error.value.errors["Email"]
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    assert "no" in profile.fields.values()
    with pytest.raises(ValidationError):
        profiles.update_profile(account, profile.id, {"Email": ""}, origin=ADMIN)


def test_update_records_only_the_diff_and_no_change_means_no_event(account):
    database = make_database(account)
    profile = profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "FirstName": "Ann"}, origin=ADMIN
    )
    profiles.update_profile(account, profile.id, {"FirstName": "Anna"}, origin=Origin("soap", reference="token 3"))
    profiles.update_profile(account, profile.id, {"FirstName": "Anna"}, origin=ADMIN)
    created, updated = event_rows(profile.id)
    first = next(f for f in database.fields if f.name == "FirstName")
    assert updated.kind == "profile_updated" and updated.source == "soap" and updated.reference == "token 3"
    assert updated.changes["fields"] == {first.key: ["Ann", "Anna"]}


def test_interests_by_name_and_their_diff(account):
    database = make_database(account)
    news = databases.create_interest(account, database.id, "Newsletter", "Mail")
    shoes = databases.create_interest(account, database.id, "Shoes")
    profile = profiles.create_profile(account, database.id, {}, interests={"newsletter": True}, origin=ADMIN)
    assert profile.interests == [news.id]
    profiles.update_profile(account, profile.id, {}, interests={"Newsletter": False, str(shoes.id): True}, origin=ADMIN)
    assert profile.interests == [shoes.id]
    last = event_rows(profile.id)[-1]
    assert last.changes["interests"] == {str(news.id): [True, False], str(shoes.id): [False, True]}
    with pytest.raises(ValidationError):
        profiles.update_profile(account, profile.id, {}, interests={"Golf": True}, origin=ADMIN)


def test_event_is_rolled_back_with_a_failed_write(account):
    database = make_database(account, fields={"Email": {"type": "email", "unique": True}})
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    second = profiles.create_profile(account, database.id, {"Email": "b@example.com"}, origin=ADMIN)
    with pytest.raises(ValidationError) as error:
        profiles.update_profile(account, second.id, {"Email": "A@example.com"}, origin=ADMIN)
    assert "already has" in error.value.errors["Email"]
    db.session.rollback()
    assert [e.kind for e in event_rows(second.id)] == ["profile_created"]


def test_unique_index_catches_a_race_and_keeps_the_journal_clean(account):
    """Two writers that both passed the service check: the index refuses the second, with its event."""
    database = make_database(account, fields={"Email": {"type": "email", "unique": True}})
    field = database.fields[0]
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    db.session.add(
        Profile(account_id=account.id, database_id=database.id, code="x" * 32, fields={field.key: "A@example.com"})
    )
    with pytest.raises(Exception):  # noqa: B017 - IntegrityError from either driver
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 1


def test_subscribers_see_events_in_the_transaction_and_after_commit(account):
    database = make_database(account)
    seen_inside, seen_after = [], []

    def inside(event):
        seen_inside.append(event.kind)

    events.subscribe(inside)
    events.subscribe_after_commit(seen_after.extend)
    try:
        profile = profiles.create_profile(account, database.id, {"FirstName": "Ann"}, origin=ADMIN)
        with pytest.raises(ValidationError):
            profiles.update_profile(account, profile.id, {"Email": "bad"}, origin=ADMIN)
        db.session.rollback()
    finally:
        events.bus().in_transaction.remove(inside)
        events.bus().after_commit.remove(seen_after.extend)
    assert seen_inside == ["profile_created"]
    assert seen_after == [event.id for event in event_rows(profile.id)]


def test_delete_keeps_the_last_values_in_the_journal(account):
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"FirstName": "Ann"}, origin=ADMIN)
    profiles.delete_profile(account, profile.id, origin=ADMIN)
    assert db.session.get(Profile, profile.id) is None
    removed = event_rows(profile.id)[-1]
    assert removed.kind == "profile_removed"
    assert "Ann" in [old for old, _new in removed.changes["fields"].values()]


def test_reference_must_point_at_a_profile_of_the_referenced_database(account):
    shops = make_database(account, "Shops", fields={"Name": "text"})
    customers = make_database(account, "Customers", fields={})
    create_field(
        account, FieldSpec(name="Shop", type="reference", options={"database_id": shops.id}), database_id=customers.id
    )
    shop = profiles.create_profile(account, shops.id, {"Name": "Centrum"}, origin=ADMIN)
    other = profiles.create_profile(account, customers.id, {}, origin=ADMIN)
    assert profiles.create_profile(account, customers.id, {"Shop": shop.id}, origin=ADMIN).id
    with pytest.raises(ValidationError) as error:
        profiles.create_profile(account, customers.id, {"Shop": other.id}, origin=ADMIN)
    assert "does not exist" in error.value.errors["Shop"]


def test_other_accounts_cannot_reach_a_profile(account):
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"FirstName": "Ann"}, origin=ADMIN)
    intruder = make_account("Other")
    with pytest.raises(NotFound):
        profiles.get_profile(intruder, profile.id)
    with pytest.raises(NotFound):
        profiles.update_profile(intruder, profile.id, {"FirstName": "Eve"}, origin=ADMIN)
    with pytest.raises(NotFound):
        profiles.create_profile(intruder, database.id, {}, origin=ADMIN)


def test_find_profiles_by_key_fields(account):
    database = make_database(account)
    jan = profiles.create_profile(account, database.id, {"Email": "Jan@example.com", "FirstName": "Jan"}, origin=ADMIN)
    profiles.create_profile(account, database.id, {"Email": "piet@example.com", "FirstName": "Jan"}, origin=ADMIN)
    assert profiles.find_profiles(account, database.id, {"email": "JAN@example.com"}) == [jan]
    assert len(profiles.find_profiles(account, database.id, {"FirstName": "jan"})) == 2
    with pytest.raises(ValidationError):
        profiles.find_profiles(account, database.id, {"Nope": "x"})


def test_bulk_create_validates_every_row_and_journals_in_bulk(account):
    database = make_database(account)
    rows = [{"Email": f"user{i}@example.com", "FirstName": f"User {i}"} for i in range(25)]
    origin = Origin("import", reference="import 1")
    assert profiles.bulk_create_profiles(account, database.id, rows, origin=origin) == 25
    imported = select(func.count()).select_from(ProfileEvent).where(ProfileEvent.source == "import")
    assert db.session.scalar(imported) == 25
    with pytest.raises(ValidationError) as error:
        profiles.bulk_create_profiles(
            account, database.id, [{"Email": "ok@example.com"}, {"Email": "bad"}], origin=ADMIN
        )
    assert "line 2" in error.value.errors
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 25


def test_duplicate_unique_value_is_a_conflict_not_a_crash(account):
    database = make_database(account, fields={"Code": {"type": "text", "unique": True}})
    profiles.create_profile(account, database.id, {"Code": "A1"}, origin=ADMIN)
    with pytest.raises((ValidationError, Conflict)):
        profiles.create_profile(account, database.id, {"Code": "a1"}, origin=ADMIN)
