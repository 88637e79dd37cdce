"""What one bounce, complaint or unsubscribe message says, whatever door it came in by.

Every door (the SMTP receiver, each provider webhook, a refusal at send time) produces a ``Report``; intake
matches it to a sent message and journals it. The journalled event is the contract with the policies:

- kind ``bounced``, source ``bounce``, ``changes = {"bounce": {"type": "hard" | "soft", "reason": Reason,
  "status": "5.1.1", "diagnostic": str, "message_id": str}}``;
- kind ``complained``, source ``bounce``, ``changes = {"complaint": {"feedback_type": "abuse", "message_id": str}}``;
- a ``mailto:`` unsubscribe goes through ``webapp.profiles.unsubscribe`` with source ``unsubscribe``.
"""

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    HARD_BOUNCE = "hard"
    SOFT_BOUNCE = "soft"
    COMPLAINT = "complaint"
    AUTO_REPLY = "auto_reply"
    UNSUBSCRIBE = "unsubscribe"
    NOT_A_BOUNCE = "not_a_bounce"
    UNKNOWN = "unknown"


class Reason(StrEnum):
    USER_UNKNOWN = "user_unknown"
    MAILBOX_FULL = "mailbox_full"
    DOMAIN_NOT_FOUND = "domain_not_found"
    BLOCKED = "blocked"
    POLICY = "policy"
    TOO_LARGE = "too_large"
    EXPIRED = "expired"
    OTHER = "other"


@dataclass(frozen=True)
class Report:
    """One classified message. ``recipient`` is the address that failed (or complained), when known."""

    kind: Kind
    reason: Reason = Reason.OTHER
    status: str = ""
    diagnostic: str = ""
    recipient: str = ""
    envelope_to: str = ""
    original_message_id: str = ""
    source: str = "smtp"
