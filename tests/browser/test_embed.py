"""embed.js in a real browser: a site on another origin pastes the snippet; a visitor fills in the form.

Forms are built through the admin's services (``form_builder``); the page is served by the host site fixture
(``http://localhost:<port>``), Verrijk by a live server (``http://127.0.0.1:<port>``).
"""

import os
import re

import httpx
import pytest
from sqlalchemy import func, select

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import FormFile, FormSubmission
from webapp.profiles import links
from webapp.profiles.databases import create_interest, get_database
from webapp.profiles.events import Origin
from webapp.profiles.profiles import create_profile, find_profiles
from webapp.webforms import builder, items

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright is not installed (scripts/setup installs the test extras)", allow_module_level=True)

pytestmark = pytest.mark.browser

STRICT_CSP = "default-src 'none'; script-src {verrijk}; connect-src {verrijk}; style-src 'nonce-h0st'"
ACCENT = "rgb(11, 92, 173)"  # the default --verrijk-accent


def make_signup_form(account, origin: str, *, name: str = "Sign-up", database=None, **settings):
    """Email (unique), FirstName, Phone, Size (radio), the interest News and a consent, embeddable on origin."""
    if database is None:
        database = make_database(
            account,
            "Newsletter",
            fields={
                "Email": {"type": "email", "indexed": True, "unique": True, "required": True},
                "FirstName": "text",
                "Phone": "phone",
                "Size": {"type": "choice", "options": {"choices": ["small", "large"]}},
            },
        )
        create_interest(account, database.id, "News")
    form = builder.create_form(account, database.id, name=name)
    settings = {
        "submit_label": "Sign me up",
        "success_message": "Welcome aboard!",
        "min_fill_seconds": 0,
        "allowed_origins": [origin],
        **settings,
    }
    builder.update_settings(account, form.id, name=name, **settings)
    fields = {field.name: field for field in database.fields}
    for field_name in ("Email", "FirstName", "Phone", "Size"):
        item = items.add_item(account, form.id, "field", field_id=fields[field_name].id)
        if field_name == "Size":
            items.update_item(account, form.id, item["id"], {"label": "Size", "widget": "radio"})
    items.add_item(account, form.id, "interest", interest_id=database.interests[0].id)
    consent = items.add_item(account, form.id, "consent")
    items.update_item(
        account,
        form.id,
        consent["id"],
        {"label": "Privacy", "text": "I agree to the privacy statement.", "required": True},
    )
    text = items.add_item(account, form.id, "text")
    items.update_item(account, form.id, text["id"], {"html": "<p>We mail <strong>monthly</strong>.</p>"})
    db.session.commit()
    return form


def messages(verrijk, form) -> dict:
    """The form definition's messages, as the visitor's browser gets them (English)."""
    response = httpx.get(f"{verrijk.url}/p/forms/{form.key}", headers={"Accept-Language": "en"})
    return response.json()["messages"]


def profile_with_email(account, form, email: str):
    db.session.expire_all()
    found = find_profiles(account, form.database_id, {"Email": email})
    return found[0] if found else None


def submissions(form, status: str = "accepted") -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(FormSubmission)
        .where(FormSubmission.form_id == form.id, FormSubmission.status == status)
    )


def fill_signup(widget, email: str = "ann@example.com", phone: str = "+31 20 123 4567") -> None:
    widget.get_by_label("Email").fill(email)
    widget.get_by_label("FirstName").fill("Ann")
    widget.get_by_label("Phone").fill(phone)
    widget.get_by_label("large").check()
    widget.get_by_label("News").check()
    widget.get_by_label("I agree to the privacy statement.").check()


def test_a_visitor_fills_in_the_form_and_the_profile_exists(account, page, host_site, host_page, embed_snippet):
    form = make_signup_form(account, host_site.url)
    page.goto(host_page(f"<h1>Our shop</h1>{embed_snippet(form.key)}"))
    widget = page.locator("[data-verrijk-form]")

    expect(widget.get_by_text("monthly")).to_be_visible()  # the text block, as sanitised HTML
    honeypot = widget.locator("input[name=_hp]")
    expect(honeypot).to_have_attribute("tabindex", "-1")
    assert honeypot.bounding_box()["x"] < 0  # off-screen, yet not display:none (which some bots skip)
    fill_signup(widget)
    widget.get_by_role("button", name="Sign me up").click()

    expect(widget.get_by_text("Welcome aboard!")).to_be_visible()
    expect(widget.get_by_text("Welcome aboard!")).to_be_focused()
    profile = profile_with_email(account, form, "ann@example.com")
    values = {field.name: profile.fields.get(field.key) for field in profile.database.fields}
    assert values == {"Email": "ann@example.com", "FirstName": "Ann", "Phone": "+31201234567", "Size": "large"}
    assert profile.interests == [profile.database.interests[0].id]
    submission = db.session.scalars(select(FormSubmission).where(FormSubmission.form_id == form.id)).one()
    assert (submission.status, submission.profile_id) == ("accepted", profile.id)
    assert "I agree to the privacy statement." in str(submission.consents)
    assert page.problems == []


