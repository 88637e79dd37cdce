"""Amazon SES notifications delivered by Amazon SNS: the signature check, the subscription handshake, the reports.

SNS signs each message (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) over a canonical string of its
fields, with the key of the certificate at ``SigningCertURL``. We accept only certificates served over HTTPS
by ``sns.<region>.amazonaws.com``, verify the signature before reading anything else, and only then act.
A ``SubscriptionConfirmation`` is confirmed (its ``SubscribeURL`` fetched) only when it is signed, its topic
is one the account configured and the URL points at SNS itself; anything else is refused.

How certificates and the confirmation are fetched is injectable (``app.extensions["sns_certificates"]`` and
``["sns_confirm"]``), so tests run offline with a certificate of their own.
"""

import base64
import json
import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import current_app

from webapp.hygiene import classification
from webapp.hygiene.reports import Kind, Reason, Report
from webapp.platform.errors import PermissionDenied, ValidationError

SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


def is_sns_url(url: str) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme == "https" and SNS_HOST.match(parts.hostname or "") is not None and not parts.port


@lru_cache(maxsize=16)
def _download_certificate(url: str) -> bytes:
    response = httpx.get(url, timeout=10, follow_redirects=False)
    response.raise_for_status()
    return response.content


def _confirm_subscription(url: str) -> None:
    httpx.get(url, timeout=10, follow_redirects=False).raise_for_status()


def certificate_source() -> Callable[[str], bytes]:
    return current_app.extensions.get("sns_certificates", _download_certificate)


def confirmation_fetcher() -> Callable[[str], None]:
    return current_app.extensions.get("sns_confirm", _confirm_subscription)


def string_to_sign(envelope: dict) -> bytes:
    """The canonical ``name\\nvalue\\n`` string SNS signs (optional fields left out when absent)."""
    fields = SIGNED_FIELDS.get(envelope.get("Type", ""))
    if fields is None:
        raise ValidationError("not an SNS message type we know")
    lines = []
    for name in fields:
        if name in envelope and envelope[name] is not None:
            lines.append(f"{name}\n{envelope[name]}\n")
    return "".join(lines).encode()


def verify(envelope: dict) -> None:
    """Raise ``PermissionDenied`` unless SNS signed this message with a certificate of its own."""
    url = envelope.get("SigningCertURL", "")
    if not is_sns_url(url):
        raise PermissionDenied("the signing certificate is not Amazon SNS's")
    version = str(envelope.get("SignatureVersion", ""))
    algorithm: hashes.HashAlgorithm
    if version == "1":
        algorithm = hashes.SHA1()  # noqa: S303 - SNS SignatureVersion 1 is defined as SHA1withRSA
    elif version == "2":
        algorithm = hashes.SHA256()
    else:
        raise PermissionDenied("unknown SNS signature version")
    try:
        certificate = x509.load_pem_x509_certificate(certificate_source()(url))
        signature = base64.b64decode(envelope.get("Signature", ""), validate=True)
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise PermissionDenied("the signing certificate has no RSA key")
        key.verify(signature, string_to_sign(envelope), padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError) as error:
        raise PermissionDenied("the SNS signature does not match") from error


def read_envelope(body: bytes) -> dict:
    try:
        envelope = json.loads(body)
    except ValueError as error:
        raise ValidationError("the body is not JSON") from error
    if not isinstance(envelope, dict):
        raise ValidationError("the body is not an SNS message")
    return envelope


def confirm(envelope: dict, allowed_topics: list[str]) -> None:
    """Confirm a verified subscription: only to a configured topic, only by a URL on SNS itself."""
    if envelope.get("TopicArn") not in allowed_topics:
        raise PermissionDenied("this topic is not configured for the account")
    url = envelope.get("SubscribeURL", "")
    if not is_sns_url(url):
        raise PermissionDenied("the subscribe URL is not Amazon SNS's")
    confirmation_fetcher()(url)


# --- the SES notification ----------------------------------------------------------------------------


def reports(notification: dict) -> list[tuple[Report, list[str]]]:
    """The reports in one SES notification (one per recipient), each with the Message-IDs to match it by."""
    kind_name = notification.get("notificationType") or notification.get("eventType") or ""
    mail = notification.get("mail") or {}
    ids = _message_ids(mail)
    if kind_name == "Bounce":
        return [(report, ids) for report in _bounces(notification.get("bounce") or {})]
    if kind_name == "Complaint":
        complaint = notification.get("complaint") or {}
        feedback = str(complaint.get("complaintFeedbackType") or "abuse")
        recipients = complaint.get("complainedRecipients") or [{}]
        return [
            (
                Report(Kind.COMPLAINT, diagnostic=feedback, recipient=str(item.get("emailAddress", "")), source="ses"),
                ids,
            )
            for item in recipients
        ]
    return [(Report(Kind.NOT_A_BOUNCE, source="ses"), ids)]


def _complaint(feedback: str, recipient: str) -> Report:
    return Report(Kind.COMPLAINT, diagnostic=feedback, recipient=recipient, source="ses")


def _bounces(bounce: dict) -> list[Report]:
    label = str(bounce.get("bounceType", ""))
    hint = {"Permanent": True, "Transient": False}.get(label)
    found = []
    for item in bounce.get("bouncedRecipients") or [{}]:
        diagnostic = str(item.get("diagnosticCode") or bounce.get("bounceSubType") or "")
        kind, reason, status = classification.classify(str(item.get("status") or ""), diagnostic, permanent_hint=hint)
        if kind == Kind.UNKNOWN and bounce.get("bounceSubType") in ("Suppressed", "OnAccountSuppressionList"):
            kind, reason = Kind.HARD_BOUNCE, Reason.BLOCKED
        recipient = str(item.get("emailAddress", ""))
        found.append(Report(kind, reason, status, diagnostic, recipient, source="ses"))
    return found


def _message_ids(mail: dict) -> list[str]:
    ids = []
    common = mail.get("commonHeaders") or {}
    if common.get("messageId"):
        ids.append(str(common["messageId"]))
    for header in mail.get("headers") or []:
        if str(header.get("name", "")).lower() == "message-id":
            ids.append(str(header.get("value", "")))
    return ids


def reports_in_email(text: str) -> list[tuple[Report, list[str]]] | None:
    """An SNS notification delivered by email (``AWS Notification Message``): its SES reports, or None."""
    envelope = _json_in(text) or _json_in(text.replace("\r\n", "\n").replace("\n ", ""))
    if not isinstance(envelope, dict):
        return None
    inner = envelope.get("Message", envelope)
    if isinstance(inner, str):
        try:
            inner = json.loads(inner)
        except ValueError:
            return None
    if not isinstance(inner, dict) or not (inner.get("notificationType") or inner.get("eventType")):
        return None
    return reports(inner)


def _json_in(text: str) -> object:
    """The JSON object at the start of a mail body, or None. SNS mail folds long lines with a leading space."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        return json.JSONDecoder().raw_decode(text[start:])[0]
    except ValueError:
        return None
