import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from webapp.accounts import audit, invitations, password_reset, two_factor, users
from webapp.blueprints.auth import bp
from webapp.blueprints.auth.inputs import CodeInputs, ForgotInputs, LanguageInputs, LoginInputs, NewPasswordInputs
from webapp.extensions import limiter
from webapp.platform.errors import Conflict, PermissionDenied, TooManyAttempts, ValidationError

# How long a password that was right waits for its second factor.
SECOND_FACTOR_SECONDS = 300


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
        except PermissionDenied as error:  # deactivated
            form.email.errors.append(error.message)
            return render_template("auth/login.html", form=form), 403
        if user is not None and user.totp_secret is not None:
            # The password was right; the session holds that, briefly, until the code is given. No login yet,
            # so no remember cookie either: a cookie is only ever set after both factors.
            session["second_factor"] = {
                "user": user.get_id(),
                "remember": bool(form.remember.data),
                "next": _safe_next(request.args.get("next")),
                "at": time.time(),
            }
            return redirect(url_for("auth.login_code"))
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("Wrong email address or password."))
    return render_template("auth/login.html", form=form)


def _two_factor_limit() -> str:
    return current_app.config["TWO_FACTOR_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["PASSWORD_RESET_RATE_LIMIT"]


def _pending_second_factor():
    """The user whose password was right a moment ago and who owes a code, or None."""
    pending = session.get("second_factor")
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > SECOND_FACTOR_SECONDS:
        session.pop("second_factor", None)
        return None, {}
    user = users.user_of_session(str(pending.get("user", "")))
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_two_factor_limit, methods=["POST"], error_message=_too_many_attempts)
def login_code():
    """The second step of a login with two-factor authentication: a code of the app or a recovery code."""
    user, pending = _pending_second_factor()
    if user is None:
        flash(_("Log in again: the time for the code is over."), "warning")
        return redirect(url_for("auth.login"))
    form = CodeInputs()
    if form.validate_on_submit():
        try:
            right = two_factor.verify(user, form.code.data)
        except TooManyAttempts as error:
            form.code.errors.append(error.message)
            return render_template("auth/code.html", form=form), 429, {"Retry-After": str(error.retry_after)}
        if right:
            session.pop("second_factor", None)
            login_user(user, remember=bool(pending.get("remember")))
            return redirect(_safe_next(pending.get("next")))
        form.code.errors.append(_("That code is not right."))
        return render_template("auth/code.html", form=form), 422
    return render_template("auth/code.html", form=form)


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"], error_message=_too_many_attempts)
def forgot():
    """Ask for a password reset link; the answer is the same whether or not the address has a user."""
    form = ForgotInputs()
    if form.validate_on_submit():
        password_reset.request_reset(form.email.data)
        return render_template("auth/forgot_sent.html")
    return render_template("auth/forgot.html", form=form)


def _link_refused(message: str):
    return render_template("auth/link_refused.html", message=message), 410


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"], error_message=_too_many_attempts)
def reset(token: str):
    """Choose a new password with a reset link (every session of the user ends; API tokens stay)."""
    try:
        found = password_reset.check_link(token)
    except ValidationError as error:
        return _link_refused(error.message)
    form = NewPasswordInputs()
    if form.validate_on_submit():
        user = users.get_user_by_id(found.user_id)
        audit.set_actor(audit.user_actor(user, request.remote_addr))
        try:
            password_reset.reset_password(token, form.password.data)
        except ValidationError as error:
            form.password.errors.extend(error.errors.values())
        else:
            logout_user()
            flash(_("Your password is changed. Log in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form, min_password=users.MIN_PASSWORD_LENGTH)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str):
    """Accept an invitation: choose a password, then be logged in."""
    try:
        found = invitations.check_link(token)
    except ValidationError as error:
        return _link_refused(error.message)
    form = NewPasswordInputs()
    if form.validate_on_submit():
        audit.set_actor(audit.Actor(found.email, ip=request.remote_addr))
        try:
            user = invitations.accept(token, form.password.data)
        except ValidationError as error:
            form.password.errors.extend(error.errors.values())
        except Conflict as error:
            return _link_refused(error.message)
        else:
            logout_user()
            login_user(user)
            flash(_("Welcome to %(account)s.", account=user.account.name), "success")
            return redirect(url_for("admin.index"))
    return render_template("auth/invitation.html", form=form, invitation=found, min_password=users.MIN_PASSWORD_LENGTH)


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
