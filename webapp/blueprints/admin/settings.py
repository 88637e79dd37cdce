"""Admin views of the account: one's own profile and password, the account's settings, users, API tokens.

Each action works as an htmx request (the page's component comes back, with a toast) and as a plain form
post (a redirect with a flash message, or the full page with the form's messages).
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, make_response, redirect, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_user

from webapp.accounts import accounts, invitations
from webapp.accounts import tokens as accounts_tokens
from webapp.accounts import users as accounts_users
from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import hx_redirect, is_htmx, render, toast
from webapp.blueprints.admin.settings_inputs import (
    AccountSettingsInputs,
    InviteInputs,
    PasswordInputs,
    RoleInputs,
    TokenInputs,
    UserInputs,
    role_choices,
    role_labels,
)
from webapp.platform.errors import Conflict, PermissionDenied, ValidationError

ACCOUNT_PAGE, SETTINGS_PARTIAL, PASSWORD_PARTIAL = (
    "admin/settings/account.html",
    "admin/settings/_account_settings.html",
    "admin/settings/_password.html",
)
USERS_PAGE, USERS_PARTIAL = "admin/settings/users.html", "admin/settings/_users.html"
TOKENS_PAGE, TOKENS_PARTIAL = "admin/settings/tokens.html", "admin/settings/_tokens.html"


def local_time(moment: datetime | None) -> str | None:
    """A stored (naive UTC) moment as text in the account's time zone, or None."""
    if moment is None:
        return None
    local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(current_account().time_zone))
    return format_datetime(local, "medium", rebase=False)


def show_errors(form, errors: dict[str, str]) -> dict[str, str]:
    """Put a service's messages on the form's fields; return those that belong to no field."""
    rest = {}
    for name, message in errors.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            rest[name] = message
    return rest


def done(message: str, endpoint: str, page: str, partial: str, context):
    """After a successful action: htmx gets the refreshed component and a toast, a plain post a redirect."""
    if is_htmx():
        return toast(render(page, partial, **context()), message)
    flash(message, "success")
    return redirect(url_for(endpoint), 303)


# --- account: own profile, password, settings ----------------------------------------------------


def _account_context(*, settings_form=None, password_form=None, problems=None) -> dict:
    account = current_account()
    return {
        "account": account,
        "settings_form": settings_form or AccountSettingsInputs(formdata=None, obj=account),
        "settings_problems": problems or {},
        "password_form": password_form or PasswordInputs(formdata=None),
        "role_labels": role_labels(),
        "min_password": accounts_users.MIN_PASSWORD_LENGTH,
        "when": local_time,
    }


@bp.route("/account")
def account():
    """One's own profile, language and password; the account's settings (editable by owners)."""
    return render(ACCOUNT_PAGE, **_account_context())


@bp.route("/account/settings", methods=["POST"])
@requires("owner")
def account_settings():
    """Save the account's name, time zone, default language and default sender."""
    form, problems = AccountSettingsInputs(), {}
    if form.validate_on_submit():
        try:
            accounts.update_account_settings(
                current_account(),
                name=form.name.data,
                time_zone=form.time_zone.data,
                language=form.language.data,
                default_sender=form.default_sender.data or "",
            )
        except ValidationError as error:
            problems = show_errors(form, error.errors)
        else:
            return done(_("Account settings saved."), "admin.account", ACCOUNT_PAGE, SETTINGS_PARTIAL, _account_context)
    return render(ACCOUNT_PAGE, SETTINGS_PARTIAL, **_account_context(settings_form=form, problems=problems)), 422


@bp.route("/account/password", methods=["POST"])
def account_password():
    """Change one's own password (the current one is asked for)."""
    form = PasswordInputs()
    if form.validate_on_submit():
        try:
            accounts_users.change_password(current_user, current=form.current.data, new=form.password.data)
        except ValidationError as error:
            problems = show_errors(form, error.errors)
            form.password.errors = [*form.password.errors, *problems.values()]
        else:
            login_user(current_user._get_current_object())  # this session goes on under the new session version
            message = _("Your password is changed; your other sessions have ended.")
            return done(message, "admin.account", ACCOUNT_PAGE, PASSWORD_PARTIAL, _account_context)
    return render(ACCOUNT_PAGE, PASSWORD_PARTIAL, **_account_context(password_form=form)), 422


