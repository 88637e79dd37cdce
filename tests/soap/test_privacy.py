"""The privacy contract through the doors: a person touched by every door appears whole in the access export
(SOAP ``Account_accessExport``), and after an erasure a scan of every table and stored file finds nothing."""

import json

import pytest

from tests.api.conftest import Api
from tests.privacy_person import ADDRESS, CONSENT_TEXT, DISTINCTIVE, scan_files, scan_tables, touch_everywhere
from webapp.accounts.tokens import create_api_token
from webapp.email import suppression
from webapp.extensions import db
from webapp.models import PrivacyRequest, PrivacyRequestStatus, Profile
from webapp.platform import work


@pytest.fixture
def import_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "imports"
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(folder))
    return folder


@pytest.fixture
def person(app, account, soap, token, import_folder):
    _id, secret = create_api_token(account, "rest")
    return touch_everywhere(app, account, soap=soap, token=token, api=Api(app.test_client(), secret))


def test_the_access_export_holds_what_every_door_stored(soap, token, person):
    document = json.loads(soap.Account_accessExport(email=ADDRESS.upper(), access_token=token))
    assert document["addresses"] == [ADDRESS]
    [profile] = document["profiles"]
    assert profile["fields"]["FirstName"] == "Zebediah"  # form
    assert profile["fields"]["City"] == "Quillhaven"  # import
    assert profile["fields"]["LastName"] == "Quillfeather"  # SOAP
    assert profile["fields"]["Favourite"] == "blue"  # survey
    assert [sub["fields"] for sub in profile["subprofiles"]] == [{"Note": "quillorder-77"}]  # REST
    sources = {(entry["kind"], entry["source"]) for entry in profile["journal"]}
    assert {
        ("profile_created", "form"),
        ("form_submitted", "form"),
        ("confirmed", "form"),
        ("survey_completed", "survey"),
        ("profile_updated", "survey"),
        ("profile_updated", "import"),
        ("profile_updated", "soap"),
        ("subprofile_created", "api"),
        ("email_sent", "follow-up"),
        ("email_opened", "email"),
        ("bounced", "bounce"),
    } <= sources
    old_values = [entry["changes"]["fields"] for entry in profile["journal"] if entry["source"] == "import"]
    assert old_values and old_values[0]["City"] == [None, "Quillhaven"]
    [submission] = profile["form_submissions"]
    assert submission["form"] == person.form.name and submission["consents"] == {"letter": CONSENT_TEXT}
    [response] = profile["survey_responses"]
    assert response["answers"]["story"] == "Zebediah rides to Quillhaven" and response["completed_at"]
    [consent] = profile["consents"]
    assert (consent["text"], consent["ip"], consent["confirmed_ip"]) == (CONSENT_TEXT, "198.51.100.7", "198.51.100.8")
    assert consent["source"] == "form" and consent["reference"] == str(person.form.id) and consent["confirmed_at"]
    assert profile["callback_deliveries"] and all(d["url"].endswith("/hook") for d in profile["callback_deliveries"])
    sent = {message["message_id"]: message for message in document["emails_sent"]}
    assert len(sent) == 2  # the confirmation and the follow-up
    happened = [item["kind"] for item in sent[person.message_id]["what_happened"]]
    assert happened == ["email_opened", "bounced"]
    results = sorted(profile["email_results"], key=lambda result: result["sent_at"])
    assert len(results) == 2 and results[1]["opens"] == 1 and results[1]["bounce"] == "hard"
    [bounce] = document["bounces_and_complaints"]
    assert bounce["kind"] == "hard" and bounce["recipient"] == ADDRESS
    assert [entry["reason"] for entry in document["suppression"]] == ["hard_bounce"]
    assert [mail["subject"] for mail in document["caught_mail"]] == ["Confirm", "Hello Zebediah"]


def test_an_unknown_address_gives_an_empty_document_and_a_bad_one_a_fault(soap, token, account):
    from zeep.exceptions import Fault

    document = json.loads(soap.Account_accessExport(email="nobody@example.org", access_token=token))
    assert document["profiles"] == [] and document["emails_sent"] == []
    with pytest.raises(Fault, match="email address"):
        soap.Account_accessExport(email="not an address", access_token=token)


def test_another_accounts_token_sees_nothing_of_the_person(soap, person, other_token):
    document = json.loads(soap.Account_accessExport(email=ADDRESS, access_token=other_token))
    assert document["profiles"] == [] and document["emails_sent"] == [] and document["suppression"] == []


def test_after_an_erasure_no_table_and_no_stored_file_holds_the_person(app, soap, token, person, import_folder):
    assert scan_tables(), "the scan must find the person before the erasure"
    assert scan_files(import_folder)
    request_id = soap.Account_erasePerson(email=ADDRESS, anonymise=False, access_token=token)
    request = db.session.get(PrivacyRequest, request_id)
    assert work.run_work(request.work_id) == "done"
    db.session.expire_all()
    assert scan_tables() == []
    assert scan_files(import_folder) == []
    request = db.session.get(PrivacyRequest, request_id)
    assert request.status == PrivacyRequestStatus.DONE and request.address == ""
    tables = request.report["tables"]
    assert tables["profile"] == 1 and tables["subprofile"] == 1 and tables["consent_record"] == 1
    assert tables["form_submission"] == 1 and tables["survey_response"] == 1 and tables["import_line_error"] >= 1
    assert tables["bounce_report"] == 1 and tables["sent_message"] == 2 and tables["caught_mail"] == 2
    assert request.report["files"] == 1
    # Anonymous counts stay: the submission, the response and the sent messages are still counted.
    from webapp.models import FormSubmission, SentMessage, SurveyResponse

    assert db.session.query(FormSubmission).count() == 1
    assert db.session.query(SurveyResponse).count() == 1
    assert db.session.query(SentMessage).count() == 2
    # A second run of the same work does nothing more.
    assert work.run_work(request.work_id) == "done"
    # The person comes back through SOAP: never mailed again.
    from tests.soap.helpers import pairs

    soap.Database_createProfile(access_token=token, id=person.database.id, fields=pairs(Email=ADDRESS))
    assert db.session.query(Profile).count() == 1
    assert suppression.blocking_reason(person.database.account_id, ADDRESS, "marketing") == "erased"
    assert suppression.blocking_reason(person.database.account_id, ADDRESS, "transactional") == "erased"
    assert all(
        needle not in json.dumps([row.address for row in db.session.query(suppression.SuppressedAddress)])
        for needle in DISTINCTIVE
    )
