"""The version of a profile or subprofile: what a client read, to change it only if nobody changed it since.

A version is the time of its last change (``updated_at``, to the microsecond) as a short opaque text; the
REST door sends it as the ``ETag`` and takes it back in ``If-Match``. ``check`` locks the row (``FOR UPDATE``
on PostgreSQL) before comparing, in the writing transaction, so two clients that read the same version
cannot both write: the second one waits for the first, then sees a newer version and is refused.
"""

from webapp.extensions import db
from webapp.models import Profile, Subprofile
from webapp.platform.errors import PreconditionFailed


def version_of(row: Profile | Subprofile) -> str:
    stamp = row.updated_at
    return f"{row.id:x}-{int(stamp.timestamp() * 1_000_000) if stamp else 0:x}"


def check(row: Profile | Subprofile, expected: str | None) -> None:
    """Raise ``PreconditionFailed`` unless ``row`` is still at version ``expected`` (None: no check)."""
    if expected is None:
        return
    db.session.refresh(row, attribute_names=["updated_at"], with_for_update=True)
    if version_of(row) != expected:
        raise PreconditionFailed()