def test_server_errors_show_inline_and_the_first_gets_focus(account, page, host_site, host_page, embed_snippet):
    form = make_signup_form(account, host_site.url)
    taken = create_profile(account, form.database_id, {"Email": "taken@example.com"}, origin=Origin("admin"))
    page.goto(host_page(embed_snippet(form.key)))
    widget = page.locator("[data-verrijk-form]")
    email, phone = widget.get_by_label("Email"), widget.get_by_label("Phone")
    # Both values pass the browser's checks: only the server knows "12" is no phone number.
    fill_signup(widget, email="taken@example.com", phone="12")
    widget.get_by_role("button", name="Sign me up").click()

    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_be_focused()
    error = widget.locator("#" + phone.get_attribute("aria-describedby").split()[-1])
    expect(error).to_contain_text("international number")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    assert profile_with_email(account, form, "taken@example.com").fields == taken.fields  # untouched
    assert submissions(form) == 0

    # The address is known: a returning subscriber, welcomed as a new one (nothing says it was known).
    phone.fill("+31 6 12345678")
    widget.get_by_role("button", name="Sign me up").click()
    expect(widget.get_by_text("Welcome aboard!")).to_be_visible()
    assert profile_with_email(account, form, "taken@example.com").id == taken.id
    assert submissions(form) == 1


def test_client_checks_mirror_the_server_and_focus_the_first_error(
    account, page, host_site, host_page, embed_snippet, verrijk
):
    form = make_signup_form(account, host_site.url)
    texts = messages(verrijk, form)
    page.goto(host_page(embed_snippet(form.key)))
    widget = page.locator("[data-verrijk-form]")
    widget.get_by_label("Email").fill("not an address")
    widget.get_by_role("button", name="Sign me up").click()

    expect(widget.get_by_label("Email")).to_be_focused()
    expect(widget.get_by_text(texts["email"])).to_be_visible()
    expect(widget.get_by_label("I agree to the privacy statement.")).to_have_attribute("aria-invalid", "true")
    assert submissions(form, "invalid") == 0  # nothing was sent


def test_the_form_works_under_a_strict_content_security_policy(
    account, page, host_site, host_page, embed_snippet, verrijk
):
    form = make_signup_form(account, host_site.url)
    hostile = (
        "<style nonce='h0st'>input, button { display: none !important; background: red !important }"
        "[data-verrijk-form] { --verrijk-accent: rgb(0, 128, 0) }</style>"
    )
    page.goto(host_page(hostile + embed_snippet(form.key, nonce="h0st"), csp=STRICT_CSP.format(verrijk=verrijk.url)))
    widget = page.locator("[data-verrijk-form]")
    button = widget.get_by_role("button", name="Sign me up")

    expect(button).to_be_visible()  # the host's CSS cannot reach into the form
    expect(button).to_have_css("background-color", "rgb(0, 128, 0)")  # its theme variable can
    fill_signup(widget)
    button.click()
    expect(widget.get_by_text("Welcome aboard!")).to_be_visible()
    assert not [problem for problem in page.problems if "Content Security Policy" in problem]


def test_without_constructable_stylesheets_the_style_element_carries_the_nonce(
    account, page, host_site, host_page, embed_snippet, verrijk
):
    form = make_signup_form(account, host_site.url)
    page.add_init_script("window.CSSStyleSheet = undefined")
    page.goto(
        host_page(
            f'<div data-verrijk-form="{form.key}" data-verrijk-nonce="h0st"></div>'
            f'<script src="{verrijk.url}/embed.js" async></script>',
            csp=STRICT_CSP.format(verrijk=verrijk.url),
        )
    )
    button = page.locator("[data-verrijk-form]").get_by_role("button", name="Sign me up")
    expect(button).to_have_css("background-color", ACCENT)
    assert not [problem for problem in page.problems if "Content Security Policy" in problem]


