"""Refusals at send time: an SMTP server that answers our RCPT TO or DATA with an error.

A 5xx there is a hard bounce of that message, a 4xx that still fails once the sender has stopped retrying a
soft bounce (issue 14). The mail package only describes the refusal (``Refusal``, carried by the
``MailError`` that ``delivery.send_mail`` raises); the caller that handles the send's result decides when it
is final and calls ``report``, inside its transaction. Who reacts (subscription hygiene journals the bounce)
registers with ``subscribe`` in its ``init_app``: this package may not import it.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app

ENHANCED_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Refusal:
    """What the receiving server said about one recipient: ``stage`` is ``rcpt`` or ``data``."""

    code: int
    reply: str
    stage: str
    recipient: str
    account_id: int | None = None
    profile_id: int | None = None
    message_id: str = ""

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600

    @property
    def status(self) -> str:
        """The RFC 3463 enhanced status code of the reply, else one made from the basic code (5.0.0, 4.0.0)."""
        found = ENHANCED_STATUS.search(self.reply)
        return ".".join(found.groups()) if found else f"{self.code // 100}.0.0"


def subscribe(app, handler: Callable[[Refusal], None]) -> None:
    """Call ``handler(refusal)`` for every final refusal, inside the reporting caller's transaction."""
    app.extensions.setdefault("mail_refusals", []).append(handler)


def report(error: Exception, *, final: bool) -> None:
    """Hand the refusal an error carries (if any) to the subscribers: always for a permanent one, for a
    temporary one only when ``final`` (the sender gives up). Call inside the transaction that records the
    send's failure; the caller commits."""
    refusal = getattr(error, "refusal", None)
    if refusal is None or not (refusal.permanent or final):
        return
    for handler in current_app.extensions.get("mail_refusals", []):
        handler(refusal)
