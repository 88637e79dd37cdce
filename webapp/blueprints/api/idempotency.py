"""``Idempotency-Key`` on POST (IETF draft-ietf-httpapi-idempotency-key-header): a retried create does not
create twice.

The first POST with a key (per token, at most 255 characters) claims it in Redis and runs; its answer (status,
``Location``, ``X-Created``, body) is kept for ``KEEP_SECONDS`` and replayed, with ``Idempotent-Replayed:
true``, to a retry with the same key and the same body. The same key with another body is a ``422`` problem;
a retry while the first is still running is a ``409`` problem. A server error forgets the key, so a retry
runs again. The claim of a call that never finished (a process killed mid-call) lapses after
``CLAIM_SECONDS``: a retry after that runs again — the one gap, since Redis is not the database's
transaction.
"""

import hashlib
import json

from flask import Response, g, request
from flask_babel import gettext as _

from webapp.blueprints.api import bp
from webapp.blueprints.api.problems import problem
from webapp.platform.queues import redis_connection

KEEP_SECONDS = 24 * 3600
CLAIM_SECONDS = 60
KEPT_HEADERS = ("Location", "X-Created", "Content-Type")


def _redis_key(key: str) -> str:
    return f"verrijk:api-idempotency:{g.api_token_id}:{hashlib.sha256(key.encode()).hexdigest()}"


def _fingerprint() -> str:
    """What makes two requests the same one: the path and the body. A multipart body (an import's upload) is
    taken by its parts, since its boundary differs each time a client sends the same upload."""
    digest = hashlib.sha256(f"{request.path}\n".encode())
    if request.mimetype != "multipart/form-data":
        digest.update(request.get_data(cache=True))
        return digest.hexdigest()
    for name, value in sorted(request.form.items(multi=True)):
        digest.update(f"form {len(name)}:{name} {len(value)}:{value}\n".encode())
    for name, upload in sorted(request.files.items(multi=True), key=lambda item: (item[0], item[1].filename or "")):
        digest.update(f"file {len(name)}:{name} {len(upload.filename or '')}:{upload.filename or ''}\n".encode())
        while chunk := upload.stream.read(1 << 16):
            digest.update(chunk)
        upload.stream.seek(0)
    return digest.hexdigest()


@bp.before_request
def replay_or_claim():
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or key is None or "api_token_id" not in g:
        return None
    if not 0 < len(key) <= 255:
        return problem(400, _("An Idempotency-Key has 1 to 255 characters."))
    redis, name, fingerprint = redis_connection(), _redis_key(key), _fingerprint()
    claim = json.dumps({"fingerprint": fingerprint})
    if redis.set(name, claim, nx=True, ex=CLAIM_SECONDS):
        g.api_idempotency = (name, fingerprint)
        return None
    kept = json.loads(redis.get(name) or claim)
    if kept["fingerprint"] != fingerprint:
        return problem(422, _("This Idempotency-Key was used for another request."))
    if "status" not in kept:
        return problem(409, _("A request with this Idempotency-Key is still running: retry later."))
    response = Response(kept["body"], status=kept["status"], headers=kept["headers"])
    response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.after_request
def keep(response: Response) -> Response:
    claimed = g.pop("api_idempotency", None)
    if claimed is None:
        return response
    name, fingerprint = claimed
    if response.status_code >= 500:
        redis_connection().delete(name)
        return response
    headers = {header: response.headers[header] for header in KEPT_HEADERS if header in response.headers}
    kept = {"fingerprint": fingerprint, "status": response.status_code, "headers": headers}
    kept["body"] = response.get_data(as_text=True)
    redis_connection().set(name, json.dumps(kept), ex=KEEP_SECONDS)
    return response
