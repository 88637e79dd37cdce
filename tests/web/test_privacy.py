"""The Privacy admin area (find, export, erase, retention), the profile page's consent section, and the
self-service links of the preference page."""

import json
import re

import pytest
from sqlalchemy import select

from tests.factories import make_account, make_database, tampered
from webapp.email import delivery, link_tokens
from webapp.extensions import db
from webapp.models import ConsentRecord, PrivacyRequest, Profile, RetentionSettings
from webapp.platform import work
from webapp.profiles import consents, profiles
from webapp.profiles.events import Origin

ADDRESS = "zeb.quill@example.org"


def make_person(account, address=ADDRESS, name="Zebediah"):
    database = make_database(account, fields={"Email": "email", "FirstName": "text"})
    profile = profiles.create_profile(
        account, database.id, {"Email": address, "FirstName": name}, origin=Origin("admin")
    )
    consents.record(
        account_id=account.id,
        database_id=database.id,
        profile_id=profile.id,
        source="import",
        reference="import 3",
        basis="contract (stated by the import)",
    )
    db.session.commit()
    return profile


@pytest.fixture
def admin(browser):
    return browser("admin")


def test_find_download_and_erase_a_person(admin):
    account = admin.user.account
    profile = make_person(account)
    page = admin.get(f"/privacy?address={ADDRESS.upper()}").get_data(as_text=True)
    assert f"/profiles/{profile.id}" in page
    download = admin.get(f"/privacy/download?address={ADDRESS}")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    document = json.loads(download.get_data(as_text=True))
    assert document["profiles"][0]["fields"]["FirstName"] == "Zebediah"
    assert document["profiles"][0]["consents"][0]["basis"] == "contract (stated by the import)"
    asked = admin.get(f"/privacy/erase?address={ADDRESS}&kind=erase")
    assert asked.status_code == 200 and "cannot be undone" in asked.get_data(as_text=True)
    assert db.session.scalars(select(PrivacyRequest)).all() == []  # the GET only asks
    done = admin.post("/privacy/erase", {"address": ADDRESS, "kind": "erase"})
    assert done.status_code == 303
    [request] = db.session.scalars(select(PrivacyRequest)).all()
    assert work.run_work(request.work_id) == "done"
    report = admin.get(f"/privacy/requests/{request.id}").get_data(as_text=True)
    assert "consent_record" in report and "profile_event" in report
    assert db.session.get(Profile, profile.id) is None


def test_a_bad_address_is_said_and_nothing_is_requested(admin):
    page = admin.get("/privacy?address=nonsense")
    assert page.status_code == 200 and "Enter an email address." in page.get_data(as_text=True)
    assert admin.post("/privacy/erase", {"address": "nonsense", "kind": "erase"}).status_code == 422
    assert db.session.scalars(select(PrivacyRequest)).all() == []


def test_privacy_needs_an_admin_and_stays_in_the_account(browser):
    editor = browser("editor")
    assert editor.get(f"/privacy?address={ADDRESS}").status_code == 403
    assert editor.get(f"/privacy/download?address={ADDRESS}").status_code == 403
    other = make_person(make_account("Other"))
    admin = browser("admin", account=editor.user.account)
    assert admin.get(f"/privacy/download?profile={other.id}").status_code == 404
    assert admin.post("/privacy/erase", {"profile": str(other.id), "kind": "erase"}).status_code == 404
    document = json.loads(admin.get(f"/privacy/download?address={ADDRESS}").get_data(as_text=True))
    assert document["profiles"] == []


def test_the_profile_page_shows_consents_and_privacy_actions(admin):
    profile = make_person(admin.user.account)
    page = admin.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert "contract (stated by the import)" in page
    assert f"/privacy/download?profile={profile.id}" in page and "kind=anonymise" in page


