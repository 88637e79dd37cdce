"""The selections admin: list with counts and their age, the editor with menus and a live count, row edits,
members page by page, standard selections, delete with confirm; roles and another account's ids."""

import json

from sqlalchemy import select

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.models import Selection
from webapp.profiles import profiles
from webapp.profiles.events import Origin
from webapp.selections import selections

ADMIN = Origin("admin", actor="test")


def text_of(response) -> str:
    return response.get_data(as_text=True)


def _setup(browser):
    visitor = browser("editor")
    account = visitor.user.account
    database = make_database(account, "Customers")
    for number in range(25):
        profiles.create_profile(
            account,
            database.id,
            {"Email": f"p{number}@example.com", "FirstName": "Ann" if number < 3 else "Bob"},
            origin=ADMIN,
        )
    return visitor, account, database


def _field(database, name):
    return next(field.id for field in database.fields if field.name == name)


def test_an_editor_builds_a_selection_with_menus_and_sees_the_live_count(browser):
    visitor, account, database = _setup(browser)
    page = visitor.get(f"/databases/{database.id}/selections/new")
    assert page.status_code == 200
    assert "No rules: every profile" in text_of(page)
    added = visitor.post(f"/databases/{database.id}/selections", {"name": "Anns", "op": "add-rule"}, htmx=True)
    assert 'name="rule-0-kind"' in text_of(added)
    posted = {
        "name": "Anns",
        "match": "all",
        "rule-0-kind": "field",
        "rule-0-field_id": str(_field(database, "FirstName")),
        "rule-0-operator": "=",
        "rule-0-value": "ann",
    }
    preview = visitor.post(f"/databases/{database.id}/selections/preview", posted, htmx=True)
    assert "<strong>3</strong>" in text_of(preview)
    saved = visitor.post(f"/databases/{database.id}/selections", posted, htmx=True)
    assert saved.status_code == 204 and saved.headers["HX-Redirect"].startswith("/selections/")
    selection = db.session.scalars(select(Selection).where(Selection.name == "Anns")).one()
    assert selection.rules["rules"][0]["value"] == "ann"
    editor = visitor.get(f"/selections/{selection.id}")
    assert "<strong>3</strong>" in text_of(editor)


def test_a_bad_rule_is_shown_and_nothing_is_saved(browser):
    visitor, account, database = _setup(browser)
    posted = {"name": "Broken", "rule-0-kind": "field", "rule-0-field_id": "", "rule-0-operator": "="}
    answer = visitor.post(f"/databases/{database.id}/selections", posted, htmx=True)
    assert answer.status_code == 422
    assert "Unknown field" in text_of(answer)
    assert db.session.scalars(select(Selection)).all() == []


def test_groups_and_other_rule_kinds_round_trip_through_the_editor(browser):
    visitor, account, database = _setup(browser)
    other = selections.create_selection(account, database.id, "Everyone")
    interest = __import__("webapp.profiles.databases", fromlist=["x"]).create_interest(account, database.id, "News")
    posted = {
        "name": "Mixed",
        "match": "any",
        "rule-0-kind": "group",
        "rule-0-match": "all",
        "rule-0-rules-0-kind": "interest",
        "rule-0-rules-0-interest_id": str(interest.id),
        "rule-0-rules-0-state": "1",
        "rule-0-rules-1-kind": "email",
        "rule-0-rules-1-email": "bounced",
        "rule-0-rules-1-bounce": "hard",
        "rule-0-rules-1-days": "30",
        "rule-1-kind": "selection",
        "rule-1-selection_id": str(other.id),
        "rule-1-state": "0",
        "rule-2-kind": "suppressed",
        "rule-2-state": "1",
        "rule-2-not": "1",
    }
    assert visitor.post(f"/databases/{database.id}/selections", posted, htmx=True).status_code == 204
    saved = db.session.scalars(select(Selection).where(Selection.name == "Mixed")).one()
    assert saved.rules == {
        "match": "any",
        "rules": [
            {
                "match": "all",
                "rules": [
                    {"interest_id": interest.id, "value": True},
                    {"email": "bounced", "days": 30, "bounce": "hard"},
                ],
            },
            {"selection_id": other.id, "in": False},
            {"suppressed": True, "not": True},
        ],
    }
    editor = text_of(visitor.get(f"/selections/{saved.id}"))
    assert 'name="rule-0-rules-1-bounce"' in editor and 'name="rule-1-selection_id"' in editor


