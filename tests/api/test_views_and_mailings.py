"""Selections (Copernica's views) and mailings over REST: reads with a read token, writes with an admin token,
another account's ids are 404, bad input is a 422 problem naming the member."""

from datetime import timedelta

import pytest

from tests.api.conftest import Api
from webapp.accounts.tokens import create_api_token
from webapp.email import templates
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.models import Mailing, MailingRecipient, ScheduledWork, Selection, utcnow
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin")


@pytest.fixture
def reader(app, account):
    _token, secret = create_api_token(account, "reader", scope="read")
    return Api(app.test_client(), secret)


@pytest.fixture
def shop(account, database):
    for n in range(5):
        profiles.create_profile(account, database.id, {"Email": f"p{n}@example.com", "customer_id": n}, origin=ADMIN)
    template = templates.save_template(account, TemplateValues(name="News", subject="News", html="<p>Hi</p>"))
    return database, template


def customer_rule(database, operator: str, value: int) -> dict:
    customer = next(field for field in database.fields if field.name == "customer_id")
    return {"match": "all", "rules": [{"field_id": customer.id, "operator": operator, "value": value}]}


def test_a_view_is_made_from_rules_read_and_its_members_paged(api, reader, shop):
    database, _template = shop
    made = api.post(
        f"/database/{database.id}/views", json={"name": "Big spenders", "rules": customer_rule(database, ">=", 2)}
    )
    assert made.status_code == 201
    view_id = int(made.headers["X-Created"])
    listed = reader.get(f"/database/{database.id}/views").get_json()
    assert [(item["ID"], item["name"], item["has-rules"]) for item in listed["data"]] == [
        (str(view_id), "Big spenders", True)
    ]
    read = reader.get(f"/view/{view_id}").get_json()
    assert read["parent-type"] == "database" and read["database"] == str(database.id)
    first = reader.get(f"/view/{view_id}/profiles?limit=2").get_json()
    assert (first["start"], first["count"], first["total"]) == (0, 2, 3)
    emails = [item["fields"]["Email"] for item in first["data"]]
    rest = reader.get(f"/view/{view_id}/profiles?start=2&limit=2&total=false").get_json()
    assert "total" not in rest
    emails += [item["fields"]["Email"] for item in rest["data"]]
    assert emails == ["p2@example.com", "p3@example.com", "p4@example.com"]
    changed = api.put(f"/view/{view_id}", json={"rules": customer_rule(database, "<", 1)})
    assert changed.status_code == 204
    assert reader.get(f"/view/{view_id}/profiles").get_json()["total"] == 1
    assert reader.put(f"/view/{view_id}", json={"name": "Mine"}).status_code == 403
    assert api.delete(f"/view/{view_id}").status_code == 204
    assert db.session.get(Selection, view_id) is None


def test_a_collection_views_members_are_subprofiles(api, account, database):
    collection = databases.create_collection(account, database.id, "Orders")
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    subprofile = subprofiles.create_subprofile(account, profile.id, collection.id, {}, origin=ADMIN)
    made = api.post(f"/database/{database.id}/views", json={"name": "Orders", "collection": collection.id})
    members = api.get(f"/view/{made.headers['X-Created']}/profiles").get_json()
    assert [(item["ID"], item["collection"]) for item in members["data"]] == [(str(subprofile.id), str(collection.id))]


def test_bad_views_are_refused_with_the_member_named(api, database):
    path = f"/database/{database.id}/views"
    assert api.post(path, json={"name": ""}).get_json()["errors"][0]["field"] == "name"
    wrong = api.post(path, json={"name": "X", "rules": {"match": "all", "rules": [{"field_id": 999999}]}})
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["field"] == "rules"
    assert api.post(path, json={"name": "X", "rules": ["a"]}).get_json()["errors"][0]["field"] == "rules"
    assert db.session.query(Selection).count() == 0


def test_another_accounts_views_are_not_found(other_api, account, database):
    selection = Selection(account_id=account.id, database_id=database.id, name="Everyone", rules={})
    db.session.add(selection)
    db.session.commit()
    assert other_api.get(f"/database/{database.id}/views").status_code == 404
    assert other_api.post(f"/database/{database.id}/views", json={"name": "Mine"}).status_code == 404
    for method in ("GET", "PUT", "DELETE"):
        assert other_api.call(method, f"/view/{selection.id}", json={"name": "Mine"}).status_code == 404
    assert other_api.get(f"/view/{selection.id}/profiles").status_code == 404
    assert db.session.get(Selection, selection.id).name == "Everyone"


