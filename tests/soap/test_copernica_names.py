"""What Copernica's clients send, as they send it: zeep in strict mode with Copernica's parameter names, the
WSDL's names, the address it advertises, and bad requests (empty, CDATA with a DOCTYPE, client faults)."""

import logging

import httpx
import pytest
import zeep
from lxml import etree
from zeep.exceptions import Fault

from tests.factories import PASSWORD, make_database, make_user
from tests.soap.helpers import copernica_call, pairs
from tests.soap.test_raw_envelopes import envelope, fault_string, post
from webapp.extensions import db
from webapp.models import Field, Profile
from webapp.profiles import databases

WSDL_NS = {"wsdl": "http://schemas.xmlsoap.org/wsdl/", "xs": "http://www.w3.org/2001/XMLSchema"}


@pytest.fixture
def strict(live_url):
    """A zeep client in strict mode (zeep's default, said explicitly) from the live WSDL, called in Copernica's
    layout (``parameters={...}``; the ``result``'s member comes back)."""
    client = zeep.Client(f"{live_url}?SOAPAPI=WSDL", settings=zeep.Settings(strict=True))
    binding = next(iter(client.wsdl.bindings))
    service = client.create_service(binding, live_url)

    class Committing:
        def __getattr__(self, name):
            def call(**kwargs):
                db.session.commit()
                return copernica_call(getattr(service, name), **kwargs)

            return call

    return Committing()


def test_database_with_spaces_and_fields_with_copernicas_names(strict, token, account):
    database = strict.Account_createDatabase(access_token=token, name="Fictional Persons 3")
    assert database.name == "Fictional Persons 3"
    email = strict.Database_createField(
        access_token=token, id=database.id, name="Email", display=True, textlines=1, specialcontent="email"
    )
    assert (email.type, email.specialcontent, email.displayed) == ("email", "email", True)
    phone = strict.Database_createField(access_token=token, id=database.id, name="Mobile", specialcontent="mobile")
    assert (phone.type, phone.specialcontent) == ("phone", "phone")
    hidden = strict.Database_createField(access_token=token, id=database.id, name="Notes", display=False)
    assert hidden.displayed is False
    with pytest.raises(Fault, match="email"):
        strict.Database_createProfile(access_token=token, id=database.id, fields=pairs(Email="not an address"))
    collection = strict.Database_createCollection(access_token=token, id=database.id, name="My Children")
    assert collection.name == "My Children"
    child = strict.Collection_createField(
        access_token=token, id=collection.id, name="Email", display=True, specialcontent="email"
    )
    assert (child.type, child.displayed) == ("email", True)
    db.session.rollback()
    stored = db.session.get(Field, email.id)
    assert (stored.type, stored.shown) == ("email", True)
    assert db.session.get(Field, hidden.id).shown is False
    assert db.session.query(Profile).count() == 0


def test_special_content_on_a_field_that_cannot_hold_it_is_refused(strict, token, account):
    database = make_database(account, "Customers")
    with pytest.raises(Fault, match="specialcontent"):
        strict.Database_createField(
            access_token=token, id=database.id, name="Age", type="integer", specialcontent="email"
        )
    with pytest.raises(Fault, match="specialcontent"):
        strict.Database_createField(access_token=token, id=database.id, name="Pager", specialcontent="pager")
    db.session.rollback()
    assert {f.name for f in databases.get_database(account, database.id).fields} == {"Email", "FirstName", "LastName"}


def test_field_update_takes_copernicas_names(strict, token, account):
    database = make_database(account, "Customers")
    field = strict.Database_createField(access_token=token, id=database.id, name="Contact")
    assert strict.Field_update(access_token=token, id=field.id, display=False, specialcontent="email") == 1
    db.session.rollback()
    stored = db.session.get(Field, field.id)
    assert (stored.type, stored.shown) == ("email", False)


def test_per_call_login_member(strict, account):
    user = make_user(account, "admin")
    make_database(account, "Customers")
    login = {"username": user.email, "account": "Acme", "password": PASSWORD}
    assert strict.Account_databases(login=login).total == 1
    with pytest.raises(Fault, match="^Invalid login$"):
        strict.Account_databases(login={**login, "password": "wrong password"})
    editor = make_user(account, "editor")
    with pytest.raises(Fault, match="^Invalid login$"):
        strict.Account_databases(login={**login, "username": editor.email})