def test_two_forms_on_one_page(account, page, host_site, host_page, embed_snippet):
    signup = make_signup_form(account, host_site.url)
    other = make_signup_form(
        account,
        host_site.url,
        name="Contest",
        database=get_database(account, signup.database_id),
        submit_label="Enter the contest",
        success_message="Good luck!",
    )
    sections = f'<section id="signup">{embed_snippet(signup.key)}</section>'
    sections += f'<section id="contest">{embed_snippet(other.key)}</section>'
    page.goto(host_page(sections))
    first, second = page.locator("#signup [data-verrijk-form]"), page.locator("#contest [data-verrijk-form]")
    expect(first.get_by_role("button", name="Sign me up")).to_be_visible()
    fill_signup(second, email="bob@example.com")
    second.get_by_role("button", name="Enter the contest").click()

    expect(second.get_by_text("Good luck!")).to_be_visible()
    expect(first.get_by_role("button", name="Sign me up")).to_be_visible()
    expect(first.get_by_label("Email")).to_have_value("")
    assert (submissions(signup), submissions(other)) == (0, 1)
    assert page.evaluate("document.querySelectorAll('script[src$=\"/embed.js\"]').length") == 2


def test_a_placeholder_added_later_renders_with_verrijk_render(account, page, host_site, host_page, verrijk):
    form = make_signup_form(account, host_site.url)
    page.goto(host_page(f'<main id="app"></main><script src="{verrijk.url}/embed.js"></script>'))
    page.wait_for_function("window.Verrijk")
    page.evaluate(
        """key => {
        const placeholder = document.createElement('div');
        placeholder.dataset.verrijkForm = key;
        document.getElementById('app').append(placeholder);
        return Verrijk.render();
    }""",
        form.key,
    )
    widget = page.locator("[data-verrijk-form]")
    expect(widget.get_by_role("button", name="Sign me up")).to_be_visible()

    page.evaluate("Promise.all([Verrijk.render(), Verrijk.render(document.querySelector('[data-verrijk-form]'))])")
    assert widget.evaluate("element => element.shadowRoot.querySelectorAll('form').length") == 1
    fill_signup(widget)
    widget.get_by_role("button", name="Sign me up").click()
    expect(widget.get_by_text("Welcome aboard!")).to_be_visible()


def test_a_network_failure_keeps_the_values_and_the_retry_submits_once(
    account, page, host_site, host_page, embed_snippet, verrijk
):
    form = make_signup_form(account, host_site.url)
    texts = messages(verrijk, form)
    posts = []

    def lose_the_first_answer(route):
        posts.append(route.request.post_data_buffer)
        if len(posts) == 1:
            route.fetch()  # the server gets and applies it, but the answer never reaches the visitor
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/submissions", lose_the_first_answer)
    page.goto(host_page(embed_snippet(form.key)))
    widget = page.locator("[data-verrijk-form]")
    fill_signup(widget)
    widget.get_by_role("button", name="Sign me up").click()

    retry = widget.get_by_role("button", name=texts["retry"])
    expect(widget.get_by_text(texts["network"])).to_be_visible()
    expect(retry).to_be_focused()
    expect(widget.get_by_label("Email")).to_have_value("ann@example.com")
    expect(widget.get_by_label("large")).to_be_checked()
    retry.click()

    expect(widget.get_by_text("Welcome aboard!")).to_be_visible()
    keys = {re.search(rb'name="_idempotency_key"\r\n\r\n(\w+)', post).group(1) for post in posts}
    assert len(posts) == 2 and len(keys) == 1  # the retry reused the attempt's key
    assert submissions(form) == 1
    assert profile_with_email(account, form, "ann@example.com") is not None


def test_a_double_click_sends_one_submission(account, page, host_site, host_page, embed_snippet):
    form = make_signup_form(account, host_site.url)
    posts = []
    page.route("**/submissions", lambda route: (posts.append(1), route.continue_()))
    page.goto(host_page(embed_snippet(form.key)))
    widget = page.locator("[data-verrijk-form]")
    fill_signup(widget)
    widget.get_by_role("button", name="Sign me up").dblclick()

    expect(widget.get_by_text("Welcome aboard!")).to_be_visible()
    assert len(posts) == 1
    assert submissions(form) == 1


