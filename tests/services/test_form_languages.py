"""Web form texts in several languages (issue 20): picking the language, the definition, the answers, the
confirmation mail, and the builder's checks. The picker is the surveys' (``widgets/languages.py``)."""

import re
import time

import pytest

from tests.factories import make_database, make_form
from webapp.email.delivery import caught_messages
from webapp.extensions import db
from webapp.models import FormSubmission, Profile
from webapp.platform.errors import ValidationError
from webapp.profiles import links, profiles
from webapp.profiles.events import Origin
from webapp.webforms import builder, items, opt_in, results
from webapp.webforms import spam as form_spam
from webapp.webforms import submissions as forms
from webapp.widgets.languages import choose_language, localized, written_in

NEWSLETTER = {"type": "choice", "options": {"choices": ["yes", "unconfirmed"]}}


@pytest.fixture
def database(account):
    return make_database(
        account,
        fields={"Email": {"type": "email", "indexed": True}, "Language": "text", "Newsletter": NEWSLETTER},
    )


def field_id(database, name):
    return next(field.id for field in database.fields if field.name == name)


def multilingual_form(account, database, **settings):
    """Email (labels nl/en/de, a Dutch message when missing) and a consent (nl/en); Dutch first."""
    items_ = [
        {
            "type": "field",
            "field": "Email",
            "required": True,
            "label": {"nl": "E-mailadres", "en": "Email address", "de": "E-Mail-Adresse"},
            "validation_message": {"nl": "Vul je e-mailadres in.", "en": "Fill in your email address."},
        },
        {"type": "consent", "required": True, "label": "OK", "text": {"nl": "Ik ga akkoord.", "en": "I agree."}},
    ]
    settings = {
        "languages": ["nl", "en", "de"],
        "submit_label": {"nl": "Aanmelden", "en": "Sign up"},
        "success_message": {"nl": "Welkom!", "en": "Welcome!"},
        **settings,
    }
    return make_form(account, database, items=items_, **settings)


def submit(form, values, **kwargs):
    token = form_spam.issue_token(form.key, now=time.time() - 60)
    return forms.submit_form(form.key, values, {}, origin="", ip="192.0.2.1", elapsed_token=token, **kwargs)


# --- the picker, shared with surveys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ({"requested": "en", "profile_value": "de", "browser": ["fr"]}, "en"),
        ({"requested": "nl-BE"}, "nl"),  # a tag's language part (a page's <html lang>)
        ({"requested": "es", "stored": "de"}, "de"),
        ({"requested": "es", "profile_value": "DE", "browser": ["en"]}, "de"),
        ({"browser": ["es", "en-GB", "de"]}, "en"),  # the browser's first that is offered
        ({"requested": "es", "browser": ["es"]}, "nl"),  # else the first language
    ],
)
def test_the_link_then_the_stored_then_the_profile_then_the_browser_then_the_default(asked, expected):
    assert choose_language(["nl", "en", "de"], **asked) == expected


def test_a_text_in_a_language_falls_back_to_the_default_then_any():
    text = {"nl": "Hallo", "en": "Hello", "de": ""}
    assert [localized(text, lang, "nl") for lang in ("en", "de", "fr")] == ["Hello", "Hallo", "Hallo"]
    assert localized({"en": "Hello"}, "de", "nl") == "Hello"
    assert localized("Plain", "de", "nl") == "Plain"  # older texts are plain strings
    # What an input per language shows: no borrowing; a plain string under the default language only.
    assert [written_in(text, "de", "nl"), written_in("Plain", "nl", "nl"), written_in("Plain", "en", "nl")] == [
        "",
        "Plain",
        "",
    ]


# --- the definition ---------------------------------------------------------------------------------------------


def labels(definition):
    return [item.get("label") for item in definition["items"]]


def test_the_definition_is_in_the_asked_language_with_fallback_to_the_default(account, database):
    form = multilingual_form(account, database)
    dutch = forms.public_definition(form.key, lang="nl")
    assert (dutch["lang"], dutch["languages"], dutch["submit_label"]) == ("nl", ["nl", "en", "de"], "Aanmelden")
    assert (
        labels(dutch) == ["E-mailadres", "OK"] and dutch["items"][0]["validation_message"] == "Vul je e-mailadres in."
    )
    assert dutch["items"][1]["text"] == "Ik ga akkoord."
    assert dutch["messages"]["required"] == "Dit veld is verplicht."  # our own strings: the Dutch catalogue
    german = forms.public_definition(form.key, browser_languages=["de-DE", "en"])
    assert (german["lang"], german["submit_label"], labels(german)) == ("de", "Aanmelden", ["E-Mail-Adresse", "OK"])
    assert german["items"][1]["text"] == "Ik ga akkoord."  # not written in German: the default's
    assert forms.public_definition(form.key, lang="fr", browser_languages=["es"])["lang"] == "nl"


