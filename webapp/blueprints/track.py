"""Public links in our email (``/p/o``, ``/p/c``, ``/p/u``): open pixel, click redirect, unsubscribe; the
preference page's privacy self-service (``/p/u/<token>/privacy/…``, ``/p/privacy/…``: links sent by mail);
and the account's logo and colours for its public pages and email (``/p/brand``).

No session and no CSRF token: each link carries a signed token instead (``email/link_tokens.py``), and
the one-click unsubscribe POST (RFC 8058) comes from mail providers, not from our pages.
"""

import base64
import json

from flask import Blueprint, Response, redirect, render_template, request
from flask_babel import force_locale

from webapp.email import branding, tracking
from webapp.extensions import csrf
from webapp.privacy import self_service

bp = Blueprint("track", __name__, url_prefix="/p")
csrf.exempt(bp)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")  # a transparent 1×1 GIF
CACHED = {"Cache-Control": "public, max-age=31536000, immutable"}
NO_STORE = {"Cache-Control": "no-store, max-age=0", "Referrer-Policy": "no-referrer"}


@bp.get("/o/<token>")
def email_open(token: str):
    """The open pixel: journal the open, answer a transparent GIF."""
    tracking.record_open(token)
    return Response(PIXEL, mimetype="image/gif", headers=NO_STORE)


@bp.get("/c/<token>")
def email_click(token: str):
    """A tracked link: journal the click, redirect to the target signed into the token."""
    response = redirect(tracking.record_click(token), code=302)
    response.headers.update(NO_STORE)
    return response


@bp.route("/u/<token>", methods=["GET", "POST"])
def email_unsubscribe(token: str):
    """GET: a page with a confirm button (link scanners must not unsubscribe anyone); POST: unsubscribe."""
    brand = branding.page_brand(tracking.link_account_id(token))
    state = tracking.unsubscribe_by_link(token) if request.method == "POST" else tracking.unsubscribe_state(token)
    if request.method == "POST" and brand.unsubscribe_redirect_url and state in tracking.UNSUBSCRIBED:
        response = redirect(brand.unsubscribe_redirect_url, code=303)
    else:
        with force_locale(brand.language):
            response = Response(render_template("track/unsubscribe.html", state=state, token=token, brand=brand))
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
            f"form-action {branding.form_action(brand.unsubscribe_redirect_url)}; base-uri 'none'; object-src 'none'"
        )
    response.headers.update(NO_STORE)
    return response


@bp.get("/brand/<int:account_id>/logo-<int:version>")
def brand_logo(account_id: int, version: int):
    """An account's logo for its public pages and email (the version in the URL: cached for good)."""
    data, mime = branding.logo(account_id, version)
    return Response(data, mimetype=mime, headers=CACHED | {"Content-Security-Policy": "default-src 'none'"})


@bp.get("/brand/<int:account_id>/style-<int:version>.css")
def brand_stylesheet(account_id: int, version: int):
    """An account's colours for its public pages (their CSP allows no inline style)."""
    return Response(branding.stylesheet(account_id, version), mimetype="text/css", headers=CACHED)


@bp.post("/u/<token>/privacy/<action>")
def email_privacy_link(token: str, action: str):
    """The preference page's "download my data" or "erase me": mail the person a signed, expiring link."""
    self_service.send_link(token, action)
    state = tracking.unsubscribe_state(token)
    response = Response(render_template("track/unsubscribe.html", state=state, token=token, sent=action))
    response.headers.update(NO_STORE)
    return response


@bp.get("/privacy/data/<token>")
def privacy_data(token: str):
    """The mailed link: everything held about the person, as a JSON download."""
    document = self_service.data_for_link(token)
    response = Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response.headers.update(NO_STORE)
    return response


@bp.route("/privacy/erase/<token>", methods=["GET", "POST"])
def privacy_erase(token: str):
    """The mailed link: GET asks (link scanners must not erase anyone), POST erases."""
    if request.method == "POST":
        self_service.erase_for_link(token)
        done = True
    else:
        self_service.check_erase_link(token)
        done = False
    response = Response(render_template("track/erase.html", token=token, done=done))
    response.headers.update(NO_STORE)
    return response
