"""Reading one inbound message into a ``Report``: DSN, ARF complaint, text bounce, auto-reply or none of these.

In order: an RFC 5965 ``message/feedback-report`` part makes a complaint; an RFC 3464
``message/delivery-status`` part makes a bounce from its per-recipient fields (Action, Status,
Diagnostic-Code, Final-/Original-Recipient); a message that looks like a bounce without one (qmail, Exim,
Exchange, Postfix and older Sendmail text) is read from its human-readable text; otherwise RFC 3834
``Auto-Submitted`` and the common auto-reply headers make an auto-reply (ignored, never counted). The rest
is not a bounce. Nothing here raises on malformed input: a message that cannot be read is ``unknown``.
"""

import email
import email.message
import email.policy
import re
from email.header import decode_header, make_header
from email.message import Message

from webapp.hygiene import classification, ses
from webapp.hygiene.reports import Kind, Reason, Report

ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)+"
)
MESSAGE_ID_LINE = re.compile(r"^\s*Message-ID:\s*(<[^>\s]+>)", re.I | re.M)
SEPARATED_ID_LINE = re.compile(r"^\s*Message-ID:\s*\n\s*(<[^>\s]+>)", re.I | re.M)

BOUNCE_SENDERS = re.compile(r"mailer-daemon|post_?master|mail delivery|mail administrator|mdaemon|bounce", re.I)
BOUNCE_SUBJECTS = re.compile(
    r"undeliver|undelivered|delivery (status )?notification|delivery (has )?failed|delivery failure|"
    r"failure notice|returned mail|mail delivery|non.?delivery|could not be delivered|delivery problem|"
    r"not delivered|rejected|bounce|warning: could not send|mail system error|delayed mail|"
    r"permanent error|message status|mail failure|unable to deliver|delivery report|fehlgeschlagen|"
    r"failed delivery|mail failed|returning to sender|error notification|\bdelayed\b|エラー|"
    r"unzustellbar|non remis|no entregado|メール|配信",
    re.I,
)
FAILURE_PHRASES = re.compile(
    r"could not be delivered|did not reach|undeliverable|delivery (has )?failed|permanent (error|failure)|"
    r"not be delivered|was not delivered|unable to deliver|delivery to the following|failed recipient|"
    r"invalid user address|no such user|user unknown|requested action not taken",
    re.I,
)
PERMANENT_PHRASES = re.compile(r"permanent|fatal|given up|gave up|could not be delivered|undeliverable|failed", re.I)
TRANSIENT_PHRASES = re.compile(r"temporar|will (be )?retr|still trying|not yet been delivered|delayed", re.I)
JMRP_SUBJECT = re.compile(r"complaint about message from", re.I)
AUTO_REPLY_SUBJECTS = re.compile(
    r"out of (the )?office|auto(matic)?[ -]?(reply|response|answer)|^auto:|away from|away until|\bvacation\b|"
    r"on holiday|on leave|abwesenheit|afwezig|absence|absent|r[ée]ponse automatique|respuesta autom|"
    r"risposta automatica|automatisch",
    re.I,
)
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation", "X-Mail-Autoreply")
# Lines in a text bounce that end the report and start the returned message.
ORIGINAL_MARKERS = re.compile(
    r"^[-\s]*(below this line is a copy|this is a copy of the message|original message|"
    r"the original message|returned message|unsent message below|message header follows|"
    r"rfc822 headers|headers of the original|content-type: message/rfc822|"
    r"----- (original|transcript)|--- the header of the original)",
    re.I | re.M,
)
DSN_FIELD_START = re.compile(r"^(Reporting-MTA|Original-Recipient|Final-Recipient):", re.I | re.M)
RCPT_TO_LINE = re.compile(r"^\s*RCPT TO:\s*<?(" + ADDRESS.pattern + ")", re.I | re.M)
# A line naming only the failed address, as Exim, qmail and Postfix list them (``  a@b``, ``<a@b>:``).
ADDRESS_LINE = re.compile(r"^[ \t]*<?(" + ADDRESS.pattern + r")>?:?[ \t]*$", re.M)
QUOTED_TO = re.compile(r"^\s*To:\s*(.+)$", re.I | re.M)
FAILED_HEADERS = ("X-Failed-Recipients", "X-Failed-Recipient")
TEXT_LIMIT = 200_000