def test_keyboard_only(account, page, host_site, host_page, embed_snippet):
    form = make_signup_form(account, host_site.url)
    page.goto(host_page(embed_snippet(form.key)))
    widget = page.locator("[data-verrijk-form]")
    expect(widget.get_by_role("button", name="Sign me up")).to_be_visible()
    keyboard = page.keyboard

    keyboard.press("Tab")
    expect(widget.get_by_label("Email")).to_be_focused()
    keyboard.press("Enter")  # submit the empty form: focus comes back to the first error
    expect(widget.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(widget.get_by_label("Email")).to_be_focused()
    keyboard.type("kim@example.com")
    keyboard.press("Tab")
    keyboard.type("Kim")
    keyboard.press("Tab")
    keyboard.type("+31 20 765 4321")
    keyboard.press("Tab")
    expect(widget.get_by_label("small")).to_be_focused()
    keyboard.press("ArrowDown")  # moves to and selects "large"
    keyboard.press("Tab")
    keyboard.press("Space")  # News
    keyboard.press("Tab")
    keyboard.press("Space")  # consent
    keyboard.press("Tab")
    expect(widget.get_by_role("button", name="Sign me up")).to_be_focused()  # the honeypot is skipped
    keyboard.press("Enter")

    expect(widget.get_by_text("Welcome aboard!")).to_be_focused()
    profile = profile_with_email(account, form, "kim@example.com")
    size = next(field for field in profile.database.fields if field.name == "Size")
    assert profile.fields[size.key] == "large"
    assert profile.interests == [profile.database.interests[0].id]


def make_every_item_form(account, origin: str):
    """A form with an item of every kind: each field type, password + repeat, hidden, interest, consent, text
    block, file upload (.txt, at most 1 kB) and the captcha."""
    database = make_database(
        account,
        "Everything",
        fields={
            "Email": {"type": "email", "required": True},
            "Name": "text",
            "Bio": "large_text",
            "Phone": "phone",
            "Age": "number",
            "Born": "date",
            "Seen": "datetime",
            "Colour": {"type": "choice", "options": {"choices": ["red", "green"]}},
            "Size": {"type": "choice", "options": {"choices": ["S", "L"]}},
            "Tags": {"type": "choice", "options": {"choices": ["a", "b", "c"], "multiple": True}},
            "Secret": "text",
            "Source": "text",
        },
    )
    news = create_interest(account, database.id, "News")
    form = builder.create_form(account, database.id, name="Everything")
    builder.update_settings(
        account, form.id, name="Everything", allowed_origins=[origin], min_fill_seconds=0, submit_label="Send it"
    )
    fields = {field.name: field for field in database.fields}
    add = items.add_item
    for name in ("Email", "Name", "Bio", "Phone", "Age", "Born", "Seen", "Colour", "Size", "Tags"):
        item = add(account, form.id, "field", field_id=fields[name].id)
        if name == "Size":
            items.update_item(account, form.id, item["id"], {"label": "Size", "widget": "radio"})
    add(account, form.id, "password", field_id=fields["Secret"].id)
    hidden = add(account, form.id, "hidden", field_id=fields["Source"].id)
    items.update_item(account, form.id, hidden["id"], {"default": "website"})
    add(account, form.id, "interest", interest_id=news.id)
    consent = add(account, form.id, "consent")
    items.update_item(account, form.id, consent["id"], {"text": "I agree.", "required": True})
    text = add(account, form.id, "text")
    items.update_item(account, form.id, text["id"], {"html": "<h3>About you</h3>"})
    upload = add(account, form.id, "file")
    items.update_item(account, form.id, upload["id"], {"label": "Notes file", "accept": ".txt", "max_bytes": 1024})
    add(account, form.id, "captcha")
    db.session.commit()
    return form


UNLABELLED_CONTROLS = """element => [...element.shadowRoot.querySelectorAll(
    'input:not([type=hidden]):not([name=_hp]), select, textarea')].filter(c => !c.labels.length).map(c => c.name)"""


def test_every_item_type_renders_labelled_and_submits(account, page, host_site, host_page, embed_snippet, verrijk):
    form = make_every_item_form(account, host_site.url)
    texts = messages(verrijk, form)
    posts = []
    page.route("**/submissions", lambda route: (posts.append(1), route.continue_()))
    page.goto(host_page(embed_snippet(form.key)))
    widget = page.locator("[data-verrijk-form]")
    expect(widget.get_by_role("heading", name="About you")).to_be_visible()
    assert widget.evaluate(UNLABELLED_CONTROLS) == []
    assert widget.locator("fieldset").count() == widget.locator("fieldset > legend").count() == 2

    widget.get_by_label("Email").fill("eve@example.com")
    widget.get_by_label("Name").fill("Eve")
    widget.get_by_label("Bio").fill("Line one\nLine two")
    widget.get_by_label("Phone").fill("+31 20 123 4567")
    widget.get_by_label("Age").fill("41")
    widget.get_by_label("Born").fill("1985-04-12")
    widget.get_by_label("Seen").fill("2024-05-01T10:30")
    widget.get_by_label("Colour").select_option("green")
    widget.get_by_label("L", exact=True).check()
    widget.get_by_label("a", exact=True).check()
    widget.get_by_label("c", exact=True).check()
    widget.get_by_label("Secret", exact=True).fill("hunter2hunter2")
    widget.get_by_label("Repeat password").fill("something else")
    widget.get_by_label("News").check()
    widget.get_by_label("I agree.").check()
    too_large = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"x" * 2048}
    widget.get_by_label("Notes file").set_input_files(too_large)
    widget.get_by_role("button", name="Send it").click()

    expect(widget.get_by_text(texts["repeat"])).to_be_visible()
    expect(widget.get_by_text(texts["too_large"])).to_be_visible()
    expect(widget.get_by_label("Secret", exact=True)).to_be_focused()
    assert posts == []  # the client's checks stopped it
    widget.get_by_label("Repeat password").fill("hunter2hunter2")
    notes = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Call me maybe."}
    widget.get_by_label("Notes file").set_input_files(notes)
    widget.get_by_role("button", name="Send it").click()

    expect(widget.get_by_text("Thank you!")).to_be_visible()  # the default success message; captcha solved
    profile = profile_with_email(account, form, "eve@example.com")
    values = {field.name: profile.fields.get(field.key) for field in profile.database.fields}
    assert {name: values[name] for name in ("Name", "Bio", "Age", "Born", "Seen", "Colour", "Size", "Tags")} == {
        "Name": "Eve",
        "Bio": "Line one\nLine two",
        "Age": 41,
        "Born": "1985-04-12",
        "Seen": "2024-05-01 10:30:00",
        "Colour": "green",
        "Size": "L",
        "Tags": ["a", "c"],
    }
    assert values["Source"] == "website"
    stored = db.session.scalars(select(FormFile).where(FormFile.form_id == form.id)).all()
    assert [(file.filename, file.data) for file in stored] == [("notes.txt", b"Call me maybe.")]


