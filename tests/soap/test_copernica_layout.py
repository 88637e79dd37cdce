"""Copernica's message layout: one ``parameters`` part in, one ``result`` of type ``Result`` out, as code
generated from Copernica's WSDL (Java, C#) and its Node client call it; the flat layout kept for clients
generated from Verrijk's earlier WSDL; token scopes."""

import json
import subprocess

import pytest
import zeep
from lxml import etree
from zeep.exceptions import Fault

from tests.factories import make_database
from tests.soap.helpers import pairs
from tests.soap.test_copernica_php import _php
from tests.soap.test_raw_envelopes import ENV, NS, envelope, fault_string, post
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db
from webapp.models import Database, Profile
from webapp.profiles import databases
from webapp.profiles.fields import FieldSpec, create_field
from webapp.soap import gate
from webapp.soap.layout import to_result
from webapp.soap.types import DatabaseEntity, DatabaseItems


@pytest.fixture
def strict_service(live_url):
    """zeep in strict mode from the live WSDL, called as generated code calls Copernica's operations."""
    client = zeep.Client(f"{live_url}?SOAPAPI=WSDL", settings=zeep.Settings(strict=True))
    return client.create_service(next(iter(client.wsdl.bindings)), live_url)


def test_generated_code_passes_parameters_and_reads_result(strict_service, token, account):
    db.session.commit()
    result = strict_service.Account_createDatabase(parameters={"name": "Fictional Persons 3", "access_token": token})
    database = result.database  # result.getDatabase() in Copernica's Java example
    assert database.name == "Fictional Persons 3"
    assert result.value is None and result.items is None  # only the member the method returns
    field = strict_service.Database_createField(
        parameters={
            "id": database.id,
            "name": "Email",
            "display": True,
            "specialcontent": "email",
            "access_token": token,
        }
    ).field
    assert (field.type, field.specialcontent) == ("email", "email")
    created = strict_service.Database_createProfile(
        parameters={"id": database.id, "fields": pairs(Email="ann@example.com"), "access_token": token}
    ).profile
    page = strict_service.Database_searchProfiles(
        parameters={
            "id": database.id,
            "requirements": {"requirement": [{"fieldname": "Email", "operator": "=", "value": "ann@example.com"}]},
            "access_token": token,
            "allproperties": True,
        }
    )
    assert (page.start, page.length, page.total) == (0, 1, 1)
    assert [p.id for p in page.items.profile] == [created.id]  # data.result.items.collection in Node
    assert page.items.database == [] and page.items.subprofile == []
    assert strict_service.Profile_remove(parameters={"id": created.id, "access_token": token}).value == 1
    db.session.rollback()
    assert db.session.get(Profile, created.id) is None
    assert db.session.get(Database, database.id).name == "Fictional Persons 3"


def test_strict_zeep_refuses_the_flat_call_shape(strict_service, token):
    """A flat call against Copernica's WSDL fails loudly in the client, never silently on the server."""
    with pytest.raises(TypeError):
        strict_service.Account_createDatabase(name="Leads", access_token=token)


def _node_call(method: str, members: str) -> bytes:
    """What the Node ``soap`` client sends for ``client[method]({ parameters: params })`` (rpc/literal:
    the method element in the namespace, the part accessor and its members unqualified)."""
    return envelope(f"<ns1:{method}><parameters>{members}</parameters></ns1:{method}>")


def _result(response):
    body = etree.fromstring(response.content).find(f"{{{ENV}}}Body")
    answer = body[0]
    assert etree.QName(answer).localname.endswith("Response")
    assert [child.tag for child in answer] == ["result"]  # an unqualified part accessor, as rpc/literal has
    return answer[0]


def test_node_style_envelopes(live_url, token, account):
    response = post(
        live_url,
        _node_call("Account_createDatabase", f"<name>Node Leads</name><access_token>{token}</access_token>"),
    )
    assert response.status_code == 200, response.text
    database_id = int(_result(response).findtext(f"{{{NS}}}database/{{{NS}}}id"))
    assert _result(response).findtext(f"{{{NS}}}database/{{{NS}}}name") == "Node Leads"  # data.result.database
    response = post(
        live_url,
        _node_call(
            "Database_createProfile",
            f"<id>{database_id}</id><fields><pair><key>Name</key><value>x</value></pair></fields>"
            f"<access_token>{token}</access_token>",
        ),
    )
    assert fault_string(response) == "Name: There is no field named Name."  # faults are the same in both layouts
    response = post(live_url, _node_call("Account_databases", f"<access_token>{token}</access_token>"))
    result = _result(response)
    assert result.findtext(f"{{{NS}}}total") == "1"
    names = result.findall(f"{{{NS}}}items/{{{NS}}}database/{{{NS}}}name")
    assert [n.text for n in names] == ["Node Leads"]  # data.result.items.database
    response = post(
        live_url, _node_call("Database_retrieve", f"<id>{database_id}</id><access_token>{token}</access_token>")
    )
    assert _result(response).findtext(f"{{{NS}}}database/{{{NS}}}name") == "Node Leads"
    response = post(
        live_url, _node_call("Database_remove", f"<id>{database_id}</id><access_token>{token}</access_token>")
    )
    assert _result(response).findtext(f"{{{NS}}}value") == "1"  # data.result.value


