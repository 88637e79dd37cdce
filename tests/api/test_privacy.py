"""A person's rights over REST: find by address, the access export, erasure and anonymisation as a durable job
with its report — admin tokens only, per account, problems for bad input, Idempotency-Key on the POSTs."""

from sqlalchemy import func, select

from tests.api.conftest import Api
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db
from webapp.models import PrivacyRequest, Profile
from webapp.platform import work
from webapp.profiles import consents, profiles
from webapp.profiles.events import Origin

ADDRESS = "zeb.quill@example.org"


def person(account, database, address=ADDRESS):
    profile = profiles.create_profile(account, database.id, {"Email": address}, origin=Origin("admin"))
    consents.record(
        account_id=account.id, database_id=database.id, profile_id=profile.id, source="api", basis="contract"
    )
    db.session.commit()
    return profile


def test_a_person_is_found_by_address_in_the_body(api, account, database):
    profile = person(account, database)
    found = api.post("/privacy/lookup", json={"email": " Zeb.Quill@Example.org "})
    assert found.status_code == 200
    assert found.get_json() == {"email": ADDRESS, "profiles": [{"ID": str(profile.id), "database": str(database.id)}]}
    assert api.post("/privacy/lookup", json={"email": "nobody@example.org"}).get_json()["profiles"] == []
    bad = api.post("/privacy/lookup", json={"email": "not an address"})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert bad.get_json()["errors"] == [{"field": "address", "message": "Enter an email address."}]


def test_the_access_export_by_address_or_profile(api, account, database):
    profile = person(account, database)
    by_address = api.post("/privacy/access", json={"email": ADDRESS})
    assert by_address.status_code == 200
    document = by_address.get_json()
    assert document["addresses"] == [ADDRESS] and [p["id"] for p in document["profiles"]] == [profile.id]
    assert document["profiles"][0]["consents"][0]["basis"] == "contract"
    by_profile = api.post("/privacy/access", json={"profile": profile.id}).get_json()
    assert by_profile["profiles"][0]["fields"] == {"Email": ADDRESS}
    assert api.post("/privacy/access", json={"profile": 999999}).status_code == 404
    assert api.post("/privacy/access", json={}).status_code == 422
    wrong = api.post("/privacy/access", json={"email": 3, "colour": "red"})
    assert wrong.status_code == 422 and {e["field"] for e in wrong.get_json()["errors"]} == {"colour"}


def test_erasure_is_a_job_whose_report_is_read_back(api, account, database):
    profile = person(account, database)
    made = api.post("/privacy/erasures", json={"email": ADDRESS}, headers={"Idempotency-Key": "erase-zeb"})
    assert made.status_code == 202, made.get_data(as_text=True)
    body, request_id = made.get_json(), made.headers["X-Created"]
    assert made.headers["Location"].endswith(f"/privacy/erasures/{request_id}")
    assert (body["kind"], body["status"], body["profiles"], body["report"]) == (
        "erase",
        "pending",
        [str(profile.id)],
        {},
    )
    assert body["requested_by"] == "API token shop"
    again = api.post("/privacy/erasures", json={"email": ADDRESS}, headers={"Idempotency-Key": "erase-zeb"})
    assert again.headers["Idempotent-Replayed"] == "true" and again.headers["X-Created"] == request_id
    assert db.session.scalar(select(func.count()).select_from(PrivacyRequest)) == 1
    pending = api.get(f"/privacy/erasures/{request_id}").get_json()
    assert pending["status"] == "pending"
    request = db.session.get(PrivacyRequest, int(request_id))
    assert work.run_work(request.work_id) == "done"
    done = api.get(f"/privacy/erasures/{request_id}").get_json()
    assert done["status"] == "done" and done["finished"]
    assert done["report"]["tables"]["profile"] == 1 and done["report"]["tables"]["consent_record"] == 1
    assert db.session.get(Profile, profile.id) is None


def test_anonymise_by_profile_keeps_the_profile(api, account, database):
    profile = person(account, database)
    profile_code = profile.code
    made = api.post("/privacy/erasures", json={"profile": profile.id, "kind": "anonymise"})
    assert made.status_code == 202 and made.get_json()["kind"] == "anonymise"
    assert work.run_work(db.session.get(PrivacyRequest, int(made.headers["X-Created"])).work_id) == "done"
    kept = db.session.get(Profile, profile.id)
    assert kept is not None and ADDRESS not in str(kept.fields) and kept.code != profile_code
    assert api.post("/privacy/erasures", json={"email": ADDRESS, "kind": "shred"}).status_code == 422


def test_only_admin_tokens_of_the_account(app, api, other_api, account, database):
    profile = person(account, database)
    request_id = api.post("/privacy/erasures", json={"profile": profile.id}).headers["X-Created"]
    for scope in ("read", "write"):
        _token, secret = create_api_token(account, f"{scope} token", scope=scope)
        limited = Api(app.test_client(), secret)
        assert limited.post("/privacy/lookup", json={"email": ADDRESS}).status_code == 403
        assert limited.post("/privacy/access", json={"email": ADDRESS}).status_code == 403
        assert limited.post("/privacy/erasures", json={"email": ADDRESS}).status_code == 403
        assert limited.get(f"/privacy/erasures/{request_id}").status_code == 403
    assert other_api.get(f"/privacy/erasures/{request_id}").status_code == 404
    assert other_api.post("/privacy/access", json={"profile": profile.id}).status_code == 404
    assert other_api.post("/privacy/lookup", json={"email": ADDRESS}).get_json()["profiles"] == []
    assert other_api.post("/privacy/erasures", json={"profile": profile.id}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(PrivacyRequest)) == 1
