"""Per account, the secret each provider's webhook is checked with (set in the admin).

- ``ses``: the SNS topic ARNs whose notifications (and subscription confirmations) are accepted, one a line;
- ``sendgrid``: the Event Webhook's verification key (base64 DER or PEM public key, ECDSA P-256);
- ``mailgun``: the HTTP webhook signing key;
- ``postmark``: ``user:password`` of the webhook URL's HTTP basic auth;
- ``generic``: the HMAC-SHA256 key of the ``X-Verrijk-Signature`` header.
"""

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import INTAKE_PROVIDERS, Account, IntakeCredential, utcnow
from webapp.platform.errors import NotFound, ValidationError


def secret_of(account_id: int, provider: str) -> str:
    """The account's secret for a provider; ``NotFound`` when none is configured (the webhook is off)."""
    row = db.session.scalar(
        select(IntakeCredential).where(IntakeCredential.account_id == account_id, IntakeCredential.provider == provider)
    )
    if row is None or not row.secret.strip():
        raise NotFound()
    return row.secret.strip()


def credentials_of(account: Account) -> dict[str, str]:
    rows = db.session.scalars(select(IntakeCredential).where(IntakeCredential.account_id == account.id))
    return {row.provider: row.secret for row in rows}


def set_secret(account: Account, provider: str, secret: str) -> None:
    """Store (or clear, with an empty secret) an account's secret for a provider."""
    if provider not in INTAKE_PROVIDERS:
        raise ValidationError({"provider": "unknown provider"})
    row = db.session.scalar(
        select(IntakeCredential).where(IntakeCredential.account_id == account.id, IntakeCredential.provider == provider)
    )
    if row is None:
        row = IntakeCredential(account_id=account.id, provider=provider)
        db.session.add(row)
    row.secret, row.updated_at = secret.strip(), utcnow()
    db.session.commit()
