"""``owned``: a row by id for its own account only; another account's row is as absent as a missing one."""

import pytest
from sqlalchemy import event

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.models import Database, Profile
from webapp.platform.errors import NotFound
from webapp.platform.tenancy import MAX_ID, owned
from webapp.profiles import profiles
from webapp.profiles.events import Origin


def test_the_row_of_its_own_account(account):
    database = make_database(account)
    assert owned(Database, account, database.id, "Database not found.") is database
    assert owned(Database, account.id, database.id, "Database not found.") is database


def test_another_accounts_row_is_not_found_with_the_message_given(account):
    theirs = make_database(make_account("Other"))
    with pytest.raises(NotFound) as raised:
        owned(Database, account, theirs.id, "Database not found.")
    assert raised.value.message == "Database not found."
    with pytest.raises(NotFound):
        owned(Database, account.id, theirs.id, "Database not found.")


def test_a_missing_row_is_not_found(account):
    database = make_database(account)
    with pytest.raises(NotFound) as raised:
        owned(Database, account, database.id + 1000, "Gone.")
    assert raised.value.message == "Gone."


@pytest.mark.parametrize("row_id", [0, -1, MAX_ID + 1, 2**70])
def test_an_id_out_of_range_is_not_found_without_a_query(account, row_id):
    account_id, statements = account.id, []

    def record(*args):
        statements.append(args)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with pytest.raises(NotFound):
            owned(Database, account_id, row_id, "Database not found.")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert statements == []


def test_loader_options_are_passed_on(account):
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))
    db.session.commit()
    account_id, profile_id = account.id, profile.id
    db.session.expunge_all()
    found = owned(Profile, account_id, profile_id, "Profile not found.", options=profiles.WITH_DATABASE)
    assert "database" in found.__dict__  # loaded with the row, not lazily
