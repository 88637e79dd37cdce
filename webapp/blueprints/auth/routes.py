from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from webapp.blueprints.auth import bp
from webapp.blueprints.auth.forms import LanguageForm, LoginForm
from webapp.extensions import limiter
from webapp.services import accounts


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Log in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(_("Wrong email address or password."))
    return render_template("auth/login.html", form=form)


def _safe_next(target: str | None) -> str:
    """Only follow local paths after login (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("admin.index")


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out (POST only, CSRF-checked)."""
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language():
    """Choose the interface language (kept on the user, or in the session before login)."""
    form = LanguageForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            accounts.set_language(current_user, form.language.data)
        session["language"] = form.language.data
    return redirect(_safe_next(request.referrer and urlsplit(request.referrer).path))


@bp.route("/me/password", methods=["POST"])
@login_required
def change_password():
    """Change one's own password."""
    if not accounts.authenticate(current_user.email, request.form.get("current", "")):
        flash(_("Your current password is not right."), "error")
    else:
        accounts.set_password(current_user, request.form.get("password", ""))
        flash(_("Your password is changed."), "success")
    return redirect(url_for("admin.account"))
