"""The public door of web forms: ``/embed.js``, the JSON API under ``/p/``, the hosted page ``/f/<key>`` and the
double opt-in link. No cookies, no session, no CSRF token: spam checks live in ``webforms/attempts.py`` and
``webforms/spam.py``; CORS is answered only for a form's allowed origins. Reference: ``docs/embed-api.md``.
"""

import hashlib
import time
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from flask.sessions import SessionInterface
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded

from webapp.email import branding
from webapp.extensions import csrf, limiter
from webapp.models import Form
from webapp.platform.errors import NotFound, ValidationError
from webapp.webforms import attempts, opt_in
from webapp.webforms import spam as form_spam
from webapp.webforms import submissions as forms
from webapp.widgets.definition import IDEMPOTENCY_KEY, LANG, TOKEN
from webapp.widgets.html import render_form
from webapp.widgets.validation import UploadedFile

bp = Blueprint("embed", __name__)
csrf.exempt(bp)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
PREFLIGHT_MAX_AGE = 600
SESSIONLESS_PREFIXES = ("/p/forms/", "/p/confirm/", "/f/", "/p/surveys/", "/s/")


# --- rate limits: per client address and form, and per form -----------------------------------------------


def _limit(setting: str) -> str:
    """A rate limit setting; empty or ``off`` is no limit (an empty string of limits for the limiter)."""
    value = str(current_app.config[setting] or "").strip()
    return "" if value.lower() == "off" else value


def _address_and_form() -> str:
    return f"{request.remote_addr}:{request.view_args.get('key', '')}"


def _form_only() -> str:
    return str(request.view_args.get("key", ""))


def _rate_limits(view):
    per_address = limiter.limit(
        lambda: _limit("FORM_RATE_LIMIT"),
        key_func=_address_and_form,
        methods=["POST"],
        scope="form-address",
    )
    per_form = limiter.limit(
        lambda: _limit("FORM_RATE_LIMIT_PER_FORM"),
        key_func=_form_only,
        methods=["POST"],
        scope="form",
    )
    return per_address(per_form(view))


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded):
    """Answered before any write: a flood costs the limiter's counters in Redis, nothing in the database."""
    current = limiter.current_limit
    retry_after = max(1, int(current.reset_at - time.time())) if current else 60
    message = attempts.rejection_message("rate_limited")
    if request.endpoint == "embed.hosted_form":
        response = _page(_("Too many requests"), message, 429)
    else:
        response = jsonify({"status": "rate_limited", "message": message, "retry_after": retry_after})
        response.status_code = 429
    response.headers["Retry-After"] = str(retry_after)
    return response


# --- CORS and caching ----------------------------------------------------------------------------------------


def _origin() -> str:
    return request.headers.get("Origin", "")


def _allowed_origin(origins: list[str] | None) -> str | None:
    origin = _origin()
    return origin if origin and origins is not None and form_spam.origin_allowed(origin, origins) else None


def _cors(response, origins: list[str] | None):
    """``Access-Control-Allow-Origin`` for a request from one of ``origins`` (the form's, read before any
    commit expires the form) or from our own origin."""
    response.vary.add("Origin")
    allowed = _allowed_origin(origins)
    if allowed:
        response.headers["Access-Control-Allow-Origin"] = allowed
    return response


def _json(body: dict, status: int = 200, origins: list[str] | None = None, cache: str = "no-store"):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = cache
    return _cors(response, origins)


class _NoSessionForPublicRoutes:
    """Wraps the app's session interface: requests to this blueprint get a null session, so they never set a
    cookie nor refresh an admin's login session, and no ``Vary: Cookie`` spoils caching."""

    def __init__(self, inner: SessionInterface):
        self.inner = inner

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def open_session(self, app, request_):
        # Opened before URL matching, so the blueprint is not known yet: go by path.
        if request_.path.startswith(SESSIONLESS_PREFIXES) or request_.path == "/embed.js":
            return self.inner.make_null_session(app)
        return self.inner.open_session(app, request_)


@bp.record_once
def _install_session_interface(state) -> None:
    state.app.session_interface = _NoSessionForPublicRoutes(state.app.session_interface)


def _origins_of(key: str) -> list[str]:
    """The form's allowed origins (404 for an unknown key)."""
    return list(forms.get_public_form(key).allowed_origins or [])


@bp.errorhandler(NotFound)
def not_found(error: NotFound):
    if request.endpoint in ("embed.hosted_form", "embed.confirm"):
        return _page(_("Not found"), error.message, 404)
    return _json({"error": error.message}, 404)


