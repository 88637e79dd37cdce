"""Email providers' webhooks: check who sent it, turn each event into a ``Report``, and take them in.

One call, one transaction: every event of a delivery is kept, or none (the provider retries on an error).
The credential is the account's (``credentials``); a call that fails its check is ``PermissionDenied`` and
changes nothing. Reports match sent messages by the Message-ID the provider echoes back, in that account only.

- Amazon SES via SNS: see ``ses``.
- SendGrid: the signed Event Webhook (ECDSA P-256 over timestamp + body, ``X-Twilio-Email-Event-Webhook-*``).
- Mailgun: ``signature.signature`` = HMAC-SHA256(signing key, timestamp + token), hex.
- Postmark: HTTP basic auth on the webhook URL.
- Generic: ``X-Verrijk-Signature: sha256=<hex HMAC-SHA256 of the body>``, a JSON event or list of events
  ``{"event": "bounce" | "complaint", "recipient", "message_id", "status", "diagnostic", "type": "hard" | "soft"}``.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from webapp.extensions import db
from webapp.hygiene import classification, credentials, ses
from webapp.hygiene.intake import Outcome, take_in_report
from webapp.hygiene.reports import Kind, Report
from webapp.platform.errors import NotFound, PermissionDenied, ValidationError

Found = list[tuple[Report, list[str], dict]]
MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")


def take_in_webhook(provider: str, account_id: int, body: bytes, headers: Mapping[str, str]) -> list[Outcome]:
    """Check and take in one webhook delivery; returns what was kept (nothing for a handshake)."""
    readers = {"ses": _ses, "sendgrid": _sendgrid, "mailgun": _mailgun, "postmark": _postmark, "generic": _generic}
    if provider not in readers:
        raise NotFound()
    secret = credentials.secret_of(account_id, provider)
    found = readers[provider](secret, body, {name.lower(): value for name, value in headers.items()})
    outcomes = []
    try:
        for report, message_ids, event in found:
            raw = json.dumps(event, sort_keys=True).encode()
            outcomes.append(
                take_in_report(report, account_id=account_id, message_ids=message_ids, raw=raw, commit=False)
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return outcomes


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError as error:
        raise ValidationError("the body is not JSON") from error


# --- Amazon SES --------------------------------------------------------------------------------------


def _ses(secret: str, body: bytes, headers: Mapping[str, str]) -> Found:
    envelope = ses.read_envelope(body)
    ses.verify(envelope)
    topics = [line.strip() for line in secret.splitlines() if line.strip()]
    if envelope.get("TopicArn") not in topics:
        raise PermissionDenied("this topic is not configured for the account")
    if envelope.get("Type") == "SubscriptionConfirmation":
        ses.confirm(envelope, topics)
        return []
    if envelope.get("Type") != "Notification":
        return []
    notification = _json(str(envelope.get("Message", "")).encode())
    if not isinstance(notification, dict):
        raise ValidationError("the SNS message is not an SES notification")
    return [
        (report, ids, notification) for report, ids in ses.reports(notification) if report.kind != Kind.NOT_A_BOUNCE
    ]


# --- SendGrid ----------------------------------------------------------------------------------------


def _sendgrid(secret: str, body: bytes, headers: Mapping[str, str]) -> Found:
    signature = headers.get("x-twilio-email-event-webhook-signature", "")
    timestamp = headers.get("x-twilio-email-event-webhook-timestamp", "")
    try:
        key = _public_key(secret)
        key.verify(base64.b64decode(signature, validate=True), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error) as error:
        raise PermissionDenied("the SendGrid signature does not match") from error
    events = _json(body)
    if not isinstance(events, list):
        raise ValidationError("a SendGrid delivery is a list of events")
    found: Found = []
    for event in events:
        if not isinstance(event, dict):
            continue
        report = _sendgrid_report(event)
        if report is not None:
            found.append((report, [str(event.get("smtp-id") or "")], event))
    return found


def _sendgrid_report(event: dict) -> Report | None:
    recipient = str(event.get("email") or "")
    if event.get("event") == "spamreport":
        return Report(Kind.COMPLAINT, diagnostic="abuse", recipient=recipient, source="sendgrid")
    if event.get("event") != "bounce":
        return None
    diagnostic = str(event.get("reason") or "")
    # SendGrid's ``type``: "bounce" (it gave up) or "blocked" (refused, may pass later); the code still wins.
    hint = event.get("type", "bounce") != "blocked"
    kind, reason, status = classification.classify(str(event.get("status") or ""), diagnostic, permanent_hint=hint)
    return Report(kind, reason, status, diagnostic, recipient, source="sendgrid")


def _public_key(secret: str) -> ec.EllipticCurvePublicKey:
    if "BEGIN PUBLIC KEY" in secret:
        key = serialization.load_pem_public_key(secret.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode("".join(secret.split())))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an ECDSA key")
    return key


# --- Mailgun -----------------------------------------------------------------------------------------


def _mailgun(secret: str, body: bytes, headers: Mapping[str, str]) -> Found:
    payload = _json(body)
    if not isinstance(payload, dict):
        raise ValidationError("a Mailgun webhook is a JSON object")
    signed = payload.get("signature") or {}
    expected = hmac.new(
        secret.encode(), f"{signed.get('timestamp', '')}{signed.get('token', '')}".encode(), hashlib.sha256
    ).hexdigest()
    if not isinstance(signed.get("signature"), str) or not hmac.compare_digest(expected, signed["signature"]):
        raise PermissionDenied("the Mailgun signature does not match")
    event = payload.get("event-data") or {}
    headers_of_message = (event.get("message") or {}).get("headers") or {}
    ids = [str(headers_of_message.get("message-id") or "")]
    recipient = str(event.get("recipient") or "")
    if event.get("event") == "complained":
        return [(Report(Kind.COMPLAINT, diagnostic="abuse", recipient=recipient, source="mailgun"), ids, event)]
    if event.get("event") != "failed":
        return []
    status_block = event.get("delivery-status") or {}
    diagnostic = " ".join(
        str(status_block.get(name) or "") for name in ("code", "message", "description") if status_block.get(name)
    )
    hint = {"permanent": True, "temporary": False}.get(str(event.get("severity") or ""))
    status = str(status_block.get("enhanced-code") or "")
    kind, reason, status = classification.classify(status, diagnostic, permanent_hint=hint)
    return [(Report(kind, reason, status, diagnostic, recipient, source="mailgun"), ids, event)]


# --- Postmark ----------------------------------------------------------------------------------------

# Postmark's bounce types: its label is only a hint, a status code in the details wins.
POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Blocked", "DMARCPolicy"}
POSTMARK_SOFT = {"SoftBounce", "Transient", "DnsError"}


def _postmark(secret: str, body: bytes, headers: Mapping[str, str]) -> Found:
    scheme, _space, value = headers.get("authorization", "").partition(" ")
    try:
        given = base64.b64decode(value, validate=True).decode() if scheme.lower() == "basic" else ""
    except (binascii.Error, UnicodeDecodeError):
        given = ""
    if not given or not hmac.compare_digest(given.encode(), secret.encode()):
        raise PermissionDenied("the Postmark credentials do not match")
    event = _json(body)
    if not isinstance(event, dict):
        raise ValidationError("a Postmark webhook is a JSON object")
    metadata = event.get("Metadata") or {}
    ids = [str(metadata.get("message_id") or ""), *MESSAGE_ID.findall(str(event.get("Content") or ""))]
    recipient = str(event.get("Email") or "")
    if event.get("RecordType") == "SpamComplaint":
        return [(Report(Kind.COMPLAINT, diagnostic="abuse", recipient=recipient, source="postmark"), ids, event)]
    if event.get("RecordType") != "Bounce" or event.get("Type") == "AutoResponder":
        return []
    diagnostic = str(event.get("Details") or event.get("Description") or "")
    label = str(event.get("Type") or "")
    hint = True if label in POSTMARK_HARD else False if label in POSTMARK_SOFT else None
    kind, reason, status = classification.classify("", diagnostic, permanent_hint=hint)
    return [(Report(kind, reason, status, diagnostic, recipient, source="postmark"), ids, event)]


# --- generic -----------------------------------------------------------------------------------------


def _generic(secret: str, body: bytes, headers: Mapping[str, str]) -> Found:
    given = headers.get("x-verrijk-signature", "").removeprefix("sha256=")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not given or not hmac.compare_digest(expected, given.strip().lower()):
        raise PermissionDenied("the signature does not match")
    payload = _json(body)
    events = payload if isinstance(payload, list) else [payload]
    found: Found = []
    for event in events:
        if not isinstance(event, dict) or event.get("event") not in ("bounce", "complaint"):
            raise ValidationError('each event needs "event": "bounce" or "complaint"')
        recipient = str(event.get("recipient") or "")
        ids = [str(event.get("message_id") or "")]
        if event["event"] == "complaint":
            report = Report(Kind.COMPLAINT, diagnostic="abuse", recipient=recipient, source="generic")
        else:
            diagnostic = str(event.get("diagnostic") or "")
            hint = {"hard": True, "soft": False}.get(str(event.get("type") or ""))
            kind, reason, status = classification.classify(
                str(event.get("status") or ""), diagnostic, permanent_hint=hint
            )
            report = Report(kind, reason, status, diagnostic, recipient, source="generic")
        found.append((report, ids, event))
    return found
