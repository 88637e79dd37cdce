"""The web-form admin: lists, the builder (items, order, settings, preview, snippet), results, spam, CSV, files."""

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from tests.factories import make_account, make_database, make_form_day, make_form_submission
from webapp.extensions import db
from webapp.models import Form, FormFile
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.webforms import builder as form_builder
from webapp.webforms import items as webforms_items
from webapp.webforms import results as form_results


def text_of(response) -> str:
    return response.get_data(as_text=True)


def triggers_of(response) -> dict:
    return json.loads(response.headers["HX-Trigger"])


def stored(form_id: int) -> Form:
    db.session.rollback()
    db.session.expire_all()
    return db.session.scalar(select(Form).where(Form.id == form_id))


@pytest.fixture
def editor(browser):
    return browser("editor")


@pytest.fixture
def database(editor):
    database = make_database(
        editor.user.account,
        fields={
            "Email": "email",
            "FirstName": "text",
            "Plan": {"type": "choice", "options": {"choices": ["free", "pro"]}},
            "Newsletter": {"type": "choice", "options": {"choices": ["no", "unconfirmed", "yes"]}},
        },
    )
    databases.create_interest(editor.user.account, database.id, "Cycling")
    return database


@pytest.fixture
def form(editor, database):
    return form_builder.create_form(editor.user.account, database.id, name="Sign-up")


def field_id(database, name: str) -> int:
    return next(field.id for field in database.fields if field.name == name)


# --- lists and creation --------------------------------------------------------------------------


def test_forms_are_listed_per_database_and_at_the_top(editor, database, form):
    make_form_submission(form, status="accepted")
    page = text_of(editor.get("/forms"))
    assert 'href="/forms" aria-current="page"' in page and "Sign-up" in page and database.name in page
    page = text_of(editor.get(f"/databases/{database.id}/forms"))
    assert f'href="/databases/{database.id}/forms" aria-current="page"' in page
    assert f'href="/forms/{form.id}"' in page and "New form" in page
    fragment = text_of(editor.get(f"/databases/{database.id}/forms", htmx=True))
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="forms"')


def test_create_a_form_and_open_the_builder(editor, database):
    response = editor.post(f"/databases/{database.id}/forms", {"name": "Newsletter"}, htmx=True)
    assert response.status_code == 204
    [(created, _count)] = form_builder.list_forms(editor.user.account)
    assert response.headers["HX-Redirect"] == f"/forms/{created.id}"
    response = editor.post("/forms", {"name": "Other", "database_id": str(database.id)})
    assert response.status_code == 303 and len(form_builder.list_forms(editor.user.account)) == 2


def test_creating_needs_a_name_and_a_database(editor, database):
    response = editor.post(f"/databases/{database.id}/forms", {"name": ""}, htmx=True)
    assert response.status_code == 422 and "Give the form a name." in text_of(response)
    response = editor.post("/forms", {"name": "X", "database_id": ""}, htmx=True)
    assert response.status_code == 422 and "Choose a database." in text_of(response)
    other = make_database(make_account("Other"), "Theirs")
    response = editor.post("/forms", {"name": "X", "database_id": str(other.id)}, htmx=True)
    assert response.status_code == 404
    assert form_builder.list_forms(editor.user.account) == []


def test_viewers_look_but_do_not_touch(browser, editor, form):
    viewer = browser("viewer", editor.user.account)
    page = text_of(viewer.get(f"/forms/{form.id}"))
    assert "Sign-up" in page and "Add item" not in page and "Save settings" not in page
    assert viewer.post(f"/databases/{form.database_id}/forms", {"name": "X"}).status_code == 403
    assert viewer.post(f"/forms/{form.id}/items", {"add": "consent"}).status_code == 403
    assert viewer.post(f"/forms/{form.id}/settings", {"name": "X"}).status_code == 403
    assert viewer.post(f"/forms/{form.id}/delete").status_code == 403
    assert viewer.get(f"/forms/{form.id}/results.csv").status_code == 403
    assert stored(form.id).revision == 1


def test_posts_need_the_csrf_token(editor, form):
    response = editor.post(f"/forms/{form.id}/items", {"add": "consent"}, csrf=False)
    assert response.status_code == 400 and stored(form.id).items == []


# --- the builder ---------------------------------------------------------------------------------


