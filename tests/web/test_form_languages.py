"""Web forms in several languages through the doors (issue 20): the embed API per language (and its ETag), the
hosted page, the confirmation page, and the builder's inputs per language."""

import re
import time

import pytest
from sqlalchemy import select

from tests.factories import make_database, make_form
from webapp.email.delivery import caught_messages
from webapp.extensions import db
from webapp.models import Form
from webapp.webforms import builder as form_builder
from webapp.webforms import items as webforms_items
from webapp.webforms import spam

SHOP = "https://shop.example"


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def database(account):
    return make_database(
        account,
        fields={
            "Email": {"type": "email", "indexed": True},
            "Newsletter": {"type": "choice", "options": {"choices": ["no", "yes"]}},
        },
    )


@pytest.fixture
def form(account, database):
    news = str(next(field.id for field in database.fields if field.name == "Newsletter"))
    return make_form(
        account,
        database,
        items=[{"type": "field", "field": "Email", "required": True, "label": {"nl": "E-mailadres", "en": "Email"}}],
        allowed_origins=[SHOP],
        languages=["en", "nl", "fr"],
        submit_label={"en": "Sign up", "nl": "Aanmelden", "fr": "S'inscrire"},
        success_message={"en": "Welcome!", "nl": "Welkom!"},
        double_opt_in={
            "enabled": True,
            "confirmed_values": {news: "yes"},
            "email_subject": {"en": "Confirm", "nl": "Bevestig"},
            "email_text": {"en": "Click {link}", "nl": "Klik op {link}"},
        },
    )


def definition(client, form, query: str = "", **headers):
    return client.get(f"/p/forms/{form.key}{query}", headers=headers)


def test_the_definition_per_language_with_an_etag_each(anonymous, form):
    english = definition(anonymous, form, **{"Accept-Language": "en"})
    dutch = definition(anonymous, form, "?lang=nl", **{"Accept-Language": "en"})
    french = definition(anonymous, form, "?lang=fr-FR", **{"Accept-Language": "nl"})
    assert [english.get_json()["submit_label"], dutch.get_json()["submit_label"]] == ["Sign up", "Aanmelden"]
    assert dutch.get_json()["items"][0]["label"] == "E-mailadres" and dutch.get_json()["lang"] == "nl"
    assert dutch.get_json()["messages"]["required"] == "Dit veld is verplicht."
    body = french.get_json()
    assert (body["lang"], body["submit_label"], body["success_message"]) == ("fr", "S'inscrire", "Welcome!")
    assert body["messages"]["required"] == "Dit veld is verplicht."  # no French catalogue: the browser's
    etags = {response.headers["ETag"] for response in (english, dutch, french)}
    assert len(etags) == 3
    # Our own strings of a French form follow the browser: that is in its ETag too.
    assert definition(anonymous, form, "?lang=fr", **{"Accept-Language": "en"}).headers["ETag"] not in etags
    again = definition(anonymous, form, "?lang=nl", **{"If-None-Match": dutch.headers["ETag"]})
    assert again.status_code == 304
    assert (
        definition(anonymous, form, **{"Accept-Language": "nl", "If-None-Match": english.headers["ETag"]}).status_code
        == 200
    )


def post(client, form, values, **headers):
    data = {"_token": spam.issue_token(form.key, now=time.time() - 60), **values}
    return client.post(f"/p/forms/{form.key}/submissions", data=data, csrf=False, headers={"Origin": SHOP, **headers})


def test_a_submission_answers_and_confirms_in_the_language_shown(anonymous, account, form):
    email = f"f{form.items[0]['field_id']}"
    invalid = post(anonymous, form, {"_lang": "nl"}, **{"Accept-Language": "en"})
    assert invalid.status_code == 422 and invalid.get_json()["message"] == "Verbeter de gemarkeerde velden."
    response = post(anonymous, form, {email: "ann@example.com", "_lang": "nl"}, **{"Accept-Language": "en"})
    assert response.get_json()["message"] == "Welkom!"
    [message] = caught_messages(account.id)
    assert message["Subject"] == "Bevestig"
    link = re.search(r"http://verrijk\.test(/p/confirm/\S+)", message.get_body(("plain",)).get_content()).group(1)
    page = anonymous.get(link, headers={"Accept-Language": "en"})
    assert "Bevestig je aanmelding" in text_of(page) and '<html lang="nl">' in text_of(page)
    done = anonymous.post(link, csrf=False)
    assert done.status_code == 200 and "Je aanmelding is bevestigd." in text_of(done)


