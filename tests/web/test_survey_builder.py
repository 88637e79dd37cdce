"""The visual survey builder through the test client: pages and items of every type added, moved, removed and
edited from menus (texts per language, conditions, branches), every change checked by the domain with a clear
message and nothing stored on a bad input; a change on an old revision refused; roles and tenancy."""

import pytest

from tests.factories import make_account
from tests.survey_fixtures import make_survey
from webapp.extensions import db


@pytest.fixture
def editor(browser):
    return browser("editor")


@pytest.fixture
def survey(editor):
    return make_survey(editor.user.account)


def post(editor, survey, path, data=None):
    db.session.refresh(survey)
    return editor.post(f"/surveys/{survey.id}{path}", {"revision": str(survey.revision), **(data or {})}, htmx=True)


def stored(survey):
    db.session.expire_all()
    return survey.pages


@pytest.mark.parametrize("kind", ["text", "open", "choice", "grid", "rating", "nps", "consent"])
def test_every_item_type_can_be_added_and_opens_for_editing(editor, survey, kind):
    response = post(editor, survey, "/pages/2/items", {"type": kind})
    assert response.status_code == 200 and "Item added." in response.headers["HX-Trigger"]
    added = stored(survey)[1]["items"][-1]
    assert added["type"] == kind and added["id"] == ("t" if kind == "text" else "q") + str(survey.revision - 1)
    html = response.get_data(as_text=True)
    assert f'id="item-{added["id"]}" class="form-item editing"' in html and "Save item" in html


def test_a_removed_questions_id_is_never_given_again(editor, survey):
    post(editor, survey, "/pages/1/items", {"type": "open"})
    first = stored(survey)[0]["items"][-1]["id"]
    post(editor, survey, f"/items/{first}/delete")
    post(editor, survey, "/pages/1/items", {"type": "open"})
    assert stored(survey)[0]["items"][-1]["id"] != first  # old answers to it never pass for the new question's


def test_without_javascript_a_change_redirects_to_the_editor(editor, survey):
    db.session.refresh(survey)
    response = editor.post(f"/surveys/{survey.id}/pages/1/items", {"revision": str(survey.revision), "type": "nps"})
    added = stored(survey)[0]["items"][-1]["id"]
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/surveys/{survey.id}?item={added}")