def test_the_builder_shows_the_snippet_with_the_public_url(editor, form, app):
    page = text_of(editor.get(f"/forms/{form.id}"))
    key = form.key
    snippet = (
        f"&lt;div data-verrijk-form=&#34;{key}&#34;&gt;&lt;/div&gt;&lt;script "
        f"src=&#34;http://verrijk.test/embed.js&#34; async&gt;&lt;/script&gt;"
    )
    assert snippet in page
    assert f"&lt;noscript&gt;&lt;a href=&#34;http://verrijk.test/f/{key}&#34;&gt;" in page
    assert f'href="http://verrijk.test/f/{key}"' in page and 'data-copy="snippet-code"' in page
    assert f'src="/forms/{form.id}/preview"' in page and "/static/formbuilder.js" in page
    assert "<script>" not in page and "style=" not in page


def test_add_every_item_type(editor, database, form):
    interest = database.interests[0]
    choices = [
        f"field:{field_id(database, 'Email')}",
        f"field:{field_id(database, 'Plan')}",
        f"password:{field_id(database, 'FirstName')}",
        f"hidden:{field_id(database, 'Newsletter')}",
        f"interest:{interest.id}",
        "consent",
        "text",
        "file",
        "captcha",
    ]
    for choice in choices:
        response = editor.post(f"/forms/{form.id}/items", {"add": choice}, htmx=True)
        assert response.status_code == 200, text_of(response)
        assert triggers_of(response)["form-changed"] is True
        assert text_of(response).lstrip().startswith('<section class="card" id="items"')
    assert [item["type"] for item in stored(form.id).items] == [
        "field",
        "field",
        "password",
        "hidden",
        "interest",
        "consent",
        "text",
        "file",
        "captcha",
    ]
    page = text_of(editor.get(f"/forms/{form.id}"))
    assert 'value="captcha"' not in page  # one captcha per form
    assert f'value="field:{field_id(database, "Email")}"' not in page  # bound already


def test_adding_a_bad_item_shows_the_error(editor, form):
    response = editor.post(f"/forms/{form.id}/items", {"add": "field:999999"}, htmx=True)
    assert response.status_code == 422 and "Choose a field of the form&#39;s database." in text_of(response)


def test_edit_an_item_in_place(editor, database, form):
    item = webforms_items.add_item(editor.user.account, form.id, "field", field_id=field_id(database, "Plan"))
    url = f"/forms/{form.id}/items/{item['id']}"
    fragment = text_of(editor.get(f"{url}/edit", htmx=True))
    assert fragment.lstrip().startswith(f'<li id="item-{item["id"]}"') and 'name="label"' in fragment
    assert 'value="radio"' in fragment and 'value="checkboxes"' not in fragment  # a single choice
    response = editor.post(
        url,
        {
            "label": "Your plan",
            "widget": "radio",
            "required": "y",
            "prefill": "y",
            "default": "pro",
            "validation_message": "Pick one.",
        },
        htmx=True,
    )
    assert response.status_code == 200 and triggers_of(response)["toast"]["message"] == "The item is saved."
    saved = stored(form.id).items[0]
    assert (saved["label"], saved["widget"], saved["required"], saved["prefill"], saved["default"]) == (
        "Your plan",
        "radio",
        True,
        True,
        "pro",
    )
    assert "Your plan" in text_of(editor.get(url, htmx=True))
    response = editor.post(url, {"label": "Your plan", "widget": "radio", "default": "gold"}, htmx=True)
    assert response.status_code == 422 and "must be one of: free, pro" in text_of(response)
    assert stored(form.id).items[0]["default"] == "pro"


def test_a_text_block_is_sanitised(editor, form):
    item = webforms_items.add_item(editor.user.account, form.id, "text")
    editor.post(f"/forms/{form.id}/items/{item['id']}", {"html": "<p>Hi<script>alert(1)</script></p>"}, htmx=True)
    assert stored(form.id).items[0]["html"] == "<p>Hi</p>"


def test_file_size_is_entered_in_kilobytes(editor, form):
    item = webforms_items.add_item(editor.user.account, form.id, "file")
    url = f"/forms/{form.id}/items/{item['id']}"
    assert editor.post(url, {"max_kilobytes": "512", "accept": ".pdf"}, htmx=True).status_code == 200
    assert stored(form.id).items[0]["max_bytes"] == 512 * 1024
    response = editor.post(url, {"max_kilobytes": "999999"}, htmx=True)
    assert response.status_code == 422 and "Choose a size from 1 kB to 10 MB." in text_of(response)


