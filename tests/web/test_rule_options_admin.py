"""The editors of rule trees and what the rule language gained from search (issue 15): ``like`` and ``not_like``
have menu entries in the selection editor, and a field rule with comparison options (``case_sensitive``,
``each``), which no menu offers, is shown as it is and saved back unchanged, in the selection editor and in the
follow-up builder (which also keeps operators it has no menu for)."""

import json

from sqlalchemy import select

from tests.factories import make_database, make_followup
from tests.web.test_followups_admin import form_values, stored
from webapp.extensions import db
from webapp.models import Selection
from webapp.selections import selections


def _field(database, name):
    return next(field.id for field in database.fields if field.name == name)


def test_the_selection_editor_offers_like_and_keeps_rules_with_options(browser):
    visitor = browser("editor")
    account = visitor.user.account
    database = make_database(
        account,
        "Customers",
        fields={"FirstName": "text", "Tags": {"type": "choice", "options": {"choices": ["a", "b"], "multiple": True}}},
    )
    with_options = [
        {"field_id": _field(database, "FirstName"), "operator": "=", "value": "Ann", "case_sensitive": True},
        {"field_id": _field(database, "Tags"), "operator": "!=", "value": "a", "each": True},
    ]
    like = {"field_id": _field(database, "FirstName"), "operator": "like", "value": "an_%"}
    created = selections.create_selection(
        account, database.id, "Patterns", rules={"match": "all", "rules": [*with_options, like]}
    )
    url = f"/selections/{created.id}"
    page = visitor.get(url).get_data(as_text=True)
    assert '<option value="like" selected>matches the pattern (% any text, _ one character)</option>' in page
    data = form_values(page, url)
    assert [json.loads(data[f"rule-{n}-kept"][0]) for n in (0, 1)] == with_options
    assert data["rule-2-operator"] == ["like"] and data["rule-2-value"] == ["an_%"]
    response = visitor.post(url, data, htmx=True)
    assert response.status_code == 204, response.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.scalars(select(Selection).where(Selection.id == created.id)).one()
    assert saved.rules == {"match": "all", "rules": [*with_options, like]}


def test_the_follow_up_builder_keeps_rules_it_has_no_menus_for(browser, account):
    database = make_database(account, "Shop", fields={"FirstName": "text", "Email": "email"})
    first_name = _field(database, "FirstName")
    condition = {
        "match": "all",
        "rules": [
            {"field_id": first_name, "operator": "like", "value": "a%"},
            {"field_id": first_name, "operator": "=", "value": "Ann", "case_sensitive": True},
            {"field_id": first_name, "operator": "starts_with", "value": "an"},
            {"field_id": first_name, "operator": "=", "value": "ann"},
        ],
    }
    followup = make_followup(
        account,
        database,
        trigger={"kind": "profile_created"},
        execution_condition=condition,
        actions=[{"type": "unsubscribe"}],
    )
    before = stored(followup.id)
    assert before["execution_condition"] == condition
    editor, url = browser("editor", account), f"/followups/{followup.id}"
    data = form_values(editor.get(url).get_data(as_text=True), url)
    assert [data[f"execution-{n}-kind"] for n in range(4)] == [["kept"]] * 3 + [["field"]]
    response = editor.post(url, data, htmx=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored(followup.id) == before
