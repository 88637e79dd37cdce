"""SOAP and the accounts work of issue 17: a deactivated user's token is refused, a password login for a user
with two-factor login is refused with a clear fault, and changes are audited as the token's or the user's."""

import pytest
from sqlalchemy import select
from zeep.exceptions import Fault

from tests.account_helpers import code_after
from tests.factories import PASSWORD, make_user
from webapp.accounts import tokens, two_factor, users
from webapp.extensions import db
from webapp.models import AuditEntry


def test_a_deactivated_users_token_is_refused(soap, account):
    owner = make_user(account, "owner", email="olga@example.com")
    admin = make_user(account, "admin", email="adam@example.com")
    _row, secret = tokens.create_api_token(account, "theirs", created_by=admin)
    assert soap.Account_databases(access_token=secret).total == 0
    users.deactivate_user(account, owner, admin.id)
    with pytest.raises(Fault, match="Not logged on"):
        soap.Account_databases(access_token=secret)


def test_a_password_login_of_a_user_with_two_factor_is_refused_clearly(soap, account):
    admin = make_user(account, "admin", email="adam@example.com")
    enrolment = two_factor.start_enrolment(admin)
    two_factor.confirm_enrolment(admin, code_after(enrolment.secret))
    with pytest.raises(Fault, match="two-factor authentication: use an API token"):
        soap.login(username="adam@example.com", password=PASSWORD, account="Acme")
    with pytest.raises(Fault, match="two-factor"):
        soap.Account_databases(login={"username": "adam@example.com", "password": PASSWORD, "account": "Acme"})
    _row, secret = tokens.create_api_token(account, "shop", created_by=admin)
    assert soap.Account_databases(access_token=secret).total == 0  # tokens are unaffected


def test_soap_changes_are_audited_as_the_token(soap, account):
    row, secret = tokens.create_api_token(account, "Shop")
    soap.Account_createDatabase(name="Newsletter", description="", access_token=secret)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.area == "databases"))
    assert (entry.actor, entry.token_id, entry.object_name) == ("API token Shop", row.id, "Newsletter")
    assert entry.ip == "127.0.0.1"