def test_reorder_by_buttons_and_by_drag(editor, form):
    account = editor.user.account
    ids = [webforms_items.add_item(account, form.id, kind)["id"] for kind in ("consent", "text", "file")]
    page = text_of(editor.get(f"/forms/{form.id}"))
    assert page.count('aria-label="Move up" disabled') == 1 and page.count('aria-label="Move down" disabled') == 1
    assert page.count('class="drag-handle" draggable="true"') == 3 and 'data-order-url="/forms/' in page
    response = editor.post(f"/forms/{form.id}/items/{ids[2]}/move", {"direction": "up"}, htmx=True)
    assert response.status_code == 200 and triggers_of(response)["form-changed"]
    assert [item["id"] for item in stored(form.id).items] == [ids[0], ids[2], ids[1]]
    response = editor.post(f"/forms/{form.id}/items/{ids[0]}/move", {"direction": "down"})
    assert response.status_code == 303
    assert [item["id"] for item in stored(form.id).items] == [ids[2], ids[0], ids[1]]
    response = editor.post(f"/forms/{form.id}/order", {"order": ",".join([ids[1], ids[2], ids[0]])}, htmx=True)
    assert response.status_code == 200
    assert [item["id"] for item in stored(form.id).items] == [ids[1], ids[2], ids[0]]
    response = editor.post(f"/forms/{form.id}/order", {"order": ids[0]}, htmx=True)
    assert response.status_code == 409 and "Reload the page" in text_of(response)


def test_remove_an_item(editor, form):
    item = webforms_items.add_item(editor.user.account, form.id, "consent")
    response = editor.post(f"/forms/{form.id}/items/{item['id']}/delete", htmx=True)
    assert response.status_code == 200 and stored(form.id).items == []
    assert editor.post(f"/forms/{form.id}/items/{item['id']}/delete", htmx=True).status_code == 404


def settings_post(**overrides):
    values = {
        "name": "Sign-up",
        "behaviour": "create",
        "on_no_match": "create",
        "allowed_origins": "",
        "max_submissions_per_profile": "0",
        "min_fill_seconds": "3",
        "link_ttl_hours": "48",
    }
    values.update(overrides)
    return values


def test_save_settings(editor, database, form):
    newsletter = field_id(database, "Newsletter")
    response = editor.post(
        f"/forms/{form.id}/settings",
        settings_post(
            behaviour="update",
            key_field_ids=[str(field_id(database, "Email"))],
            on_no_match="reject",
            allowed_origins="https://Shop.Example/\nhttp://localhost:8080",
            success_message="Welcome!",
            double_opt_in="y",
            **{f"unconfirmed-{newsletter}": "unconfirmed", f"confirmed-{newsletter}": "yes"},
            email_subject="Confirm",
            email_text="Click {link}",
        ),
        htmx=True,
    )
    assert response.status_code == 200, text_of(response)
    assert triggers_of(response)["form-changed"] and "https://shop.example" in text_of(response)
    saved = stored(form.id)
    assert saved.behaviour == "update" and saved.allowed_origins == ["https://shop.example", "http://localhost:8080"]
    assert saved.settings["double_opt_in"]["confirmed_values"] == {str(newsletter): "yes"}
    assert saved.revision == 2
    assert "Not on the form yet: Email." in text_of(response)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"allowed_origins": "https://shop.example/path"}, "Not an origin: https://shop.example/path."),
        ({"behaviour": "login"}, "Choose the key fields that find the profile."),
        ({"redirect_url": "ftp://example.com"}, "Enter a full http:// or https:// address."),
        ({"double_opt_in": "y", "email_subject": "Hi", "email_text": "no link"}, "Put {link} in the text"),
    ],
)
def test_bad_settings_show_errors(editor, form, values, message):
    response = editor.post(f"/forms/{form.id}/settings", settings_post(**values), htmx=True)
    assert response.status_code == 422 and message in text_of(response)
    assert text_of(response).lstrip().startswith('<section class="card" id="settings"')
    assert stored(form.id).revision == 1