def test_the_flat_layout_keeps_working_on_both_paths(live_url, token, account):
    """A call in the flat layout (Verrijk's earlier WSDL) gets a flat answer at /soap; /soap/flat serves that
    WSDL, so clients generated from it keep working by pointing at it."""
    make_database(account, "Customers")
    flat_call = envelope(f"<ns1:Account_databases><ns1:access_token>{token}</ns1:access_token></ns1:Account_databases>")
    for url in (live_url, f"{live_url}/flat"):
        response = post(url, flat_call)
        assert response.status_code == 200, response.text
        answer = etree.fromstring(response.content).find(f"{{{ENV}}}Body")[0]
        assert [etree.QName(child).localname for child in answer] == ["start", "length", "total", "items"]
        assert answer.findtext(f"{{{NS}}}total") == "1"
    client = zeep.Client(f"{live_url}/flat?SOAPAPI=WSDL", settings=zeep.Settings(strict=True))
    flat = client.create_service(next(iter(client.wsdl.bindings)), f"{live_url}/flat")
    db.session.commit()
    assert flat.Account_database(identifier="customers", access_token=token).name == "Customers"
    assert flat.Account_databases(access_token=token).total == 1
    # A call in Copernica's layout is answered in it at either path.
    response = post(f"{live_url}/flat", _node_call("Account_databases", f"<access_token>{token}</access_token>"))
    assert _result(response).findtext(f"{{{NS}}}total") == "1"


def test_a_read_only_token_reads_and_is_refused_writes(strict_service, live_url, account):
    database = make_database(account, "Customers", fields={"Email": "email"})
    _, reader = create_api_token(account, "reader", scope="read")
    _, writer = create_api_token(account, "writer", scope="write")
    db.session.commit()
    assert strict_service.Database_retrieve(parameters={"id": database.id, "access_token": reader}).database.id
    assert strict_service.Database_unsubscribeValues(parameters={"id": database.id, "access_token": reader}) is not None
    for method, parameters in [
        ("Database_createProfile", {"id": database.id, "fields": pairs(Email="a@example.com")}),
        ("Database_update", {"id": database.id, "name": "Renamed"}),
        ("Collection_unsubscribe", {"id": 1}),
    ]:
        with pytest.raises(Fault, match="This token may only read: give it the write scope to change data."):
            getattr(strict_service, method)(parameters={**parameters, "access_token": reader})
    flat = envelope(
        f"<ns1:Database_remove><ns1:id>{database.id}</ns1:id><ns1:access_token>{reader}</ns1:access_token>"
        "</ns1:Database_remove>"
    )
    assert fault_string(post(live_url, flat)) == "This token may only read: give it the write scope to change data."
    db.session.rollback()
    assert db.session.get(Database, database.id).name == "Customers"
    assert db.session.query(Profile).count() == 0
    created = strict_service.Database_createProfile(
        parameters={"id": database.id, "fields": pairs(Email="w@example.com"), "access_token": writer}
    )
    assert created.profile.id


def test_the_gate_finds_credentials_inside_parameters():
    body = _node_call(
        "Database_retrieve",
        "<id>1</id><login><username>ann@example.com</username><password> secret</password></login>"
        "<access_token>vrk_abc</access_token>",
    )
    head = gate.read_head(body)
    assert (head.method, head.access_token) == ("Database_retrieve", "vrk_abc")
    assert (head.login.username, head.login.password) == ("ann@example.com", " secret")
    assert gate.has_parameters(body)
    flat = envelope(
        "<ns1:Database_retrieve><ns1:id>1</ns1:id><ns1:access_token>vrk_x</ns1:access_token></ns1:Database_retrieve>"
    )
    assert gate.read_head(flat).access_token == "vrk_x"
    assert not gate.has_parameters(flat)
    assert not gate.has_parameters(envelope("<ns1:Account_databases/>"))