def test_list_shows_the_count_with_its_age_and_counts_again(browser):
    visitor, account, database = _setup(browser)
    selection = selections.create_selection(account, database.id, "All of them")
    listing = text_of(visitor.get(f"/databases/{database.id}/selections"))
    assert "All of them" in listing and "not counted yet" in listing
    counted = visitor.post(f"/selections/{selection.id}/count", htmx=True)
    assert "25" in text_of(counted) and "counted just now" in text_of(counted)
    assert json.loads(counted.headers["HX-Trigger"])["toast"]["message"] == "Counted."


def test_members_page_by_page(browser):
    visitor, account, database = _setup(browser)
    selection = selections.create_selection(account, database.id, "All of them")
    first = text_of(visitor.get(f"/selections/{selection.id}/members"))
    assert "1–20 of 25" in first and "start=20" in first
    second = text_of(visitor.get(f"/selections/{selection.id}/members?start=20"))
    assert "21–25 of 25" in second


def test_standard_selections_are_offered_and_added_once(browser):
    visitor, account, database = _setup(browser)
    assert "Add the standard selections" in text_of(visitor.get(f"/databases/{database.id}/selections"))
    added = visitor.post(f"/databases/{database.id}/selections/standard", htmx=True)
    assert "4 standard selections added." in added.headers["HX-Trigger"]
    assert "Add the standard selections" not in text_of(added)
    names = set(db.session.scalars(select(Selection.name)))
    assert names == {"Subscribed", "Hard bounced", "Unconfirmed sign-ups", "Suppressed addresses"}


def test_delete_asks_first_then_deletes(browser):
    visitor, account, database = _setup(browser)
    selection = selections.create_selection(account, database.id, "Gone soon")
    asked = visitor.get(f"/selections/{selection.id}/delete")
    assert asked.status_code == 200 and "Delete selection Gone soon?" in text_of(asked)
    done = visitor.post(f"/selections/{selection.id}/delete", htmx=True)
    assert done.status_code == 204
    assert db.session.scalars(select(Selection)).all() == []


def test_a_selection_in_use_by_another_cannot_be_deleted(browser):
    visitor, account, database = _setup(browser)
    used = selections.create_selection(account, database.id, "Used")
    selections.create_selection(account, database.id, "User", rules={"rules": [{"selection_id": used.id}]})
    answer = visitor.post(f"/selections/{used.id}/delete", htmx=True)
    assert answer.status_code == 409 and "User use this selection" in text_of(answer)


def test_viewers_cannot_change_and_other_accounts_ids_are_not_found(browser):
    viewer = browser("viewer")
    database = make_database(viewer.user.account, "Mine")
    mine = selections.create_selection(viewer.user.account, database.id, "Mine")
    assert viewer.post(f"/databases/{database.id}/selections", {"name": "x"}).status_code == 403
    assert viewer.post(f"/selections/{mine.id}/delete").status_code == 403
    assert viewer.get(f"/selections/{mine.id}").status_code == 200
    other_account = make_account("Other")
    theirs_db = make_database(other_account, "Theirs")
    theirs = selections.create_selection(other_account, theirs_db.id, "Theirs")
    assert viewer.get(f"/selections/{theirs.id}").status_code == 404
    assert viewer.get(f"/selections/{theirs.id}/members").status_code == 404
    assert viewer.get(f"/databases/{theirs_db.id}/selections").status_code == 404


def test_the_follow_up_builder_offers_selections_and_keeps_rules_it_has_no_menus_for(browser):
    from webapp.blueprints.admin.followup_drafts import parse_draft

    visitor, account, database = _setup(browser)
    selections.create_selection(account, database.id, "Anns")
    anns = db.session.scalars(select(Selection).where(Selection.name == "Anns")).one()
    edited = visitor.post(
        f"/databases/{database.id}/followups",
        {"trigger-kind": "profile_created", "activation-0-kind": "selection", "op": "refresh"},
        htmx=True,
    )
    page = text_of(edited)
    assert 'name="activation-0-selection_id"' in page and f'<option value="{anns.id}"' in page
    posted = {
        "trigger-kind": ["profile_created"],
        "activation-match": ["all"],
        "activation-0-kind": ["selection"],
        "activation-0-selection_id": ["7"],
        "activation-0-state": ["0"],
        "activation-1-kind": ["kept"],
        "activation-1-rule": ['{"email": "opened", "days": 30}'],
    }
    draft = parse_draft(posted)
    assert draft.activation_condition["rules"] == [{"selection_id": 7, "in": False}, {"email": "opened", "days": 30}]
