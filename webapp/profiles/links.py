"""Signed profile links: ``?profile=ID&sig=SIGNATURE`` on a form or survey URL identifies a known visitor.

The signature is an HMAC (SHA-256, under ``SECRET_KEY``) of the profile id and the profile's secret ``code``,
so it can only be made by us, cannot be moved to another profile, and dies with the profile. A profile merged
into another keeps its code as an alias (``ProfileAlias``), so links made for it keep working and lead to the
surviving profile.
"""

import base64
import hashlib
import hmac

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Profile, ProfileAlias
from webapp.platform.tenancy import MAX_ID


def profile_signature(profile_id: int, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"verrijk-profile-link:{profile_id}:{code}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def profile_link_query(profile: Profile) -> dict[str, str]:
    """The query parameters that identify ``profile`` on a public page."""
    return {"profile": str(profile.id), "sig": profile_signature(profile.id, profile.code)}


def verify_profile_link(account_id: int, profile_id: object, signature: object) -> Profile | None:
    """The profile a link points to when its signature is right (and it belongs to the account), else None."""
    try:
        number = int(str(profile_id))
    except ValueError:
        return None
    if not isinstance(signature, str) or not signature or not 0 < number <= MAX_ID:
        return None
    profile = db.session.get(Profile, number)
    if profile is not None and profile.account_id == account_id:
        return profile if _matches(signature, number, profile.code) else None
    alias = db.session.scalar(
        select(ProfileAlias).where(ProfileAlias.old_profile_id == number, ProfileAlias.account_id == account_id)
    )
    if alias is not None and _matches(signature, number, alias.code):
        return db.session.get(Profile, alias.profile_id)
    return None


def _matches(signature: str, profile_id: int, code: str) -> bool:
    return hmac.compare_digest(signature, profile_signature(profile_id, code))
