"""Surveys through the domain: building, every question type's validation, conditions and branching, partial
save and resume, languages, limits, signed and forged links, anonymous mode, field mapping."""

import time

import pytest
from sqlalchemy import select

from tests.factories import make_database
from tests.survey_fixtures import FIELDS, PAGES, make_survey
from webapp.email.delivery import caught_messages
from webapp.extensions import db
from webapp.models import ProfileEvent, ScheduledWork, SurveyResponse
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.profiles import links, profiles
from webapp.profiles.events import Origin
from webapp.surveys import builder
from webapp.surveys import responses as surveys
from webapp.surveys.responses import Visitor
from webapp.webforms import spam as form_spam

EARLIER = time.time() - 60


def token(survey):
    return form_spam.issue_token(f"survey:{survey.key}", now=EARLIER)


def send(survey, values, visitor=None, *, page=None, origin=""):
    visitor = visitor or Visitor()
    if page is None:
        page = surveys.start(survey.key, visitor).page["index"]
    return surveys.submit_page(survey.key, values, visitor, page_index=page, origin=origin, token=token(survey))


def make_profile(account, database, **values):
    return profiles.create_profile(account, database.id, values, origin=Origin("admin"))


@pytest.fixture
def survey(account):
    return make_survey(account)


def responses_of(survey):
    return list(db.session.scalars(select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)))


def test_text_between_questions_is_sanitised(survey):
    assert survey.pages[0]["items"][0]["html"]["en"] == "<p>Hello <b>there</b></p>"


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([], "at least one page"),
        ([{"items": [{"id": "a", "type": "slider"}]}], "type must be"),
        ([{"items": [{"id": "a", "type": "open"}, {"id": "a", "type": "open"}]}], "its own id"),
        ([{"items": [{"id": "a", "type": "open", "variant": "colour"}]}], "unknown variant"),
        ([{"items": [{"id": "a", "type": "choice", "options": []}]}], "needs options"),
        ([{"items": [{"id": "a", "type": "choice", "options": ["x"], "default": "y"}]}], "default must be"),
        ([{"items": [{"id": "a", "type": "choice", "options": ["x"], "widget": "checkboxes"}]}], "checkboxes"),
        ([{"items": [{"id": "a", "type": "rating", "scale": 11}]}], "rating scale"),
        ([{"items": [{"id": "a", "type": "open", "field": "Nope"}]}], "no field Nope"),
        ([{"items": [{"id": "a", "type": "grid", "rows": ["r"], "columns": ["c"], "field": "Tier"}]}], "grid"),
        (
            [
                {
                    "items": [
                        {"id": "a", "type": "open"},
                        {
                            "id": "b",
                            "type": "open",
                            "condition": {"rules": [{"source": "answer", "name": "a", "op": "equals", "value": "x"}]},
                        },
                    ]
                }
            ],
            "not an earlier question",
        ),
        ([{"items": [], "branches": [{"to": 1}]}], "later page"),
    ],
)
def test_a_bad_survey_is_refused_and_nothing_changes(account, survey, pages, message):
    before = survey.pages
    with pytest.raises(ValidationError) as error:
        builder.update_survey(account, survey.id, name="X", pages=pages, settings={}, origins=[])
    assert message in error.value.errors["pages"]
    db.session.rollback()
    assert builder.get_survey(account, survey.id).pages == before


def test_first_page_shows_its_items_in_the_chosen_language(survey):
    view = surveys.start(survey.key, Visitor(lang="nl"))
    assert (view.status, view.lang, view.page["title"]) == ("page", "nl", "Over jou")
    names = [item["name"] for item in view.page["items"]]
    assert names == ["", "q_colour", "q_visits"]
    colour = view.page["items"][1]
    assert colour["label"] == "Kleur?" and colour["options"][0] == {"value": "red", "label": "Rood"}
    assert colour["other"] and colour["type"] == "radio"


@pytest.mark.parametrize(
    ("browser", "profile_language", "link", "expected"),
    [
        (["de-DE", "en"], "", "", "de"),
        (["es"], "", "", "en"),
        (["de"], "fr", "", "fr"),
        (["de"], "fr", "nl", "nl"),
    ],
)
def test_language_from_link_then_profile_then_browser(account, browser, profile_language, link, expected):
    survey = make_survey(account, language_field="Language")
    profile = make_profile(account, survey.database, Language=profile_language)
    visitor = Visitor(lang=link, browser_languages=browser, **_link(profile))
    assert surveys.start(survey.key, visitor).lang == expected


