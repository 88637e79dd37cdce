"""An account's branding of the pages and email its contacts see: the double opt-in email, the confirmation,
unsubscribe and other public pages.

A logo (PNG, JPEG, GIF or WebP, its type read from its bytes, at most ``MAX_LOGO`` bytes; SVG is refused, as
it can hold scripts) served from our own URL, two colours (``#rrggbb``) served as a small stylesheet from our
own URL (the public pages' CSP allows no inline style), and where to send visitors after they confirm or
unsubscribe: an http(s) URL of the account's own site (empty: our own page says it is done). ``version`` is
raised on every change and is part of the logo's and stylesheet's URLs (``/p/brand/…``, served by the track
door), so they can be cached for good.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from markupsafe import Markup, escape

from webapp.email import link_tokens
from webapp.extensions import db
from webapp.models import Account, AccountBranding, utcnow
from webapp.platform.errors import NotFound, ValidationError

MAX_LOGO = 512 * 1024
MAX_URL = 2000
LOGO_TYPES = {  # magic bytes → MIME type
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_PRIMARY = "#0f766e"
DEFAULT_BACKGROUND = "#f6f7f9"


@dataclass(frozen=True)
class Branding:
    account_id: int
    version: int = 0
    has_logo: bool = False
    color_primary: str = ""
    color_background: str = ""
    confirm_redirect_url: str = ""
    unsubscribe_redirect_url: str = ""

    @property
    def styled(self) -> bool:
        return bool(self.color_primary or self.color_background or self.has_logo)


def branding_of(account_id: int) -> Branding:
    """The account's branding (the defaults when it has none)."""
    row = db.session.get(AccountBranding, account_id)
    if row is None:
        return Branding(account_id)
    return Branding(
        account_id=account_id,
        version=row.version,
        has_logo=bool(row.logo_type),
        color_primary=row.color_primary,
        color_background=row.color_background,
        confirm_redirect_url=row.confirm_redirect_url,
        unsubscribe_redirect_url=row.unsubscribe_redirect_url,
    )


