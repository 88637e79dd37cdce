"""Writing a database's structure over REST on Copernica's paths: databases, fields, interests, collections and
collection fields. They change the account's set-up: an admin token only; another account's ids are 404."""

import pytest

from tests.api.conftest import Api
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db
from webapp.models import Collection, Database, Field, Interest
from webapp.profiles import profiles
from webapp.profiles.events import Origin


@pytest.fixture
def writer(app, account):
    _token, secret = create_api_token(account, "writer", scope="write")
    return Api(app.test_client(), secret)


def test_a_database_is_created_read_and_changed(api, account):
    made = api.post("/databases", json={"name": "Shop", "description": "Web shop"})
    assert made.status_code == 201
    database_id = int(made.headers["X-Created"])
    assert made.headers["Location"].endswith(f"/v4/database/{database_id}")
    read = api.get(f"/database/{database_id}").get_json()
    assert (read["name"], read["description"], read["archived"]) == ("Shop", "Web shop", False)
    assert api.put(f"/database/{database_id}", json={"archived": True}).status_code == 204
    database = db.session.get(Database, database_id)
    assert (database.name, database.description, database.archived) == ("Shop", "Web shop", True)
    clash = api.post("/databases", json={"name": "shop"})
    assert clash.status_code == 422 and clash.get_json()["errors"][0]["field"] == "name"
    assert api.post("/databases", json={"name": ["Shop"]}).status_code == 422


def test_fields_are_made_in_copernicas_shape_changed_and_removed(api, database):
    made = api.post(
        f"/database/{database.id}/fields",
        json={"name": "Country", "type": "select", "value": "NL\nBE", "displayed": True, "index": True},
    )
    assert made.status_code == 201
    field_id = int(made.headers["X-Created"])
    read = api.get(made.headers["Location"].split("/v4", 1)[1]).get_json()
    assert (read["name"], read["type"], read["value"], read["index"]) == ("Country", "select", "NL\nBE", True)
    field = db.session.get(Field, field_id)
    assert (field.type, field.options["choices"], field.indexed) == ("choice", ["NL", "BE"], True)
    assert api.put(f"/database/{database.id}/field/{field_id}", json={"name": "Land"}).status_code == 204
    field = db.session.get(Field, field_id)
    assert (field.name, field.type, field.options["choices"]) == ("Land", "choice", ["NL", "BE"])
    big = api.post(f"/database/{database.id}/fields", json={"name": "Notes", "type": "big"})
    assert db.session.get(Field, int(big.headers["X-Created"])).type == "large_text"
    assert api.delete(f"/database/{database.id}/field/{field_id}").status_code == 204
    assert db.session.get(Field, field_id) is None


