"""Accounts (issue 17): invitations, password reset, deactivation, two-factor login and the audit log's rules,
through the domain functions."""

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from tests.account_helpers import code_after, mailed_links, run_reset_mails
from tests.factories import PASSWORD, make_account, make_database, make_user
from webapp.accounts import audit, invitations, one_time_links, password_reset, tokens, two_factor, users
from webapp.extensions import db
from webapp.models import ApiToken, AuditEntry, Invitation, PasswordReset, RecoveryCode, User, utcnow
from webapp.platform.errors import Conflict, PermissionDenied, TooManyAttempts, ValidationError

NEW_PASSWORD = "a brand new password"


@pytest.fixture
def owner(account):
    return make_user(account, "owner", email="olga@example.com")


def _token(link: str) -> str:
    return link.rsplit("/", 1)[1]


# --- invitations -----------------------------------------------------------------------------------


def test_an_invitation_mails_a_single_use_link_and_stores_only_its_hash(account, owner):
    sent = invitations.invite(account, owner, email="Nina@Example.com", role="editor")
    assert sent.error is None
    [link] = mailed_links(account.id, "invitation")
    token = _token(link)
    invitation = db.session.get(Invitation, sent.invitation.id)
    assert invitation.email == "nina@example.com"
    assert token not in (invitation.token_hash or "") and len(invitation.token_hash) == 64
    assert invitation.expires_at - utcnow() > timedelta(days=6, hours=23)
    assert invitations.list_pending(account) == [invitation]

    user = invitations.accept(token, NEW_PASSWORD)
    assert (user.email, user.role, user.account_id, user.password_change_due) == (
        "nina@example.com",
        "editor",
        account.id,
        False,
    )
    assert users.authenticate("nina@example.com", NEW_PASSWORD).id == user.id
    assert invitations.list_pending(account) == []
    with pytest.raises(ValidationError, match="not valid"):  # used
        invitations.accept(token, NEW_PASSWORD)


def test_expired_revoked_replaced_and_forged_invitation_links_are_refused(account, owner, app):
    first = invitations.invite(account, owner, email="a@example.com", role="viewer").invitation
    invitations.resend(account, owner, first.id)
    old, new = (_token(link) for link in mailed_links(account.id, "invitation"))
    with pytest.raises(ValidationError):  # replaced by the second mail
        invitations.check_link(old)
    assert invitations.check_link(new).id == first.id

    forged = one_time_links.make("password reset", first.id)[0]  # another purpose's signature
    with pytest.raises(ValidationError):
        invitations.check_link(forged)
    with pytest.raises(ValidationError):
        invitations.check_link(new[:-2] + ("AA" if not new.endswith("AA") else "BB"))

    db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(ValidationError):
        invitations.check_link(new)
    assert invitations.list_pending(account) == []

    second = invitations.invite(account, owner, email="b@example.com", role="viewer").invitation
    link = _token(mailed_links(account.id, "invitation")[-1])
    invitations.revoke(account, second.id)
    with pytest.raises(ValidationError):
        invitations.accept(link, NEW_PASSWORD)
    assert db.session.scalar(select(User).where(User.email == "b@example.com")) is None


def test_invitation_rules(account, owner):
    admin = make_user(account, "admin", email="adam@example.com")
    with pytest.raises(PermissionDenied):
        invitations.invite(account, admin, email="boss@example.com", role="owner")
    with pytest.raises(ValidationError) as error:
        invitations.invite(account, admin, email="olga@example.com", role="viewer")
    assert "already exists" in error.value.errors["email"]
    with pytest.raises(ValidationError):
        invitations.invite(account, admin, email="not an address", role="viewer")
    sent = invitations.invite(account, admin, email="c@example.com", role="viewer")
    with pytest.raises(ValidationError) as error:
        invitations.accept(_token(mailed_links(account.id, "invitation")[-1]), "short")
    assert "at least" in error.value.errors["password"]
    other = make_account("Other")
    with pytest.raises(Exception, match="not found"):
        invitations.revoke(other, sent.invitation.id)


# --- password reset --------------------------------------------------------------------------------