# --- users ---------------------------------------------------------------------------------------


def _users_context(*, form=None, problem=None, form_problems=None, invite_form=None, invite_problems=None) -> dict:
    return {
        "users": accounts_users.list_users(current_account()),
        "invitations": invitations.list_pending(current_account()),
        "invite_form": invite_form or InviteInputs(current_user, formdata=None),
        "invite_problems": invite_problems or {},
        "invitation_days": current_app.config["INVITATION_DAYS"],
        "form": form or UserInputs(current_user, formdata=None),
        "form_problems": form_problems or {},
        "problem": problem,
        "roles": role_choices(current_user),
        "role_labels": role_labels(),
        "min_password": accounts_users.MIN_PASSWORD_LENGTH,
        "account_time_zone": current_account().time_zone.replace("_", " "),
        "when": local_time,
    }


@bp.route("/users")
@requires("admin")
def users():
    """The account's users, their roles and last logins; the form to add one."""
    return render(USERS_PAGE, USERS_PARTIAL, **_users_context())


@bp.route("/users", methods=["POST"])
@requires("admin")
def user_create():
    """Add a user with a role and an initial password (given to them by hand; or invite them by email)."""
    form, problems = UserInputs(current_user), {}
    if form.validate_on_submit():
        try:
            user = accounts_users.create_user(
                current_account(),
                email=form.email.data,
                password=form.password.data,
                role=form.role.data,
                actor=current_user,
            )
        except ValidationError as error:
            problems = show_errors(form, error.errors)
        except PermissionDenied as error:
            return render(USERS_PAGE, USERS_PARTIAL, **_users_context(form=form, problem=error.message)), 403
        else:
            message = _("%(email)s can log in now.", email=user.email)
            return done(message, "admin.users", USERS_PAGE, USERS_PARTIAL, _users_context)
    return render(USERS_PAGE, USERS_PARTIAL, **_users_context(form=form, form_problems=problems)), 422


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@requires("admin")
def user_role(user_id: int):
    """Give a user another role (only owners make or unmake owners; the last owner stays one)."""
    form = RoleInputs(current_user)
    form.validate_on_submit()  # CSRF and shape; the service judges the role
    try:
        user = accounts_users.change_role(current_account(), current_user, user_id, form.role.data or "")
    except (PermissionDenied, Conflict, ValidationError) as error:
        return render(USERS_PAGE, USERS_PARTIAL, **_users_context(problem=error.message)), error.status
    message = _("%(email)s is now %(role)s.", email=user.email, role=role_labels()[user.role])
    if not current_user.has_role("admin"):  # one gave oneself a weaker role: this page is closed now
        flash(message, "success")
        return hx_redirect(url_for("admin.account"))
    return done(message, "admin.users", USERS_PAGE, USERS_PARTIAL, _users_context)


@bp.route("/users/<int:user_id>/delete", methods=["POST"])
@requires("admin")
def user_delete(user_id: int):
    """Remove a user from the account (not oneself; only owners remove owners)."""
    try:
        accounts_users.delete_user(current_account(), current_user, user_id)
    except (PermissionDenied, Conflict) as error:
        return render(USERS_PAGE, USERS_PARTIAL, **_users_context(problem=error.message)), error.status
    return done(_("The user is removed."), "admin.users", USERS_PAGE, USERS_PARTIAL, _users_context)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@requires("admin")
def user_deactivate(user_id: int):
    """Deactivate a user: no more logins; their sessions and the API tokens they made end at once."""
    try:
        user = accounts_users.deactivate_user(current_account(), current_user, user_id)
    except (PermissionDenied, Conflict) as error:
        return render(USERS_PAGE, USERS_PARTIAL, **_users_context(problem=error.message)), error.status
    message = _("%(email)s is deactivated: their sessions and API tokens have ended.", email=user.email)
    return done(message, "admin.users", USERS_PAGE, USERS_PARTIAL, _users_context)


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@requires("admin")
def user_reactivate(user_id: int):
    """Let a deactivated user log in again (their revoked API tokens stay revoked)."""
    try:
        user = accounts_users.reactivate_user(current_account(), current_user, user_id)
    except PermissionDenied as error:
        return render(USERS_PAGE, USERS_PARTIAL, **_users_context(problem=error.message)), error.status
    message = _("%(email)s can log in again.", email=user.email)
    return done(message, "admin.users", USERS_PAGE, USERS_PARTIAL, _users_context)