def test_a_signed_link_gives_the_profiles_language_field(account, database):
    form = multilingual_form(account, database, language_field_id=field_id(database, "Language"))
    profile = profiles.create_profile(
        account, database.id, {"Email": "ann@example.com", "Language": "EN"}, origin=Origin("admin")
    )
    query = links.profile_link_query(profile)
    known = forms.public_definition(
        form.key, profile_id=query["profile"], signature=query["sig"], browser_languages=["de"]
    )
    assert (known["lang"], known["submit_label"]) == ("en", "Sign up")
    forged = forms.public_definition(form.key, profile_id=query["profile"], signature="x", browser_languages=["de"])
    assert forged["lang"] == "de"


def test_a_form_without_languages_is_shown_as_before(account, database, app):
    form = make_form(account, database, items=[{"type": "field", "field": "Email", "label": "Email"}])
    definition = forms.public_definition(form.key, lang="de", browser_languages=["de"])
    assert "languages" not in definition and definition["lang"] == "en"  # the request's locale, as before
    assert labels(definition) == ["Email"] and definition["submit_label"] == "Send"


# --- submissions ---------------------------------------------------------------------------------------------------


def test_answers_and_stored_consent_are_in_the_language_shown(account, database):
    form = multilingual_form(account, database)
    email, consent = f"f{form.items[0]['field_id']}", f"c{form.items[1]['id']}"
    invalid = submit(form, {consent: "1", "_lang": "en"})
    assert invalid.status_code == 422 and invalid.body["errors"] == {email: "Fill in your email address."}
    dutch = submit(form, {email: "", "_lang": "nl"})
    assert dutch.body["errors"][email] == "Vul je e-mailadres in." and dutch.body["message"].startswith("Verbeter")
    ok = submit(form, {email: "ann@example.com", consent: "1", "_lang": "en"})
    assert ok.body["message"] == "Welcome!"
    assert db.session.get(FormSubmission, ok.submission_id).consents == {form.items[1]["id"]: "I agree."}
    default = submit(form, {email: "bob@example.com", consent: "1"}, browser_languages=["fr"])
    assert default.body["message"] == "Welkom!"


def opt_in_form(account, database):
    news = str(field_id(database, "Newsletter"))
    return multilingual_form(
        account,
        database,
        language_field_id=field_id(database, "Language"),
        double_opt_in={
            "enabled": True,
            "unconfirmed_values": {news: "unconfirmed"},
            "confirmed_values": {news: "yes"},
            "email_subject": {"nl": "Bevestig je aanmelding", "en": "Confirm your sign-up"},
            "email_text": {"nl": "Klik op {link} om te bevestigen.", "en": "Click {link} to confirm."},
        },
    )


def confirmation(account):
    [message] = caught_messages(account.id)
    body = message.get_body(("plain",)).get_content()
    return message["Subject"], body, re.search(r"/p/confirm/(\S+)", body).group(1)


def test_the_confirmation_mail_and_page_are_in_the_submitters_language(account, database):
    form = opt_in_form(account, database)
    email, consent = f"f{form.items[0]['field_id']}", f"c{form.items[1]['id']}"
    result = submit(form, {email: "ann@example.com", consent: "1", "_lang": "en"}, browser_languages=["nl"])
    subject, body, token = confirmation(account)
    assert subject == "Confirm your sign-up" and body.startswith("Click http")
    assert opt_in.link_context(token) == (account.id, "en")  # the confirmation page's language
    opt_in.confirm_subscription(token)
    assert db.session.get(Profile, result.profile_id).fields[str(field_id(database, "Newsletter"))] == "yes"