def test_a_reset_link_sets_the_password_ends_sessions_keeps_tokens_and_works_once(account, owner):
    _row, secret = tokens.create_api_token(account, "shop", created_by=owner)
    session_id = owner.get_id()
    password_reset.request_reset("OLGA@example.com ")
    assert mailed_links(account.id, "reset") == []  # sent by the worker, not while answering
    assert run_reset_mails() == 1
    [link] = mailed_links(account.id, "reset")
    token = _token(link)
    stored = db.session.scalar(select(PasswordReset))
    assert stored.token_hash and token not in stored.token_hash

    password_reset.reset_password(token, NEW_PASSWORD)
    assert users.user_of_session(session_id) is None  # every session and remember cookie ended
    assert users.authenticate("olga@example.com", NEW_PASSWORD) is not None
    assert tokens.token_for_secret(secret) is not None  # API tokens stay
    with pytest.raises(ValidationError, match="not valid"):
        password_reset.reset_password(token, "another new password")


def test_reset_requests_reveal_nothing_and_are_limited_per_address(account, owner):
    password_reset.request_reset("nobody@example.com")
    assert run_reset_mails() == 0
    for _ in range(password_reset.MAX_REQUESTS_PER_HOUR + 2):
        password_reset.request_reset("olga@example.com")
    assert run_reset_mails() == password_reset.MAX_REQUESTS_PER_HOUR


def test_expired_and_forged_reset_links_are_refused(account, owner):
    password_reset.request_reset("olga@example.com")
    run_reset_mails()
    token = _token(mailed_links(account.id, "reset")[0])
    with pytest.raises(ValidationError):
        password_reset.check_link(one_time_links.make("invitation", 1)[0])
    db.session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(ValidationError):
        password_reset.reset_password(token, NEW_PASSWORD)
    assert users.authenticate("olga@example.com", PASSWORD) is not None


# --- deactivation ----------------------------------------------------------------------------------


def test_deactivation_ends_sessions_and_the_users_tokens_at_once(account, owner):
    admin = make_user(account, "admin", email="adam@example.com")
    _theirs, their_secret = tokens.create_api_token(account, "theirs", created_by=admin)
    _mine, my_secret = tokens.create_api_token(account, "mine", created_by=owner)
    assert tokens.token_for_secret(their_secret) is not None  # now cached in this process
    session_id = admin.get_id()

    users.deactivate_user(account, owner, admin.id)
    assert users.user_of_session(session_id) is None
    assert tokens.token_for_secret(their_secret) is None  # at once, despite the cache
    assert tokens.token_for_secret(my_secret) is not None
    with pytest.raises(PermissionDenied, match="deactivated"):
        users.authenticate("adam@example.com", PASSWORD)
    assert users.authenticate_api_user("adam@example.com", PASSWORD) is None

    users.reactivate_user(account, owner, admin.id)
    assert users.authenticate("adam@example.com", PASSWORD) is not None
    assert tokens.token_for_secret(their_secret) is None  # revoked tokens stay revoked


def test_the_last_owner_and_oneself_cannot_be_deactivated(account, owner):
    admin = make_user(account, "admin", email="adam@example.com")
    with pytest.raises(Conflict):
        users.deactivate_user(account, owner, owner.id)
    with pytest.raises(PermissionDenied):
        users.deactivate_user(account, admin, owner.id)
    second = make_user(account, "owner", email="otto@example.com")
    users.deactivate_user(account, owner, second.id)
    with pytest.raises(Conflict, match="active owner"):
        users.deactivate_user(account, second, owner.id)  # a deactivated owner does not count


# --- two-factor login ------------------------------------------------------------------------------


def _enrol(user) -> list[str]:
    enrolment = two_factor.start_enrolment(user)
    assert enrolment.qr_svg.startswith("<svg") and "otpauth" not in enrolment.qr_svg
    return two_factor.confirm_enrolment(user, code_after(enrolment.secret))


def test_enrolment_needs_a_right_code_and_gives_ten_single_use_recovery_codes(account, owner):
    session_id = owner.get_id()
    enrolment = two_factor.start_enrolment(owner)
    with pytest.raises(ValidationError):
        two_factor.confirm_enrolment(owner, "000000" if code_after(enrolment.secret) != "000000" else "111111")
    assert owner.totp_secret is None
    codes = two_factor.confirm_enrolment(owner, code_after(enrolment.secret))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert users.user_of_session(session_id) is None  # sessions from before the second factor end
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(stored) & {code.replace("-", "") for code in codes}

    assert two_factor.verify(owner, codes[0])
    assert not two_factor.verify(owner, codes[0])  # once
    assert two_factor.remaining_recovery_codes(owner) == 9