@bp.route("/p/forms/<key>", methods=["OPTIONS"])
@bp.route("/p/forms/<key>/<any(token, captcha, submissions):what>", methods=["OPTIONS"])
def preflight(key: str, what: str = ""):
    """CORS preflight: answered for allowed origins only (simple requests need none, but some clients ask)."""
    origins = _origins_of(key)
    response = current_app.response_class(status=204)
    if _allowed_origin(origins):
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return _cors(response, origins)


# --- the script ----------------------------------------------------------------------------------------------


@bp.route("/embed.js")
def embed_script():
    """The embed script under its short, stable path (also at /static/embed.js), with ETag and 304."""
    data, etag = _script()
    response = current_app.response_class(data, mimetype="text/javascript")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"  # a public script; lets hosts use crossorigin/SRI
    return response.make_conditional(request)


def _script() -> tuple[bytes, str]:
    """The script's bytes and ETag, read again only when the file changes."""
    path = Path(current_app.static_folder) / "embed.js"
    stamp = path.stat().st_mtime_ns
    cached = current_app.extensions.get("embed_script")
    if cached is None or cached[0] != stamp:
        data = path.read_bytes()
        cached = (stamp, data, hashlib.sha256(data).hexdigest()[:32])
        current_app.extensions["embed_script"] = cached
    return cached[1], cached[2]


# --- the JSON API ------------------------------------------------------------------------------------------


@bp.route("/p/forms/<key>", provide_automatic_options=False)
def definition(key: str):
    form = forms.get_public_form(key)
    origins, etag = list(form.allowed_origins or []), f"{form.id}-{form.revision}-{form.database.config_version}"
    lang = request.args.get("lang", "")
    with force_locale(lang) if lang in current_app.config["LANGUAGES"] else nullcontext():
        body = forms.public_definition(
            key,
            profile_id=request.args.get("profile"),
            signature=request.args.get("sig"),
            lang=lang,
            browser_languages=_browser_languages(),
        )
        locale = str(get_locale())
    if "prefill" in body:  # a known visitor: never cached, never shared
        return _json(body, origins=origins, cache="private, no-store")
    response = _json(body, origins=origins, cache="public, max-age=60")
    # The form's language and, when no catalogue of ours has it, the one of our own strings (messages).
    ours = "" if body["lang"] in current_app.config["LANGUAGES"] else f"-{locale}"
    response.set_etag(f"{etag}-{body['lang']}{ours}")
    response.vary.add("Accept-Language")
    return response.make_conditional(request)


def _browser_languages() -> list[str]:
    return [lang for lang, _quality in request.accept_languages]


@bp.route("/p/forms/<key>/token", provide_automatic_options=False)
def token(key: str):
    origins = _origins_of(key)
    return _json({"token": forms.issue_token(key)}, origins=origins)


@bp.route("/p/forms/<key>/captcha", provide_automatic_options=False)
def captcha(key: str):
    origins = _origins_of(key)
    return _json(forms.captcha_challenge(key), origins=origins)


@bp.route("/p/forms/<key>/submissions", methods=["POST"], provide_automatic_options=False)
@_rate_limits
def submit(key: str):
    result = _submit(key)
    return _json(result.body, result.status_code, origins=result.allowed_origins)


def _posted_values() -> dict:
    return request.form.to_dict(flat=False) if request.method == "POST" else {}


def _uploads() -> dict[str, UploadedFile]:
    uploads = {}
    for name, storage in request.files.items():
        if storage.filename:
            data = storage.stream.read(MAX_UPLOAD_BYTES + 1)
            uploads[name] = UploadedFile(storage.filename, storage.mimetype or "", data)
    return uploads


def _submit(key: str) -> attempts.SubmissionResult:
    values = _posted_values()
    return forms.submit_form(
        key,
        values,
        _uploads(),
        origin=_origin(),
        ip=request.remote_addr or "",
        idempotency_key=(values.get(IDEMPOTENCY_KEY) or [""])[0] or None,
        elapsed_token=(values.get(TOKEN) or [""])[0],
        user_agent=request.user_agent.string,
        fetch_site=request.headers.get("Sec-Fetch-Site", ""),
        browser_languages=_browser_languages(),
    )


# --- the hosted page -----------------------------------------------------------------------------------------


