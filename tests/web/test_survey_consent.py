"""A survey's consent item through the public survey door: the box as shown (JSON API and hosted page), required
or optional, and the consent record a completed response of a known profile leaves (text in the language shown,
the survey, the address, the time), on the profile page and in the access export."""

import time

import pytest
from sqlalchemy import select

from tests.survey_fixtures import make_survey
from webapp.extensions import db
from webapp.models import ConsentRecord, SurveyResponse
from webapp.platform.errors import ValidationError
from webapp.privacy import access
from webapp.profiles import links, profiles
from webapp.profiles.events import Origin
from webapp.surveys import builder
from webapp.webforms import spam

TEXT = {"en": "I agree that Shop mails me its news.", "nl": "Ik wil het nieuws van Shop ontvangen."}
PAGES = [
    {
        "title": "Only",
        "items": [
            {"id": "nps", "type": "nps", "label": "Recommend us?"},
            {"id": "news", "type": "consent", "label": {"en": "Yes, mail me", "nl": "Ja, mail me"}, "text": TEXT},
            {"id": "terms", "type": "consent", "label": "I accept the terms", "required": True},
        ],
    }
]


@pytest.fixture
def survey(account):
    return make_survey(account, pages=PAGES)


def post(client, survey, values, **link):
    data = {"_token": spam.issue_token(f"survey:{survey.key}", now=time.time() - 60), "_page": 0, **link, **values}
    return client.post(
        f"/p/surveys/{survey.key}/pages", data=data, csrf=False, environ_base={"REMOTE_ADDR": "198.51.100.7"}
    )


def test_the_consent_box_is_shown_with_its_exact_text_per_language(anonymous, survey):
    body = anonymous.get(f"/p/surveys/{survey.key}?lang=nl").get_json()
    news = next(item for item in body["page"]["items"] if item["id"] == "news")
    assert news == {
        "id": "news",
        "name": "q_news",
        "type": "consent",
        "label": "Ja, mail me",
        "text": TEXT["nl"],
        "value": "yes",
    }
    terms = next(item for item in body["page"]["items"] if item["id"] == "terms")
    assert terms["text"] == terms["label"] == "I accept the terms" and terms["required"] is True
    html = anonymous.get(f"/s/{survey.key}?lang=nl").get_data(as_text=True)
    assert TEXT["nl"] in html and 'type="checkbox" name="q_news" value="yes"' in html


def test_a_required_consent_must_be_ticked(anonymous, survey):
    response = post(anonymous, survey, {"q_news": "yes"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"q_terms": "This question needs an answer."}
    assert db.session.scalar(select(ConsentRecord)) is None


def test_a_completed_response_of_a_known_profile_records_each_consent_ticked(anonymous, account, survey):
    profile = profiles.create_profile(account, survey.database_id, {"Email": "an@example.com"}, origin=Origin("admin"))
    done = post(
        anonymous, survey, {"q_news": "yes", "q_terms": "on", "lang": "nl"}, **links.profile_link_query(profile)
    )
    assert done.get_json()["status"] == "complete"
    [response] = db.session.scalars(select(SurveyResponse))
    assert response.answers == {"news": "yes", "terms": "yes"}
    records = db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert [(r.item, r.text, r.source, r.reference, r.ip, r.profile_id) for r in records] == [
        ("news", TEXT["nl"], "survey", str(survey.id), "198.51.100.7", profile.id),
        ("terms", "I accept the terms", "survey", str(survey.id), "198.51.100.7", profile.id),
    ]
    assert all(r.basis == "consent" and r.database_id == survey.database_id for r in records)
    assert records[0].agreed_at == response.completed_at
    exported = access.export_for_profile(account, profile.id)["profiles"][0]["consents"]
    assert [(c["item"], c["text"], c["source"], c["ip"]) for c in exported] == [
        ("news", TEXT["nl"], "survey", "198.51.100.7"),
        ("terms", "I accept the terms", "survey", "198.51.100.7"),
    ]


def test_an_optional_consent_left_unticked_records_nothing_for_it(anonymous, account, survey):
    profile = profiles.create_profile(account, survey.database_id, {}, origin=Origin("admin"))
    assert post(anonymous, survey, {"q_terms": "yes"}, **links.profile_link_query(profile)).status_code == 200
    assert [r.item for r in db.session.scalars(select(ConsentRecord))] == ["terms"]


def test_an_anonymous_response_keeps_its_answer_and_writes_no_record(anonymous, survey):
    assert post(anonymous, survey, {"q_news": "yes", "q_terms": "yes"}).get_json()["status"] == "complete"
    assert db.session.scalar(select(SurveyResponse.answers)) == {"news": "yes", "terms": "yes"}
    assert db.session.scalar(select(ConsentRecord)) is None


def test_the_profile_page_shows_the_survey_consent(anonymous, browser, account, survey):
    profile = profiles.create_profile(account, survey.database_id, {}, origin=Origin("admin"))
    post(anonymous, survey, {"q_terms": "yes"}, **links.profile_link_query(profile))
    page = browser("viewer", account).get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert "I accept the terms" in page and f"survey #{survey.id}" in page and "198.51.100.7" in page


def test_the_builder_adds_a_consent_item_and_edits_its_text_per_language(browser, account, survey):
    editor = browser("editor", account)
    db.session.refresh(survey)
    added = editor.post(f"/surveys/{survey.id}/pages/1/items", {"revision": survey.revision, "type": "consent"})
    assert added.status_code == 303
    db.session.expire_all()
    item = survey.pages[0]["items"][-1]
    assert item["type"] == "consent" and item["text"]["en"].startswith("I agree")
    form = editor.get(f"/surveys/{survey.id}?item={item['id']}").get_data(as_text=True)
    assert 'name="text.nl"' in form and 'name="field"' not in form  # a consent is no profile field
    values = {"revision": survey.revision, "label.en": "Mail me", "text.en": "Shop may mail me.", "required": "1"}
    values |= {"text.nl": "Shop mag me mailen.", "field": "Email"}
    saved = editor.post(f"/surveys/{survey.id}/items/{item['id']}", values)
    assert saved.status_code == 303
    db.session.expire_all()
    assert survey.pages[0]["items"][-1] == {
        "id": item["id"],
        "type": "consent",
        "label": {"en": "Mail me"},
        "required": True,
        "text": {"en": "Shop may mail me.", "nl": "Shop mag me mailen."},
    }


def test_a_consent_cannot_be_mapped_to_a_field(account, survey):
    pages = [{"items": [{"id": "c", "type": "consent", "label": "Yes", "field": "Email"}]}]
    with pytest.raises(ValidationError, match="record of its own"):
        builder.update_survey(account, survey.id, name="x", pages=pages, settings={}, origins=[])
