"""Raw HTTP and XML: what PHP's SoapClient and hand-written envelopes send, and hostile documents."""

import gzip

import httpx
import pytest
from lxml import etree

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import Profile
from webapp.profiles import profiles
from webapp.profiles.events import Origin

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "http://verrijk/soap"
XMLNS = {"s": ENV, "v": NS}


def envelope(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{NS}">'
        f"<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def post(url: str, data: bytes, **headers) -> httpx.Response:
    db.session.commit()
    base = {"Content-Type": "text/xml; charset=utf-8"}
    base.update({k.replace("_", "-"): v for k, v in headers.items()})
    return httpx.post(url, content=data, headers={k: v for k, v in base.items() if v is not None})


def body_of(response: httpx.Response):
    return etree.fromstring(response.content).find("s:Body", XMLNS)[0]


def fault_string(response: httpx.Response) -> str:
    return etree.fromstring(response.content).findtext("s:Body/s:Fault/faultstring", namespaces=XMLNS)


@pytest.fixture
def database(account):
    return make_database(account, "Customers", fields={"Email": "email", "Name": "text"})


def _databases_call(token: str) -> bytes:
    return envelope(f"<ns1:Account_databases><ns1:access_token>{token}</ns1:access_token></ns1:Account_databases>")


def test_php_style_call_without_soapaction(live_url, token, database):
    """PHP sends maps as pair lists; a single pair is one element, not a list."""
    call = envelope(
        f"<ns1:Database_createProfile><ns1:access_token>{token}</ns1:access_token><ns1:id>{database.id}</ns1:id>"
        "<ns1:fields><ns1:pair><ns1:key>Email</ns1:key><ns1:value>php@example.com</ns1:value></ns1:pair>"
        "</ns1:fields></ns1:Database_createProfile>"
    )
    response = post(live_url, call)  # no SOAPAction header at all
    assert response.status_code == 200, response.text
    result = body_of(response)
    assert result.tag == f"{{{NS}}}Database_createProfileResponse"
    [entity] = list(result)  # an entity: exactly one child, named after it
    assert entity.tag == f"{{{NS}}}profile"
    pairs = {
        p.findtext("v:key", namespaces=XMLNS): p.findtext("v:value", namespaces=XMLNS)
        for p in entity.iterfind("v:fields/v:pair", XMLNS)
    }
    assert pairs == {"Email": "php@example.com", "Name": ""}
    db.session.rollback()
    assert db.session.query(Profile).count() == 1


def test_paged_list_shape_with_one_item_and_with_none(live_url, token, database, account):
    profiles.create_profile(account, database.id, {"Email": "one@example.com"}, origin=Origin("admin"))
    call = envelope(
        f"<ns1:Database_searchProfiles><ns1:access_token>{token}</ns1:access_token><ns1:id>{database.id}</ns1:id>"
        "<ns1:requirements><ns1:requirement><ns1:fieldname>Email</ns1:fieldname>"
        "<ns1:value>one@example.com</ns1:value></ns1:requirement></ns1:requirements>"
        "</ns1:Database_searchProfiles>"
    )
    result = body_of(post(live_url, call, SOAPAction='"Database_searchProfiles"'))
    assert [etree.QName(child).localname for child in result] == ["start", "length", "total", "items"]
    assert [etree.QName(child).localname for child in result.find("v:items", XMLNS)] == ["profile"]
    assert result.findtext("v:total", namespaces=XMLNS) == "1"
    none = body_of(post(live_url, call.replace(b"one@example.com", b"nobody@example.com")))
    assert [etree.QName(child).localname for child in none] == ["start", "length", "total", "items"]
    assert none.findtext("v:total", namespaces=XMLNS) == "0" and len(none.find("v:items", XMLNS)) == 0


def test_scalar_map_and_empty_results(live_url, token, database, account):
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))
    update = envelope(
        f"<ns1:Profile_updateFields><ns1:access_token>{token}</ns1:access_token><ns1:id>{profile.id}</ns1:id>"
        "<ns1:fields><ns1:pair><ns1:key>Name</ns1:key><ns1:value>Anna</ns1:value></ns1:pair></ns1:fields>"
        "</ns1:Profile_updateFields>"
    )
    result = body_of(post(live_url, update))
    assert [(etree.QName(c).localname, c.text) for c in result] == [("value", "1")]
    read = envelope(
        f"<ns1:Profile_fields><ns1:access_token>{token}</ns1:access_token><ns1:id>{profile.id}</ns1:id>"
        "</ns1:Profile_fields>"
    )
    result = body_of(post(live_url, read))
    assert [etree.QName(c).localname for c in result] == ["map"]
    assert [p.findtext("v:key", namespaces=XMLNS) for p in result.iterfind("v:map/v:pair", XMLNS)] == ["Email", "Name"]
    missing = body_of(
        post(
            live_url,
            envelope(
                f"<ns1:Database_retrieve><ns1:access_token>{token}</ns1:access_token><ns1:id>4242</ns1:id>"
                "</ns1:Database_retrieve>"
            ),
        )
    )
    assert len(missing) == 0  # not found: an empty response, which PHP decodes as false