def test_a_bad_double_opt_in_value_is_shown_in_its_table(editor, database, form):
    newsletter = field_id(database, "Newsletter")
    response = editor.post(
        f"/forms/{form.id}/settings",
        settings_post(
            double_opt_in="y",
            email_subject="Confirm",
            email_text="Click {link}",
            **{f"confirmed-{newsletter}": "maybe"},
        ),
        htmx=True,
    )
    page = text_of(response)
    assert response.status_code == 422 and "Newsletter must be one of: no, unconfirmed, yes" in page
    assert "confirmed_values" not in page and f'name="confirmed-{newsletter}" value="maybe"' in page
    assert stored(form.id).settings["double_opt_in"]["enabled"] is False


def test_the_preview_runs_the_embed_script_under_its_own_policy(editor, form):
    response = editor.get(f"/forms/{form.id}/preview")
    page = text_of(response)
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "'unsafe-inline'" not in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'data-verrijk-form="{form.key}"' in page and f'nonce="{nonce}"' in page
    assert f'data-verrijk-src="/forms/{form.id}/preview.json?revision=1"' in page
    assert 'src="/static/embed.js"' in page


def test_the_preview_definition_keeps_token_and_submissions_in_the_admin(editor, database, form):
    account = editor.user.account
    item = webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "Email"))
    webforms_items.update_item(account, form.id, item["id"], {"label": "Your email", "required": True})
    response = editor.get(f"/forms/{form.id}/preview.json?revision=3")
    assert response.headers["Cache-Control"] == "no-store"
    definition = response.get_json()
    assert definition["key"] == form.key and [one["label"] for one in definition["items"]] == ["Your email"]
    assert definition["token_url"] == f"/forms/{form.id}/preview/token"
    assert definition["submit_url"] == f"/forms/{form.id}/preview/submissions"
    assert editor.get(definition["token_url"]).get_json() == {"token": "preview"}
    name = definition["items"][0]["name"]
    response = editor.post(definition["submit_url"], {name: "not an address"}, csrf=False)
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {name}
    response = editor.post(definition["submit_url"], {name: "ann@example.com"}, csrf=False)
    assert response.status_code == 200 and response.get_json()["status"] == "ok"
    assert form_results.count_submissions(account, form.id) == {"accepted": 0, "invalid": 0, "rejected": 0}


def test_delete_a_form(editor, form):
    form_id, database_id = form.id, form.database_id
    assert "Delete form Sign-up?" in text_of(editor.get(f"/forms/{form.id}/delete"))
    response = editor.post(f"/forms/{form_id}/delete", htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/databases/{database_id}/forms"
    assert stored(form_id) is None


# --- results -------------------------------------------------------------------------------------


def test_results_with_filter_and_csv(editor, database, form):
    account = editor.user.account
    item = webforms_items.add_item(account, form.id, "field", field_id=field_id(database, "FirstName"))
    name = f"f{item['field_id']}"
    make_form_submission(form, status="accepted", data={name: "Ann"})
    make_form_submission(form, status="invalid", data={name: "=cmd|' /C calc'!A0"})
    make_form_submission(form, status="rejected", reason="honeypot", data={name: "Spammer"})
    page = text_of(editor.get(f"/forms/{form.id}/results"))
    assert "Ann" in page and "Spammer" in page and "accepted: 1" in page
    assert "Views and submissions, last 30 days" in page and "<svg" in page
    fragment = text_of(editor.get(f"/forms/{form.id}/results?status=accepted", htmx=True))
    assert fragment.lstrip().startswith('<section id="submissions"') and "Ann" in fragment and "Spammer" not in fragment
    response = editor.get(f"/forms/{form.id}/results?since=someday")
    assert response.status_code == 422 and "Enter a date as YYYY-MM-DD." in text_of(response)

    response = editor.get(f"/forms/{form.id}/results.csv?status=invalid")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="form-')
    rows = list(csv.reader(io.StringIO(text_of(response))))
    assert rows[0][6] == "FirstName" and rows[1][6] == "'=cmd|' /C calc'!A0" and len(rows) == 2


def test_the_spam_tab_shows_rejections_with_their_reason(editor, form):
    make_form_submission(form, status="rejected", reason="too_fast", origin="https://spam.example")
    make_form_submission(form, status="accepted")
    page = text_of(editor.get(f"/forms/{form.id}/spam"))
    assert 'aria-current="page">Spam' in page and "filled too fast" in page and "https://spam.example" in page
    assert page.count("<tr>") == 2  # the head and one rejection


def test_the_spam_tab_counts_every_refusal_beyond_the_kept_sample(editor, form):
    from webapp.models import utcnow

    make_form_day(form, utcnow().date()).refused = 1234
    page = text_of(editor.get(f"/forms/{form.id}/spam"))
    assert "Refused in the last 30 days (rejected or invalid): 1234." in page


def test_profile_page_shows_submissions_and_files(browser, editor, database, form):
    account = editor.user.account
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))
    submission = make_form_submission(form, status="accepted", profile=profile)
    upload = FormFile(
        account_id=account.id,
        form_id=form.id,
        profile_id=profile.id,
        submission_id=submission.id,
        filename="cv <1>.pdf",
        content_type="application/pdf",
        size=4,
        data=b"%PDF",
    )
    db.session.add(upload)
    db.session.commit()
    assert f'hx-get="/profiles/{profile.id}/form-results"' in text_of(editor.get(f"/profiles/{profile.id}"))
    fragment = text_of(editor.get(f"/profiles/{profile.id}/form-results", htmx=True))
    assert "Sign-up" in fragment and "cv &lt;1&gt;.pdf" in fragment and f'href="/form-files/{upload.id}"' in fragment
    response = editor.get(f"/form-files/{upload.id}")
    assert response.status_code == 200 and response.data == b"%PDF"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="cv__1_.pdf"')
    assert response.headers["Content-Type"] == "application/octet-stream"
    stranger = browser("owner", make_account("Other"))
    assert stranger.get(f"/form-files/{upload.id}").status_code == 404
    assert stranger.get(f"/profiles/{profile.id}/form-results").status_code == 404


