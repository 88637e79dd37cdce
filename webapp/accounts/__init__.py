"""Accounts: the tenant boundary (``accounts``), their users with roles, passwords, deactivation
(``users``), the per-account login backoff (``login_backoff``), API tokens (``tokens``), invitations
(``invitations``), password reset by email (``password_reset``), signed single-use links for both
(``one_time_links``), two-factor login (``two_factor``) and the audit log of configuration changes (``audit``).

May import ``webapp.email`` (invitation and reset mails), ``webapp.platform``, ``webapp.models`` and
``webapp.extensions``; no other domain package.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """The audit log's flush listener, and the work kind that sends password reset mails."""
    from webapp.accounts import audit, password_reset
    from webapp.platform import work

    audit.init_app(app)
    with app.app_context():
        work.register_kind(password_reset.WORK_KIND, password_reset.run_reset_mail_work)
