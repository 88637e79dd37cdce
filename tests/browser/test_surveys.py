"""Surveys in Chromium: embedded on a host page of another origin under a strict CSP (the survey code loaded
lazily by embed.js, a condition decided by the server between pages), and the hosted page without JavaScript
(a real browser's posts must pass the origin check)."""

from sqlalchemy import select

from tests.survey_fixtures import make_survey
from webapp.extensions import db
from webapp.models import SurveyResponse

STRICT_CSP = "default-src 'none'; script-src {verrijk}; connect-src {verrijk}; style-src 'nonce-h0st'"


def snippet(key, verrijk_url):
    return (
        f'<div data-verrijk-survey="{key}" data-verrijk-hidden-campaign="spring"></div>'
        f'<script src="{verrijk_url}/embed.js" async nonce="h0st"></script>'
    )


def the_response(survey):
    db.session.expire_all()
    return db.session.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))


def test_an_embedded_multi_page_survey_with_a_condition_under_a_strict_csp(
    account, page, host_site, host_page, verrijk
):
    from playwright.sync_api import expect

    survey = make_survey(account, origins=[host_site.url], hidden_fields=["campaign"], min_fill_seconds=0)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(host_page(snippet(survey.key, verrijk.url), csp=STRICT_CSP.format(verrijk=verrijk.url)))
    widget = page.locator("[data-verrijk-survey]")
    expect(widget.get_by_role("heading", name="About you")).to_be_visible()
    assert any(url.endswith("/static/embed-survey.js") for url in requests)  # loaded because a survey is shown
    expect(widget.get_by_label("Why red?")).to_have_count(0)
    widget.get_by_label("Red", exact=True).check()
    widget.get_by_role("button", name="Next").click()

    expect(widget.get_by_role("heading", name="Details")).to_be_visible()
    expect(widget.get_by_label("Why red?")).to_be_visible()  # the condition on the first page's answer holds
    expect(widget.get_by_label("For our best customers")).to_have_count(0)  # an anonymous visitor has no tier
    widget.get_by_role("radiogroup", name="speed").get_by_label("good").check()
    widget.get_by_role("button", name="Next").click()
    expect(widget.get_by_text("This question needs an answer.")).to_be_visible()
    expect(widget.get_by_role("radiogroup", name="speed").get_by_label("good")).to_be_checked()  # kept
    widget.get_by_label("Why red?").fill("It is warm")
    widget.get_by_role("button", name="Back").click()  # back a page: the answers stay, typed ones too
    expect(widget.get_by_role("heading", name="About you")).to_be_visible()
    expect(widget.get_by_label("Red", exact=True)).to_be_checked()
    widget.get_by_role("button", name="Next").click()
    expect(widget.get_by_label("Why red?")).to_have_value("It is warm")
    widget.get_by_role("button", name="Next").click()

    expect(widget.get_by_role("heading", name="Last")).to_be_visible()
    widget.get_by_label("9", exact=True).check()
    widget.get_by_role("button", name="Send").click()
    expect(widget.get_by_text("Thank you!")).to_be_visible()
    response = the_response(survey)
    assert response.completed_at is not None and response.hidden == {"campaign": "spring"}
    assert response.answers["why_red"] == "It is warm" and response.answers["nps"] == 9
    assert not [problem for problem in page.problems if "Content Security Policy" in problem]


def test_a_page_with_a_form_only_does_not_load_the_survey_code(account, page, host_page, verrijk):
    from playwright.sync_api import expect

    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(host_page(f'<div data-verrijk-form="nope"></div><script src="{verrijk.url}/embed.js"></script>'))
    expect(page.locator("[data-verrijk-form]").get_by_role("link")).to_be_visible()  # unknown form: the link
    assert not any("embed-survey" in url for url in requests)