@bp.route("/f/<key>", methods=["GET", "POST"])
@_rate_limits
def hosted_form(key: str):
    """The form as a page of its own, working without JavaScript; it may be framed by allowed origins."""
    form = forms.get_public_form(key)
    link = {name: request.values[name] for name in ("profile", "sig") if request.values.get(name)}
    definition = forms.public_definition(
        key,
        profile_id=link.get("profile"),
        signature=link.get("sig"),
        lang=request.values.get(LANG) or request.values.get("lang", ""),
        browser_languages=_browser_languages(),
    )
    ours = definition["lang"] if definition["lang"] in current_app.config["LANGUAGES"] else None
    with force_locale(ours) if ours else nullcontext():  # the page's own strings in the form's language
        return _hosted_page(key, form, definition, link)


def _hosted_page(key: str, form: Form, definition: dict, link: dict):
    values, errors, status = definition.get("prefill", {}), {}, 200
    if request.method == "POST":
        result = _submit(key)
        if result.status == "ok":
            if result.body.get("redirect"):
                return _hosted_headers(redirect(result.body["redirect"], 303), form)
            page = render_template(
                "public/form_page.html",
                definition=definition,
                message=result.body["message"],
                prefill_url=result.body.get("prefill_url"),
            )
            return _hosted_headers(current_app.make_response(page), form)
        values, status = _display_values(definition), result.status_code
        errors = result.body.get("errors") or {"": result.body.get("message", "")}
    # A first view gets a new token (and counts as a view); a page with errors keeps the one it was sent with.
    fill_token = request.form.get(TOKEN, "") if request.method == "POST" else forms.issue_token(key, hosted=True)
    html = render_form(definition, action=request.path, values=values, errors=errors, token=fill_token, link=link)
    page = render_template("public/form_page.html", definition=definition, form_html=html, message=None)
    return _hosted_headers(current_app.make_response((page, status)), form)


def _display_values(definition: dict) -> dict:
    """What the visitor typed, to show again next to the errors (never passwords)."""
    shown = {}
    for item in definition["items"]:
        name = item["name"]
        if item["type"] == "checkboxes":
            shown[name] = request.form.getlist(name)
        elif item["type"] != "password" and name in request.form:
            shown[name] = request.form[name]
    return shown


def _hosted_headers(response, form: Form):
    ancestors = " ".join(["'self'", *(form.allowed_origins or [])])
    redirect_url = (form.settings or {}).get("redirect_url") or ""
    parts = urlsplit(redirect_url)
    form_targets = " ".join(["'self'", f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""]).strip()
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"frame-ancestors {ancestors}; form-action {form_targets}; base-uri 'none'; object-src 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    # Our own origin only: the page's URL (a signed profile link) never reaches another site, and the browser
    # names our origin when the page posts to itself (under no-referrer it sends Origin: null).
    response.headers["Referrer-Policy"] = "same-origin"
    return response


# --- double opt-in -------------------------------------------------------------------------------------------


@bp.route("/p/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """GET: a page that confirms with a POST (submitted by ``confirm.js`` at once, or by its button), so a mail
    scanner following the link confirms nothing; POST: confirm."""
    account_id, lang = opt_in.link_context(token)
    brand = branding.page_brand(account_id) if account_id is not None else None
    if lang not in current_app.config["LANGUAGES"]:  # the sign-up's language, else the account's
        lang = brand.language if brand is not None else ""
    with force_locale(lang) if lang else nullcontext():
        if request.method == "GET":
            response = current_app.make_response(render_template("public/confirm.html", token=token, brand=brand))
            response.headers["Cache-Control"] = "no-store"
            response.headers["Referrer-Policy"] = "no-referrer"
            action = branding.form_action(brand.confirm_redirect_url if brand is not None else "")
            response.headers["Content-Security-Policy"] = (
                f"default-src 'self'; script-src 'self'; style-src 'self'; form-action {action}; base-uri 'none'; "
                "object-src 'none'; frame-ancestors 'none'"
            )
            return response
        try:
            opt_in.confirm_subscription(token, ip=request.remote_addr or "")
        except ValidationError as error:
            return _page(_("Confirmation failed"), error.message, 400, brand)
        if brand is not None and brand.confirm_redirect_url:
            return redirect(brand.confirm_redirect_url, 303)
        return _page(_("Thank you"), _("Your sign-up is confirmed."), 200, brand)


def _page(title: str, message: str, status: int, brand=None):
    response = current_app.make_response(
        (render_template("public/message.html", title=title, message=message, status=status, brand=brand), status)
    )
    response.headers["Cache-Control"] = "no-store"
    return response