def _link(profile):
    query = links.profile_link_query(profile)
    return {"profile_id": query["profile"], "signature": query["sig"]}


QUESTIONS = {
    "line": {"id": "q", "type": "open", "label": "Q", "required": True},
    "lines": {"id": "q", "type": "open", "variant": "lines", "label": "Q"},
    "number": {"id": "q", "type": "open", "variant": "number", "label": "Q"},
    "email": {"id": "q", "type": "open", "variant": "email", "label": "Q"},
    "date": {"id": "q", "type": "open", "variant": "date", "label": "Q"},
    "one": {"id": "q", "type": "choice", "widget": "select", "label": "Q", "options": ["a", "b"], "other": True},
    "many": {"id": "q", "type": "choice", "multiple": True, "label": "Q", "options": ["a", "b"]},
    "grid": {"id": "q", "type": "grid", "label": "Q", "rows": ["r1", "r2"], "columns": ["c1", "c2"], "required": True},
    "rating": {"id": "q", "type": "rating", "label": "Q", "scale": 4},
    "nps": {"id": "q", "type": "nps", "label": "Q"},
}


@pytest.mark.parametrize(
    ("kind", "posted", "answers", "error"),
    [
        ("line", {"q_q": " hi "}, {"q": "hi"}, None),
        ("line", {"q_q": ""}, None, "needs an answer"),
        ("line", {"q_q": "a\nb"}, None, "single line"),
        ("line", {"q_q": "x" * 256}, None, "at most 255"),
        ("lines", {"q_q": "a\r\nb"}, {"q": "a\nb"}, None),
        ("lines", {}, {}, None),
        ("number", {"q_q": "3,5"}, {"q": 3.5}, None),
        ("number", {"q_q": "many"}, None, "must be a number"),
        ("email", {"q_q": "Ann@Example.com"}, {"q": "Ann@example.com"}, None),
        ("email", {"q_q": "ann@"}, None, "valid email"),
        ("date", {"q_q": "2025-02-28"}, {"q": "2025-02-28"}, None),
        ("date", {"q_q": "2025-02-30"}, None, "date like"),
        ("one", {"q_q": "a"}, {"q": "a"}, None),
        ("one", {"q_q": "c"}, None, "one of the options"),
        ("one", {"q_q": ["a", "b"]}, None, "one of the options"),
        ("one", {"q_q": "_other", "q_q_other": "c"}, {"q": "_other", "q.other": "c"}, None),
        ("one", {"q_q": "_other"}, None, "by other"),
        ("many", {"q_q": ["a", "b", "a"]}, {"q": ["a", "b"]}, None),
        ("many", {"q_q": ["a", "z"]}, None, "one of the options"),
        ("grid", {"q_q_0": "c1", "q_q_1": "c2"}, {"q": {"r1": "c1", "r2": "c2"}}, None),
        ("grid", {"q_q_0": "c1"}, None, "every row"),
        ("grid", {"q_q_0": "c1", "q_q_1": "c9"}, None, "one of the options"),
        ("rating", {"q_q": "4"}, {"q": 4}, None),
        ("rating", {"q_q": "5"}, None, "from 1 to 4"),
        ("nps", {"q_q": "0"}, {"q": 0}, None),
        ("nps", {"q_q": "11"}, None, "from 0 to 10"),
        ("nps", {"q_q": "-1"}, None, "from 0 to 10"),
    ],
)
def test_every_question_type_validates(account, kind, posted, answers, error):
    survey = make_survey(account, pages=[{"items": [QUESTIONS[kind]]}, {"items": [{"id": "z", "type": "nps"}]}])
    view = send(survey, posted)
    if error is None:
        assert view.status == "page", view.errors
        assert responses_of(survey)[0].answers == answers
    else:
        assert view.status == "invalid" and view.status_code == 422
        assert any(error in message for message in view.errors.values()), view.errors
        assert responses_of(survey) == []


def test_a_condition_shows_a_question_and_makes_it_required_only_when_shown(survey):
    red = send(survey, {"q_colour": "red"})
    assert [item["name"] for item in red.page["items"]] == ["q_why_red", "q_service", "q_stars"]
    visitor = Visitor(resume_key=red.resume_key)
    missing = send(survey, {}, visitor, page=1)
    assert missing.errors == {"q_why_red": "This question needs an answer."}
    done = send(survey, {"q_why_red": "warm", "q_vip": "sneaky"}, visitor, page=1)
    assert done.page["index"] == 2
    [response] = responses_of(survey)
    assert response.answers == {"colour": "red", "why_red": "warm"}  # the hidden question's answer is refused


