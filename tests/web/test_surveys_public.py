"""The public survey door through the test client: the JSON API (CORS, tokens, pages) and the hosted page
``/s/KEY`` without JavaScript (one page per request, redirect after each saved page, resume by that URL)."""

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from tests.survey_fixtures import make_survey
from webapp.extensions import db
from webapp.models import SurveyResponse
from webapp.profiles import links, profiles
from webapp.profiles.events import Origin
from webapp.webforms import spam

SHOP = "https://shop.example"


@pytest.fixture
def survey(account):
    return make_survey(account, origins=[SHOP])


def old_token(survey):
    return spam.issue_token(f"survey:{survey.key}", now=time.time() - 60)


def test_start_gives_the_first_page_a_token_and_cors_for_allowed_origins(anonymous, survey):
    response = anonymous.get(f"/p/surveys/{survey.key}?lang=nl", headers={"Origin": SHOP})
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "page" and body["lang"] == "nl"
    assert body["page"]["index"] == 0 and body["token"]
    assert body["submit_url"] == f"http://verrijk.test/p/surveys/{survey.key}/pages"
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Set-Cookie" not in response.headers
    other = anonymous.get(f"/p/surveys/{survey.key}", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_pages_through_the_api_until_complete(anonymous, survey):
    def post(values, page, resume=""):
        data = {"_token": old_token(survey), "_page": page, "r": resume, **values}
        return anonymous.post(f"/p/surveys/{survey.key}/pages", data=data, csrf=False, headers={"Origin": SHOP})

    first = post({"q_colour": "blue"}, 0)
    assert first.status_code == 200 and first.get_json()["page"]["index"] == 2
    resume = first.get_json()["resume_key"]
    invalid = post({}, 2, resume)
    assert invalid.status_code == 422 and invalid.get_json()["errors"] == {"q_nps": "This question needs an answer."}
    done = post({"q_nps": "10"}, 2, resume)
    assert done.get_json()["status"] == "complete" and done.headers["Access-Control-Allow-Origin"] == SHOP
    [row] = db.session.scalars(select(SurveyResponse))
    assert row.completed_at is not None and row.answers == {"colour": "blue", "nps": 10}


def test_a_post_from_another_origin_is_rejected(anonymous, survey):
    data = {"_token": old_token(survey), "_page": 0, "q_colour": "red"}
    response = anonymous.post(
        f"/p/surveys/{survey.key}/pages", data=data, csrf=False, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403 and response.get_json()["status"] == "rejected"


def test_unknown_survey_is_404(anonymous):
    assert anonymous.get("/p/surveys/nope").status_code == 404
    assert anonymous.get("/s/nope").status_code == 404


def hidden_inputs(html):
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def test_hosted_page_one_page_per_request_and_resume_by_its_url(anonymous, survey):
    page = anonymous.get(f"/s/{survey.key}?campaign=x")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="q_colour"' in html and "Page 1 of 3" in html
    assert page.headers["Referrer-Policy"] == "same-origin" and 'content="same-origin"' in html
    assert "frame-ancestors 'self' https://shop.example" in page.headers["Content-Security-Policy"]
    carried = hidden_inputs(html)
    assert carried["_page"] == "0" and carried["_token"]
    carried["_token"] = old_token(survey)
    saved = anonymous.post(
        f"/s/{survey.key}", data={**carried, "q_colour": "red"}, csrf=False, headers={"Origin": "http://verrijk.test"}
    )
    assert saved.status_code == 303
    location = saved.headers["Location"]
    resume = parse_qs(urlsplit(location).query)["r"][0]
    second = anonymous.get(location).get_data(as_text=True)
    assert 'name="q_why_red"' in second and "Page 2 of 3" in second
    again = anonymous.get(f"/s/{survey.key}?r={resume}").get_data(as_text=True)
    assert 'name="q_why_red"' in again
    carried = {**hidden_inputs(second), "_token": old_token(survey)}
    errors = anonymous.post(f"/s/{survey.key}", data=carried, csrf=False, headers={"Origin": "http://verrijk.test"})
    assert errors.status_code == 422 and "This question needs an answer." in errors.get_data(as_text=True)


def test_hosted_page_with_a_null_origin_is_refused(anonymous, survey):
    """What a browser sends under ``no-referrer``: the page must not use that policy (see above)."""
    data = {"_token": old_token(survey), "_page": "0", "q_colour": "red"}
    response = anonymous.post(f"/s/{survey.key}", data=data, csrf=False, headers={"Origin": "null"})
    assert response.status_code == 403


def test_hosted_page_with_a_signed_link_resumes_and_a_forged_one_reveals_nothing(anonymous, account, survey):
    profile = profiles.create_profile(account, survey.database_id, {"Tier": "gold"}, origin=Origin("admin"))
    query = links.profile_link_query(profile)
    data = {"_token": old_token(survey), "_page": "0", "q_colour": "red", **query}
    saved = anonymous.post(f"/s/{survey.key}", data=data, csrf=False)
    assert saved.status_code == 303
    link = f"/s/{survey.key}?profile={query['profile']}&sig={query['sig']}"
    resumed = anonymous.get(link).get_data(as_text=True)
    assert 'name="q_vip"' in resumed
    forged = anonymous.get(f"/s/{survey.key}?profile={query['profile']}&sig=forged").get_data(as_text=True)
    assert 'name="q_colour"' in forged and "gold" not in forged


def test_hosted_back_button_goes_back_with_the_answers_filled_in(anonymous, survey):
    first = anonymous.get(f"/s/{survey.key}").get_data(as_text=True)
    assert 'name="_back"' not in first  # nothing to go back to
    carried = {**hidden_inputs(first), "_token": old_token(survey)}
    origin = {"Origin": "http://verrijk.test"}
    saved = anonymous.post(f"/s/{survey.key}", data={**carried, "q_colour": "red", "q_visits": "4"}, headers=origin)
    second = anonymous.get(saved.headers["Location"]).get_data(as_text=True)
    assert second.index('class="vf-submit"') < second.index('name="_back"')  # Enter sends the page forward
    carried = {**hidden_inputs(second), "_token": old_token(survey)}
    went = anonymous.post(
        f"/s/{survey.key}", data={**carried, "_back": "1", "q_why_red": "Warm"}, csrf=False, headers=origin
    )
    assert went.status_code == 303
    page = anonymous.get(went.headers["Location"]).get_data(as_text=True)
    assert "Page 1 of 3" in page and 'name="q_visits" value="4"' in page
    assert re.search(r'value="red" checked', page)
    forward = {**hidden_inputs(page), "_token": old_token(survey), "q_colour": "red"}
    again = anonymous.post(f"/s/{survey.key}", data=forward, csrf=False, headers=origin)
    assert "Warm</textarea>" in anonymous.get(again.headers["Location"]).get_data(as_text=True)


def test_back_through_the_api(anonymous, survey):
    data = {"_token": old_token(survey), "_page": 0, "q_colour": "blue"}
    first = anonymous.post(f"/p/surveys/{survey.key}/pages", data=data, headers={"Origin": SHOP}).get_json()
    assert first["page"]["index"] == 2 and first["page"]["back"] is True and first["back_label"] == "Back"
    data = {"_token": old_token(survey), "_page": 2, "_back": "1", "r": first["resume_key"]}
    went = anonymous.post(f"/p/surveys/{survey.key}/pages", data=data, headers={"Origin": SHOP}).get_json()
    assert went["page"]["index"] == 0 and went["page"]["values"] == {"q_colour": "blue"}


def test_the_captcha_challenge_for_an_allowed_origin(anonymous, account):
    survey = make_survey(account, origins=[SHOP], captcha=True)
    answer = anonymous.get(f"/p/surveys/{survey.key}/captcha", headers={"Origin": SHOP})
    assert answer.status_code == 200 and answer.get_json()["algorithm"] == "SHA-256"
    assert answer.headers["Access-Control-Allow-Origin"] == SHOP
    hosted = anonymous.get(f"/s/{survey.key}").get_data(as_text=True)
    assert "survey-captcha.js" in hosted and 'name="_altcha"' in hosted
    plain = make_survey(account, survey.database)
    assert "survey-captcha.js" not in anonymous.get(f"/s/{plain.key}").get_data(as_text=True)