def read_report(raw: bytes, *, envelope_to: str = "", source: str = "smtp") -> Report:
    """What the message says. Never raises: an unreadable message is ``unknown`` with the error as diagnostic."""
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        report = _read(message)
    except Exception as error:  # noqa: BLE001 - any malformed input is a report to review, never a crash
        return Report(kind=Kind.UNKNOWN, diagnostic=f"unreadable message: {error}"[:500], envelope_to=envelope_to)
    return Report(**{**report.__dict__, "envelope_to": envelope_to, "source": source})


def _read(message: Message) -> Report:
    for reader in (_ses_notification, _feedback_report, _delivery_status, _text_bounce, _auto_reply):
        report = reader(message)
        if report is not None:
            return report
    return Report(kind=Kind.NOT_A_BOUNCE, original_message_id=original_message_id(message))


def _ses_notification(message: Message) -> Report | None:
    """Amazon SES can send its bounce and complaint notifications as email: a JSON body from SNS."""
    if "amazonaws.com" not in _header(message, "From").lower() or message.is_multipart():
        return None
    found = ses.reports_in_email(_all_text(message))
    if not found:
        return None
    report, ids = next(((report, ids) for report, ids in found if report.recipient), found[0])
    return Report(**{**report.__dict__, "original_message_id": ids[0] if ids else ""})


# --- RFC 5965 complaints ------------------------------------------------------------------------------


def _feedback_report(message: Message) -> Report | None:
    part = _first_part(message, "message/feedback-report")
    if part is None:
        return _junk_mail_report(message)
    fields = _report_fields(part)[0] if _report_fields(part) else {}
    feedback_type = fields.get("feedback-type", "abuse").strip().lower() or "abuse"
    recipient = _address_in(fields.get("original-rcpt-to", "")) or _address_in(fields.get("removal-recipient", ""))
    if not recipient:
        recipient = _address_in(_original_headers(message).get("To", ""))
    return Report(
        kind=Kind.COMPLAINT,
        reason=Reason.OTHER,
        diagnostic=feedback_type,
        recipient=recipient,
        original_message_id=original_message_id(message),
    )


def _junk_mail_report(message: Message) -> Report | None:
    """Microsoft's JMRP reports (before ARF): the complained message attached, its recipient in a header."""
    if not JMRP_SUBJECT.search(_header(message, "Subject")):
        return None
    original = _original_headers(message)
    recipient = _address_in(_header(original, "X-HmXmrOriginalRecipient")) or _address_in(_header(original, "To"))
    return Report(
        kind=Kind.COMPLAINT, diagnostic="abuse", recipient=recipient, original_message_id=original_message_id(message)
    )


# --- RFC 3464 delivery status notifications -----------------------------------------------------------


