"""Merging profiles (SOAP ``Profile_move``) and resolving the codes of merged profiles."""

import pytest

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import Profile, ProfileAlias
from webapp.platform.errors import NotFound
from webapp.profiles import merges, profiles
from webapp.profiles.events import Origin

SOAP = Origin("soap", actor="token:1")


def test_merged_codes_follow_later_merges(account):
    database = make_database(account, "Customers")
    a, b, c = (profiles.create_profile(account, database.id, {"FirstName": name}, origin=SOAP) for name in "ABC")
    a_code, b_code = a.code, b.code
    merges.merge_profile(account, a.id, b.id, origin=SOAP)
    merges.merge_profile(account, b.id, c.id, origin=SOAP)
    assert merges.profile_for_code(account.id, a_code).id == c.id
    assert merges.profile_for_code(account.id, b_code).id == c.id
    assert merges.profile_for_code(account.id, c.code).id == c.id
    assert merges.profile_for_code(account.id, "0" * 32) is None
    assert db.session.query(ProfileAlias).count() == 2


def test_a_code_does_not_resolve_in_another_account(account):
    from tests.factories import make_account

    database = make_database(account, "Customers")
    a = profiles.create_profile(account, database.id, {}, origin=SOAP)
    b = profiles.create_profile(account, database.id, {}, origin=SOAP)
    code = a.code
    merges.merge_profile(account, a.id, b.id, origin=SOAP)
    assert merges.profile_for_code(make_account("Other").id, code) is None


def test_merge_of_another_accounts_profile_is_not_found(account):
    from tests.factories import make_account

    other = make_account("Other")
    theirs = profiles.create_profile(other, make_database(other, "Theirs").id, {}, origin=SOAP)
    mine = profiles.create_profile(account, make_database(account, "Mine").id, {}, origin=SOAP)
    with pytest.raises(NotFound):
        merges.merge_profile(account, theirs.id, mine.id, origin=SOAP)
    assert db.session.get(Profile, theirs.id) is not None