def test_the_hosted_page_without_javascript(account, chromium, verrijk):
    from playwright.sync_api import expect

    survey = make_survey(account, min_fill_seconds=0)
    context = chromium.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{verrijk.url}/s/{survey.key}?lang=nl")
        expect(page.get_by_role("heading", name="Over jou")).to_be_visible()
        page.get_by_label("Rood").check()
        page.get_by_role("button", name="Next").click()  # a real browser's post: its Origin must pass
        expect(page.get_by_label("Why red?")).to_be_visible()
        page.get_by_label("Why red?").fill("Warm")
        page.get_by_role("button", name="Back").click()  # without JavaScript too
        expect(page.get_by_label("Rood")).to_be_checked()
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_label("Why red?")).to_have_value("Warm")
        page.get_by_role("button", name="Next").click()
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("This question needs an answer.")).to_be_visible()
        page.get_by_label("10", exact=True).check()
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("Thank you!")).to_be_visible()
    finally:
        context.close()
    response = the_response(survey)
    assert response.completed_at is not None and response.language == "nl"
    assert response.answers == {"colour": "red", "why_red": "Warm", "nps": 10, "topics": ["news"]}  # the default


def test_the_captcha_is_solved_embedded_and_on_the_hosted_page(account, page, host_site, host_page, verrijk):
    """The web forms' ALTCHA proof of work, for the answer that starts a response: the embed solves it with
    embed.js's solver, the hosted page with survey-captcha.js (loaded only there)."""
    from playwright.sync_api import expect

    survey = make_survey(account, origins=[host_site.url], min_fill_seconds=0, captcha=True)
    page.goto(host_page(snippet(survey.key, verrijk.url), csp=STRICT_CSP.format(verrijk=verrijk.url)))
    widget = page.locator("[data-verrijk-survey]")
    widget.get_by_label("Red", exact=True).check()
    widget.get_by_role("button", name="Next").click()
    expect(widget.get_by_role("heading", name="Details")).to_be_visible()
    assert the_response(survey) is not None
    assert not [problem for problem in page.problems if "Content Security Policy" in problem]

    page.goto(f"{verrijk.url}/s/{survey.key}")
    page.get_by_label("blue", exact=True).check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Last")).to_be_visible()  # blue skips to the last page
    db.session.expire_all()
    started = db.session.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)).all()
    assert len(started) == 2


CONSENT_PAGES = [
    {
        "title": "Almost done",
        "items": [
            {"id": "nps", "type": "nps", "label": "Recommend us?"},
            {
                "id": "terms",
                "type": "consent",
                "label": {"en": "I agree", "nl": "Akkoord"},
                "text": {"en": "Shop may mail me its news.", "nl": "Shop mag me zijn nieuws mailen."},
                "required": True,
            },
        ],
    }
]


def test_a_consent_box_embedded_and_on_the_hosted_page_with_a_signed_link(account, page, host_site, host_page, verrijk):
    """The consent item as embed-survey.js draws it (its text, the box, the required message) and as the hosted
    page renders it; a known profile's completed response leaves a consent record with the text shown."""
    from playwright.sync_api import expect

    from webapp.models import ConsentRecord
    from webapp.profiles import links, profiles
    from webapp.profiles.events import Origin

    survey = make_survey(account, pages=CONSENT_PAGES, origins=[host_site.url], min_fill_seconds=0)
    page.goto(host_page(snippet(survey.key, verrijk.url), csp=STRICT_CSP.format(verrijk=verrijk.url)))
    widget = page.locator("[data-verrijk-survey]")
    expect(widget.get_by_text("Shop may mail me its news.")).to_be_visible()
    widget.get_by_role("button", name="Send").click()
    expect(widget.get_by_text("This question needs an answer.")).to_be_visible()
    widget.get_by_label("I agree").check()
    widget.get_by_role("button", name="Send").click()
    expect(widget.get_by_text("Thank you!")).to_be_visible()
    assert the_response(survey).answers == {"terms": "yes"}
    assert not [problem for problem in page.problems if "Content Security Policy" in problem]

    profile = profiles.create_profile(account, survey.database_id, {}, origin=Origin("admin"))
    query = links.profile_link_query(profile)
    db.session.commit()
    page.goto(f"{verrijk.url}/s/{survey.key}?lang=nl&profile={query['profile']}&sig={query['sig']}")
    expect(page.get_by_text("Shop mag me zijn nieuws mailen.")).to_be_visible()
    page.get_by_label("Akkoord").check()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Thank you!")).to_be_visible()
    db.session.expire_all()
    [record] = db.session.scalars(select(ConsentRecord)).all()
    assert (record.profile_id, record.source, record.text) == (profile.id, "survey", "Shop mag me zijn nieuws mailen.")
    assert record.ip == "127.0.0.1"
