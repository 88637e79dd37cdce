"""Unsubscribe behaviours (Copernica's nothing / remove / update) and what "subscribed" means."""

import pytest
from sqlalchemy import select

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import Profile, ProfileEvent
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.profiles.unsubscribe import is_subscribed, unsubscribe, unsubscribe_subprofile

LINK = Origin("unsubscribe", reference="mailing 7")
NEWSLETTER = {"type": "choice", "options": {"choices": ["yes", "no"]}}


@pytest.fixture
def database(account):
    database = make_database(account, fields={"Email": "email", "Newsletter": NEWSLETTER})
    databases.create_interest(account, database.id, "Weekly")
    return database


def kinds(profile_id):
    return [e.kind for e in db.session.scalars(select(ProfileEvent).where(ProfileEvent.profile_id == profile_id))]


def test_update_sets_the_configured_values(account, database):
    databases.set_unsubscribe_behaviour(
        account,
        database_id=database.id,
        behaviour="update",
        field_values={"newsletter": "No"},
        interest_values={"Weekly": False},
    )
    profile = profiles.create_profile(
        account, database.id, {"Newsletter": "yes"}, interests={"Weekly": True}, origin=Origin("form")
    )
    assert is_subscribed(profile)
    assert unsubscribe(account, profile.id, origin=LINK) == "update"
    assert "no" in profile.fields.values() and profile.interests == []
    assert not is_subscribed(profile)
    assert kinds(profile.id) == ["profile_created", "unsubscribed"]


def test_remove_deletes_the_profile_and_journals_it(account, database):
    databases.set_unsubscribe_behaviour(account, database_id=database.id, behaviour="remove")
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("form"))
    assert unsubscribe(account, profile.id, origin=LINK) == "remove"
    assert db.session.get(Profile, profile.id) is None
    assert kinds(profile.id) == ["profile_created", "unsubscribed", "profile_removed"]


def test_nothing_changes_nothing_but_is_journalled(account, database):
    databases.set_unsubscribe_behaviour(account, database_id=database.id, behaviour="nothing")
    profile = profiles.create_profile(account, database.id, {"Newsletter": "yes"}, origin=Origin("form"))
    before = dict(profile.fields)
    assert unsubscribe(account, profile.id, origin=LINK) == "nothing"
    assert profile.fields == before and is_subscribed(profile)
    assert kinds(profile.id)[-1] == "unsubscribed"


def test_update_values_are_validated(account, database):
    with pytest.raises(ValidationError) as error:
        databases.set_unsubscribe_behaviour(
            account, database_id=database.id, behaviour="update", field_values={"Newsletter": "maybe", "Nope": "x"}
        )
    assert set(error.value.errors) == {"Newsletter", "Nope"}
    with pytest.raises(ValidationError):
        databases.set_unsubscribe_behaviour(account, database_id=database.id, behaviour="update")
    with pytest.raises(ValidationError):
        databases.set_unsubscribe_behaviour(account, database_id=database.id, behaviour="ignore")
    db.session.refresh(database)
    assert database.unsubscribe_behaviour == "update" and database.unsubscribe_values == {}


def test_values_by_name_for_screens(account, database):
    databases.set_unsubscribe_behaviour(
        account,
        database_id=database.id,
        behaviour="update",
        field_values={"Newsletter": "no"},
        interest_values={"weekly": False},
    )
    assert databases.unsubscribe_values_by_name(database) == {"Newsletter": "no", "Weekly": False}


def test_collection_behaviour_applies_to_subprofiles(account, database):
    orders = databases.create_collection(account, database.id, "Mailings")
    create_field(
        account, FieldSpec(name="Active", type="choice", options={"choices": ["yes", "no"]}), collection_id=orders.id
    )
    databases.set_unsubscribe_behaviour(
        account, collection_id=orders.id, behaviour="update", field_values={"Active": "no"}
    )
    profile = profiles.create_profile(account, database.id, {}, origin=Origin("admin"))
    sub = subprofiles.create_subprofile(account, profile.id, orders.id, {"Active": "yes"}, origin=Origin("admin"))
    assert is_subscribed(sub)
    assert unsubscribe_subprofile(account, sub.id, origin=LINK) == "update"
    assert not is_subscribed(sub)
    databases.set_unsubscribe_behaviour(account, collection_id=orders.id, behaviour="remove")
    assert unsubscribe_subprofile(account, sub.id, origin=LINK) == "remove"
    assert subprofiles.list_subprofiles(account, profile.id, orders.id) == []


def test_update_without_values_yet_counts_everyone_as_subscribed(account):
    database = make_database(account, fields={"Email": "email"})
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("form"))
    assert database.unsubscribe_behaviour == "update" and database.unsubscribe_values == {}
    assert is_subscribed(profile)
