"""A web form's languages and its texts per language over REST: ``GET form/{id}`` (and the list) shows them in the
shape ``PUT form/{id}`` takes, so a client that reads a form, changes one thing and writes it back loses no
language; a text in a language the form does not use is refused with a problem naming it."""

import pytest
import schemathesis

from tests.factories import make_database
from webapp.blueprints.api.openapi import build_document
from webapp.extensions import db
from webapp.models import Form
from webapp.webforms import builder

SUBMIT = {"nl": "Aanmelden", "en": "Sign up"}
THANKS = {"nl": "Dank je wel", "en": "Thank you"}
SUBJECT = {"nl": "Bevestig je aanmelding", "en": "Confirm your sign-up"}
MAIL = {"nl": "Klik op {link}", "en": "Click {link}"}


@pytest.fixture
def shop(account):
    return make_database(account, fields={"Email": "email", "Language": "text", "Status": "text"})


def field_id(database, name: str) -> int:
    return next(field.id for field in database.fields if field.name == name)


@pytest.fixture
def form(account, shop) -> Form:
    """A form in Dutch (its default) and English, with a confirmation mail in both."""
    made = builder.create_form(account, shop.id, name="Sign-up")
    builder.update_settings(
        account,
        made.id,
        name="Sign-up",
        behaviour="update",
        key_field_ids=[field_id(shop, "Email")],
        allowed_origins=["https://shop.example"],
        languages=["nl", "en"],
        language_field_id=field_id(shop, "Language"),
        submit_label=SUBMIT,
        success_message=THANKS,
        notify_email="team@shop.example",
        double_opt_in={
            "enabled": True,
            "unconfirmed_values": {"Status": "new"},
            "confirmed_values": {"Status": "confirmed"},
            "email_subject": SUBJECT,
            "email_text": MAIL,
            "link_ttl_hours": 24,
        },
    )
    return made


def stored(form_id: int) -> Form:
    db.session.expire_all()
    found = db.session.get(Form, form_id)
    assert found is not None
    return found


def test_a_form_shows_its_languages_and_every_languages_texts(api, form, shop):
    read = api.get(f"/form/{form.id}").get_json()
    assert (read["languages"], read["language_field"]) == (["nl", "en"], str(field_id(shop, "Language")))
    assert (read["submit_label"], read["success_message"]) == (SUBMIT, THANKS)
    opt_in = read["double_opt_in"]
    assert (opt_in["enabled"], opt_in["email_subject"], opt_in["email_text"]) == (True, SUBJECT, MAIL)
    status = str(field_id(shop, "Status"))
    assert (opt_in["unconfirmed_values"], opt_in["confirmed_values"]) == ({status: "new"}, {status: "confirmed"})
    assert (read["key_fields"], read["origins"]) == ([str(field_id(shop, "Email"))], ["https://shop.example"])
    [listed] = api.get(f"/forms?database={shop.id}").get_json()["data"]
    assert (listed["languages"], listed["submit_label"], listed["double_opt_in"]["email_text"]) == (
        ["nl", "en"],
        SUBMIT,
        MAIL,
    )


def test_the_form_as_read_is_the_documented_one(api, app, form, account, shop):
    """Schemathesis' own run meets no form with languages: check the answers against the document here."""
    plain = builder.create_form(account, shop.id, name="Plain")
    with app.test_request_context():
        document = schemathesis.openapi.from_dict(build_document())
    reads = [(f"/form/{form.id}", "/form/{id}"), (f"/form/{plain.id}", "/form/{id}"), ("/forms", "/forms")]
    for path, operation in reads:
        response = api.get(path)
        assert response.status_code == 200
        document[operation]["GET"].validate_response(response)  # raises when outside the schema


def test_a_form_read_changed_and_written_back_keeps_every_language(api, form):
    before = stored(form.id)
    settings, items, revision = dict(before.settings), list(before.items or []), before.revision
    read = api.get(f"/form/{form.id}").get_json()
    assert (read["submit_label"], read["double_opt_in"]["email_subject"]) == (SUBMIT, SUBJECT)
    changed = api.put(f"/form/{form.id}", json={**read, "name": "Sign-up 2"})
    assert changed.status_code == 204, changed.get_json()
    after = stored(form.id)
    assert (after.name, after.settings, after.items) == ("Sign-up 2", settings, items)
    assert after.revision == revision + 1
    again = api.get(f"/form/{form.id}").get_json()
    assert {**again, "name": read["name"], "modified": read["modified"]} == read


def test_changing_one_languages_text_keeps_the_others(api, form):
    read = api.get(f"/form/{form.id}").get_json()
    label = {**read["submit_label"], "en": "Join"}
    assert api.put(f"/form/{form.id}", json={**read, "submit_label": label}).status_code == 204
    settings = stored(form.id).settings
    assert settings["submit_label"] == {"nl": "Aanmelden", "en": "Join"} and settings["success_message"] == THANKS


def test_a_form_without_languages_reads_and_writes_back_plain_texts(api, account, shop):
    plain = builder.create_form(account, shop.id, name="Plain")
    builder.update_settings(account, plain.id, name="Plain", submit_label="Go", success_message="Thanks")
    read = api.get(f"/form/{plain.id}").get_json()
    assert (read["languages"], read["language_field"], read["submit_label"]) == ([], None, "Go")
    assert api.put(f"/form/{plain.id}", json=read).status_code == 204
    assert stored(plain.id).settings["submit_label"] == "Go"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"submit_label": {**SUBMIT, "de": "Anmelden"}}, "submit_label"),
        ({"success_message": {"fr": "Merci"}}, "success_message"),
        ({"double_opt_in": {"email_text": {**MAIL, "fr": "Cliquez {link}"}}}, "email_text"),
    ],
)
def test_a_text_in_a_language_the_form_does_not_use_is_refused(api, form, change, field):
    read = api.get(f"/form/{form.id}").get_json()
    if "double_opt_in" in change:
        change = {"double_opt_in": {**read["double_opt_in"], **change["double_opt_in"]}}
    before = stored(form.id).settings
    refused = api.put(f"/form/{form.id}", json={**read, **change})
    assert refused.status_code == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    [error] = refused.get_json()["errors"]
    assert error["field"] == field and "The form is not in " in error["message"] and "nl, en" in error["message"]
    assert stored(form.id).settings == before  # nothing lost


def test_a_text_in_a_new_language_is_taken_with_the_language(api, form):
    read = api.get(f"/form/{form.id}").get_json()
    label = {**SUBMIT, "de": "Anmelden"}
    changed = api.put(f"/form/{form.id}", json={**read, "languages": ["nl", "en", "de"], "submit_label": label})
    assert changed.status_code == 204, changed.get_json()
    settings = stored(form.id).settings
    assert (settings["languages"], settings["submit_label"]) == (["nl", "en", "de"], label)
