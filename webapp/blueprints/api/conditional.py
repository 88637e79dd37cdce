"""ETags and ``If-Match`` (RFC 9110): a single profile or subprofile carries its version as a strong ETag; an
update or removal with ``If-Match`` happens only if it is still at that version, else ``412`` (the check and
the write are one transaction: ``profiles/versions.py``)."""

from flask import Response, jsonify, request

from webapp.models import Profile, Subprofile
from webapp.profiles.versions import version_of


def with_etag(body: dict, row: Profile | Subprofile) -> Response:
    response = jsonify(body)
    response.set_etag(version_of(row))
    return response


def expected_version() -> str | None:
    """The version ``If-Match`` names (None without the header, or with ``*``: any current version).

    Several tags: the first one counts (a client sends back the one ETag it read). A weak tag never
    matches, as RFC 9110 requires of ``If-Match``.
    """
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    first = header.split(",")[0].strip()
    if first.startswith("W/") or len(first) < 2 or not (first[0] == first[-1] == '"'):
        return "-"  # matches no version
    return first[1:-1]
