"""Signed, expiring, single-use links (invitations, password resets).

A link carries ``[row id, secret]`` signed with ``SECRET_KEY`` (itsdangerous, a salt per purpose, so a reset link
is no invitation); the row stores only the SHA-256 of the secret. A link is good while its signature holds, it is
younger than its row's expiry, and its secret's hash is the one on the row: making a new link for the row (sending
again) or using it (the row's ``used``/``accepted`` mark) ends the old one.
"""

import hashlib
import hmac
import secrets

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"verrijk {purpose}")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make(purpose: str, row_id: int) -> tuple[str, str]:
    """A new link token for the row and the hash to store on it."""
    secret = secrets.token_urlsafe(24)
    return _serializer(purpose).dumps([row_id, secret]), hash_secret(secret)


def read(purpose: str, token: str, max_age_seconds: int) -> tuple[int, str] | None:
    """The row id and the secret's hash of a well-signed, young enough token, else None (forged, mangled, old)."""
    try:
        data = _serializer(purpose).loads(token or "", max_age=max_age_seconds)
    except BadSignature:  # SignatureExpired is one too
        return None
    if not (isinstance(data, list) and len(data) == 2 and isinstance(data[0], int) and isinstance(data[1], str)):
        return None
    return data[0], hash_secret(data[1])


def same_hash(stored: str | None, given: str) -> bool:
    return stored is not None and hmac.compare_digest(stored, given)
