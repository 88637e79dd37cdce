"""Invitations: an admin (or owner) invites an email address with a role; the invitee follows the emailed link,
sets a password and is logged in.

The link is signed, expires after ``INVITATION_DAYS`` (7 by default) and works once (``one_time_links``); only
a hash of its secret is stored. Sending again makes a new link (the old one stops working) and a new expiry.
An invitation is pending until it is accepted, revoked or expired. Only an owner invites owners. The mail is
transactional, sent through the account's delivery (``email.delivery``) after the invitation is committed: a
failed send keeps the invitation and says why, so it can be sent again.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from webapp.accounts import one_time_links
from webapp.accounts.users import _check_user_input, check_password_rules
from webapp.email import delivery
from webapp.extensions import db
from webapp.models import Account, Invitation, User, utcnow
from webapp.platform.errors import Conflict, NotFound, PermissionDenied, ValidationError
from webapp.platform.tenancy import owned

PURPOSE = "invitation"


def _lifetime() -> timedelta:
    return timedelta(days=int(current_app.config["INVITATION_DAYS"]))


def link_path(token: str) -> str:
    return f"/invitation/{token}"


def list_pending(account: Account) -> list[Invitation]:
    """Invitations not accepted, revoked or expired, newest first."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(
                Invitation.account_id == account.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.created_at.desc())
        )
    )


@dataclass(frozen=True)
class Sent:
    invitation: Invitation
    error: str | None  # why the mail was not sent, else None


def invite(account: Account, actor: User, *, email: str, role: str) -> Sent:
    """Invite ``email`` with ``role`` and send the link. An address that is a user already is refused; a pending
    invitation for the same address is replaced (its link stops working)."""
    if role == "owner" and not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can make or unmake owners."))
    email, errors = _check_user_input(email, None, role)
    if not errors and db.session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = _("A user with this email address already exists.")
    if errors:
        raise ValidationError(errors)
    now = utcnow()
    for old in db.session.scalars(
        select(Invitation).where(
            Invitation.account_id == account.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    ):
        old.revoked_at = now
    invitation = Invitation(
        account_id=account.id, email=email, role=role, invited_by_id=actor.id, expires_at=now + _lifetime()
    )
    db.session.add(invitation)
    db.session.flush()
    return _send(account, invitation, actor)


def resend(account: Account, actor: User, invitation_id: int) -> Sent:
    """Send a pending (or expired) invitation again with a new link and a new expiry."""
    invitation = owned(Invitation, account, invitation_id, _("Invitation not found."))
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict(_("This invitation was accepted or revoked: invite the address again."))
    if invitation.role == "owner" and not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can make or unmake owners."))
    invitation.expires_at = utcnow() + _lifetime()
    return _send(account, invitation, actor)


def revoke(account: Account, invitation_id: int) -> Invitation:
    invitation = owned(Invitation, account, invitation_id, _("Invitation not found."))
    if invitation.accepted_at is not None:
        raise Conflict(_("This invitation was accepted already: deactivate or remove the user instead."))
    invitation.revoked_at = invitation.revoked_at or utcnow()
    db.session.commit()
    return invitation


def _send(account: Account, invitation: Invitation, actor: User) -> Sent:
    token, token_hash = one_time_links.make(PURPOSE, invitation.id)
    invitation.token_hash = token_hash
    invitation.sent_at = utcnow()
    db.session.commit()
    url = current_app.config["PUBLIC_URL"] + link_path(token)
    days = int(current_app.config["INVITATION_DAYS"])
    text = "\n".join(
        [
            _("%(who)s invites you to the account %(account)s in Verrijk.", who=actor.email, account=account.name),
            "",
            _("Choose your password and log in with this link (it works once, for %(days)s days):", days=days),
            url,
            "",
            _("Not expecting this? Ignore this message: nothing happens without the link."),
        ]
    )
    subject = _("Your invitation to %(account)s in Verrijk", account=account.name)
    error = None
    try:
        delivery.send_mail(account.id, to=invitation.email, subject=subject, text=text, category="transactional")
    except delivery.MailError as failure:
        current_app.logger.warning("invitation %s not sent: %s", invitation.id, failure)
        error = str(failure)
    db.session.commit()  # the sent-message log
    return Sent(invitation, error)


def _refused() -> ValidationError:
    return ValidationError(
        _("This invitation link is not valid: it was used, revoked or replaced, it expired, or it is incomplete.")
    )


def check_link(token: str) -> Invitation:
    """The pending invitation this link is for, or ``ValidationError`` (used, expired, revoked, forged)."""
    found = one_time_links.read(PURPOSE, token, int(_lifetime().total_seconds()))
    if found is None:
        raise _refused()
    invitation = db.session.get(Invitation, found[0])
    if (
        invitation is None
        or not one_time_links.same_hash(invitation.token_hash, found[1])
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= utcnow()
    ):
        raise _refused()
    return invitation


def accept(token: str, password: str) -> User:
    """Create the invited user with this password (same rules as every password); the link is used up."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == check_link(token).id).with_for_update())
    if invitation is None or invitation.accepted_at is not None:
        raise _refused()
    check_password_rules(password)
    if db.session.scalar(select(User.id).where(User.email == invitation.email)):
        raise Conflict(_("A user with this email address already exists: log in, or reset your password."))
    account = db.session.get(Account, invitation.account_id)
    if account is None:
        raise NotFound(_("This account no longer exists."))
    user = User(
        account_id=account.id,
        email=invitation.email,
        password_hash=generate_password_hash(password),
        role=invitation.role,
        password_change_due=False,
        last_login_at=utcnow(),
    )
    db.session.add(user)
    invitation.accepted_at = utcnow()
    invitation.token_hash = None
    db.session.commit()
    return user