def test_a_totp_code_works_once(account, owner):
    _enrol(owner)
    code = code_after(owner.totp_secret, 1)
    assert two_factor.verify(owner, code)
    assert not two_factor.verify(owner, code)
    assert not two_factor.verify(owner, "12345")


def test_wrong_codes_back_off(account, owner):
    _enrol(owner)
    right = code_after(owner.totp_secret, 1)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(two_factor.FREE_FAILURES):
        assert not two_factor.verify(owner, wrong)
    with pytest.raises(TooManyAttempts):
        two_factor.verify(owner, right)


def test_disable_needs_the_password_and_is_refused_while_required(account, owner):
    _enrol(owner)
    with pytest.raises(ValidationError):
        two_factor.disable(owner, "wrong password")
    two_factor.set_required(account, owner, True)
    with pytest.raises(PermissionDenied):
        two_factor.disable(owner, PASSWORD)
    two_factor.set_required(account, owner, False)
    two_factor.disable(owner, PASSWORD)
    assert owner.totp_secret is None and db.session.scalar(select(RecoveryCode)) is None


def test_only_an_owner_with_two_factor_requires_it(account, owner):
    admin = make_user(account, "admin", email="adam@example.com")
    with pytest.raises(PermissionDenied):
        two_factor.set_required(account, admin, True)
    with pytest.raises(ValidationError):
        two_factor.set_required(account, owner, True)
    _enrol(owner)
    two_factor.set_required(account, owner, True)
    assert two_factor.needs_enrolment(admin) and not two_factor.needs_enrolment(owner)


def test_a_soap_password_login_is_refused_for_a_user_with_two_factor(account, owner):
    _enrol(owner)
    with pytest.raises(users.SecondFactorRequired):
        users.authenticate_api_user("olga@example.com", PASSWORD)


# --- audit log: the rules of the mechanism (each area's coverage is in tests/web/test_audit_log.py) ---------


def test_entries_name_the_actor_and_never_hold_secrets(account, owner):
    audit.set_actor(audit.user_actor(owner, "192.0.2.7"))
    users.set_password(owner, NEW_PASSWORD)
    _row, secret = tokens.create_api_token(account, "shop", created_by=owner)
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    password_entry = next(entry for entry in entries if entry.object_type == "User" and entry.action == "update")
    assert password_entry.changes["password_hash"] == ["***", "***"]
    assert (password_entry.actor, password_entry.user_id, password_entry.ip) == (
        "olga@example.com",
        owner.id,
        "192.0.2.7",
    )
    token_entry = next(entry for entry in entries if entry.object_type == "ApiToken")
    assert token_entry.changes["token_hash"] == ["***", "***"]
    every = repr([(entry.changes, entry.object_name) for entry in entries])
    assert secret not in every and owner.password_hash not in every


def test_work_without_an_actor_is_the_systems(account):
    make_database(account, "Customers")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.area == "databases"))
    assert (entry.actor, entry.user_id, entry.action, entry.object_name) == ("system", None, "create", "Customers")


def test_entries_cannot_be_changed_or_removed_through_the_orm(account):
    make_database(account, "Customers")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.area == "databases"))
    entry.actor = "someone else"
    with pytest.raises(audit.AuditImmutable):
        db.session.commit()
    db.session.rollback()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.area == "databases"))
    db.session.delete(entry)
    with pytest.raises(audit.AuditImmutable):
        db.session.commit()
    db.session.rollback()
    for statement in (update(AuditEntry).values(actor="x"), delete(AuditEntry)):
        with pytest.raises(audit.AuditImmutable):
            db.session.execute(statement)
        db.session.rollback()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.area == "databases")).actor == "system"


def test_an_entry_commits_and_rolls_back_with_its_change(account):
    from webapp.models import Database

    db.session.add(Database(account_id=account.id, name="Never"))
    db.session.flush()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.object_name == "Never")) is not None
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.object_name == "Never")) is None


def test_api_token_users_are_listed_in_token_rows(account, owner):
    row, _secret = tokens.create_api_token(account, "shop", created_by=owner)
    assert db.session.get(ApiToken, row.id).created_by_id == owner.id


def test_a_login_with_a_code_writes_no_audit_entry(account, owner):
    _enrol(owner)
    before = db.session.scalar(select(db.func.count()).select_from(AuditEntry))
    assert users.authenticate("olga@example.com", PASSWORD) is not None
    assert two_factor.verify(owner, code_after(owner.totp_secret, 1))
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)) == before, [
        (e.object_type, e.changes) for e in db.session.scalars(select(AuditEntry))
    ]