def test_ids_as_repeated_items(live_url, token, database, account):
    ids = [
        profiles.create_profile(account, database.id, {"Email": f"{n}@example.com"}, origin=Origin("admin")).id
        for n in range(3)
    ]
    call = envelope(
        f"<ns1:Database_removeProfiles><ns1:access_token>{token}</ns1:access_token><ns1:id>{database.id}</ns1:id>"
        f"<ns1:ids><ns1:item>{ids[0]}</ns1:item><ns1:item>{ids[2]}</ns1:item></ns1:ids></ns1:Database_removeProfiles>"
    )
    assert body_of(post(live_url, call)).findtext("v:value", namespaces=XMLNS) == "1"
    db.session.rollback()
    assert [p.id for p in db.session.query(Profile)] == [ids[1]]


@pytest.mark.parametrize(
    "content_type",
    [
        'application/soap+xml; charset=utf-8; action="Account_databases"',
        "application/soap+xml",
        None,
    ],
)
def test_soap12_media_type_or_none_on_a_soap11_envelope(live_url, token, database, content_type):
    response = post(live_url, _databases_call(token), Content_Type=content_type)
    assert response.status_code == 200, response.text
    assert body_of(response).findtext("v:total", namespaces=XMLNS) == "1"


def test_bearer_header_in_a_raw_call(live_url, token, database):
    call = envelope("<ns1:Account_databases/>")
    response = post(live_url, call, Authorization=f"Bearer {token}")
    assert body_of(response).findtext("v:total", namespaces=XMLNS) == "1"
    assert fault_string(post(live_url, call)) == "Not logged on"