def _sent_message(sent: invitations.Sent) -> tuple[str, str]:
    if sent.error:
        text = _(
            "The invitation for %(email)s is saved, but the mail was not sent: %(error)s. Send it again later.",
            email=sent.invitation.email,
            error=sent.error,
        )
        return text, "error"
    return _("An invitation is on its way to %(email)s.", email=sent.invitation.email), "success"


def _after_invitation(message: str, level: str):
    if is_htmx():
        return toast(render(USERS_PAGE, USERS_PARTIAL, **_users_context()), message, level)
    flash(message, level)
    return redirect(url_for("admin.users"), 303)


@bp.route("/invitations", methods=["POST"])
@requires("admin")
def invitation_create():
    """Invite an email address with a role: a link to choose a password, valid for INVITATION_DAYS, once."""
    form, problems = InviteInputs(current_user), {}
    if form.validate_on_submit():
        try:
            sent = invitations.invite(current_account(), current_user, email=form.email.data, role=form.role.data)
        except ValidationError as error:
            problems = show_errors(form, error.errors)
        except PermissionDenied as error:
            return render(USERS_PAGE, USERS_PARTIAL, **_users_context(invite_form=form, problem=error.message)), 403
        else:
            return _after_invitation(*_sent_message(sent))
    context = _users_context(invite_form=form, invite_problems=problems)
    return render(USERS_PAGE, USERS_PARTIAL, **context), 422


@bp.route("/invitations/<int:invitation_id>/resend", methods=["POST"])
@requires("admin")
def invitation_resend(invitation_id: int):
    """Send an invitation again: a new link (the old one stops working) and a new expiry."""
    try:
        sent = invitations.resend(current_account(), current_user, invitation_id)
    except (PermissionDenied, Conflict) as error:
        return render(USERS_PAGE, USERS_PARTIAL, **_users_context(problem=error.message)), error.status
    return _after_invitation(*_sent_message(sent))


@bp.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@requires("admin")
def invitation_revoke(invitation_id: int):
    """Revoke an invitation: its link stops working."""
    try:
        invitation = invitations.revoke(current_account(), invitation_id)
    except Conflict as error:
        return render(USERS_PAGE, USERS_PARTIAL, **_users_context(problem=error.message)), error.status
    message = _("The invitation for %(email)s is revoked.", email=invitation.email)
    return done(message, "admin.users", USERS_PAGE, USERS_PARTIAL, _users_context)


# --- API tokens ----------------------------------------------------------------------------------


def _tokens_context(*, form=None, secret=None, created=None) -> dict:
    return {
        "tokens": accounts_tokens.list_api_tokens(current_account()),
        "form": form or TokenInputs(formdata=None),
        "secret": secret,
        "created": created,
        "account_time_zone": current_account().time_zone.replace("_", " "),
        "when": local_time,
    }


@bp.route("/tokens")
@requires("admin")
def tokens():
    """The account's API tokens (for the SOAP API) and the form to create one."""
    return render(TOKENS_PAGE, TOKENS_PARTIAL, **_tokens_context())


@bp.route("/tokens", methods=["POST"])
@requires("admin")
def token_create():
    """Create a token and show its secret, this once (only its SHA-256 is stored)."""
    form = TokenInputs()
    if form.validate_on_submit():
        try:
            token, secret = accounts_tokens.create_api_token(
                current_account(), form.name.data, form.scope.data, created_by=current_user._get_current_object()
            )
        except ValidationError as error:
            show_errors(form, error.errors)
        else:
            context = _tokens_context(secret=secret, created=token)
            response = make_response(render(TOKENS_PAGE, TOKENS_PARTIAL, **context))
            response.headers["Cache-Control"] = "no-store"
            return toast(response, _("Token created. Store it now.")) if is_htmx() else response
    return render(TOKENS_PAGE, TOKENS_PARTIAL, **_tokens_context(form=form)), 422


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires("admin")
def token_revoke(token_id: int):
    """Revoke a token: SOAP calls with it fail from now on."""
    accounts_tokens.revoke_api_token(current_account(), token_id)
    return done(_("The token is revoked."), "admin.tokens", TOKENS_PAGE, TOKENS_PARTIAL, _tokens_context)
