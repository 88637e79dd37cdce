"""The survey admin through the test client: list, create, edit (JSON checked by the builder, errors shown,
nothing lost), preview, results with charts and drop-off, open answer search, CSV export, a profile's answers,
roles and tenancy."""

import csv
import io
import json
import time

import pytest

from tests.factories import make_account
from tests.survey_fixtures import FIELDS, make_survey
from webapp.extensions import db
from webapp.profiles import links, profiles
from webapp.profiles.events import Origin
from webapp.surveys import responses as surveys
from webapp.surveys.responses import Visitor
from webapp.webforms import spam


@pytest.fixture
def editor(browser):
    return browser("editor")


@pytest.fixture
def survey(editor):
    return make_survey(editor.user.account)


def answer(survey, values, visitor, page):
    token = spam.issue_token(f"survey:{survey.key}", now=time.time() - 60)
    return surveys.submit_page(survey.key, values, visitor, page_index=page, token=token)


def test_create_and_open_the_editor(editor):
    from tests.factories import make_database

    database = make_database(editor.user.account, fields=FIELDS)
    response = editor.post("/surveys", {"name": "NPS", "database_id": str(database.id)}, htmx=True)
    assert response.status_code == 204 and "/surveys/" in response.headers["HX-Redirect"]
    page = editor.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "data-verrijk-survey=" in page and "/s/" in page
    listing = editor.get("/surveys").get_data(as_text=True)
    assert "NPS" in listing


def test_creating_needs_a_name(editor):
    from tests.factories import make_database

    database = make_database(editor.user.account, fields=FIELDS)
    response = editor.post("/surveys", {"name": "", "database_id": str(database.id)}, htmx=True)
    assert response.status_code == 422 and "name of at most 200" in response.get_data(as_text=True)


def test_editor_shows_the_preview_with_the_same_widget_code(editor, survey):
    page = editor.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert 'name="q_colour"' in page and 'name="q_why_red"' in page and 'name="q_nps"' in page
    assert "<b>there</b>" in page and "<script>x()" not in page


def test_saving_bad_json_or_a_bad_survey_keeps_what_was_typed_and_stores_nothing(editor, survey):
    before = survey.pages
    typed = '[{"items": [{"id": "a", "type": "slider"}]}]'
    response = editor.post(
        f"/surveys/{survey.id}", {"name": "X", "pages": typed, "settings": "{}", "origins": ""}, htmx=True
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "type must be" in html and "slider" in html
    broken = editor.post(f"/surveys/{survey.id}", {"name": "X", "pages": "[", "settings": "{}"}, htmx=True)
    assert broken.status_code == 422 and "not valid JSON" in broken.get_data(as_text=True)
    db.session.expire_all()
    assert survey.pages == before and survey.name == "Opinions"


def test_saving_a_good_survey(editor, survey):
    pages = [{"title": "One", "items": [{"id": "n", "type": "nps", "label": "Recommend?"}]}]
    response = editor.post(
        f"/surveys/{survey.id}",
        {
            "name": "Short",
            "pages": json.dumps(pages),
            "settings": '{"languages": ["nl"]}',
            "origins": "https://a.example",
        },
        htmx=True,
    )
    assert response.status_code == 200 and "Survey saved." in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert (survey.name, survey.settings["languages"], survey.allowed_origins) == (
        "Short",
        ["nl"],
        ["https://a.example"],
    )


def test_viewers_look_but_do_not_touch(browser, survey, editor):
    viewer = browser("viewer", account=editor.user.account)
    assert viewer.get(f"/surveys/{survey.id}").status_code == 200
    assert viewer.post(f"/surveys/{survey.id}", {"name": "X", "pages": "[]", "settings": "{}"}).status_code == 403


def test_another_account_gets_404(browser, survey):
    stranger = browser("admin", account=make_account("Other"))
    assert stranger.get(f"/surveys/{survey.id}").status_code == 404
    assert stranger.get(f"/surveys/{survey.id}/results.csv").status_code == 404


def fill(survey, account):
    profile = profiles.create_profile(account, survey.database_id, {"Tier": "gold"}, origin=Origin("admin"))
    query = links.profile_link_query(profile)
    known = Visitor(profile_id=query["profile"], signature=query["sig"])
    answer(survey, {"q_colour": "red", "q_visits": "3"}, known, 0)
    answer(survey, {"q_why_red": "warm colour", "q_vip": "yes", "q_service_0": "good", "q_stars": "4"}, known, 1)
    answer(survey, {"q_nps": "10", "q_topics": ["news", "offers"]}, known, 2)
    first = answer(survey, {"q_colour": "_other", "q_colour_other": "green"}, Visitor(), 0)
    answer(survey, {"q_nps": "3"}, Visitor(resume_key=first.resume_key), 1)  # page 2 shows only the grid/stars
    answer(survey, {"q_colour": "blue"}, Visitor(), 0)
    return profile


def test_results_counts_chart_drop_off_and_open_answers(editor, survey):
    fill(survey, editor.user.account)
    page = editor.get(f"/surveys/{survey.id}/results").get_data(as_text=True)
    assert "<svg" in page and "Red: 1 (33.3%)" in page and "Other, namely: 1 (33.3%)" in page
    assert 'Started</th><td class="numeric">3' in page and 'Completed</th><td class="numeric">1' in page
    assert "NPS: 100" in page
    found = editor.get(
        f"/surveys/{survey.id}/results?question=why_red&search=WARM", headers={"HX-Target": "open-answers"}, htmx=True
    ).get_data(as_text=True)
    assert "warm colour" in found and "<html" not in found
    none = editor.get(f"/surveys/{survey.id}/results?question=why_red&search=cold").get_data(as_text=True)
    assert "No answers found." in none


def test_csv_has_a_column_per_question_and_sub_question(editor, survey):
    fill(survey, editor.user.account)
    response = editor.get(f"/surveys/{survey.id}/results.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == [
        "id",
        "profile",
        "language",
        "started",
        "completed",
        "Colour?",
        "Colour?: Other, namely",
        "Visits",
        "Why red?",
        "For our best customers",
        "Service: speed",
        "Service: price",
        "Stars",
        "Recommend us?",
        "Topics",
    ]
    known = rows[1]
    assert known[5:] == ["red", "", "3", "warm colour", "yes", "good", "", "4", "10", "news; offers"]
    assert rows[2][5:7] == ["_other", "green"] and len(rows) == 4


def test_a_profile_shows_its_answers(editor, survey):
    profile = fill(survey, editor.user.account)
    page = editor.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert f"/profiles/{profile.id}/survey-answers" in page
    answers = editor.get(f"/profiles/{profile.id}/survey-answers").get_data(as_text=True)
    assert "Opinions" in answers and "warm colour" in answers and "completed" in answers