def test_wsdl_has_copernicas_service_port_and_type_names(live_url):
    document = etree.fromstring(httpx.get(f"{live_url}?SOAPAPI=WSDL").content)
    services = document.findall("wsdl:service", WSDL_NS)
    assert [s.get("name") for s in services] == ["POM_SOAP_API"]
    port = services[0].find("wsdl:port", WSDL_NS)
    assert port.get("name") == "POMPort"
    assert [p.get("name") for p in document.findall("wsdl:portType", WSDL_NS)] == ["POMPortType"]
    types = set(document.xpath("//xs:complexType/@name", namespaces=WSDL_NS))
    for name in ("input_login", "input_Account_createDatabase", "input_Database_createField", "Map", "Pair", "login"):
        assert name in types, name
    assert "Result" in types
    # Copernica's layout: one input part ``parameters`` of type input_<Method>, one output part ``result``.
    message = document.xpath("//wsdl:message[@name='Database_createProfile']", namespaces=WSDL_NS)[0]
    assert [(p.get("name"), p.get("type").split(":")[1]) for p in message] == [
        ("parameters", "input_Database_createProfile")
    ]
    answer = document.xpath("//wsdl:message[@name='Database_createProfileResponse']", namespaces=WSDL_NS)[0]
    assert [(p.get("name"), p.get("type").split(":")[1]) for p in answer] == [("result", "Result")]
    # The flat layout, for clients generated from Verrijk's earlier WSDL, at /soap/flat.
    flat = etree.fromstring(httpx.get(f"{live_url}/flat?SOAPAPI=WSDL").content)
    element = flat.xpath("//xs:element[@name='Database_createProfile']", namespaces=WSDL_NS)[0]
    assert element.get("type").endswith(":input_Database_createProfile")


def test_wsdl_advertises_the_address_the_request_came_in_on_without_public_url(app, direct_url):
    configured = app.config["PUBLIC_URL_SET"]
    try:
        app.config["PUBLIC_URL_SET"] = False
        document = etree.fromstring(httpx.get(f"{direct_url}?wsdl").content)
        assert document.xpath("//*[local-name()='address']/@location")[0] == direct_url
        app.config["PUBLIC_URL_SET"] = True
        document = etree.fromstring(httpx.get(f"{direct_url}?wsdl").content)
        assert document.xpath("//*[local-name()='address']/@location")[0] == app.config["PUBLIC_URL"] + "/soap"
    finally:
        app.config["PUBLIC_URL_SET"] = configured


def test_empty_body_is_a_soap_fault(live_url, ctx):
    response = post(live_url, b"")
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/xml")
    assert fault_string(response) == "The request is empty: POST a SOAP envelope."


def test_doctype_inside_cdata_is_data(live_url, token, account):
    database = make_database(account, "Customers", fields={"Email": "email", "Template": "large_text"})
    html = "<!DOCTYPE html><html><body>Hi</body></html>"
    call = envelope(
        f"<ns1:Database_createProfile><ns1:id>{database.id}</ns1:id><ns1:fields>"
        "<ns1:pair><ns1:key>Email</ns1:key><ns1:value>a@example.com</ns1:value></ns1:pair>"
        f"<ns1:pair><ns1:key>Template</ns1:key><ns1:value><![CDATA[{html}]]></ns1:value></ns1:pair>"
        f"</ns1:fields><ns1:access_token>{token}</ns1:access_token></ns1:Database_createProfile>"
    )
    response = post(live_url, call)
    assert response.status_code == 200, response.text
    db.session.rollback()
    profile = db.session.query(Profile).one()
    template = next(f for f in profile.database.fields if f.name == "Template")
    assert profile.fields[template.key] == html


def test_a_client_fault_is_one_warning_line(live_url, token, caplog):
    caplog.set_level(logging.INFO)
    response = post(
        live_url,
        envelope(
            f"<ns1:Database_retrieve><ns1:id>seven</ns1:id><ns1:access_token>{token}</ns1:access_token>"
            "</ns1:Database_retrieve>"
        ),
    )
    assert response.status_code >= 400
    spyne = [r for r in caplog.records if r.name.startswith("spyne") or r.name.startswith("webapp.soap")]
    assert spyne, "the fault is logged"
    assert all(r.levelno <= logging.WARNING and not r.exc_info for r in spyne)
    assert all("\n" not in r.getMessage() for r in spyne)


