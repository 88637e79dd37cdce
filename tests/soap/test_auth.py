"""Endpoint, WSDL and every way of authenticating (and not)."""

import httpx
import pytest
from lxml import etree
from sqlalchemy import update
from zeep.exceptions import Fault

from tests.factories import PASSWORD, make_database, make_user
from tests.soap.helpers import copernica_call
from webapp.accounts import tokens
from webapp.accounts.tokens import create_api_token, revoke_api_token
from webapp.extensions import db
from webapp.models import ApiToken, utcnow

WSDL_NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/"}
METHODS = [
    "login",
    "Account_database",
    "Account_databases",
    "Account_createDatabase",
    "Account_accessExport",
    "Account_erasePerson",
    "Database_retrieve",
    "Database_update",
    "Database_remove",
    "Database_unsubscribeValues",
    "Database_setUnsubscribeValues",
    "Database_field",
    "Database_fields",
    "Database_createField",
    "Field_update",
    "Database_collection",
    "Database_collections",
    "Database_createCollection",
    "Database_views",
    "Database_createView",
    "View_searchProfiles",
    "View_rules",
    "View_createRule",
    "Rule_createCondition",
    "Database_view",
    "View_retrieve",
    "View_database",
    "View_update",
    "View_remove",
    "View_profiles",
    "View_views",
    "Rule_update",
    "Rule_remove",
    "Rule_conditions",
    "Collection_miniViews",
    "Collection_createMiniView",
    "MiniView_retrieve",
    "MiniView_searchSubProfiles",
    "Database_profiles",
    "Database_createProfile",
    "Database_searchProfiles",
    "Database_updateProfiles",
    "Database_removeProfiles",
    "Database_callbacks",
    "Database_createCallback",
    "Collection_field",
    "Collection_fields",
    "Collection_createField",
    "CollectionField_update",
    "Collection_remove",
    "Collection_removeSubProfiles",
    "Collection_searchSubProfiles",
    "Profile_fields",
    "Profile_updateFields",
    "Profile_remove",
    "Profile_move",
    "Profile_subProfiles",
    "Profile_createSubProfile",
    "Profile_searchSubProfiles",
    "Profile_updateSubProfiles",
    "SubProfile_updateFields",
    "SubProfile_remove",
    "SubProfile_moveToProfile",
    "Collection_subProfile",
    "Collection_updateSubProfiles",
    "Database_interests",
    "Database_createInterest",
    "Interest_update",
    "Interest_remove",
    "Profile_interests",
    "Profile_updateInterests",
    "Field_remove",
    "CollectionField_remove",
    "Collection_unsubscribe",
]


@pytest.mark.parametrize("query", ["SOAPAPI=WSDL", "wsdl", "WSDL"])
def test_wsdl_declares_every_operation_and_the_public_address(live_url, app, query):
    response = httpx.get(f"{live_url}?{query}")
    assert response.status_code == 200
    document = etree.fromstring(response.content)
    operations = {op.get("name") for op in document.iterfind("wsdl:portType/wsdl:operation", WSDL_NS)}
    assert set(METHODS) <= operations
    address = document.find("wsdl:service/wsdl:port/soap:address", WSDL_NS).get("location")
    assert address == app.config["PUBLIC_URL"] + "/soap"


def test_access_token_member(soap, token, account):
    make_database(account, "Customers")
    page = soap.Account_databases(access_token=token)
    assert page.total == 1 and page["items"]["database"][0].name == "Customers"


def test_bearer_header(wsdl_client, live_url, token, account):
    make_database(account, "Customers")
    from webapp.extensions import db

    db.session.commit()
    binding = next(iter(wsdl_client.wsdl.bindings))
    with wsdl_client.settings(extra_http_headers={"Authorization": f"Bearer {token}"}):
        service = wsdl_client.create_service(binding, live_url)
        page = copernica_call(service.Account_databases)
    assert page.total == 1


@pytest.mark.parametrize("credentials", [{}, {"access_token": "vrk_wrong"}, {"access_token": "nonsense"}])
def test_missing_or_wrong_token_is_the_not_logged_on_fault(soap, token, credentials):
    with pytest.raises(Fault) as error:
        soap.Account_databases(**credentials)
    assert error.value.message == "Not logged on"


def test_revoked_token_is_refused(soap, account):
    row, secret = create_api_token(account, "old")
    revoke_api_token(account, row.id)
    with pytest.raises(Fault, match="Not logged on"):
        soap.Account_databases(access_token=secret)


def test_revoking_a_token_this_process_trusts_takes_effect_at_once(soap, account):
    row, secret = create_api_token(account, "in use")
    assert soap.Account_databases(access_token=secret).total == 0
    revoke_api_token(account, row.id)
    with pytest.raises(Fault, match="Not logged on"):
        soap.Account_databases(access_token=secret)


