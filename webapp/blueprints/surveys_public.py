"""The public door of surveys: the JSON API under ``/p/surveys/`` (for the embed) and the hosted page ``/s/<key>``.

Like the web forms' door: no cookies, no session, no CSRF token; the web forms' spam defences (origin, honeypot,
fill-time token) are applied by ``surveys/responses.py``; CORS is answered only for the survey's allowed origins.
The hosted page works without JavaScript, one page per request, and sends a same-origin referrer policy: with
``no-referrer`` a browser posts ``Origin: null`` and the origin check could not pass. Reference: docs/surveys.md.
"""

from urllib.parse import urlencode, urlsplit

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from flask_babel import gettext as _

from webapp.extensions import csrf, limiter
from webapp.platform.errors import NotFound
from webapp.surveys import responses as surveys
from webapp.surveys.responses import SurveyView, Visitor
from webapp.webforms.spam import origin_allowed
from webapp.widgets.definition import TOKEN
from webapp.widgets.survey_page import render_page

bp = Blueprint("surveys_public", __name__)
csrf.exempt(bp)

PREFLIGHT_MAX_AGE = 600
LINK_PARAMETERS = ("profile", "sig", "lang", "r")


def _limit() -> str:
    value = str(current_app.config["FORM_RATE_LIMIT"] or "").strip()
    return "" if value.lower() == "off" else value


def _address_and_survey() -> str:
    return f"{request.remote_addr}:survey:{request.view_args.get('key', '') if request.view_args else ''}"


rate_limited = limiter.limit(_limit, key_func=_address_and_survey, methods=["POST"], scope="survey-address")


@bp.errorhandler(NotFound)
def not_found(error: NotFound):
    if request.endpoint == "surveys_public.hosted":
        return _message_page(_("Not found"), error.message, 404)
    return jsonify({"error": error.message}), 404


def _visitor(source) -> Visitor:
    """Who is asking: the signed link, resume key, language and hidden fields (query or posted)."""
    # Hidden fields come by their own names (``?campaign=spring``); the survey keeps only the ones it declares.
    hidden = {name: value for name, value in source.items() if name not in LINK_PARAMETERS and value}
    return Visitor(
        profile_id=source.get("profile"),
        signature=source.get("sig"),
        resume_key=source.get("r", ""),
        lang=source.get("lang", ""),
        browser_languages=[lang for lang, _quality in request.accept_languages],
        hidden=hidden,
        ip=request.remote_addr or "",
    )


def _cors(response, origins: list[str]):
    response.vary.add("Origin")
    origin = request.headers.get("Origin", "")
    if origin and origin_allowed(origin, origins):
        response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(view: SurveyView, token: str = ""):
    body = view.body()
    if token:
        body["token"] = token
    response = jsonify(body)
    response.status_code = view.status_code
    return _cors(response, view.origins)


@bp.route("/p/surveys/<key>", methods=["OPTIONS"])
@bp.route("/p/surveys/<key>/pages", methods=["OPTIONS"])
@bp.route("/p/surveys/<key>/captcha", methods=["OPTIONS"])
def preflight(key: str):
    survey = surveys.get_public_survey(key)
    response = current_app.response_class(status=204)
    if origin_allowed(request.headers.get("Origin", ""), list(survey.allowed_origins or [])):
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return _cors(response, list(survey.allowed_origins or []))


@bp.route("/p/surveys/<key>", provide_automatic_options=False)
def start(key: str):
    """The page to show now (the first, or where the visitor left off), with a fill-time token."""
    view = surveys.start(key, _visitor(request.args))
    return _json(view, surveys.issue_token(key) if view.page is not None else "")


@bp.route("/p/surveys/<key>/captcha", provide_automatic_options=False)
def captcha(key: str):
    """An ALTCHA challenge (the web forms' captcha) for the answer that starts a response."""
    challenge = surveys.captcha_challenge(key)
    return _cors(jsonify(challenge), list(surveys.get_public_survey(key).allowed_origins or []))


def _post_page(key: str) -> SurveyView:
    """Save the posted page, or (``_back``) go back to the page before it keeping the answers."""
    action = surveys.go_back if request.form.get("_back") else surveys.submit_page
    return action(
        key,
        request.form.to_dict(flat=False),
        _visitor(request.form),
        page_index=request.form.get("_page", ""),
        origin=request.headers.get("Origin", ""),
        token=request.form.get(TOKEN, ""),
    )


@bp.route("/p/surveys/<key>/pages", methods=["POST"], provide_automatic_options=False)
@rate_limited
def submit(key: str):
    """Save one page (``_back``: go back one page); answers the next page or the end."""
    return _json(_post_page(key))


# --- the hosted page -----------------------------------------------------------------------------------------


@bp.route("/s/<key>", methods=["GET", "POST"])
@rate_limited
def hosted(key: str):
    """The survey as pages of its own, one page per request, working without JavaScript."""
    if request.method == "GET":
        view = surveys.start(key, _visitor(request.args))
        return _hosted_view(view, values=(view.page or {}).get("values", {}))
    view = _post_page(key)
    if view.status == "page":  # saved: the next page by its own URL, which also resumes later
        link = {name: request.form[name] for name in LINK_PARAMETERS if request.form.get(name)}
        link["r"] = view.resume_key
        return _headers(redirect(f"{request.path}?{urlencode(link)}", 303), view)
    if view.status == "complete" and view.redirect:
        return _headers(redirect(view.redirect, 303), view)
    return _hosted_view(view, values=request.form.to_dict(flat=True) | _lists())


def _lists() -> dict:
    return {name: values for name, values in request.form.lists() if len(values) > 1}


def _hosted_view(view: SurveyView, *, values: dict):
    texts = view.texts
    if view.page is None:
        page = render_template(
            "public/survey_page.html", texts=texts, lang=view.lang, message=view.message, status=view.status_code
        )
        return _headers(current_app.make_response((page, view.status_code)), view)
    source = request.form if request.method == "POST" else request.args
    carried = {name: source[name] for name in ("profile", "sig", "lang") if source.get(name)}
    carried |= {name: source[name] for name in texts["hidden_fields"] if source.get(name)}
    if view.resume_key:
        carried["r"] = view.resume_key
    carried["_page"] = str(view.page["index"])
    carried[TOKEN] = surveys.issue_token(texts["key"])
    html = render_page(texts, view.page, action=request.path, values=values, errors=view.errors, carried=carried)
    page = render_template(
        "public/survey_page.html",
        texts=texts,
        lang=view.lang,
        form_html=html,
        message=None,
        captcha=bool(view.page.get("captcha_url")),
    )
    return _headers(current_app.make_response((page, view.status_code)), view)


def _headers(response, view: SurveyView):
    ancestors = " ".join(["'self'", *view.origins])
    parts = urlsplit(view.redirect_url)
    targets = " ".join(["'self'", f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""]).strip()
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"frame-ancestors {ancestors}; form-action {targets}; base-uri 'none'; object-src 'none'"
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _message_page(title: str, message: str, status: int):
    response = current_app.make_response(
        (render_template("public/message.html", title=title, message=message, status=status), status)
    )
    response.headers["Cache-Control"] = "no-store"
    return response