def _delivery_status(message: Message) -> Report | None:
    part = _first_part(message, "message/delivery-status")
    blocks = _report_fields(part) if part is not None else _fields_in_body(message)
    if not blocks:
        return None
    recipients = [block for block in blocks[1:] if block] or blocks[:1]
    if not any(block.get("action") or block.get("status") or block.get("final-recipient") for block in recipients):
        return None
    chosen = _chosen_recipient(recipients)
    action = chosen.get("action", "").strip().lower()
    diagnostic = _clean(chosen.get("diagnostic-code", ""))
    status_field = chosen.get("status", "")
    text = _human_text(message)
    recipient = (
        _address_in(chosen.get("original-recipient", ""))
        or _address_in(chosen.get("final-recipient", ""))
        or _address_in(chosen.get("x-actual-recipient", ""))
        or _failed_header(message)
        or _recipient_in_text(_diagnostic_source(text), message)
        or _original_recipient(message, text)
    )
    field_codes = classification.enhanced_codes(status_field)
    if not diagnostic and (not field_codes or field_codes[0].endswith(".0.0")):
        # No Diagnostic-Code and a generic Status: the human-readable part says why.
        diagnostic = _diagnostic_lines(text, recipient)[:1000]
    message_id = original_message_id(message)
    if action in ("delivered", "relayed", "expanded"):
        status = classification.best_status(status_field, diagnostic)
        return Report(Kind.NOT_A_BOUNCE, Reason.OTHER, status, diagnostic, recipient, "", message_id)
    # A ``delayed`` report carries a 4.x.x status and counts as a soft bounce, like any other 4.x.x.
    hint = action != "delayed"
    kind, reason, status = classification.classify(status_field, diagnostic, permanent_hint=hint)
    if kind == Kind.NOT_A_BOUNCE and action == "failed":
        kind = Kind.UNKNOWN
    return Report(kind, reason, status, diagnostic, recipient, "", message_id)


def _chosen_recipient(blocks: list[dict[str, str]]) -> dict[str, str]:
    """The first failed recipient, else the first one with a status."""
    for block in blocks:
        if block.get("action", "").strip().lower() == "failed":
            return block
    for block in blocks:
        if block.get("status"):
            return block
    return blocks[0] if blocks else {}


def _fields_in_body(message: Message) -> list[dict[str, str]]:
    """Delivery-status fields quoted in a body whose MIME structure is broken (a wrong boundary, a bad type)."""
    text = _all_text(message)
    start = DSN_FIELD_START.search(text)
    if start is None or not re.search(r"^Status:\s*[245]\.", text, re.I | re.M):
        return []
    end = ORIGINAL_MARKERS.search(text, start.start())
    section = text[start.start() : end.start() if end else None]
    return (
        [{}] + _fields_from_text(section)
        if not section.lower().startswith("reporting-mta")
        else _fields_from_text(section)
    )


# --- text bounces (qmail, Exim, Exchange, Postfix/Sendmail without a report part) ---------------------


def _looks_like_bounce(message: Message) -> bool:
    sender = _header(message, "From") + " " + _header(message, "Return-Path")
    subject = _header(message, "Subject")
    if any(message.get(name) for name in FAILED_HEADERS):
        return True
    if message.get_content_type() == "multipart/report":
        return True
    if BOUNCE_SUBJECTS.search(subject):
        return True
    from_a_daemon = bool(BOUNCE_SENDERS.search(sender)) or _header(message, "Return-Path").strip() in ("<>", "")
    return from_a_daemon and bool(FAILURE_PHRASES.search(_human_text(message)[:5000]))


def _text_bounce(message: Message) -> Report | None:
    if not _looks_like_bounce(message):
        return None
    text = _human_text(message)
    report_text = ORIGINAL_MARKERS.split(text, maxsplit=1)[0] if text else ""
    report_text = report_text or text
    recipient = (
        _failed_header(message) or _recipient_in_text(report_text, message) or _original_recipient(message, text)
    )
    diagnostic = _diagnostic_lines(report_text, recipient)
    permanent = _permanence(_header(message, "Subject") + "\n" + report_text)
    kind, reason, status = classification.classify("", diagnostic, permanent_hint=permanent)
    if kind == Kind.UNKNOWN:
        kind, reason, status = classification.classify("", report_text[:4000], permanent_hint=permanent)
    return Report(kind, reason, status, diagnostic[:2000], recipient, "", original_message_id(message))