def test_editing_an_item_texts_per_language_options_and_a_condition(editor, survey):
    post(editor, survey, "/pages/2/items", {"type": "choice"})
    q1 = stored(survey)[1]["items"][-1]["id"]
    response = post(
        editor,
        survey,
        f"/items/{q1}",
        {
            "label.en": "Which drink?",
            "label.nl": "Welk drankje?",
            "required": "1",
            "widget": "checkboxes",
            "options": "tea\ncoffee",
            "options.en": "Tea\nCoffee",
            "options.nl": "Thee\nKoffie",
            "other": "1",
            "default": "tea",
            "field": "",
            "rule-match": "any",
            "rule-0-ref": "answer:colour",
            "rule-0-op": "equals",
            "rule-0-value": "red",
            "rule-1-ref": "hidden:",
            "rule-2-ref": "field:Tier",
            "rule-2-op": "answered",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    item = stored(survey)[1]["items"][-1]
    assert item["label"] == {"en": "Which drink?", "nl": "Welk drankje?"}
    assert item["options"] == [
        {"value": "tea", "label": {"en": "Tea", "nl": "Thee"}},
        {"value": "coffee", "label": {"en": "Coffee", "nl": "Koffie"}},
    ]
    assert (item["multiple"], item["widget"], item["other"], item["default"]) == (True, "checkboxes", True, ["tea"])
    assert item["condition"] == {
        "match": "any",
        "rules": [
            {"source": "answer", "name": "colour", "op": "equals", "value": "red"},
            {"source": "field", "name": "Tier", "op": "answered", "value": ""},
        ],
    }
    # the form opens filled with what is stored, the preview shows it by the widget code
    page = editor.get(f"/surveys/{survey.id}?item={q1}").get_data(as_text=True)
    assert 'name="label.nl" value="Welk drankje?"' in page and ">tea\ncoffee</textarea>" in page
    assert '<option value="answer:colour" selected>' in page
    assert f'name="q_{q1}" value="tea"' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"label.en": ""}, "Give the question a text."),
        ({"label.en": "Why?", "rule-0-ref": "answer:visits"}, "which is not an earlier question"),
        ({"label.en": "Why?", "rule-0-ref": "answer:nps"}, "which is not an earlier question"),
        ({"label.en": "Why?", "field": "Nope"}, "the database has no field Nope"),
    ],
)
def test_a_bad_item_is_refused_with_a_message_and_what_was_typed_stays(editor, survey, data, message):
    before = stored(survey)
    response = post(editor, survey, "/items/visits", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert 'class="form-item editing"' in html  # still open, with what was typed
    if data["label.en"]:
        assert 'value="Why?"' in html
    assert stored(survey) == before


def test_a_bad_option_list_is_refused(editor, survey):
    before = stored(survey)
    response = post(editor, survey, "/items/colour", {"label.en": "Colour?", "options": "red\nred"})
    assert response.status_code == 422 and "options must differ" in response.get_data(as_text=True)
    assert stored(survey) == before


def test_moving_items_within_and_across_pages(editor, survey):
    post(editor, survey, "/items/visits/move", {"direction": "up"})
    assert [item["id"] for item in stored(survey)[0]["items"]] == ["intro", "visits", "colour"]
    post(editor, survey, "/items/nps/move", {"direction": "up"})  # the top of page 3: to the end of page 2
    assert stored(survey)[1]["items"][-1]["id"] == "nps"
    response = post(editor, survey, "/items/intro/move", {"direction": "up"})
    assert response.status_code == 422 and "cannot move further" in response.get_data(as_text=True)


def test_moving_a_question_onto_the_page_its_condition_looks_at_is_refused(editor, survey):
    before = stored(survey)
    refused = post(editor, survey, "/items/why_red/move", {"direction": "up"})  # to the end of page 1
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "refers to colour, which is not an earlier question" in html
    assert stored(survey) == before


def test_pages_added_moved_and_removed_with_their_branches(editor, survey):
    assert post(editor, survey, "/pages").status_code == 200
    assert len(stored(survey)) == 4 and stored(survey)[3] == {"title": "", "items": [], "branches": []}
    refused = post(editor, survey, "/pages/3/delete")  # page 1 branches to page 3
    assert refused.status_code == 422 and "change that branch first" in refused.get_data(as_text=True)
    post(editor, survey, "/pages/3/move", {"direction": "down"})  # pages 3 and 4 swap: the branch follows
    assert stored(survey)[0]["branches"][0]["to"] == 4
    assert post(editor, survey, "/pages/3/delete").status_code == 200  # the empty page
    assert len(stored(survey)) == 3 and stored(survey)[0]["branches"][0]["to"] == 3
    page = post(editor, survey, "/pages/2/move", {"direction": "up"})  # why_red before colour: refused
    assert page.status_code == 422 and "refers to colour" in page.get_data(as_text=True)


def test_a_page_title_and_branches_from_menus(editor, survey):
    page = editor.get(f"/surveys/{survey.id}?page=1").get_data(as_text=True)
    assert 'name="branch-0-to"' in page and '<option value="3">' in page and '<option value="1">' not in page
    response = post(
        editor,
        survey,
        "/pages/2",
        {
            "title.en": "More",
            "title.nl": "Meer",
            "branch-0-to": "end",
            "branch-0-rule-0-ref": "answer:stars",
            "branch-0-rule-0-op": "less",
            "branch-0-rule-0-value": "3",
            "branch-1-to": "",
        },
    )
    assert response.status_code == 200
    assert stored(survey)[1]["title"] == {"en": "More", "nl": "Meer"}
    assert stored(survey)[1]["branches"] == [
        {
            "to": "end",
            "condition": {"match": "all", "rules": [{"source": "answer", "name": "stars", "op": "less", "value": "3"}]},
        }
    ]
    backwards = post(editor, survey, "/pages/2", {"branch-0-to": "1"})
    assert backwards.status_code == 422 and "later page" in backwards.get_data(as_text=True)


def test_a_change_on_an_old_revision_is_refused(editor, survey):
    old = survey.revision
    post(editor, survey, "/pages")
    response = editor.post(f"/surveys/{survey.id}/pages", {"revision": str(old)}, htmx=True)
    assert response.status_code == 422 and "changed meanwhile" in response.get_data(as_text=True)
    assert len(stored(survey)) == 4


def test_about_this_survey(editor, survey):
    response = post(
        editor,
        survey,
        "/details",
        {"name": "Views", "languages": ["nl", "de"], "default_language": "de", "hidden_fields": "campaign source"},
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert survey.name == "Views" and survey.settings["languages"] == ["de", "nl"]
    assert survey.settings["hidden_fields"] == ["campaign", "source"]
    refused = post(editor, survey, "/details", {"name": "X", "languages": ["nl"], "default_language": "en"})
    assert refused.status_code == 422 and "default language must be one" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert survey.name == "Views"


def test_viewers_and_other_accounts(browser, editor, survey):
    viewer = browser("viewer", account=editor.user.account)
    page = viewer.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "Pages and questions" in page and "Add a page" not in page
    assert viewer.post(f"/surveys/{survey.id}/pages", {"revision": "1"}).status_code == 403
    stranger = browser("editor", account=make_account("Other"))
    assert stranger.post(f"/surveys/{survey.id}/pages", {"revision": "1"}, htmx=True).status_code == 404
    assert stranger.post(f"/surveys/{survey.id}/items/colour", {"label.en": "x"}, htmx=True).status_code == 404


def test_settings_from_a_form(editor, survey):
    response = post(
        editor,
        survey,
        "/settings",
        {
            "opens_at": "2026-12-01T09:00",
            "closes_at": "",
            "max_completed": "100",
            "min_fill_seconds": "5",
            "anonymous": "1",
            "captcha": "1",
            "language_field": "Language",
            "closing_text.en": "Thanks!",
            "closing_text.nl": "Bedankt!",
            "back_label.nl": "Vorige",
            "notify": "a@example.com\nb@example.com",
        },
    )
    assert response.status_code == 200 and "Settings saved." in response.headers["HX-Trigger"]
    db.session.expire_all()
    settings = survey.settings
    assert (settings["opens_at"], settings["max_completed"], settings["min_fill_seconds"]) == (
        "2026-12-01T09:00:00",
        100,
        5,
    )
    assert settings["anonymous"] and settings["captcha"] and not settings["one_per_profile"]
    assert settings["closing_text"] == {"en": "Thanks!", "nl": "Bedankt!"}
    assert settings["back_label"] == {"nl": "Vorige"}
    assert settings["notify"] == ["a@example.com", "b@example.com"] and settings["language_field"] == "Language"
    assert settings["languages"] == ["en", "nl", "fr", "de"]  # kept
    page = editor.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert 'name="closing_text.nl" rows="2">Bedankt!</textarea>' in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_completed": "many"}, "positive number of responses"),
        ({"min_fill_seconds": "-1"}, "minimum fill time"),
        ({"redirect_url": "ftp://example.com"}, "http(s) address"),
        ({"notify": "not an address"}, "must be email addresses"),
        ({"opens_at": "tomorrow"}, "must be a date and time"),
        ({"language_field": "Nope"}, "language field"),
    ],
)
def test_bad_settings_are_refused_and_what_was_typed_stays(editor, survey, data, message):
    before = dict(survey.settings)
    response = post(editor, survey, "/settings", {"closing_text.en": "Typed", **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and message in html
    assert 'id="survey-settings-card" open' in html and ">Typed</textarea>" in html
    db.session.expire_all()
    assert survey.settings == before