def test_without_a_language_shown_the_mail_follows_the_profiles_language_field(account, database):
    form = opt_in_form(account, database)
    form.items = [*form.items, {"id": "lang", "type": "field", "field_id": field_id(database, "Language")}]
    db.session.commit()
    values = {f"f{form.items[0]['field_id']}": "ann@example.com", f"c{form.items[1]['id']}": "1"}
    submit(form, {**values, f"f{field_id(database, 'Language')}": "en"}, browser_languages=["de"])
    assert confirmation(account)[0] == "Confirm your sign-up"


def test_a_submission_without_any_language_gets_the_default(account, database):
    form = opt_in_form(account, database)
    values = {f"f{form.items[0]['field_id']}": "ann@example.com", f"c{form.items[1]['id']}": "1"}
    submit(form, values)
    subject, body, token = confirmation(account)
    assert (subject, body.split(" http")[0]) == ("Bevestig je aanmelding", "Klik op")
    assert opt_in.link_context(token)[1] == "nl"


def test_results_name_columns_in_the_default_language(account, database):
    form = multilingual_form(account, database)
    assert results.column_names(account, form)[f"c{form.items[1]['id']}"] == "OK"
    form.items = [{**form.items[1], "label": {"en": "Consent", "nl": "Toestemming"}}]
    assert results.column_names(account, form)[f"c{form.items[0]['id']}"] == "Toestemming"


# --- the builder ---------------------------------------------------------------------------------------------------


def settings(form, **changes):
    current = builder.settings_of(form)
    return {
        "name": form.name,
        "submit_label": current["submit_label"],
        "success_message": current["success_message"],
        "double_opt_in": current["double_opt_in"],
        **changes,
    }


def test_settings_take_languages_a_language_field_and_texts_per_language(account, database):
    form = builder.create_form(account, database.id, name="Sign-up")
    builder.update_settings(
        account,
        form.id,
        **settings(
            form,
            languages=["en", "nl", "en"],
            language_field_id=field_id(database, "Language"),
            submit_label={"en": " Go ", "nl": ""},
        ),
    )
    stored = db.session.get(type(form), form.id).settings
    assert stored["languages"] == ["en", "nl"] and stored["language_field_id"] == field_id(database, "Language")
    assert stored["submit_label"] == {"en": "Go"}  # trimmed; a language left empty is left out
    builder.update_settings(account, form.id, **settings(form, name="Renamed"))  # languages not given: kept
    assert db.session.get(type(form), form.id).settings["languages"] == ["en", "nl"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"languages": ["nl", "es"]}, "languages"),
        ({"languages": ["nl"], "language_field_id": 999999}, "language_field_id"),
        ({"submit_label": {"xx": "Go"}}, "submit_label"),
        ({"success_message": {"nl": "x" * 2001}}, "success_message"),
        ({"languages": ["en", "nl"], "submit_label": {"en": "Go", "de": "Los"}}, "submit_label"),
    ],
)
def test_bad_languages_and_texts_are_refused(account, database, changes, error):
    form = builder.create_form(account, database.id, name="Sign-up")
    with pytest.raises(ValidationError) as refused:
        builder.update_settings(account, form.id, **settings(form, **changes))
    assert error in refused.value.errors


def test_a_language_taken_away_keeps_its_texts_until_they_are_written_again(account, database):
    """The builder sends the inputs of the languages the form had; a text the form holds already is kept as it is
    (a REST client sends back what it read), but no text comes in for a language the form does not use."""
    form = builder.create_form(account, database.id, name="Sign-up")
    label = {"nl": "Ga", "en": "Go"}
    builder.update_settings(account, form.id, **settings(form, languages=["nl", "en"], submit_label=label))
    builder.update_settings(account, form.id, **settings(form, languages=["nl"], submit_label=label))
    assert db.session.get(type(form), form.id).settings["submit_label"] == label
    builder.update_settings(account, form.id, **settings(form, submit_label=label))  # as read: kept
    with pytest.raises(ValidationError) as refused:
        builder.update_settings(account, form.id, **settings(form, success_message={"nl": "Dank", "en": "Thanks"}))
    assert "The form is not in en" in refused.value.errors["success_message"]


def test_every_confirmation_text_needs_the_link(account, database):
    form = builder.create_form(account, database.id, name="Sign-up")
    news = str(field_id(database, "Newsletter"))
    double_opt_in = {
        "enabled": True,
        "confirmed_values": {news: "yes"},
        "email_subject": {"nl": "Bevestig"},
        "email_text": {"nl": "Klik {link}", "en": "Click here"},
    }
    with pytest.raises(ValidationError) as refused:
        builder.update_settings(account, form.id, **settings(form, double_opt_in=double_opt_in))
    assert "email_text" in refused.value.errors
    double_opt_in["email_text"]["en"] = "Click {link}"
    builder.update_settings(account, form.id, **settings(form, double_opt_in=double_opt_in))