def test_a_field_change_stored_values_cannot_survive_is_refused(api, account, database):
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))
    email = next(field for field in database.fields if field.name == "Email")
    refused = api.put(f"/database/{database.id}/field/{email.id}", json={"type": "integer"})
    assert refused.status_code in (409, 422)
    assert db.session.get(Field, email.id).type == "email"
    bad = api.post(f"/database/{database.id}/fields", json={"name": "1st"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "name"
    assert api.post(f"/database/{database.id}/fields", json={"name": "Age", "length": "many"}).status_code == 422
    assert api.post(f"/database/{database.id}/fields", json={"name": "Age", "hidden": "perhaps"}).status_code == 422


def test_interests_and_collections_with_their_fields(api, database):
    made = api.post(f"/database/{database.id}/interests", json={"name": "news", "group": "mail"})
    assert made.status_code == 201
    interest_id = int(made.headers["X-Created"])
    assert api.put(f"/database/{database.id}/interest/{interest_id}", json={"name": "offers"}).status_code == 204
    interest = db.session.get(Interest, interest_id)
    assert (interest.name, interest.group) == ("offers", "mail")
    collection = api.post(f"/database/{database.id}/collections", json={"name": "Orders"})
    assert collection.status_code == 201
    collection_id = int(collection.headers["X-Created"])
    assert api.put(f"/collection/{collection_id}", json={"name": "Purchases"}).status_code == 204
    assert db.session.get(Collection, collection_id).name == "Purchases"
    field = api.post(f"/collection/{collection_id}/fields", json={"name": "Total", "type": "float"})
    assert field.status_code == 201
    field_id = int(field.headers["X-Created"])
    assert api.get(f"/collection/{collection_id}/field/{field_id}").get_json()["type"] == "float"
    # a collection's field is not the database's
    assert api.get(f"/database/{database.id}/field/{field_id}").status_code == 404
    assert api.put(f"/collection/{collection_id}/field/{field_id}", json={"name": "Amount"}).status_code == 204
    assert db.session.get(Field, field_id).name == "Amount"
    assert api.delete(f"/collection/{collection_id}/field/{field_id}").status_code == 204
    assert api.delete(f"/database/{database.id}/interest/{interest_id}").status_code == 204
    assert api.delete(f"/collection/{collection_id}").status_code == 204
    assert db.session.get(Collection, collection_id) is None and db.session.get(Interest, interest_id) is None


def test_schema_writes_need_an_admin_token(writer, database):
    email = database.fields[0]
    calls = [
        ("POST", "/databases", {"name": "Other"}),
        ("PUT", f"/database/{database.id}", {"name": "Renamed"}),
        ("POST", f"/database/{database.id}/fields", {"name": "Age"}),
        ("PUT", f"/database/{database.id}/field/{email.id}", {"name": "Mail"}),
        ("DELETE", f"/database/{database.id}/field/{email.id}", None),
        ("POST", f"/database/{database.id}/interests", {"name": "news"}),
        ("POST", f"/database/{database.id}/collections", {"name": "Orders"}),
    ]
    for method, path, body in calls:
        response = writer.call(method, path, json=body)
        assert response.status_code == 403, (method, path)
    assert db.session.get(Database, database.id).name == "Customers"
    assert [field.name for field in db.session.get(Database, database.id).fields] == ["Email", "customer_id"]
    assert writer.get(f"/database/{database.id}/field/{email.id}").status_code == 200


def test_another_accounts_structure_is_not_found_and_not_changed(other_api, account, database):
    email = database.fields[0]
    interest = Interest(account_id=account.id, database_id=database.id, name="news", group="", position=0)
    collection = Collection(
        account_id=account.id, database_id=database.id, name="Orders", unsubscribe_behaviour="nothing"
    )
    db.session.add_all([interest, collection])
    db.session.commit()
    calls = [
        ("PUT", f"/database/{database.id}", {"name": "Mine"}),
        ("POST", f"/database/{database.id}/fields", {"name": "Age"}),
        ("GET", f"/database/{database.id}/field/{email.id}", None),
        ("PUT", f"/database/{database.id}/field/{email.id}", {"name": "Mail"}),
        ("DELETE", f"/database/{database.id}/field/{email.id}", None),
        ("POST", f"/database/{database.id}/interests", {"name": "offers"}),
        ("PUT", f"/database/{database.id}/interest/{interest.id}", {"name": "offers"}),
        ("DELETE", f"/database/{database.id}/interest/{interest.id}", None),
        ("POST", f"/database/{database.id}/collections", {"name": "Mine"}),
        ("PUT", f"/collection/{collection.id}", {"name": "Mine"}),
        ("DELETE", f"/collection/{collection.id}", None),
        ("POST", f"/collection/{collection.id}/fields", {"name": "Total"}),
    ]
    for method, path, body in calls:
        assert other_api.call(method, path, json=body).status_code == 404, (method, path)
    database = db.session.get(Database, database.id)
    assert database.name == "Customers" and [f.name for f in database.fields] == ["Email", "customer_id"]
    assert [i.name for i in database.interests] == ["news"] and [c.name for c in database.collections] == ["Orders"]