def test_a_call_without_valid_credentials_is_refused_before_it_is_read(live_url, account, token, monkeypatch):
    """Neither Spyne nor the credential parse reads it: a body of many pairs with a wrong token, a token of
    the right shape that is not valid, or none at all is answered ``Not logged on``."""
    from spyne.protocol.soap import Soap11

    from webapp.soap import gate

    def never(*args, **kwargs):
        raise AssertionError("a call without valid credentials was parsed")

    monkeypatch.setattr(Soap11, "deserialize", never)
    monkeypatch.setattr(gate, "read_head", never)
    database = make_database(account, "Customers")
    many = "".join(f"<ns1:pair><ns1:key>k{n}</ns1:key><ns1:value>v</ns1:value></ns1:pair>" for n in range(20_000))
    for wrong in ("vrk_wrong", "vrk_" + "x" * 43, ""):
        call = envelope(
            f"<ns1:Database_createProfile><ns1:id>{database.id}</ns1:id><ns1:fields>{many}</ns1:fields>"
            f"<ns1:access_token>{wrong}</ns1:access_token></ns1:Database_createProfile>"
        )
        response = post(live_url, call)
        assert response.status_code == 500 and fault_string(response) == "Not logged on"
    response = post(live_url, b"<not-xml", Content_Type="text/xml")
    assert response.status_code == 500 and fault_string(response) == "Not logged on"


def test_bad_xml_with_credentials_is_a_syntax_fault(live_url, token):
    response = post(live_url, f"<e:Envelope><ns1:access_token>{token}</ns1:access_token>".encode())
    assert response.status_code == 400 and "well-formed" in fault_string(response)


def test_a_big_map_is_read_whole_and_in_order(live_url, token, account):
    """Maps are read in one pass (``shapes.read_map``): every pair arrives, the later of two equal keys wins."""
    database = make_database(account, "Customers", fields={"Email": "email", "Name": "text"})
    padding = "".join(
        f"<ns1:pair><ns1:key>Name</ns1:key><ns1:value>name {n}</ns1:value></ns1:pair>" for n in range(3000)
    )
    call = envelope(
        f"<ns1:Database_createProfile><ns1:id>{database.id}</ns1:id><ns1:fields>{padding}"
        "<ns1:pair><ns1:key> Email </ns1:key><ns1:value>big@example.com</ns1:value></ns1:pair>"
        "<!-- a comment --><ns1:pair><ns1:key>Name</ns1:key><ns1:value>last</ns1:value></ns1:pair>"
        f"</ns1:fields><ns1:access_token>{token}</ns1:access_token></ns1:Database_createProfile>"
    )
    response = post(live_url, call)
    assert response.status_code == 200, response.text
    db.session.rollback()
    profile = db.session.query(Profile).one()
    names = {f.name: f.key for f in profile.database.fields}
    assert (profile.fields[names["Email"]], profile.fields[names["Name"]]) == ("big@example.com", "last")


def test_a_valid_token_after_token_shaped_values_is_found(live_url, token, account):
    """Values that look like tokens do not hide the real one, wherever the client puts it."""
    database = make_database(account, "Customers", fields={"Email": "email", "Note": "text"})
    junk = "".join(f"<ns1:pair><ns1:key>Note</ns1:key><ns1:value>vrk_{n:0>43}</ns1:value></ns1:pair>" for n in range(5))
    email = "<ns1:pair><ns1:key>Email</ns1:key><ns1:value>t@example.com</ns1:value></ns1:pair>"
    call = envelope(
        f"<ns1:Database_createProfile><ns1:id>{database.id}</ns1:id><ns1:fields>{junk}{email}</ns1:fields>"
        f"<ns1:access_token>{token}</ns1:access_token></ns1:Database_createProfile>"
    )
    response = post(live_url, call)
    assert response.status_code == 200, response.text


def test_per_call_login_keeps_the_password_as_sent(strict, account):
    from webapp.accounts import users

    user = users.create_user(account, email="spaces@example.com", password=" spaced password ", role="admin")
    db.session.commit()
    login = {"username": user.email, "account": "Acme", "password": " spaced password "}
    assert strict.Account_databases(login=login).total == 0
    with pytest.raises(Fault, match="^Invalid login$"):
        strict.Account_databases(login={**login, "password": "spaced password"})