def test_a_branch_skips_to_a_later_page(survey):
    view = send(survey, {"q_colour": "blue"})
    assert view.page["index"] == 2
    assert responses_of(survey)[0].reached == [0]


def test_changing_an_earlier_answer_is_not_possible_by_posting_an_old_page(survey):
    first = send(survey, {"q_colour": "red"})
    again = send(survey, {"q_colour": "blue"}, Visitor(resume_key=first.resume_key), page=0)
    assert again.status_code == 409 and again.page["index"] == 1
    assert responses_of(survey)[0].answers == {"colour": "red"}


def test_profile_field_conditions_use_the_profile_but_reveal_nothing(account, survey):
    gold = make_profile(account, survey.database, Tier="gold", Email="ann@example.com")
    plain = make_profile(account, survey.database, Tier="silver")
    for profile, expected in ((gold, True), (plain, False)):
        first = send(survey, {"q_colour": "red"}, Visitor(**_link(profile)))
        assert ("q_vip" in [item["name"] for item in first.page["items"]]) is expected
        body = str(first.body())
        assert "gold" not in body and "Tier" not in body and "condition" not in body
        assert "ann@example.com" not in body


def test_a_forged_link_is_anonymous(account, survey):
    gold = make_profile(account, survey.database, Tier="gold")
    forged = Visitor(profile_id=str(gold.id), signature="forged")
    view = send(survey, {"q_colour": "red"}, forged)
    assert "q_vip" not in [item["name"] for item in view.page["items"]]
    [response] = responses_of(survey)
    assert response.profile_id is None


def test_partial_save_and_resume_by_the_same_link(account, survey):
    profile = make_profile(account, survey.database)
    visitor = Visitor(**_link(profile))
    send(survey, {"q_colour": "red", "q_visits": "2"}, visitor)
    resumed = surveys.start(survey.key, visitor)
    assert resumed.page["index"] == 1
    [response] = responses_of(survey)
    assert (response.profile_id, response.completed_at, response.answers["visits"]) == (profile.id, None, 2)
    anonymous = send(survey, {"q_colour": "blue"})
    assert surveys.start(survey.key, Visitor(resume_key=anonymous.resume_key)).page["index"] == 2
    assert surveys.start(survey.key, Visitor(resume_key="guess")).page["index"] == 0


def complete(survey, visitor=None):
    visitor = visitor or Visitor()
    first = send(survey, {"q_colour": "blue"}, visitor)
    if not visitor.profile_id:
        visitor.resume_key = first.resume_key
    return send(survey, {"q_nps": "9"}, visitor, page=2)


def test_completion_marks_the_response_journals_the_event_and_maps_the_field(account, survey):
    profile = make_profile(account, survey.database)
    visitor = Visitor(**_link(profile))
    view = complete(survey, visitor)
    assert (view.status, view.message) == ("complete", "Thank you!")
    [response] = responses_of(survey)
    assert response.completed_at is not None
    assert response.answers == {"colour": "blue", "nps": 9}  # topics left empty: the default is only shown
    db.session.refresh(profile)
    favourite = next(field for field in survey.database.fields if field.name == "Favourite")
    assert profile.fields[str(favourite.id)] == "blue"
    kinds = [
        (event.kind, event.source)
        for event in db.session.scalars(
            select(ProfileEvent).where(ProfileEvent.profile_id == profile.id).order_by(ProfileEvent.id)
        )
    ]
    assert kinds[-2:] == [("profile_updated", "survey"), ("survey_completed", "survey")]
    again = surveys.start(survey.key, visitor)
    assert again.status == "complete"  # one response per profile


def test_other_namely_is_what_goes_into_the_field(account, survey):
    profile = make_profile(account, survey.database)
    send(survey, {"q_colour": "_other", "q_colour_other": "green"}, Visitor(**_link(profile)))
    db.session.refresh(profile)
    favourite = next(field for field in survey.database.fields if field.name == "Favourite")
    assert profile.fields[str(favourite.id)] == "green"


def test_several_responses_per_profile_when_allowed(account):
    survey = make_survey(account, one_per_profile=False)
    profile = make_profile(account, survey.database)
    complete(survey, Visitor(**_link(profile)))
    assert surveys.start(survey.key, Visitor(**_link(profile))).status == "page"
    complete(survey, Visitor(**_link(profile)))
    assert len(responses_of(survey)) == 2