def save_branding(
    account: Account,
    *,
    color_primary: str,
    color_background: str,
    confirm_redirect_url: str,
    unsubscribe_redirect_url: str,
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> Branding:
    """Check and store everything at once: on any error nothing changes (ValidationError by input name)."""
    errors: dict[str, str] = {}
    colours = {}
    for name, value in (("color_primary", color_primary), ("color_background", color_background)):
        value = value.strip()
        if value and not _COLOUR.fullmatch(value):
            errors[name] = _("Enter a colour as #rrggbb, like #0f766e.")
        colours[name] = value.lower()
    urls = {}
    for name, value in (
        ("confirm_redirect_url", confirm_redirect_url),
        ("unsubscribe_redirect_url", unsubscribe_redirect_url),
    ):
        try:
            urls[name] = check_redirect_url(value)
        except ValidationError as error:
            errors[name] = error.errors[""]
    logo_type = ""
    if logo:
        try:
            logo_type = logo_type_of(logo)
        except ValidationError as error:
            errors["logo"] = error.errors[""]
    if errors:
        raise ValidationError(errors)
    row = db.session.get(AccountBranding, account.id)
    if row is None:
        row = AccountBranding(account_id=account.id, version=0, logo_type="")
        db.session.add(row)
    row.color_primary, row.color_background = colours["color_primary"], colours["color_background"]
    row.confirm_redirect_url, row.unsubscribe_redirect_url = (
        urls["confirm_redirect_url"],
        urls["unsubscribe_redirect_url"],
    )
    if logo:
        row.logo, row.logo_type = logo, logo_type
    elif remove_logo:
        row.logo, row.logo_type = None, ""
    row.version = (row.version or 0) + 1
    row.updated_at = utcnow()
    db.session.commit()
    return branding_of(account.id)


def check_redirect_url(value: str) -> str:
    """An absolute http(s) URL with a host, or empty; ValidationError (``""``) otherwise."""
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if len(value) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValidationError(_("Enter a web address of at most 2000 characters, without spaces."))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValidationError(_("Enter a full web address starting with https://, like https://example.com/thanks."))
    return value


def logo_type_of(data: bytes) -> str:
    """The image type of an uploaded logo, read from its bytes; ValidationError when too large or no image."""
    if len(data) > MAX_LOGO:
        raise ValidationError(_("The logo is too large: use an image of at most 512 KB."))
    for magic, mime in LOGO_TYPES.items():
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ValidationError(_("The logo must be a PNG, JPEG, GIF or WebP image."))


def logo(account_id: int, version: int) -> tuple[bytes, str]:
    """The logo's bytes and type for its current URL; NotFound otherwise (an old version is gone)."""
    row = db.session.get(AccountBranding, account_id)
    if row is None or not row.logo_type or row.version != version or row.logo is None:
        raise NotFound()
    return row.logo, row.logo_type


def stylesheet(account_id: int, version: int) -> str:
    """The public pages' colours as CSS for the stylesheet URL; NotFound for another version."""
    branding = branding_of(account_id)
    if branding.version != version:
        raise NotFound()
    rules = []
    if branding.color_background:
        rules.append(f"body {{ background: {branding.color_background}; }}")
    if branding.color_primary:
        primary = branding.color_primary
        rules.append(f":root {{ --accent: {primary}; --primary: {primary}; }}")
        rules.append(f"a {{ color: {primary}; }}")
        rules.append(
            f"button.primary, button[type=submit], .button.primary {{ background: {primary}; "
            f"border-color: {primary}; color: #fff; }}"
        )
    rules.append(".brand-logo { display: block; max-width: 240px; max-height: 80px; margin: 0 auto 1rem; }")
    return "\n".join(rules) + "\n"


def logo_url(branding: Branding, *, external: bool = False) -> str:
    """The logo's URL (absolute with ``external``, for email: PUBLIC_URL's host); empty without a logo."""
    if not branding.has_logo:
        return ""
    path = f"/p/brand/{branding.account_id}/logo-{branding.version}"
    return link_tokens.public_url(path) if external else path


def stylesheet_url(branding: Branding) -> str:
    if not branding.styled:
        return ""
    return f"/p/brand/{branding.account_id}/style-{branding.version}.css"


def confirmation_html(account_id: int, text: str, link: str, button: str) -> str:
    """The double opt-in email's HTML part in the account's branding: its logo, the text, a button."""
    branding = branding_of(account_id)
    primary = branding.color_primary or DEFAULT_PRIMARY
    background = branding.color_background or DEFAULT_BACKGROUND
    image = logo_url(branding, external=True)
    paragraphs = "".join(
        f'<p style="margin:0 0 16px">{escape(part).replace(chr(10), Markup("<br>"))}</p>'
        for part in text.replace(link, "").strip().split("\n\n")
        if part.strip()
    )
    logo_html = (
        f'<img src="{escape(image)}" alt="" style="max-width:240px;max-height:80px;margin-bottom:16px">'
        if image
        else ""
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f'<body style="margin:0;padding:24px;background:{background};font-family:Helvetica,Arial,sans-serif;'
        'color:#1f2933;font-size:16px;line-height:1.5">'
        '<div style="max-width:560px;margin:0 auto;background:#ffffff;padding:24px;border-radius:6px">'
        f"{logo_html}{paragraphs}"
        f'<p style="margin:24px 0"><a href="{escape(link)}" style="display:inline-block;background:{primary};'
        f'color:#ffffff;padding:12px 20px;border-radius:4px;text-decoration:none">{escape(button)}</a></p>'
        f'<p style="font-size:12px;color:#6b7280;word-break:break-all">{escape(link)}</p>'
        "</div></body></html>"
    )


@dataclass(frozen=True)
class PageBrand:
    """What a public page of the account shows: its stylesheet and logo URLs, name and language."""

    css: str
    logo: str
    name: str
    language: str
    confirm_redirect_url: str
    unsubscribe_redirect_url: str


def form_action(url: str) -> str:
    """A CSP ``form-action`` source list for a page whose form may be redirected to ``url`` (browsers check
    the redirect's target against it too)."""
    if not url:
        return "'self'"
    parts = urlsplit(url)
    return f"'self' {parts.scheme}://{parts.netloc}"


def page_brand(account_id: int) -> PageBrand:
    """The account's look for a public page (ours, in English, for an account that is gone)."""
    account = db.session.get(Account, account_id)
    if account is None:
        return PageBrand(css="", logo="", name="", language="en", confirm_redirect_url="", unsubscribe_redirect_url="")
    branding = branding_of(account_id)
    return PageBrand(
        css=stylesheet_url(branding),
        logo=logo_url(branding),
        name=account.name,
        language=account.language or "en",
        confirm_redirect_url=branding.confirm_redirect_url,
        unsubscribe_redirect_url=branding.unsubscribe_redirect_url,
    )
