"""Surveys and their responses over REST (read), and writing web forms and follow-ups (admin): the domain's
validators answer for bad definitions, another account's ids are 404."""

import pytest

from tests.api.conftest import Api
from tests.api.test_forms_and_followups import welcome
from tests.factories import make_form
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db
from webapp.models import FollowUp, Form, SurveyResponse, utcnow
from webapp.surveys import builder

PAGES = [{"title": "You", "items": [{"id": "colour", "type": "choice", "label": "Colour", "options": ["red", "blue"]}]}]


@pytest.fixture
def reader(app, account):
    _token, secret = create_api_token(account, "reader", scope="read")
    return Api(app.test_client(), secret)


@pytest.fixture
def survey(account, database):
    survey = builder.create_survey(account, database.id, "Opinions")
    builder.update_survey(account, survey.id, name="Opinions", settings={"languages": ["en"]}, origins=[], pages=PAGES)
    return survey


def respond(account, survey, colour: str, *, completed: bool) -> SurveyResponse:
    response = SurveyResponse(
        account_id=account.id,
        survey_id=survey.id,
        answers={"colour": colour},
        reached=[0],
        completed_at=utcnow() if completed else None,
    )
    db.session.add(response)
    db.session.commit()
    return response


def test_surveys_are_listed_and_read(reader, survey, database):
    listed = reader.get("/surveys").get_json()
    assert [(item["ID"], item["name"]) for item in listed["data"]] == [(str(survey.id), "Opinions")]
    assert reader.get(f"/surveys?database={database.id}").get_json()["count"] == 1
    assert reader.get(f"/surveys?database={database.id + 1000}").status_code == 404
    read = reader.get(f"/survey/{survey.id}").get_json()
    assert read["pages"][0]["items"][0]["id"] == "colour" and read["database"] == str(database.id)


def test_responses_come_newest_first_in_keyset_pages(reader, account, survey):
    made = [respond(account, survey, colour, completed=colour != "blue") for colour in ("red", "blue", "red")]
    first = reader.get(f"/survey/{survey.id}/responses?limit=2").get_json()
    assert [item["ID"] for item in first["data"]] == [str(made[2].id), str(made[1].id)]
    assert first["data"][0]["answers"] == {"colour": "red"} and first["data"][0]["completed"] is True
    second = reader.get(f"/survey/{survey.id}/responses?limit=2&before={first['next']}").get_json()
    assert [item["ID"] for item in second["data"]] == [str(made[0].id)] and second["next"] is None
    partial = reader.get(f"/survey/{survey.id}/responses?completed=false").get_json()
    assert [item["ID"] for item in partial["data"]] == [str(made[1].id)]
    bad = reader.get(f"/survey/{survey.id}/responses?completed=maybe")
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "completed"
    assert reader.get(f"/survey/{survey.id}/responses?limit=101").status_code == 422


def test_another_accounts_surveys_are_not_found(other_api, account, survey):
    respond(account, survey, "red", completed=True)
    assert other_api.get(f"/survey/{survey.id}").status_code == 404
    assert other_api.get(f"/survey/{survey.id}/responses").status_code == 404
    assert other_api.get("/surveys").get_json()["data"] == []
    assert other_api.get(f"/surveys?database={survey.database_id}").status_code == 404


def test_a_form_is_created_configured_read_and_removed(api, reader, database):
    made = api.post("/forms", json={"name": "Newsletter", "database": database.id})
    assert made.status_code == 201
    form_id = int(made.headers["X-Created"])
    email = database.fields[0]
    changed = api.put(
        f"/form/{form_id}",
        json={
            "behaviour": "update",
            "key_fields": [email.id],
            "success_message": "Thanks",
            "origins": ["https://shop.example"],
        },
    )
    assert changed.status_code == 204
    form = db.session.get(Form, form_id)
    assert (form.name, form.behaviour, form.key_field_ids, form.allowed_origins) == (
        "Newsletter",
        "update",
        [email.id],
        ["https://shop.example"],
    )
    assert form.settings["success_message"] == "Thanks"
    refused = api.put(f"/form/{form_id}", json={"behaviour": "login", "key_fields": []})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "key_field_ids"
    not_a_map = api.put(f"/form/{form_id}", json={"double_opt_in": {"unconfirmed_values": "Email=x"}})
    assert not_a_map.status_code == 422
    assert not_a_map.get_json()["errors"][0]["field"] == "unconfirmed_values"
    results = reader.get(f"/form/{form_id}/results?days=7").get_json()
    assert len(results["days"]) == 7 and results["submissions"]["accepted"] == 0
    assert reader.delete(f"/form/{form_id}").status_code == 403
    assert api.delete(f"/form/{form_id}").status_code == 204
    assert db.session.get(Form, form_id) is None