def test_gzip_request_and_response(live_url, token, database, account):
    for n in range(20):
        profiles.create_profile(account, database.id, {"Email": f"p{n}@example.com"}, origin=Origin("admin"))
    call = envelope(
        f"<ns1:Database_profiles><ns1:access_token>{token}</ns1:access_token><ns1:id>{database.id}</ns1:id>"
        "<ns1:allproperties>true</ns1:allproperties></ns1:Database_profiles>"
    )
    db.session.commit()
    raw = httpx.post(
        live_url,
        content=gzip.compress(call),
        headers={"Content-Type": "text/xml", "Content-Encoding": "gzip", "Accept-Encoding": "gzip"},
    )
    assert raw.headers["Content-Encoding"] == "gzip"
    assert body_of(raw).findtext("v:total", namespaces=XMLNS) == "20"  # httpx inflated it
    plain = httpx.post(live_url, content=call, headers={"Content-Type": "text/xml", "Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert raw.num_bytes_downloaded < len(plain.content) / 3
    wsdl = httpx.get(f"{live_url}?wsdl", headers={"Accept-Encoding": "gzip"})
    assert wsdl.headers["Content-Encoding"] == "gzip" and b"Database_searchProfiles" in wsdl.content


def test_malformed_xml_is_a_fault(live_url, token):
    response = post(live_url, b"<SOAP-ENV:Envelope xmlns:SOAP-ENV='" + ENV.encode() + b"'><SOAP-ENV:Body><oops>")
    assert response.status_code >= 400
    assert "Fault" in response.text and fault_string(response)


def test_unknown_method_is_a_fault(live_url, token):
    response = post(
        live_url, envelope(f"<ns1:Account_explode><ns1:access_token>{token}</ns1:access_token></ns1:Account_explode>")
    )
    assert response.status_code >= 400 and fault_string(response)


def test_wrong_value_type_is_a_fault(live_url, token):
    response = post(
        live_url,
        envelope(
            f"<ns1:Database_retrieve><ns1:access_token>{token}</ns1:access_token>"
            "<ns1:id>seven</ns1:id></ns1:Database_retrieve>"
        ),
    )
    assert response.status_code >= 400 and fault_string(response)


def test_entity_expansion_attack_is_refused_without_expanding(live_url, token, database):
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">' for n in range(1, 10)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE Envelope [{entities}]>'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{NS}"><SOAP-ENV:Body>'
        f"<ns1:Account_createDatabase><ns1:access_token>{token}</ns1:access_token><ns1:name>Bomb</ns1:name>"
        "<ns1:description>&lol9;</ns1:description></ns1:Account_createDatabase></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
    response = post(live_url, bomb)
    assert response.status_code >= 400
    assert "not allowed" in fault_string(response)
    assert len(response.content) < 10_000  # nothing was expanded into the answer
    from webapp.models import Database

    db.session.rollback()
    assert db.session.query(Database).filter_by(name="Bomb").count() == 0


def test_external_entities_are_refused(live_url, token, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{ENV}" xmlns:ns1="{NS}"><SOAP-ENV:Body>'
        f"<ns1:Account_database><ns1:access_token>{token}</ns1:access_token><ns1:identifier>&xxe;</ns1:identifier>"
        "</ns1:Account_database></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
    response = post(live_url, xxe)
    assert response.status_code >= 400 and "TOP SECRET" not in response.text


def test_request_size_limit(live_url, token, app):
    limit = app.config["SOAP_MAX_REQUEST_BYTES"]
    padding = b" " * (limit + 1)
    response = post(live_url, _databases_call(token)[:-20] + padding + _databases_call(token)[-20:])
    assert response.status_code == 413 and fault_string(response) == "The request is too large."
    bomb = gzip.compress(b" " * (limit + 10))
    db.session.commit()
    response = httpx.post(live_url, content=bomb, headers={"Content-Type": "text/xml", "Content-Encoding": "gzip"})
    assert response.status_code == 413


def test_a_number_over_the_int_digit_limit_is_a_fault_naming_the_field(live_url, token, account):
    database = make_database(account, "Scores", fields={"Email": "email", "Score": "number"})
    call = envelope(
        f"<ns1:Database_createProfile><ns1:access_token>{token}</ns1:access_token><ns1:id>{database.id}</ns1:id>"
        f"<ns1:fields><ns1:pair><ns1:key>Score</ns1:key><ns1:value>{'9' * 5000}</ns1:value></ns1:pair>"
        "</ns1:fields></ns1:Database_createProfile>"
    )
    response = post(live_url, call)
    assert response.status_code == 500 and "Score" in fault_string(response) and "30 digits" in fault_string(response)
    db.session.rollback()
    assert db.session.query(Profile).count() == 0


def test_view_and_rule_shapes(live_url, token, database, account):
    """A view and a rule are entities with exactly one child named after them; rules come as a paged list."""
    created = body_of(
        post(
            live_url,
            envelope(
                f"<ns1:Database_createView><ns1:access_token>{token}</ns1:access_token><ns1:id>{database.id}</ns1:id>"
                "<ns1:name>Raw</ns1:name></ns1:Database_createView>"
            ),
        )
    )
    assert [etree.QName(child).localname for child in created] == ["view"]
    view_id = created.findtext("v:view/v:id", namespaces=XMLNS)
    rule = body_of(
        post(
            live_url,
            envelope(
                f"<ns1:View_createRule><ns1:access_token>{token}</ns1:access_token><ns1:id>{view_id}</ns1:id>"
                "<ns1:name>First</ns1:name><ns1:inversed>true</ns1:inversed></ns1:View_createRule>"
            ),
        )
    )
    assert [etree.QName(child).localname for child in rule] == ["rule"]
    assert [etree.QName(child).localname for child in rule.find("v:rule", XMLNS)] == [
        "id",
        "name",
        "view",
        "inversed",
        "disabled",
    ]
    assert rule.findtext("v:rule/v:inversed", namespaces=XMLNS) == "true"
    listed = body_of(
        post(
            live_url,
            envelope(
                f"<ns1:View_rules><ns1:access_token>{token}</ns1:access_token><ns1:id>{view_id}</ns1:id>"
                "</ns1:View_rules>"
            ),
        )
    )
    assert [etree.QName(child).localname for child in listed] == ["start", "length", "total", "items"]
    assert [etree.QName(child).localname for child in listed.find("v:items", XMLNS)] == ["rule"]


def test_miniview_and_condition_shapes(live_url, token, database, account):
    """A miniview is an entity with one child named after it; a rule's conditions come as a paged list whose
    items are ``fieldcondition`` and ``interestcondition`` elements, field conditions first."""
    from webapp.profiles import databases
    from webapp.selections import selections

    orders = databases.create_collection(account, database.id, "Orders")
    databases.create_interest(account, database.id, "News")
    name = next(field.id for field in database.fields if field.name == "Name")
    news = next(interest.id for interest in database.interests)
    view = selections.create_selection(
        account,
        database.id,
        "Both",
        rules={
            "match": "any",
            "rules": [
                {
                    "match": "all",
                    "name": "R",
                    "rules": [{"interest_id": news, "value": True}, {"field_id": name, "operator": "=", "value": "x"}],
                }
            ],
        },
    )
    call = (
        f"<ns1:Collection_createMiniView><ns1:access_token>{token}</ns1:access_token><ns1:id>{orders.id}</ns1:id>"
        "<ns1:name>Raw</ns1:name></ns1:Collection_createMiniView>"
    )
    created = body_of(post(live_url, envelope(call)))
    assert [etree.QName(child).localname for child in created] == ["miniview"]
    assert [etree.QName(child).localname for child in created.find("v:miniview", XMLNS)] == [
        "id",
        "name",
        "description",
    ]
    call = (
        f"<ns1:Rule_conditions><ns1:access_token>{token}</ns1:access_token><ns1:id>{view.id * 1000 + 1}</ns1:id>"
        "</ns1:Rule_conditions>"
    )
    listed = body_of(post(live_url, envelope(call)))
    assert [etree.QName(child).localname for child in listed] == ["start", "length", "total", "items"]
    found = listed.find("v:items", XMLNS)
    assert [etree.QName(child).localname for child in found] == ["fieldcondition", "interestcondition"]
    assert [etree.QName(child).localname for child in found.find("v:fieldcondition", XMLNS)] == [
        "id",
        "type",
        "disabled",
        "comparison",
        "value",
        "numericComparison",
        "field",
    ]
    interest = found.find("v:interestcondition", XMLNS)
    assert [etree.QName(child).localname for child in interest] == [
        "id",
        "type",
        "disabled",
        "interest",
        "interestgroup",
        "value",
    ]
    assert (interest.findtext("v:id", namespaces=XMLNS), interest.findtext("v:value", namespaces=XMLNS)) == ("1", "1")
    assert found.findtext("v:fieldcondition/v:id", namespaces=XMLNS) == "2"
