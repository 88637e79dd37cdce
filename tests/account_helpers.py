"""Helpers for the accounts tests: the links in caught mail, TOTP codes, running the reset mail's work row."""

import re
import time

import pyotp
from sqlalchemy import select

from webapp.email import delivery
from webapp.extensions import db
from webapp.models import ScheduledWork
from webapp.platform import work


def mailed_links(account_id: int, path: str) -> list[str]:
    """The ``/path/<token>`` links in the caught mail of the account, oldest first (as path and token)."""
    found = []
    for message in reversed(delivery.caught_messages(account_id)):
        body = message.get_body(("plain",)).get_content()
        found += re.findall(rf"http://verrijk\.test(/{path}/[A-Za-z0-9_.\-]+)", body)
    return found


def run_reset_mails() -> int:
    """Run the pending password reset mail rows (as the worker would); returns how many ran."""
    rows = db.session.scalars(
        select(ScheduledWork.id).where(ScheduledWork.kind == "password_reset_mail", ScheduledWork.status == "pending")
    ).all()
    db.session.commit()
    for row_id in rows:
        work.run_work(row_id)
    return len(rows)


def code_after(secret: str, steps: int = 0) -> str:
    """The TOTP code ``steps`` 30-second steps from now (a step after the one just used is accepted once)."""
    return pyotp.TOTP(secret).at(time.time() + steps * 30)