def test_a_signed_link_prefills_and_updates_the_known_profile(
    account, page, host_site, host_page, embed_snippet, verrijk
):
    form = make_signup_form(account, host_site.url)
    database = get_database(account, form.database_id)
    fields = {field.name: field for field in database.fields}
    builder.update_settings(
        account,
        form.id,
        name="Sign-up",
        behaviour="update",
        key_field_ids=[fields["Email"].id],
        allowed_origins=[host_site.url],
        min_fill_seconds=0,
        submit_label="Sign me up",
        success_message="Welcome aboard!",
    )
    for item in form.items:
        if item.get("field_id") in (fields["Email"].id, fields["FirstName"].id):
            label = "Email" if item["field_id"] == fields["Email"].id else "FirstName"
            items.update_item(
                account, form.id, item["id"], {"label": label, "prefill": True, "required": label == "Email"}
            )
    ann = create_profile(account, database.id, {"Email": "ann@example.com", "FirstName": "Ann"}, origin=Origin("admin"))
    query = links.profile_link_query(ann)
    url = host_page(embed_snippet(form.key))

    page.goto(f"{url}?profile={query['profile']}&sig=forged")
    widget = page.locator("[data-verrijk-form]")
    expect(widget.get_by_role("button", name="Sign me up")).to_be_visible()
    expect(widget.get_by_label("FirstName")).to_have_value("")  # a wrong signature reveals nothing

    page.goto(f"{url}?profile={query['profile']}&sig={query['sig']}")
    expect(widget.get_by_label("FirstName")).to_have_value("Ann")
    expect(widget.get_by_label("Email")).to_have_value("ann@example.com")
    widget.get_by_label("FirstName").fill("Anna")
    widget.get_by_label("Phone").fill("+31 20 123 4567")
    widget.get_by_label("large").check()
    widget.get_by_label("I agree to the privacy statement.").check()
    widget.get_by_role("button", name="Sign me up").click()

    expect(widget.get_by_text("Welcome aboard!")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(type(ann), ann.id).fields[fields["FirstName"].key] == "Anna"
    assert len(find_profiles(account, database.id, {})) == 1


def test_a_redirect_url_takes_the_visitor_there(account, page, host_site, host_page, embed_snippet):
    form = make_signup_form(account, host_site.url, redirect_url=f"{host_site.url}/thanks")
    host_page("<h1>Thanks for signing up</h1>", path="/thanks")
    page.goto(host_page(embed_snippet(form.key)))
    widget = page.locator("[data-verrijk-form]")
    fill_signup(widget)
    widget.get_by_role("button", name="Sign me up").click()

    expect(page.get_by_role("heading", name="Thanks for signing up")).to_be_visible()
    assert page.url == f"{host_site.url}/thanks"
    assert submissions(form) == 1
