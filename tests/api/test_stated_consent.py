"""REST writes that state a lawful basis (``consent`` beside ``fields`` on create and upsert): a consent record per
profile created or updated, in the call's transaction, with the token as reference; in the access export."""

from sqlalchemy import select

from tests.api.conftest import Api
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db
from webapp.models import ConsentRecord
from webapp.privacy import access

NEWSLETTER = {"purpose": "newsletter", "text": "Signed up at the fair, 2026", "basis": "consent"}


def records():
    db.session.expire_all()
    return db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()


def test_rest_create_and_upsert_record_the_stated_basis(app, account, database):
    _token, secret = create_api_token(account, "shop")
    api = Api(app.test_client(), secret)
    body = {"fields": {"Email": "ann@example.com"}, "consent": {"purpose": "orders", "basis": "contract"}}
    made = api.post(f"/database/{database.id}/profiles", json=body)
    assert made.status_code == 201, made.get_data(as_text=True)
    profile_id = int(made.headers["X-Created"])
    upsert = {"fields": {"customer_id": 7}, "consent": NEWSLETTER}
    assert api.put(f"/database/{database.id}/profiles?fields[]=Email==ann@example.com", json=upsert).status_code == 204
    # Stated again with nothing to change: the statement is recorded all the same.
    assert api.put(f"/database/{database.id}/profiles?fields[]=Email==ann@example.com", json=upsert).status_code == 204
    found = records()
    assert [(r.profile_id, r.source, r.reference, r.item, r.basis) for r in found] == [
        (profile_id, "api", "API token shop", "orders", "contract"),
        (profile_id, "api", "API token shop", "newsletter", "consent"),
        (profile_id, "api", "API token shop", "newsletter", "consent"),
    ]
    exported = access.export_for_profile(account, profile_id)["profiles"][0]["consents"]
    assert [c["item"] for c in exported] == ["orders", "newsletter", "newsletter"]
    bad = api.post(f"/database/{database.id}/profiles", json={**body, "consent": {"purpose": "x", "basis": "whim"}})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "consent"
    assert len(records()) == 3  # nothing of the refused call
    flat = api.post(f"/database/{database.id}/profiles", json={"Email": "bo@example.com"})
    assert flat.status_code == 201 and len(records()) == 3  # no statement: no record


def test_the_batch_upsert_records_the_basis_for_every_row(app, account, database):
    _token, secret = create_api_token(account, "shop")
    api = Api(app.test_client(), secret)
    first = {"keys": ["Email"], "profiles": [{"Email": "ann@example.com", "customer_id": 1}]}
    assert api.post(f"/database/{database.id}/profiles/batch", json=first).status_code == 200
    assert records() == []  # no statement: no record
    rows = [{"Email": "ann@example.com", "customer_id": 1}, {"Email": "bo@example.com"}, {"Email": "cy@example.com"}]
    body = {"keys": ["Email"], "profiles": rows, "consent": {"purpose": "orders", "basis": "contract"}}
    answer = api.post(f"/database/{database.id}/profiles/batch", json=body)
    assert answer.get_json() == {"created": 2, "updated": 0, "unchanged": 1}
    found = records()
    assert len(found) == 3 and len({r.profile_id for r in found}) == 3  # the unchanged row's profile too
    stated = {(r.source, r.reference, r.item, r.basis) for r in found}
    assert stated == {("api", "API token shop", "orders", "contract")}
    bad = api.post(f"/database/{database.id}/profiles/batch", json={**body, "consent": {"purpose": ""}})
    assert bad.status_code == 422 and len(records()) == 3