def _permanence(text: str) -> bool | None:
    """What a text report says of itself: given up (True), still trying (False) or nothing (None).

    Gmail and Google Workspace label their reports ``Delivery Status Notification (Failure)`` or ``(Delay)``.
    """
    if "(Failure)" in text:
        return True
    if "(Delay)" in text:
        return False
    transient = bool(TRANSIENT_PHRASES.search(text))
    if PERMANENT_PHRASES.search(text) and not transient:
        return True
    return False if transient else None


def _recipient_in_text(text: str, message: Message) -> str:
    """The failed address in a text report: not the bounce's own sender or addressee."""
    own = {
        _address_in(_header(message, name)).lower() for name in ("From", "To", "Return-Path", "Delivered-To", "Sender")
    }
    own.discard("")
    for pattern in (RCPT_TO_LINE, ADDRESS_LINE):
        found = pattern.search(text)
        if found:
            return found.group(1)
    for candidate in ADDRESS.findall(text):
        address = candidate.strip(".").lower()
        local = address.partition("@")[0]
        if address in own or local == "mailer-daemon":
            continue
        return candidate.strip(".")
    return ""


def _diagnostic_source(text: str) -> str:
    """The report part of a human-readable text, before the returned message."""
    return ORIGINAL_MARKERS.split(text, maxsplit=1)[0] if text else ""


def _original_recipient(message: Message, text: str) -> str:
    """Last resort: the addressee of the returned message (its headers, or a quoted ``To:`` line)."""
    found = _address_in(_header(_original_headers(message), "To"))
    if found:
        return found
    quoted = QUOTED_TO.search(text)
    return _address_in(quoted.group(1)) if quoted else ""


def _diagnostic_lines(text: str, recipient: str) -> str:
    """The lines that explain the failure: those after the recipient, else those carrying a code."""
    lines = [line.strip() for line in text.splitlines()]
    if recipient:
        for index, line in enumerate(lines):
            if recipient.lower() in line.lower():
                if classification.enhanced_codes(line) or classification.reply_code(line):
                    return _clean(line)  # ``a@b: 550 5.1.1 …`` (OpenSMTPD, Postfix) names its own failure
                block = [line]
                for later in lines[index + 1 : index + 8]:
                    if ADDRESS_LINE.fullmatch(later):
                        break  # the next failed recipient's block
                    block.append(later)
                following = " ".join(part for part in block if part)
                if classification.enhanced_codes(following) or classification.reply_code(following):
                    return _clean(following)
                break
    coded = [line for line in lines if classification.enhanced_codes(line) or classification.reply_code(line)]
    return _clean(" ".join(coded[:4])) if coded else _clean(" ".join(line for line in lines if line)[:2000])


# --- RFC 3834 auto-replies ----------------------------------------------------------------------------


def _auto_reply(message: Message) -> Report | None:
    auto_submitted = _header(message, "Auto-Submitted").strip().lower()
    precedence = _header(message, "Precedence").strip().lower()
    subject = _header(message, "Subject")
    flagged = (
        auto_submitted.startswith("auto-replied")
        or any(message.get(name) for name in AUTO_REPLY_HEADERS)
        or _header(message, "X-Auto-Response-Suppress").strip() != ""
        and bool(AUTO_REPLY_SUBJECTS.search(subject))
        or precedence == "auto_reply"
        or bool(AUTO_REPLY_SUBJECTS.search(subject))
    )
    if not flagged:
        return None
    return Report(kind=Kind.AUTO_REPLY, original_message_id=_header(message, "In-Reply-To").strip())


# --- the message's parts and headers ------------------------------------------------------------------


def _first_part(message: Message, content_type: str) -> Message | None:
    for part in message.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _payload_text(part: Message) -> str:
    """A part's text, decoded from its transfer encoding and charset, whatever its declared type."""
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        if isinstance(inner, list):
            return "\n\n".join(item.as_string() if isinstance(item, Message) else str(item) for item in inner)
        return str(inner or "")
    if not isinstance(payload, bytes):
        return str(payload)
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[:TEXT_LIMIT].decode(charset, errors="replace")
    except LookupError:
        return payload[:TEXT_LIMIT].decode("utf-8", errors="replace")


