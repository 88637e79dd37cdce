"""A completed survey triggers follow-ups (``survey_completed``, optionally of one survey), and their actions
run; an anonymous or unfinished response triggers nothing."""

import time

import pytest

from tests.factories import make_database, make_followup
from tests.followup_fixtures import run_due, runs
from tests.survey_fixtures import FIELDS, make_survey
from webapp.extensions import db
from webapp.models import Profile
from webapp.platform.errors import ValidationError
from webapp.profiles import links, profiles
from webapp.profiles.events import Origin
from webapp.surveys import responses as surveys
from webapp.surveys.responses import Visitor
from webapp.webforms import spam

PAGES = [{"title": "Only", "items": [{"id": "nps", "type": "nps", "label": "Recommend us?", "required": True}]}]
TWO_PAGES = [PAGES[0], {"title": "More", "items": [{"id": "why", "type": "open", "label": "Why?"}]}]


def answer(survey, visitor, values, page=0):
    token = spam.issue_token(f"survey:{survey.key}", now=time.time() - 60)
    return surveys.submit_page(survey.key, values, visitor, page_index=page, token=token)


def linked(profile):
    query = links.profile_link_query(profile)
    return Visitor(profile_id=query["profile"], signature=query["sig"])


@pytest.fixture
def database(account):
    return make_database(account, fields={**FIELDS, "Note": "text"})


def note(database, text):
    field = next(field for field in database.fields if field.name == "Note")
    return [{"type": "update_fields", "values": {str(field.id): text}}]


def the_note(database, profile):
    field = next(field for field in database.fields if field.name == "Note")
    db.session.expire_all()
    return db.session.get(Profile, profile.id).fields.get(str(field.id))


def test_a_completed_survey_runs_the_follow_ups_of_that_survey_and_of_any_survey(account, database):
    first = make_survey(account, database, pages=PAGES)
    second = make_survey(account, database, pages=TWO_PAGES)
    only_first = make_followup(
        account, database, trigger={"kind": "survey_completed", "survey_id": first.id}, actions=note(database, "1")
    )
    any_survey = make_followup(account, database, trigger={"kind": "survey_completed"}, actions=note(database, "x"))
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))

    assert answer(second, linked(profile), {"q_nps": "8"}).status == "page"  # not complete yet: nothing
    assert runs(only_first.id) == [] and runs(any_survey.id) == []
    assert answer(second, linked(profile), {"q_why": "Fine"}, page=1).status == "complete"
    assert runs(only_first.id) == [] and len(runs(any_survey.id)) == 1
    run_due()
    assert the_note(database, profile) == "x"

    assert answer(first, linked(profile), {"q_nps": "9"}).status == "complete"
    assert len(runs(only_first.id)) == 1 and len(runs(any_survey.id)) == 2
    run_due()
    assert the_note(database, profile) in ("1", "x")  # both ran; their order is the dispatcher's
    assert {run.status for run in runs()} == {"done"}


def test_an_anonymous_response_triggers_nothing(account, database):
    survey = make_survey(account, database, pages=PAGES)
    followup = make_followup(account, database, trigger={"kind": "survey_completed"}, actions=note(database, "x"))
    assert answer(survey, Visitor(), {"q_nps": "9"}).status == "complete"
    assert runs(followup.id) == []


def test_the_trigger_names_a_survey_of_its_own_database(account, database):
    other = make_survey(account, make_database(account, "Elsewhere", fields=FIELDS), pages=PAGES)
    with pytest.raises(ValidationError, match="Choose a survey of this database"):
        make_followup(account, database, trigger={"kind": "survey_completed", "survey_id": other.id}, actions=[])
