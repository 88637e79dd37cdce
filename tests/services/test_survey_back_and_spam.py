"""Going back a page (answers kept and filled in, conditions and branches evaluated anew, the final path's
answers only) and the web forms' spam defences on surveys (minimum fill time, captcha, honeypot)."""

import base64
import json
import time

import altcha
import pytest
from sqlalchemy import select

from tests.survey_fixtures import make_survey
from webapp.extensions import db
from webapp.models import SurveyResponse
from webapp.platform.errors import ValidationError
from webapp.surveys import responses as surveys
from webapp.surveys.responses import Visitor
from webapp.webforms import spam as form_spam

EARLIER = time.time() - 60


def token(survey, when=EARLIER):
    return form_spam.issue_token(f"survey:{survey.key}", now=when)


def send(survey, values, resume="", *, page):
    visitor = Visitor(resume_key=resume)
    return surveys.submit_page(survey.key, values, visitor, page_index=page, token=token(survey))


def back(survey, values, resume, *, page):
    return surveys.go_back(survey.key, values, Visitor(resume_key=resume), page_index=page, token=token(survey))


def the_response(survey):
    db.session.expire_all()
    return db.session.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))


@pytest.fixture
def survey(account):
    return make_survey(account)


def test_back_shows_the_page_before_with_its_answers_and_keeps_what_was_typed(survey):
    first = send(survey, {"q_colour": "red", "q_visits": "3"}, page=0)
    assert first.page["index"] == 1 and first.page["back"] is True
    resume = first.resume_key
    view = back(survey, {"q_why_red": "It is warm", "q_service_0": "good"}, resume, page=1)
    assert view.status == "page" and view.page["index"] == 0
    assert view.page["values"] == {"q_colour": "red", "q_visits": "3"}
    assert view.page["back"] is False  # the first page has nothing before it
    assert the_response(survey).page == 0
    # forward again: the page after it has what was typed before going back
    again = send(survey, {"q_colour": "red", "q_visits": "3"}, resume, page=0)
    assert again.page["index"] == 1
    assert again.page["values"] == {"q_why_red": "It is warm", "q_service_0": "good"}


def test_back_on_the_first_page_stays_there_and_an_old_page_is_refused(survey):
    assert back(survey, {}, "", page=0).page["index"] == 0
    resume = send(survey, {"q_colour": "red"}, page=0).resume_key
    stale = back(survey, {}, resume, page=2)
    assert stale.status_code == 409 and stale.page["index"] == 1
    assert the_response(survey).page == 1


def test_back_then_another_answer_takes_the_other_branch_and_drops_the_left_answers(survey):
    resume = send(survey, {"q_colour": "red"}, page=0).resume_key
    assert send(survey, {"q_why_red": "Warm", "q_stars": "4"}, resume, page=1).page["index"] == 2
    assert back(survey, {"q_nps": "7"}, resume, page=2).page["index"] == 1
    assert back(survey, {}, resume, page=1).page["index"] == 0
    # blue skips page 2 (a branch): the page after is the last one, with the NPS typed before going back
    view = send(survey, {"q_colour": "blue"}, resume, page=0)
    assert view.page["index"] == 2 and view.page["values"]["q_nps"] == "7"
    assert back(survey, {}, resume, page=2).page["index"] == 0  # back follows the path actually taken
    send(survey, {"q_colour": "blue"}, resume, page=0)
    assert send(survey, {"q_nps": "7"}, resume, page=2).status == "complete"
    response = the_response(survey)
    assert response.answers == {"colour": "blue", "nps": 7}  # why_red and stars were on a page left behind
    assert response.reached == [0, 2]


def test_going_back_does_not_check_the_page_nor_store_invalid_answers(survey):
    resume = send(survey, {"q_colour": "red"}, page=0).resume_key
    view = back(survey, {"q_stars": "99", "q_why_red": ""}, resume, page=1)
    assert view.status == "page" and view.page["index"] == 0
    assert "stars" not in the_response(survey).answers


def test_the_hidden_answers_of_a_page_shown_again_are_not_filled_in(account):
    survey = make_survey(account)
    resume = send(survey, {"q_colour": "red"}, page=0).resume_key
    back(survey, {"q_why_red": "Warm"}, resume, page=1)
    view = send(survey, {"q_colour": "_other", "q_colour_other": "green"}, resume, page=0)
    assert view.page["index"] == 1
    assert "q_why_red" not in view.page["values"]  # the question is no longer shown
    assert [item["id"] for item in view.page["items"]] == ["service", "stars"]


@pytest.mark.parametrize(("seconds", "age", "refused"), [(3, 1, True), (3, 5, False), (0, 0, False), (10, 5, True)])
def test_minimum_fill_time(account, seconds, age, refused):
    survey = make_survey(account, min_fill_seconds=seconds)
    fresh = form_spam.issue_token(f"survey:{survey.key}", now=time.time() - age)
    view = surveys.submit_page(survey.key, {"q_colour": "red"}, Visitor(), page_index=0, token=fresh)
    assert (view.status == "rejected") is refused
    if refused:
        assert view.status_code == 403 and "quick" in view.message
        assert the_response(survey) is None


def test_the_minimum_fill_time_holds_for_the_answer_that_starts_a_response_only(account):
    survey = make_survey(account, min_fill_seconds=10)
    resume = send(survey, {"q_colour": "red"}, page=0).resume_key
    fresh = form_spam.issue_token(f"survey:{survey.key}", now=time.time())
    visitor = Visitor(resume_key=resume)
    quick = surveys.submit_page(survey.key, {"q_why_red": "Warm"}, visitor, page_index=1, token=fresh)
    assert quick.status == "page" and quick.page["index"] == 2  # a short page answered at once is fine
    back = surveys.go_back(survey.key, {}, visitor, page_index=2, token=fresh)
    assert back.status == "page" and back.page["index"] == 1  # so is going back


def test_the_minimum_fill_time_is_checked_by_the_builder(account):
    with pytest.raises(ValidationError, match="minimum fill time"):
        make_survey(account, min_fill_seconds=-1)


def solve(challenge: dict) -> str:
    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxnumber"]
    )
    payload = {key: challenge[key] for key in ("algorithm", "challenge", "salt", "signature")}
    return base64.b64encode(json.dumps({**payload, "number": solution.number}).encode()).decode()


def test_the_captcha_is_asked_for_the_answer_that_starts_a_response(account):
    survey = make_survey(account, captcha=True)
    start = surveys.start(survey.key, Visitor())
    assert start.page["captcha_url"].endswith(f"/p/surveys/{survey.key}/captcha")
    refused = send(survey, {"q_colour": "red"}, page=0)
    assert (refused.status, refused.status_code) == ("rejected", 403) and the_response(survey) is None
    solved = solve(surveys.captcha_challenge(survey.key))
    first = send(survey, {"q_colour": "red", "_altcha": solved}, page=0)
    assert first.status == "page" and "captcha_url" not in first.page
    # the following pages belong to the response: no captcha again
    assert send(survey, {"q_why_red": "Warm"}, first.resume_key, page=1).status == "page"
    # a solution serves once
    assert send(survey, {"q_colour": "red", "_altcha": solved}, page=0).status == "rejected"


def test_the_honeypot_refuses_going_back_too(survey):
    resume = send(survey, {"q_colour": "red"}, page=0).resume_key
    view = back(survey, {"_hp": "bot"}, resume, page=1)
    assert view.status == "rejected" and the_response(survey).page == 1
