"""The visual survey builder in Chromium: an editor builds a two-page survey with a condition from menus (no
JSON), the preview shows it, and a visitor then answers it on the hosted page (going back, the condition
decided by the server)."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.factories import PASSWORD, make_account, make_database, make_user
from webapp.extensions import db
from webapp.models import Survey, SurveyResponse
from webapp.surveys import builder

pytestmark = pytest.mark.browser


def editing_item(page):
    return page.locator("li.form-item.editing")


def test_build_a_two_page_survey_with_a_condition_then_answer_it(page, chromium, verrijk, ctx):
    user = make_user(make_account("Acme"), "editor")
    make_database(user.account)
    page.goto(f"{verrijk.url}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{verrijk.url}/surveys")
    page.get_by_label("Name").fill("Colours")
    page.get_by_role("button", name="Create survey").click()
    expect(page.get_by_role("heading", name="Pages and questions")).to_be_visible()

    # page 1: a multiple choice question
    page.locator("#add-1").select_option("choice")
    page.get_by_role("button", name="Add to page 1").click()
    item = editing_item(page)
    item.get_by_label("English").first.fill("Favourite colour?")
    item.locator("#options-values").fill("red\nblue")
    item.locator("#options-en").fill("Red\nBlue")
    item.get_by_label("An answer is required").check()
    item.get_by_role("button", name="Save item").click()
    expect(editing_item(page)).to_have_count(0)
    expect(page.locator("#page-1")).to_contain_text("Favourite colour?")

    # page 2: a question shown only when the answer on page 1 is red, and one always shown
    page.get_by_role("button", name="Add a page").click()
    expect(page.locator("#page-2")).to_be_visible()
    page.locator("#add-2").select_option("open")
    page.get_by_role("button", name="Add to page 2").click()
    item = editing_item(page)
    item.get_by_label("English").first.fill("Why red?")
    colour = item.locator("#rule-0-ref option", has_text="Favourite colour?").get_attribute("value")
    item.locator("#rule-0-ref").select_option(colour)  # the menu names the question by its text
    item.locator("#rule-0-op").select_option("equals")
    item.locator("#rule-0-value").fill("red")
    item.get_by_role("button", name="Save item").click()
    expect(editing_item(page)).to_have_count(0)
    expect(page.locator("#page-2 li.form-item").first).to_contain_text("condition")
    page.locator("#add-2").select_option("nps")
    page.get_by_role("button", name="Add to page 2").click()
    editing_item(page).get_by_label("English").first.fill("Recommend us?")
    editing_item(page).get_by_role("button", name="Save item").click()
    expect(editing_item(page)).to_have_count(0)
    # the preview is the widget code's: every question, the conditional one too
    expect(page.locator(".form-preview").nth(1).get_by_label("Why red?")).to_be_visible()
    assert page.problems == []

    db.session.expire_all()
    survey = db.session.scalar(select(Survey).where(Survey.name == "Colours"))
    [[q1], [q2, q3]] = [[item["id"] for item in one["items"]] for one in survey.pages]
    assert colour == f"answer:{q1}"
    assert survey.pages[1]["items"][0]["condition"]["rules"] == [
        {"source": "answer", "name": q1, "op": "equals", "value": "red"}
    ]
    builder.update_survey(  # no waiting in tests: the owner lowers the minimum fill time (a setting)
        user.account,
        survey.id,
        name=survey.name,
        pages=survey.pages,
        settings={**survey.settings, "min_fill_seconds": 0},
        origins=[],
    )

    # a visitor answers it on the hosted page
    context = chromium.new_context()
    try:
        visitor = context.new_page()
        visitor.goto(f"{verrijk.url}/s/{survey.key}")
        visitor.get_by_label("Blue").check()
        visitor.get_by_role("button", name="Next").click()
        expect(visitor.get_by_text("Recommend us?")).to_be_visible()
        expect(visitor.get_by_label("Why red?")).to_have_count(0)  # blue: the condition does not hold
        visitor.get_by_role("button", name="Back").click()
        expect(visitor.get_by_label("Blue")).to_be_checked()
        visitor.get_by_label("Red").check()
        visitor.get_by_role("button", name="Next").click()
        visitor.get_by_label("Why red?").fill("It is warm")
        visitor.get_by_label("9", exact=True).check()
        visitor.get_by_role("button", name="Send").click()
        expect(visitor.get_by_text("Thank you!")).to_be_visible()
    finally:
        context.close()
    db.session.expire_all()
    response = db.session.scalar(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id))
    assert response.completed_at is not None
    assert response.answers == {q1: "red", q2: "It is warm", q3: 9}