@pytest.mark.parametrize("htmx", [True, False])
def test_a_refused_save_keeps_every_input_typed(editor, database, form, htmx):
    newsletter, email = field_id(database, "Newsletter"), field_id(database, "Email")
    typed = settings_post(
        name="Spring sign-up",
        behaviour="update",
        key_field_ids=[str(email)],
        on_no_match="reject",
        allowed_origins="https://shop.example\nhttps://www.shop.example",
        submit_label="Join us",
        success_message="Welcome, reader!",
        redirect_url="not a url",
        max_submissions_per_profile="2",
        min_fill_seconds="5",
        notify_email="office@example.com",
        double_opt_in="y",
        **{f"unconfirmed-{newsletter}": "unconfirmed", f"confirmed-{newsletter}": "yes"},
        email_subject="Please confirm",
        email_text="Click {link} now",
        link_ttl_hours="12",
    )
    response = editor.post(f"/forms/{form.id}/settings", typed, htmx=htmx)
    page = text_of(response)
    assert response.status_code == 422
    for shown in (
        'value="Spring sign-up"',
        "https://shop.example\nhttps://www.shop.example</textarea>",
        'value="Join us"',
        "Welcome, reader!</textarea>",
        'value="not a url"',
        'value="2"',
        'value="5"',
        'value="office@example.com"',
        f'name="unconfirmed-{newsletter}" value="unconfirmed"',
        f'name="confirmed-{newsletter}" value="yes"',
        'value="Please confirm"',
        "Click {link} now</textarea>",
        'value="12"',
    ):
        assert shown in page, shown
    assert f'<input checked id="key_field_ids-0" name="key_field_ids" type="checkbox" value="{email}">' in page
    assert '<input checked id="double_opt_in" name="double_opt_in"' in page
    assert re.search(r'<option selected value="update">', page)
    assert stored(form.id).revision == 1


def test_results_and_spam_use_plain_words(editor, database, form):
    cycling = database.interests[0]
    webforms_items.add_item(editor.user.account, form.id, "interest", interest_id=cycling.id)
    make_form_submission(form, data={f"i{cycling.id}": True})
    make_form_submission(form, status="rejected", reason="honeypot", data={"_hp": "http://spam.example"})
    results = text_of(editor.get(f"/forms/{form.id}/results"))
    assert "<dt>Cycling</dt><dd>yes</dd>" in results and "True" not in results
    spam = text_of(editor.get(f"/forms/{form.id}/spam"))
    assert "<dt>Hidden anti-spam field (left empty by people)</dt>" in spam and "_hp" not in spam