def test_the_gate_refuses_a_big_unauthenticated_body_in_copernicas_layout(live_url, ctx, monkeypatch):
    pairs_xml = "".join(f"<pair><key>k{n}</key><value>v</value></pair>" for n in range(20000))
    body = _node_call(
        "Profile_updateFields", f"<id>1</id><fields>{pairs_xml}</fields><access_token>vrk_wrong</access_token>"
    )

    def never(_body):
        raise AssertionError("an unauthenticated body was parsed")

    monkeypatch.setattr(gate, "read_head", never)
    response = post(live_url, body)
    assert fault_string(response) == "Not logged on"


def test_results_name_every_member_a_method_returns():
    database = DatabaseEntity(id=1, name="A")
    assert to_result(database, ["database"]).database is database
    paged = to_result((0, 1, 1, DatabaseItems(database=[database])), ["start", "length", "total", "items"])
    assert (paged.total, paged.items.database) == (1, [database])
    with pytest.raises(TypeError, match="add it to webapp.soap.types.Result"):
        to_result(1, ["export"])


def test_caller_is_accepted_and_a_historic_timestamp_refused(strict_service, token, account):
    database = make_database(account, "Customers", fields={"Email": "email"})
    collection = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Total", type="text"), collection_id=collection.id)
    db.session.commit()
    caller = {"followups": False, "caller": "webshop", "identity": "shop"}
    created = strict_service.Database_createProfile(
        parameters={"id": database.id, "fields": pairs(Email="a@example.com"), "caller": caller, "access_token": token}
    ).profile
    child = strict_service.Profile_createSubProfile(
        parameters={
            "id": created.id,
            "collection": {"id": collection.id},
            "fields": pairs(Total="5"),
            "caller": caller,
            "access_token": token,
        }
    ).subprofile
    assert child.profile == created.id
    with pytest.raises(Fault, match="Verrijk keeps no historic profiles: leave timestamp out."):
        strict_service.Profile_subProfiles(
            parameters={"id": created.id, "timestamp": "2020-01-01 00:00:00", "access_token": token}
        )
    with pytest.raises(Fault, match="leave timestamp out"):
        strict_service.Profile_createSubProfile(
            parameters={
                "id": created.id,
                "timestamp": "2020-01-01 00:00:00",
                "collection": {"id": collection.id},
                "fields": pairs(Total="6"),
                "access_token": token,
            }
        )
    page = strict_service.Profile_subProfiles(
        parameters={"id": created.id, "collection": {"id": collection.id}, "access_token": token}
    )
    assert page.total == 1  # the refused call stored nothing


def test_soap_namespace_is_configurable():
    """``SOAP_NAMESPACE`` sets the target namespace (read when the types are built: a fresh process)."""
    import os
    import sys

    script = (
        "from webapp.soap import types, build_application;app = build_application();print(types.NAMESPACE, app.tns)"
    )
    environment = {**os.environ, "SOAP_NAMESPACE": "http://example.com/pom"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["http://example.com/pom", "http://example.com/pom"]
    from webapp.soap import types

    assert types.NAMESPACE == types.DEFAULT_NAMESPACE == NS  # unset: the default, as before


@pytest.mark.parametrize(
    "method,writes",
    [
        ("Database_createField", True),
        ("Database_setUnsubscribeValues", True),
        ("Collection_unsubscribe", True),
        ("SubProfile_moveToProfile", True),
        ("View_updateProfiles", True),
        ("Database_unsubscribeValues", False),
        ("Database_searchProfiles", False),
        ("View_profiles", False),
        ("login", False),
    ],
)
def test_which_methods_write(method, writes):
    from webapp.soap.auth import is_write

    assert is_write(method) is writes


def test_php_reads_copernicas_signatures_from_the_wsdl(live_url):
    """PHP's view of the WSDL is the one generated code gets: ``Result <Method>(input_<Method> $parameters)``."""
    import subprocess

    script = '$c = new SoapClient($argv[1], ["cache_wsdl" => WSDL_CACHE_NONE]);echo json_encode($c->__getFunctions());'
    done = subprocess.run(
        [_php(), "-r", script, f"{live_url}?SOAPAPI=WSDL"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    functions = set(json.loads(done.stdout))
    assert "Result login(input_login $parameters)" in functions
    assert "Result Account_createDatabase(input_Account_createDatabase $parameters)" in functions
    assert all(f.startswith("Result ") and f.endswith(" $parameters)") for f in functions)