def everyone(api, database) -> int:
    made = api.post(f"/database/{database.id}/views", json={"name": "Everyone"})
    return int(made.headers["X-Created"])


def test_a_mailing_is_created_sent_paused_resumed_and_cancelled_with_its_results(api, reader, shop):
    database, template = shop
    target = everyone(api, database)
    body = {"name": "December", "database": database.id, "template": template.id, "targets": [target]}
    made = api.post("/mailings", json=body)
    assert made.status_code == 201
    mailing_id = int(made.headers["X-Created"])
    assert api.put(f"/mailing/{mailing_id}", json={"subject": "Winter news"}).status_code == 204
    read = reader.get(f"/mailing/{mailing_id}").get_json()
    assert (read["status"], read["subject"], read["targets"], read["template"]) == (
        "draft",
        "Winter news",
        [str(target)],
        str(template.id),
    )
    assert read["results"]["recipients"] == 0
    assert [item["ID"] for item in reader.get("/mailings").get_json()["data"]] == [str(mailing_id)]
    assert reader.post(f"/mailing/{mailing_id}/send").status_code == 403
    sent = api.post(f"/mailing/{mailing_id}/send")
    assert sent.status_code == 200 and sent.get_json()["status"] == "sending"
    assert sent.get_json()["recipients"] == 5
    assert api.put(f"/mailing/{mailing_id}", json={"subject": "Too late"}).status_code == 409
    assert api.post(f"/mailing/{mailing_id}/pause").get_json()["status"] == "paused"
    assert api.post(f"/mailing/{mailing_id}/pause").status_code == 409
    assert api.post(f"/mailing/{mailing_id}/resume").get_json()["status"] == "sending"
    assert api.post(f"/mailing/{mailing_id}/cancel").get_json()["status"] == "cancelled"
    results = reader.get(f"/mailing/{mailing_id}/results").get_json()
    assert (results["recipients"], results["by_status"], results["sent"]) == (5, {"cancelled": 5}, 0)
    assert api.delete(f"/mailing/{mailing_id}").status_code == 409


def test_a_mailing_is_scheduled_at_a_time_and_bad_definitions_are_refused(api, shop):
    database, template = shop
    target = everyone(api, database)
    body = {"name": "Later", "database": database.id, "template": template.id, "targets": [target]}
    mailing_id = int(api.post("/mailings", json=body).headers["X-Created"])
    at = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    scheduled = api.post(f"/mailing/{mailing_id}/send", json={"at": at.isoformat() + "+00:00"})
    assert scheduled.status_code == 200 and scheduled.get_json()["status"] == "scheduled"
    assert db.session.get(Mailing, mailing_id).scheduled_at == at
    assert db.session.query(ScheduledWork).filter_by(kind="mailing-start").count() == 1
    assert api.post(f"/mailing/{mailing_id}/send", json={"at": "tomorrow"}).status_code == 422
    past = api.post(f"/mailing/{mailing_id}/send", json={"at": "2001-01-01 09:00:00"})
    assert past.status_code in (409, 422)
    bad = api.post("/mailings", json={**body, "targets": ["x"], "ab_metric": "likes"})
    assert bad.status_code == 422
    assert {error["field"] for error in bad.get_json()["errors"]} == {"targets"}
    no_targets = api.post("/mailings", json={**body, "targets": [], "ab_metric": "likes"})
    assert {error["field"] for error in no_targets.get_json()["errors"]} == {"target_ids", "ab_metric"}
    assert db.session.query(Mailing).count() == 1


def test_another_accounts_mailings_are_not_found_and_not_sent(other_api, api, shop):
    database, template = shop
    target = everyone(api, database)
    body = {"name": "Mine", "database": database.id, "template": template.id, "targets": [target]}
    mailing_id = int(api.post("/mailings", json=body).headers["X-Created"])
    assert other_api.post("/mailings", json=body).status_code == 422  # their database is not found
    for method, path in [
        ("GET", f"/mailing/{mailing_id}"),
        ("GET", f"/mailing/{mailing_id}/results"),
        ("PUT", f"/mailing/{mailing_id}"),
        ("DELETE", f"/mailing/{mailing_id}"),
        ("POST", f"/mailing/{mailing_id}/send"),
        ("POST", f"/mailing/{mailing_id}/pause"),
        ("POST", f"/mailing/{mailing_id}/cancel"),
    ]:
        assert other_api.call(method, path, json={}).status_code == 404, (method, path)
    assert other_api.get("/mailings").get_json()["data"] == []
    assert db.session.get(Mailing, mailing_id).status == "draft"
    assert db.session.query(MailingRecipient).count() == 0