def _report_fields(part: Message) -> list[dict[str, str]]:
    """The header blocks of a delivery-status or feedback-report body (per-message first, then per recipient).

    ``email`` parses a ``message/delivery-status`` body into a list of header blocks; other parts are
    parsed here from their text (some servers label the part text/plain or break its encoding).
    """
    inner = part.get_payload()
    if isinstance(inner, list) and all(isinstance(item, Message) for item in inner):
        blocks = [
            {key.lower(): _clean(str(value)) for key, value in item.items()}
            for item in inner
            if isinstance(item, Message)
        ]
        if any(blocks):
            return blocks
    return _fields_from_text(_payload_text(part))


def _fields_from_text(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
        elif line[0] in " \t" and last:
            current[last] += " " + line.strip()
        elif ":" in line:
            name, _colon, value = line.partition(":")
            last = name.strip().lower()
            current[last] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _human_text(message: Message) -> str:
    """The human-readable report: the text parts outside any returned message, or the whole body."""
    texts: list[str] = []
    _collect_text(message, texts)
    # A broken MIME structure (a boundary that does not match) leaves no text part: read the body as it is.
    return "\n".join(texts)[:TEXT_LIMIT] if any(text.strip() for text in texts) else _all_text(message)


def _collect_text(part: Message, texts: list[str]) -> None:
    content_type = part.get_content_type()
    if content_type in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
        return
    if part.is_multipart():
        for child in part.get_payload() or []:
            if isinstance(child, Message):
                _collect_text(child, texts)
        return
    if content_type == "text/html" and texts:
        return
    if part.get_content_maintype() == "text" or content_type == "application/octet-stream" and not texts:
        text = _payload_text(part)
        texts.append(re.sub(r"<[^>]+>", " ", text) if content_type == "text/html" else text)


def _original_headers(message: Message) -> Message:
    """The headers of the returned original, from a message/rfc822 or text/rfc822-headers part."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
        if content_type in ("text/rfc822-headers", "message/rfc822-headers"):
            return email.message_from_string(_payload_text(part).lstrip(), policy=email.policy.compat32)
    return Message()


def original_message_id(message: Message) -> str:
    """The Message-ID of the message that bounced: from the returned original's headers, else quoted text."""
    original = _original_headers(message)
    found = _header(original, "Message-ID").strip()
    if found:
        match = re.search(r"<[^>\s]+>", found)
        return match.group(0) if match else found[:255]
    own = _header(message, "Message-ID").strip()
    body = _all_text(message)
    for pattern in (MESSAGE_ID_LINE, SEPARATED_ID_LINE):
        for match in pattern.finditer(body):
            if match.group(1) != own:
                return match.group(1)[:255]
    return ""


def message_ids_in(raw: bytes) -> list[str]:
    """Every ``<…@…>`` token quoted on a Message-ID line anywhere in a raw message, in order."""
    text = raw[:TEXT_LIMIT].decode("utf-8", errors="replace")
    return list(dict.fromkeys(match.group(1) for match in MESSAGE_ID_LINE.finditer(text)))


def _all_text(message: Message) -> str:
    texts = [_payload_text(part) for part in message.walk() if not part.is_multipart()]
    return "\n".join(texts)[:TEXT_LIMIT]


def _failed_header(message: Message) -> str:
    for name in FAILED_HEADERS:
        found = _address_in(_header(message, name))
        if found:
            return found
    return ""


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:  # noqa: BLE001 - a broken encoded-word is read as it stands
        return str(value)


def _address_in(value: str) -> str:
    """The address in ``rfc822; a@b``, ``<a@b>`` or ``Name <a@b>``, or ``""``."""
    match = ADDRESS.search(value.partition(";")[2] if ";" in value else value)
    return match.group(0).strip(".") if match else ""


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", value or "").strip()