def test_the_hosted_page_in_the_asked_language_posts_it_back(anonymous, form):
    page = text_of(anonymous.get(f"/f/{form.key}?lang=nl", headers={"Accept-Language": "en"}))
    assert '<html lang="nl">' in page and "E-mailadres" in page and ">Aanmelden</button>" in page
    assert "Laat dit leeg" in page  # the page's own strings in the form's language
    assert '<input type="hidden" name="_lang" value="nl">' in page
    assert re.search(r'name="_token" value="([^"]+)"', page)
    old_token = spam.issue_token(form.key, now=time.time() - 60)
    refused = anonymous.post(f"/f/{form.key}", data={"_token": old_token, "_lang": "nl"}, csrf=False)
    assert refused.status_code == 422 and ">Aanmelden</button>" in text_of(refused)


def test_a_form_without_languages_keeps_its_definition(anonymous, account, database):
    old = make_form(account, database, items=[{"type": "field", "field": "Email", "label": "Email"}])
    body = definition(anonymous, old, "?lang=nl").get_json()
    assert "languages" not in body and body["lang"] == "nl" and body["items"][0]["label"] == "Email"
    assert definition(anonymous, old, "?lang=nl").headers["ETag"].endswith('-nl"')


# --- the builder ---------------------------------------------------------------------------------------------------


@pytest.fixture
def editor(browser):
    return browser("editor")


def stored(form_id: int) -> Form:
    db.session.rollback()
    db.session.expire_all()
    return db.session.scalar(select(Form).where(Form.id == form_id))


def settings_post(**overrides):
    return {
        "name": "Sign-up",
        "behaviour": "create",
        "on_no_match": "create",
        "max_submissions_per_profile": "0",
        "min_fill_seconds": "3",
        "link_ttl_hours": "48",
        **overrides,
    }


def test_the_builder_edits_languages_and_each_text_per_language(editor):
    account = editor.user.account
    database = make_database(account, fields={"Email": "email", "Language": "text"})
    found = form_builder.create_form(account, database.id, name="Sign-up")
    item = webforms_items.add_item(account, found.id, "field", field_id=database.fields[0].id)
    webforms_items.update_item(account, found.id, item["id"], {"label": "Email"})
    form_builder.update_settings(account, found.id, name="Sign-up", submit_label="Send it")
    language = str(database.fields[1].id)
    chosen = settings_post(languages=["en", "nl"], default_language="nl", language_field_id=language)
    response = editor.post(f"/forms/{found.id}/settings", {**chosen, "submit_label": "Send it"}, htmx=True)
    assert response.status_code == 200, text_of(response)
    settings = stored(found.id).settings
    assert (settings["languages"], settings["language_field_id"]) == (["nl", "en"], int(language))
    fragment = text_of(response)
    # Now an input per language; the plain text written before shows under the default language.
    assert 'name="submit_label.nl" value="Send it"' in fragment and 'name="submit_label.en" value=""' in fragment
    texts = {"submit_label.nl": "Verstuur", "submit_label.en": "Send", "success_message.nl": "Dank je!"}
    response = editor.post(f"/forms/{found.id}/settings", {**chosen, **texts}, htmx=True)
    assert response.status_code == 200, text_of(response)
    settings = stored(found.id).settings
    assert (settings["submit_label"], settings["success_message"]) == (
        {"nl": "Verstuur", "en": "Send"},
        {"nl": "Dank je!"},
    )

    url = f"/forms/{found.id}/items/{item['id']}"
    edit = text_of(editor.get(f"{url}/edit", htmx=True))
    assert 'name="label.nl" value="Email"' in edit and 'name="label.en" value=""' in edit
    assert '<label for="item-label-nl">Dutch</label>' in edit
    too_long = editor.post(url, {"label.nl": "E-mail", "label.en": "x" * 201}, htmx=True)
    assert too_long.status_code == 422 and 'name="label.en" value="xxx' in text_of(too_long)
    assert "Use at most 200 characters." in text_of(too_long)
    saved = editor.post(
        url, {"label.nl": "E-mailadres", "label.en": "Email", "help.en": "We never share it"}, htmx=True
    )
    assert saved.status_code == 200
    [stored_item] = stored(found.id).items
    assert (stored_item["label"], stored_item["help"]) == (
        {"nl": "E-mailadres", "en": "Email"},
        {"en": "We never share it"},
    )
    assert "<strong>E-mailadres</strong>" in text_of(editor.get(url, htmx=True))  # the list: the default language

    # The preview: the default language, or the one chosen under it.
    page = text_of(editor.get(f"/forms/{found.id}"))
    assert f'href="/forms/{found.id}/preview?lang=en" target="form-preview"' in page
    assert editor.get(f"/forms/{found.id}/preview.json").get_json()["items"][0]["label"] == "E-mailadres"
    english = editor.get(f"/forms/{found.id}/preview.json?lang=en").get_json()
    assert (english["lang"], english["items"][0]["label"], english["submit_label"]) == ("en", "Email", "Send")
    assert f"preview.json?revision={stored(found.id).revision}&amp;lang=en" in text_of(
        editor.get(f"/forms/{found.id}/preview?lang=en")
    )