def test_a_token_revoked_by_another_process_is_refused_after_the_cache_bound(soap, account, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(tokens, "_clock", lambda: now[0])
    row, secret = create_api_token(account, "in use")
    assert soap.Account_databases(access_token=secret).total == 0
    # Another process revokes it: this one does not hear of it and trusts the token for a bounded time.
    db.session.execute(update(ApiToken).where(ApiToken.id == row.id).values(revoked_at=utcnow()))
    assert soap.Account_databases(access_token=secret).total == 0
    now[0] += tokens.TOKEN_CACHE_SECONDS
    with pytest.raises(Fault, match="Not logged on"):
        soap.Account_databases(access_token=secret)


def test_login_sets_a_soap_cookie_that_later_calls_use(wsdl_client, live_url, account):
    user = make_user(account, "admin")
    make_database(account, "Customers")
    from webapp.extensions import db

    email = user.email
    db.session.commit()
    binding = next(iter(wsdl_client.wsdl.bindings))
    import requests
    from zeep.transports import Transport

    session = requests.Session()
    client = type(wsdl_client)(wsdl_client.wsdl.location, transport=Transport(session=session))
    service = client.create_service(binding, live_url)
    assert copernica_call(service.login, username=email, password=PASSWORD, account="Acme") == 1
    assert any(cookie.name.startswith("soap_") for cookie in session.cookies)
    assert copernica_call(service.Account_databases).total == 1
    session.cookies.clear()
    with pytest.raises(Fault, match="Not logged on"):
        copernica_call(service.Account_databases)


def test_a_password_change_ends_the_soap_session_cookie(wsdl_client, live_url, account):
    """The cookie is a login session like the admin's: a new password (or logging out everywhere) ends it."""
    import requests
    from zeep.transports import Transport

    from webapp.accounts import users

    user = make_user(account, "admin")
    make_database(account, "Customers")
    email = user.email
    db.session.commit()
    session = requests.Session()
    client = type(wsdl_client)(wsdl_client.wsdl.location, transport=Transport(session=session))
    service = client.create_service(next(iter(wsdl_client.wsdl.bindings)), live_url)
    assert copernica_call(service.login, username=email, password=PASSWORD, account="Acme") == 1
    assert copernica_call(service.Account_databases).total == 1

    users.change_password(db.session.get(type(user), user.id), current=PASSWORD, new="another long password 1")
    with pytest.raises(Fault, match="Not logged on"):
        copernica_call(service.Account_databases)
    assert copernica_call(service.login, username=email, password="another long password 1", account="Acme") == 1
    assert copernica_call(service.Account_databases).total == 1


@pytest.mark.parametrize(
    "role,password,account_name",
    [
        ("admin", "wrong password!", "Acme"),
        ("editor", PASSWORD, "Acme"),
        ("admin", PASSWORD, "Other"),
    ],
)
def test_login_refuses_wrong_passwords_weak_roles_and_other_accounts(soap, account, role, password, account_name):
    """Not ``Not logged on``: Copernica's 1.6 client answers that by calling ``login`` again, in a loop."""
    user = make_user(account, role)
    with pytest.raises(Fault, match="^Invalid login$"):
        soap.login(username=user.email, password=password, account=account_name)


def test_a_token_sees_only_its_own_account(soap, token, other_token, account):
    database = make_database(account, "Customers")
    assert soap.Database_retrieve(access_token=other_token, id=database.id) is None
    assert soap.Account_databases(access_token=other_token).total == 0
    assert soap.Database_retrieve(access_token=token, id=database.id).name == "Customers"


def test_login_attempts_are_rate_limited(soap, account, app):
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    for number in range(limit):  # each at another account: its own backoff starts after 5 wrong passwords
        with pytest.raises(Fault, match="Invalid login"):
            soap.login(username=f"nobody{number}@example.com", password="wrong password", account="Acme")
    with pytest.raises(Fault, match="Too many"):
        soap.login(username="nobody@example.com", password="wrong password", account="Acme")


def test_wrong_passwords_for_one_account_back_off_over_soap_too(soap, account):
    user = make_user(account, "admin")
    for _ in range(5):
        with pytest.raises(Fault, match="Invalid login"):
            soap.login(username=user.email, password="wrong password", account="Acme")
    with pytest.raises(Fault, match="Too many wrong passwords for this account"):
        soap.login(username=user.email, password=PASSWORD, account="Acme")


def test_every_operation_but_login_ends_with_login_and_access_token(live_url):
    """Copernica's order: the method's own parameters, then ``login``, ``access_token`` and, for paged lists,
    ``start``, ``length``, ``allproperties``."""
    document = etree.fromstring(httpx.get(f"{live_url}?wsdl").content)
    xs = {"xs": "http://www.w3.org/2001/XMLSchema"}
    for method in METHODS:
        path = f"//xs:complexType[@name='input_{method}']/xs:sequence/xs:element/@name"
        members = document.xpath(path, namespaces=xs)
        assert members, method
        if method == "login":
            assert members == ["username", "password", "account"]
        elif members[-3:] == ["start", "length", "allproperties"]:
            assert members[-5:-3] == ["login", "access_token"], method
        else:
            assert members[-2:] == ["login", "access_token"], method