def test_anonymous_mode_never_links_a_profile(account):
    survey = make_survey(account, anonymous=True)
    profile = make_profile(account, survey.database, Tier="gold")
    complete(survey, Visitor(**_link(profile)))
    [response] = responses_of(survey)
    assert response.profile_id is None
    assert (
        db.session.scalar(
            select(ProfileEvent).where(ProfileEvent.profile_id == profile.id, ProfileEvent.kind == "survey_completed")
        )
        is None
    )


@pytest.mark.parametrize(
    ("settings", "open_"),
    [
        ({"opens_at": "2999-01-01T00:00"}, False),
        ({"closes_at": "2000-01-01T00:00"}, False),
        ({"opens_at": "2000-01-01T00:00", "closes_at": "2999-01-01T00:00"}, True),
    ],
)
def test_open_and_close_dates(account, settings, open_):
    survey = make_survey(account, **settings)
    assert (surveys.start(survey.key, Visitor()).status == "page") is open_
    assert (send(survey, {"q_colour": "red"}, page=0).status == "page") is open_


def test_closes_after_n_completed(account):
    survey = make_survey(account, max_completed=1)
    complete(survey)
    view = surveys.start(survey.key, Visitor())
    assert (view.status, view.message) == ("closed", "This survey is closed.")


def test_closing_text_and_redirect_in_the_language(account):
    survey = make_survey(account, closing_text={"en": "Bye", "nl": "Doei"}, redirect_url="https://example.com/t")
    view = complete(survey, Visitor(lang="nl"))
    assert (view.message, view.redirect) == ("Doei", "https://example.com/t")


def test_a_notification_is_durable_work_with_the_response_and_sends_the_answers(account):
    survey = make_survey(account, notify=["team@example.com", "boss@example.com"])
    complete(survey)
    [row] = db.session.scalars(select(ScheduledWork).where(ScheduledWork.kind == "survey_notification"))
    assert row.payload == {"response_id": responses_of(survey)[0].id}
    assert work.run_work(row.id) == "done"
    messages = caught_messages(account.id)
    assert sorted(message["To"] for message in messages) == ["boss@example.com", "team@example.com"]
    assert messages[0]["Subject"] == "New response to Opinions"
    assert "Colour?: blue" in messages[0].get_content() and "Recommend us?: 9" in messages[0].get_content()


def test_no_notification_without_addresses(survey):
    complete(survey)
    assert db.session.scalar(select(ScheduledWork).where(ScheduledWork.kind == "survey_notification")) is None


@pytest.mark.parametrize(
    ("values", "origin", "spoil_token", "reason"),
    [
        ({"q_colour": "red", "_hp": "bot"}, "", False, "honeypot"),
        ({"q_colour": "red"}, "https://evil.example", False, "origin"),
        ({"q_colour": "red"}, "", True, "token"),
    ],
)
def test_spam_defences_of_web_forms(survey, values, origin, spoil_token, reason):
    view = surveys.submit_page(
        survey.key, values, Visitor(), page_index=0, origin=origin, token="1.bad" if spoil_token else token(survey)
    )
    assert view.status == "rejected" and view.status_code == 403
    assert responses_of(survey) == []


def test_hidden_fields_are_captured_and_usable_in_conditions(account):
    pages = [
        {"items": [{"id": "a", "type": "open", "label": "A"}]},
        {
            "items": [
                {
                    "id": "b",
                    "type": "open",
                    "label": "B",
                    "condition": {
                        "rules": [{"source": "hidden", "name": "campaign", "op": "equals", "value": "spring"}]
                    },
                }
            ]
        },
        {"items": [{"id": "c", "type": "nps", "label": "C"}]},
    ]
    survey = make_survey(account, pages=pages, hidden_fields=["campaign"])
    spring = send(survey, {"q_a": "x"}, Visitor(hidden={"campaign": "spring", "other": "no"}))
    assert spring.page["index"] == 1
    assert responses_of(survey)[0].hidden == {"campaign": "spring"}
    autumn = send(survey, {"q_a": "x"}, Visitor(hidden={"campaign": "autumn"}))
    assert autumn.page["index"] == 2  # page 2 has nothing to show


def test_another_accounts_profile_link_is_anonymous(account, survey):
    from tests.factories import make_account

    other = make_account("Other")
    foreign_db = make_database(other, fields=FIELDS)
    stranger = make_profile(other, foreign_db, Tier="gold")
    send(survey, {"q_colour": "red"}, Visitor(**_link(stranger)))
    assert responses_of(survey)[0].profile_id is None


def test_the_fixture_has_three_pages():
    assert len(PAGES) == 3
