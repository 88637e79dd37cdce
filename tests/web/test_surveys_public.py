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