def test_retention_settings_page_saves_checks_and_runs(admin):
    account = admin.user.account
    bad = admin.post("/privacy/retention", {"bounce_raw_days": "0"})
    assert bad.status_code == 200 and "whole number" in bad.get_data(as_text=True)
    assert db.session.get(RetentionSettings, account.id) is None
    assert admin.post("/privacy/retention", {"bounce_raw_days": "30", "inactive_action": "remove"}).status_code == 303
    assert db.session.get(RetentionSettings, account.id).bounce_raw_days == 30
    assert admin.post("/privacy/retention/run").status_code == 303
    from webapp.privacy import retention

    row = retention._waiting(account.id)
    assert work.run_work(row.id) == "done"
    page = admin.get("/privacy/retention").get_data(as_text=True)
    assert "bounce_messages" in page


# --- self-service ------------------------------------------------------------------------------------------


def unsubscribe_token(profile) -> str:
    return link_tokens.sign("unsubscribe", a=profile.account_id, p=profile.code, m="<m1@verrijk.test>")


def mailed_link(kind: str) -> str:
    message = delivery.caught_messages()[-1]
    assert message["To"] == ADDRESS
    return re.search(rf"http://verrijk\.test(/p/privacy/{kind}/\S+)", message.get_body(("plain",)).get_content()).group(
        1
    )


def test_download_my_data_goes_by_a_mailed_signed_link(anonymous, account):
    profile = make_person(account)
    token = unsubscribe_token(profile)
    page = anonymous.get(f"/p/u/{token}").get_data(as_text=True)
    assert "Download my data" in page and "Erase me" in page
    sent = anonymous.post(f"/p/u/{token}/privacy/data", csrf=False)
    assert sent.status_code == 200 and "We sent you an email" in sent.get_data(as_text=True)
    url = mailed_link("data")
    document = json.loads(anonymous.get(url).get_data(as_text=True))
    assert document["profiles"][0]["fields"]["FirstName"] == "Zebediah"
    assert anonymous.get(tampered(url)).status_code == 404
    assert anonymous.get(url.replace("/data/", "/erase/")).status_code == 404  # a data link erases nothing


def test_erase_me_is_confirmed_by_a_mailed_expiring_link(anonymous, account, monkeypatch):
    profile = make_person(account)
    anonymous.post(f"/p/u/{unsubscribe_token(profile)}/privacy/erase", csrf=False)
    url = mailed_link("erase")
    asked = anonymous.get(url)
    assert asked.status_code == 200 and db.session.scalars(select(PrivacyRequest)).all() == []
    assert anonymous.post(url, csrf=False).status_code == 200
    [request] = db.session.scalars(select(PrivacyRequest)).all()
    assert request.requested_by == "self-service" and request.profile_ids == [profile.id]
    assert work.run_work(request.work_id) == "done"
    assert anonymous.get(url).status_code == 404  # the profile is gone, and so is the link
    assert db.session.scalars(select(ConsentRecord)).all() == []


def test_an_expired_erase_link_is_refused(anonymous, account, monkeypatch):
    import time

    profile = make_person(account)
    anonymous.post(f"/p/u/{unsubscribe_token(profile)}/privacy/erase", csrf=False)
    url = mailed_link("erase")
    later = time.time() + 25 * 3600
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    response = anonymous.post(url, csrf=False)
    assert response.status_code == 422 and "expired" in response.get_data(as_text=True)
    assert db.session.scalars(select(PrivacyRequest)).all() == []


def test_a_field_is_marked_personal_in_the_field_editor(admin):
    from tests.web.test_fields import field_named, new_field

    database = make_database(admin.user.account, fields={})
    response = admin.post(f"/databases/{database.id}/fields", new_field(name="BirthPlace", personal="y"), htmx=True)
    assert response.status_code == 200 and "personal" in response.get_data(as_text=True)
    assert field_named(database.id, "BirthPlace").personal
    plain = admin.post(f"/databases/{database.id}/fields", new_field(name="Shoe"), htmx=True)
    assert plain.status_code == 200 and not field_named(database.id, "Shoe").personal