def test_a_forms_texts_are_written_in_its_languages(api, database):
    """A form's languages and its texts by language go through REST as through the builder (issue #20)."""
    form_id = int(api.post("/forms", json={"name": "Letter", "database": database.id}).headers["X-Created"])
    texts = {"submit_label": {"nl": "Aanmelden", "en": "Sign up"}, "success_message": {"nl": "Dank je", "en": "Thanks"}}
    assert api.put(f"/form/{form_id}", json={"languages": ["nl", "en"], **texts}).status_code == 204
    form = db.session.get(Form, form_id)
    assert form.settings["languages"] == ["nl", "en"] and form.settings["submit_label"] == texts["submit_label"]
    assert api.put(f"/form/{form_id}", json={"name": "Letter 2"}).status_code == 204  # left out: kept
    db.session.expire_all()
    assert db.session.get(Form, form_id).settings["success_message"] == texts["success_message"]
    for bad in ({"submit_label": {"nl": 5}}, {"submit_label": ["Sign up"]}, {"languages": ["xx"]}):
        refused = api.put(f"/form/{form_id}", json=bad)
        assert refused.status_code == 422, bad
    assert api.put(f"/form/{form_id}", json={"languages": []}).status_code == 204  # back to one language
    db.session.expire_all()
    assert db.session.get(Form, form_id).settings["submit_label"] == "Aanmelden"


def test_a_follow_up_is_created_and_changed_through_the_one_validator(api, account, database):
    customer = next(field for field in database.fields if field.name == "customer_id")
    body = {
        "name": "Welcome",
        "trigger": {"kind": "profile_created"},
        "actions": [{"type": "update_fields", "values": {str(customer.id): "1"}}],
    }
    made = api.post(f"/database/{database.id}/followups", json=body)
    assert made.status_code == 201, made.get_json()
    followup_id = int(made.headers["X-Created"])
    assert db.session.get(FollowUp, followup_id).status == "active"
    changed = api.put(f"/followup/{followup_id}", json={"delay": {"kind": "duration", "seconds": 3600}})
    assert changed.status_code == 200 and changed.get_json()["name"] == "Welcome"
    followup = db.session.get(FollowUp, followup_id)
    assert followup.delay["kind"] == "duration" and followup.actions[0]["type"] == "update_fields"
    bad = api.put(f"/followup/{followup_id}", json={"trigger": {"kind": "moon_rise"}, "actions": "all"})
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "actions"
    bad = api.put(f"/followup/{followup_id}", json={"trigger": {"kind": "moon_rise"}})
    assert bad.status_code == 422 and {e["field"] for e in bad.get_json()["errors"]} == {"trigger"}
    assert db.session.get(FollowUp, followup_id).trigger["kind"] == "profile_created"
    assert api.delete(f"/followup/{followup_id}").status_code == 204
    assert db.session.get(FollowUp, followup_id) is None


def test_another_accounts_forms_and_follow_ups_are_not_changed(other_api, account, database):
    form = make_form(account, database, name="Mine")
    followup = welcome(account, database)
    assert other_api.post("/forms", json={"name": "X", "database": database.id}).status_code == 404
    assert other_api.put(f"/form/{form.id}", json={"name": "Theirs"}).status_code == 404
    assert other_api.delete(f"/form/{form.id}").status_code == 404
    assert other_api.get(f"/form/{form.id}/results").status_code == 404
    assert other_api.post(f"/database/{database.id}/followups", json={"name": "X"}).status_code == 404
    assert other_api.put(f"/followup/{followup.id}", json={"name": "Theirs"}).status_code == 404
    assert other_api.delete(f"/followup/{followup.id}").status_code == 404
    assert db.session.get(Form, form.id).name == "Mine"
    assert db.session.get(FollowUp, followup.id) is not None
