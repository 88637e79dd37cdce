"""Per account, the secret each provider's webhook is checked with (set in the admin).

- ``ses``: the SNS topic ARNs whose notifications (and subscription confirmations) are accepted, one a line;
- ``sendgrid``: the Event Webhook's verification key (base64 DER or PEM public key, ECDSA P-256);
- ``mailgun``: the HTTP webhook signing key;
- ``postmark``: ``user:password`` of the webhook URL's HTTP basic auth;
- ``generic``: the HMAC-SHA256 key of the ``X-Verrijk-Signature`` header.

Secrets are stored encrypted (Fernet, a key derived from ``CREDENTIALS_KEY``); the admin shows the public ones
(topic ARNs, a public key) and only whether a private one is set.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import INTAKE_PROVIDERS, Account, IntakeCredential, utcnow
from webapp.platform.errors import NotFound, ValidationError

PUBLIC = ("ses", "sendgrid")  # topic ARNs and a public key: shown in the admin


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"verrijk intake credentials").derive(
        current_app.config["CREDENTIALS_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _decrypted(row: IntakeCredential) -> str:
    try:
        return _fernet().decrypt(row.secret.encode()).decode() if row.secret else ""
    except InvalidToken:
        return ""  # unreadable (CREDENTIALS_KEY changed): as if not configured, until entered again


def secret_of(account_id: int, provider: str) -> str:
    """The account's secret for a provider; ``NotFound`` when none is configured (the webhook is off)."""
    row = db.session.scalar(
        select(IntakeCredential).where(IntakeCredential.account_id == account_id, IntakeCredential.provider == provider)
    )
    secret = _decrypted(row).strip() if row is not None else ""
    if not secret:
        raise NotFound()
    return secret


def credentials_of(account: Account) -> dict[str, str]:
    """What the admin may see per configured provider: the value of a public one, ``"set"`` for a private one."""
    rows = db.session.scalars(select(IntakeCredential).where(IntakeCredential.account_id == account.id))
    shown = {}
    for row in rows:
        secret = _decrypted(row)
        if secret:
            shown[row.provider] = secret if row.provider in PUBLIC else "set"
    return shown


def set_secret(account: Account, provider: str, secret: str, *, clear: bool = False) -> None:
    """Store an account's secret for a provider; an empty one keeps what is stored, unless ``clear``."""
    if provider not in INTAKE_PROVIDERS:
        raise ValidationError({"provider": "unknown provider"})
    if not secret.strip() and not clear:
        return
    row = db.session.scalar(
        select(IntakeCredential).where(IntakeCredential.account_id == account.id, IntakeCredential.provider == provider)
    )
    if row is None:
        row = IntakeCredential(account_id=account.id, provider=provider)
        db.session.add(row)
    value = "" if clear else secret.strip()
    row.secret, row.updated_at = (_fernet().encrypt(value.encode()).decode() if value else ""), utcnow()
    db.session.commit()
