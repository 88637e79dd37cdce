from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from webapp.accounts import users
from webapp.blueprints.auth import bp
from webapp.blueprints.auth.inputs import LanguageInputs, LoginInputs
from webapp.extensions import limiter
from webapp.platform.errors import TooManyAttempts


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _too_many_attempts() -> str:
    return _("Too many login attempts from your address. Wait a minute, then try again.")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], error_message=_too_many_attempts)
def login():
    """Log in with email and password (POSTs are rate limited per remote address)."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginInputs()
    if form.validate_on_submit():
        try:
            user = users.authenticate(form.email.data, form.password.data)
        except TooManyAttempts as error:
            form.password.errors.append(error.message)
            page = render_template("auth/login.html", form=form)
            return page, 429, {"Retry-After": str(error.retry_after)}
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("Wrong email address or password."))
    return render_template("auth/login.html", form=form)


def _safe_next(target: str | None) -> str:
    """``target`` when it is a path on this site, else the admin's start page (no open redirect).

    Browsers read ``/\\evil.example`` as ``//evil.example`` and drop tabs and newlines from URLs, so a
    target with a backslash, whitespace or a control character is refused along with ``//host`` and
    absolute URLs.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("admin.index")
    if "\\" in target or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in target):
        return url_for("admin.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("admin.index")
    return target


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST only, CSRF-checked): every session of the user ends, here and elsewhere."""
    if current_user.is_authenticated:
        users.end_sessions(current_user)
    logout_user()
    flash(_("You are logged out."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language():
    """Choose the interface language (kept on the user, or in the session before login); back to where it was."""
    form = LanguageInputs()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            users.set_language(current_user, form.language.data)
        session["language"] = form.language.data
    else:
        flash(_("Choose English or Dutch."), "error")
    return redirect(_safe_next(request.form.get("next") or _referrer_path()), 303)


def _referrer_path() -> str | None:
    """The path and query of the page the request came from, when that page is on this site."""
    if not request.referrer:
        return None
    referrer = urlsplit(request.referrer)
    if referrer.netloc and referrer.netloc != request.host:
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")