def test_taking_the_languages_away_shows_the_default_texts_again(editor):
    account = editor.user.account
    database = make_database(account, fields={"Email": "email"})
    found = form_builder.create_form(account, database.id, name="Sign-up")
    form_builder.update_settings(
        account, found.id, name="Sign-up", languages=["nl", "en"], submit_label={"nl": "Verstuur", "en": "Send"}
    )
    response = editor.post(
        f"/forms/{found.id}/settings",
        settings_post(**{"submit_label.nl": "Verstuur", "submit_label.en": "Send"}),
        htmx=True,
    )
    assert response.status_code == 200 and stored(found.id).settings["languages"] == []
    assert 'name="submit_label" placeholder="Send" type="text" value="Verstuur"' in text_of(response)
    assert stored(found.id).settings["submit_label"] == "Verstuur"  # plain again: the default language's


def test_the_item_editor_shows_a_text_refused_for_a_language_the_form_does_not_use(editor):
    """An editor opened before German was taken away still posts its German inputs: the label the item holds in
    German is kept; a new German help text is refused under its input, shown again, and nothing is saved."""
    account = editor.user.account
    database = make_database(account, fields={"Email": "email"})
    found = form_builder.create_form(account, database.id, name="Sign-up")
    form_builder.update_settings(account, found.id, name="Sign-up", languages=["nl", "en", "de"])
    item = webforms_items.add_item(account, found.id, "field", field_id=database.fields[0].id)
    label = {"nl": "E-mail", "en": "Email", "de": "E-Mail"}
    webforms_items.update_item(account, found.id, item["id"], {"label": label})
    form_builder.update_settings(account, found.id, name="Sign-up", languages=["nl", "en"])
    posted = {f"label.{lang}": text for lang, text in label.items()}
    url = f"/forms/{found.id}/items/{item['id']}"
    revision = stored(found.id).revision

    refused = editor.post(url, {**posted, "help.de": "Nie geteilt"}, htmx=True)
    assert refused.status_code == 422
    fragment = text_of(refused)
    assert 'name="help.de" value="Nie geteilt"' in fragment
    assert "The form is not in de: write its texts in nl, en" in fragment
    assert stored(found.id).revision == revision

    saved = editor.post(url, {**posted, "help.en": "Never shared"}, htmx=True)
    assert saved.status_code == 200, text_of(saved)
    [stored_item] = stored(found.id).items
    assert (stored_item["label"], stored_item["help"]) == (label, {"en": "Never shared"})