def test_item_texts_per_language_are_checked_and_text_blocks_sanitised_per_language(account, database):
    form = builder.create_form(account, database.id, name="Sign-up")
    item = items.add_item(account, form.id, "field", field_id=field_id(database, "Email"))
    saved = items.update_item(account, form.id, item["id"], {"label": {"nl": "E-mail ", "en": "Email"}})
    assert saved["label"] == {"nl": "E-mail", "en": "Email"}
    block = items.add_item(account, form.id, "text")
    html = {"nl": "<p>Hoi<script>x()</script></p>", "en": "<p onclick='x()'>Hi</p>"}
    assert items.update_item(account, form.id, block["id"], {"html": html})["html"] == {
        "nl": "<p>Hoi</p>",
        "en": "<p>Hi</p>",
    }
    with pytest.raises(ValidationError) as refused:
        items.update_item(account, form.id, item["id"], {"label": {"es": "Correo"}})
    assert "label" in refused.value.errors


def test_item_texts_take_no_new_language_the_form_does_not_use(account, database):
    """As the settings: an item text in a language the form does not use would never be shown, so it is refused
    (every text at once, each under its name) and nothing is saved."""
    form = builder.create_form(account, database.id, name="Sign-up")
    builder.update_settings(account, form.id, **settings(form, languages=["nl", "en"]))
    item = items.add_item(account, form.id, "field", field_id=field_id(database, "Email"))
    items.update_item(account, form.id, item["id"], {"label": {"nl": "E-mail", "en": "Email"}})
    revision = db.session.get(type(form), form.id).revision
    with pytest.raises(ValidationError) as refused:
        items.update_item(
            account,
            form.id,
            item["id"],
            {"label": {"nl": "E-mail", "de": "E-Mail"}, "help": "Plain", "placeholder": {"fr": "courriel", "en": "x"}},
        )
    assert set(refused.value.errors) == {"label", "placeholder"}  # a plain string is in every language
    assert refused.value.errors["label"].startswith("The form is not in de: write its texts in nl, en")
    assert "The form is not in fr" in refused.value.errors["placeholder"]
    db.session.rollback()
    stored = db.session.get(type(form), form.id)
    assert stored.revision == revision
    assert items.get_item(stored, item["id"])["label"] == {"nl": "E-mail", "en": "Email"}
    block = items.add_item(account, form.id, "text")
    with pytest.raises(ValidationError) as refused:
        items.update_item(account, form.id, block["id"], {"html": {"nl": "<p>Hoi</p>", "de": "<p>Hallo</p>"}})
    assert "The form is not in de" in refused.value.errors["html"]


def test_an_item_text_keeps_a_language_the_form_took_away_until_it_is_written_again(account, database):
    """What was read goes back: a language the stored text holds is kept, though the form no longer has it."""
    form = builder.create_form(account, database.id, name="Sign-up")
    builder.update_settings(account, form.id, **settings(form, languages=["nl", "en", "de"]))
    item = items.add_item(account, form.id, "field", field_id=field_id(database, "Email"))
    label = {"nl": "E-mail", "en": "Email", "de": "E-Mail"}
    items.update_item(account, form.id, item["id"], {"label": label})
    builder.update_settings(account, form.id, **settings(form, languages=["nl", "en"]))
    assert items.update_item(account, form.id, item["id"], {"label": label})["label"] == label  # as read: kept
    changed = items.update_item(account, form.id, item["id"], {"label": {**label, "de": "E-Mail-Adresse"}})
    assert changed["label"]["de"] == "E-Mail-Adresse"  # a language the text holds may be corrected
    with pytest.raises(ValidationError) as refused:
        items.update_item(account, form.id, item["id"], {"label": label, "help": {"nl": "Nooit gedeeld", "de": "Nie"}})
    assert list(refused.value.errors) == ["help"]
    assert items.update_item(account, form.id, item["id"], {"label": {"nl": "E-mail"}})["label"] == {"nl": "E-mail"}
    with pytest.raises(ValidationError):  # written again without it: the language is gone from the text
        items.update_item(account, form.id, item["id"], {"label": label})
