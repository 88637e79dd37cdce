"""Branded public pages: the settings page (logo checked by its bytes, colours, redirect URLs, nothing lost on
an error), the logo and stylesheet from our own URLs, the unsubscribe and confirmation pages in the account's
look and language with their redirects, and the double opt-in email's branded HTML part."""

import io
import re

import pytest

from tests.factories import make_account, make_database
from tests.services.test_forms import database as forms_database  # noqa: F401
from tests.services.test_forms import opt_in_form, submit
from webapp.email import branding, delivery, link_tokens
from webapp.extensions import db
from webapp.models import AccountBranding
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import profiles
from webapp.profiles.events import Origin

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SETTINGS = {
    "color_primary": "#aa3300",
    "color_background": "#fffbea",
    "confirm_redirect_url": "https://shop.example/welcome",
    "unsubscribe_redirect_url": "https://shop.example/goodbye?from=mail",
}


def save(browser_user, data, logo: bytes | None = None, name: str = "logo.png"):
    data = dict(data)
    if logo is not None:
        data["logo"] = (io.BytesIO(logo), name)
    return browser_user.post("/account/branding", data, content_type="multipart/form-data")


def test_an_admin_saves_the_branding_and_the_logo_is_served_from_our_url(browser, anonymous):
    admin = browser("admin")
    assert admin.get("/account/branding").status_code == 200
    response = save(admin, SETTINGS, PNG)
    assert response.status_code == 303
    current = branding.branding_of(admin.user.account.id)
    assert (current.has_logo, current.color_primary, current.unsubscribe_redirect_url) == (
        True,
        "#aa3300",
        "https://shop.example/goodbye?from=mail",
    )
    logo = anonymous.get(branding.logo_url(current))
    assert logo.status_code == 200 and logo.data == PNG and logo.mimetype == "image/png"
    assert "immutable" in logo.headers["Cache-Control"]
    css = anonymous.get(branding.stylesheet_url(current)).get_data(as_text=True)
    assert "#aa3300" in css and "#fffbea" in css
    old = branding.logo_url(current)
    save(admin, SETTINGS | {"color_primary": "#112233"})  # no new logo: the logo is kept, under a new URL
    current = branding.branding_of(admin.user.account.id)
    assert current.has_logo and anonymous.get(old).status_code == 404
    assert anonymous.get(branding.logo_url(current)).data == PNG
    save(admin, SETTINGS | {"remove_logo": "y"})
    assert not branding.branding_of(admin.user.account.id).has_logo


@pytest.mark.parametrize(
    "changes, logo, field, message",
    [
        ({"color_primary": "red"}, None, "color_primary", "#rrggbb"),
        ({"confirm_redirect_url": "javascript:alert(1)"}, None, "confirm_redirect_url", "https://"),
        ({"unsubscribe_redirect_url": "/goodbye"}, None, "unsubscribe_redirect_url", "https://"),
        ({}, b"<svg onload='alert(1)'></svg>", "logo", "PNG, JPEG, GIF or WebP"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_lost(browser, changes, logo, field, message):
    admin = browser("admin")
    save(admin, SETTINGS, PNG)
    before = branding.branding_of(admin.user.account.id)
    typed = SETTINGS | {"color_background": "#000000"} | changes
    response = save(admin, typed, logo, "logo.svg" if logo and logo.startswith(b"<svg") else "logo.png")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    assert 'value="#000000"' in page  # what was typed is still there
    assert branding.branding_of(admin.user.account.id) == before


def test_a_logo_is_checked_by_its_bytes(ctx):
    assert branding.logo_type_of(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert branding.logo_type_of(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    with pytest.raises(ValidationError, match="too large"):  # (a web upload this big leaks the test client's file)
        branding.logo_type_of(PNG + b"\x00" * branding.MAX_LOGO)
    with pytest.raises(ValidationError, match="PNG, JPEG"):
        branding.logo_type_of(b"<?xml version='1.0'?><svg/>")


def test_editors_cannot_change_the_branding(browser):
    editor = browser("editor")
    assert save(editor, SETTINGS).status_code == 403
    assert db.session.get(AccountBranding, editor.user.account.id) is None


def test_another_accounts_old_or_missing_logo_is_not_found(ctx):
    account = make_account("Acme")
    with pytest.raises(NotFound):
        branding.logo(account.id, 0)
    branding.save_branding(
        account, color_primary="", color_background="", confirm_redirect_url="", unsubscribe_redirect_url="", logo=PNG
    )
    with pytest.raises(NotFound):
        branding.logo(account.id + 1, 1)


def unsubscribe_url(account) -> str:
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))
    db.session.commit()
    return (
        link_tokens.unsubscribe_link(account.id, profile.code, "<m1@example.com>").split("://", 1)[1].split("/", 1)[1]
    )


def test_the_unsubscribe_page_is_branded_in_the_accounts_language_and_redirects(anonymous, ctx):
    account = make_account("Bakkerij")
    account.language = "nl"
    branding.save_branding(account, **SETTINGS, logo=PNG)
    path = "/" + unsubscribe_url(account)
    page = anonymous.get(path, headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert 'class="brand-logo"' in html and "/p/brand/" in html and 'lang="nl"' in html
    assert "Afmelden" in html
    assert "form-action 'self' https://shop.example" in page.headers["Content-Security-Policy"]
    response = anonymous.post(path, csrf=False)
    assert response.status_code == 303 and response.headers["Location"] == "https://shop.example/goodbye?from=mail"


def test_without_branding_the_unsubscribe_page_is_ours(anonymous, ctx):
    account = make_account("Plain")
    path = "/" + unsubscribe_url(account)
    html = anonymous.get(path).get_data(as_text=True)
    assert "brand-logo" not in html and "/p/brand/" not in html
    assert anonymous.post(path, csrf=False).status_code == 200


def test_double_opt_in_email_and_confirmation_are_branded(anonymous, account, forms_database):  # noqa: F811
    branding.save_branding(account, **SETTINGS, logo=PNG)
    form = opt_in_form(account, forms_database)
    email = next(field.id for field in forms_database.fields if field.name == "Email")
    submit(form, {f"f{email}": "ann@example.com"})
    [message] = delivery.caught_messages(account.id)
    html = message.get_body(("html",)).get_content()
    assert "/p/brand/" in html and "background:#aa3300" in html and "Confirm my sign-up" in html
    assert "<script" not in html
    link = re.search(r"(http\S+/p/confirm/\S+)", message.get_body(("plain",)).get_content()).group(1)
    path = "/p/confirm/" + link.rsplit("/", 1)[1]
    page = anonymous.get(path)
    assert 'class="brand-logo"' in page.get_data(as_text=True)
    assert "form-action 'self' https://shop.example" in page.headers["Content-Security-Policy"]
    response = anonymous.post(path, csrf=False)
    assert response.status_code == 303 and response.headers["Location"] == "https://shop.example/welcome"
