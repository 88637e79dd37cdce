from webapp.services import profiles
from webapp.services.events import Origin
from tests.factories import make_database


def test_create_profile_records_event(account):
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"Email": "Jan@Example.com"}, origin=Origin("admin"))
    assert profile.id
