"""Sending email: build the MIME message, sign it (DKIM), deliver it over SMTP or into the catcher, log it.

Delivery goes to the account's own SMTP URL, else ``SMTP_URL``, else the development catcher (``caught_mail``
rows the admin shows). An SMTP URL is ``smtp://[user:password@]host[:port][?starttls=require|never]
[&timeout=30][&verify=0]`` (STARTTLS when the server offers it, unless ``never``; ``require`` refuses to send
in the clear) or ``smtps://…`` (TLS from the first byte, port 465). ``verify=0`` accepts any certificate:
only for a test server.

Every message of an account is logged as a ``SentMessage`` (Message-ID, return key, profile, template) so
bounces map back, and counts against the account's send rate (a token bucket in Redis; a sender waits up to
``send_rate``). Log rows (``SentMessage``, ``CaughtMail``) are added to the caller's transaction, never
committed here: the caller commits them with its own state (a follow-up run marked sent). A separate
transaction would wait forever on rows the caller has locked or not yet committed (a new profile).
Errors: ``MailTemporaryError`` (try again later), ``MailPermanentError`` (don't).
"""

import base64
import email.policy
import functools
import hashlib
import re
import secrets
import smtplib
import ssl
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select

from webapp.email import account_settings, link_tokens, results, send_rate, suppression
from webapp.email.refusals import Refusal
from webapp.extensions import db
from webapp.models import Account, CaughtMail, Profile, SentMessage, utcnow
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned

SMTP_POLICY = email.policy.SMTP
CATEGORIES = ("transactional", "marketing", "confirmation")  # see suppression.ALLOWED_AFTER
DEFAULT_TIMEOUT = 30.0
SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)
LIST_HEADERS = ("list-unsubscribe", "list-unsubscribe-post")
MAX_LIST_HEADER = 2000  # characters: a few URLs, each on a line of its own within SMTP's 998


class MailError(Exception):
    """Base of mail errors; ``str(error)`` is a clear message. ``refusal`` says what the receiving server
    answered when it refused the recipient or the message (``refusals``), else None."""

    def __init__(self, message: str, refusal: Refusal | None = None):
        super().__init__(message)
        self.refusal = refusal


class MailTemporaryError(MailError):
    """SMTP down, a 4xx reply, a timeout, the rate limit: the caller may retry later."""


class MailPermanentError(MailError):
    """A 5xx reply, a bad address: retrying will not help."""


class MailSuppressedError(MailPermanentError):
    """The address is on the account's suppression list for this category of mail (``suppression``)."""


def new_message_id(account_id: int | None = None, sender: str | None = None, *, domain: str = "") -> str:
    """A fresh RFC 5322 Message-ID like ``<20261127070512.3f9a0c1b2d4e5f60@shop.example>``.

    Its domain is the sender's (``sender``, else the account's default sender, else ``MAIL_FROM``): a
    Message-ID in the From domain is what receivers expect of a sender that owns it. A caller making many
    (a mailing's batch) passes the ``domain`` it looked up once (``message_id_domain``).
    """
    return f"<{utcnow():%Y%m%d%H%M%S}.{secrets.token_hex(8)}@{domain or message_id_domain(account_id, sender)}>"


def message_id_domain(account_id: int | None, sender: str | None) -> str:
    for address in (sender, default_sender(account_id), current_app.config["MAIL_FROM"]):
        domain = parseaddr(address or "")[1].rpartition("@")[2].strip().lower()
        if "." in domain and domain.isascii():
            return domain
    return urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"


def send_mail(
    account_id: int | None,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    sender: str | None = None,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    profile_id: int | None = None,
    category: str = "transactional",
    template_id: int | None = None,
    origin_reference: str = "",
    mailing_id: int | None = None,
    connection: "SmtpConnection | None" = None,
    prechecked: "Prechecked | None" = None,
) -> str:
    """Build a message (text + optional html alternative), deliver it now and return its Message-ID.

    ``template_id``, ``origin_reference`` and ``mailing_id`` only go into the sent-message log and the message's
    ``EmailResult`` (the template sender sets them). ``connection`` (``open_connection``): send over it instead
    of a connection of this message's own (a mailing's batch). ``prechecked``: what a mailing's batch has
    checked for all its messages at once (``Prechecked``).
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown mail category {category!r}")
    recipient = checked_address(to)
    if prechecked is None:
        _check_suppression(account_id, recipient, category)
    try:
        settings = account_settings.effective(account_id)
    except ValidationError as error:  # stored settings unreadable (CREDENTIALS_KEY changed)
        raise MailPermanentError(error.message) from None
    message_id = message_id or new_message_id(account_id, sender)
    key = link_tokens.return_key(message_id)
    if category == "marketing":
        headers = _with_list_unsubscribe(account_id, profile_id, message_id, headers or {})
    message = build_message(
        to=to,
        subject=subject,
        text=text,
        html=html,
        sender=sender or default_sender(account_id),
        reply_to=reply_to,
        headers=headers,
        message_id=message_id,
    )
    envelope_from = envelope_sender(account_id, key, str(message["From"]))
    data = message.as_bytes(policy=email.policy.SMTP)
    deliver(
        account_id,
        settings,
        envelope_from=envelope_from,
        recipient=recipient,
        data=data,
        message_id=message_id,
        profile_id=profile_id,
        subject=subject,
        connection=connection,
    )
    if account_id:
        _log_sent(
            account_id=account_id,
            message_id=message_id,
            return_key=key,
            profile_id=profile_id,
            template_id=template_id,
            origin_reference=origin_reference,
            category=category,
            recipient=recipient,
            subject=subject[:500],
            mailing_id=mailing_id,
            prechecked=prechecked,
        )
    return message_id


def deliver(
    account_id: int | None,
    settings: account_settings.Effective,
    *,
    envelope_from: str,
    recipient: str,
    data: bytes,
    message_id: str,
    profile_id: int | None,
    subject: str,
    connection: "SmtpConnection | None" = None,
    allowance: send_rate.Allowance | None = None,
) -> None:
    """Sign a built message (DKIM), take a send-rate token (from ``allowance`` when given) and send it (or
    catch it): ``send_mail`` after building, and a mailing's batch, which builds its messages from a skeleton
    (``mass_mail``) and logs them itself. Writes no log row."""
    if settings.dkim is not None:
        data = sign_dkim(data, settings.dkim)
    try:
        if allowance is not None:
            allowance.take(settings.rate_per_minute)
        else:
            send_rate.take(account_id, settings.rate_per_minute)
    except send_rate.RateError as error:
        raise MailTemporaryError(str(error)) from None
    if not settings.smtp_url:
        _catch(account_id, message_id, envelope_from, recipient, subject, data)
        return
    try:
        if connection is not None:
            connection.send(envelope_from, recipient, data)
        else:
            smtp_send(settings.smtp_url, envelope_from, recipient, data, guarded=settings.guarded)
    except MailError as error:
        if error.refusal is not None:  # name the message, so the refusal counts as its bounce
            error.refusal = replace(error.refusal, account_id=account_id, profile_id=profile_id, message_id=message_id)
        raise


def envelope_sender(account_id: int | None, key: str, sender: str) -> str:
    """The SMTP envelope's sender: the message's VERP bounce address, else the From address."""
    return (link_tokens.address("bounce", account_id, key) if account_id else None) or parseaddr(sender)[1]


@dataclass(frozen=True)
class Prechecked:
    """What the caller of ``send_mail`` checked itself, for a batch of messages (a mailing's): the suppression
    list (``suppression.blocking_reasons``, one query for the batch), that the Message-ID is a new one (never
    logged: no lookup before the log row) and the profile's database (for its ``EmailResult``)."""

    database_id: int | None


def _check_suppression(account_id: int | None, recipient: str, category: str) -> None:
    reason = suppression.blocking_reason(account_id, recipient, category) if account_id else None
    if reason is not None:
        raise MailSuppressedError(
            f"{recipient} is on the suppression list ({reason}): {category} mail is not sent to it."
        )


def _with_list_unsubscribe(account_id, profile_id, message_id, headers: dict[str, str]) -> dict[str, str]:
    """Marketing mail always carries List-Unsubscribe (and one-click); made here when the caller did not."""
    if any(name.lower() == "list-unsubscribe" for name in headers):
        return headers
    profile = db.session.get(Profile, profile_id) if profile_id else None
    if profile is None or profile.account_id != account_id:
        raise MailPermanentError("Marketing mail needs the profile it goes to (for its unsubscribe link).")
    return headers | link_tokens.list_unsubscribe_headers(account_id, profile.code, message_id)


def checked_address(to: str) -> str:
    address = parseaddr(to)[1]
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise MailPermanentError(f"Invalid recipient address {to!r}: {error}") from None


def default_sender(account_id: int | None) -> str:
    account = db.session.get(Account, account_id) if account_id else None
    return (account.default_sender if account is not None else "") or current_app.config["MAIL_FROM"]


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    sender: str,
    reply_to: str | None,
    headers: dict[str, str] | None,
    message_id: str,
    date: str | None = None,
) -> EmailMessage:
    """The MIME message: text/plain, with a text/html alternative when ``html`` is given (``date``: now)."""
    message = EmailMessage(policy=email.policy.SMTP)
    try:
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = date or formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = message_id
        if reply_to:
            message["Reply-To"] = reply_to
        for name, value in (headers or {}).items():
            message[name] = ListHeader(name, value) if name.lower() in LIST_HEADERS else value
    except (ValueError, IndexError) as error:
        raise MailPermanentError(f"Invalid message header: {error}") from None
    message.set_content(text or "")
    if html:
        message.add_alternative(html, subtype="html")
        for part in message.iter_parts():
            del part["MIME-Version"]  # only the top level carries it (RFC 2045 §4)
    return message


class ListHeader(str):
    """A ``List-*`` header (RFC 2369, 8058) written as is, folded only after the commas between its URLs.

    Python's email package folds an unstructured header by RFC 2047-encoding a word longer than a line (a
    long URL), and ``=?utf-8?q?=3Chttps…?=`` is no URL to Gmail or Yahoo, which read the raw header. The
    policy asks a header object with a ``name`` and a ``fold`` to fold itself; this one keeps every
    ``<URL>`` whole (a line may then pass 78 characters, as RFC 5322 allows up to 998).
    """

    name: str

    def __new__(cls, name: str, value: str) -> "ListHeader":
        if not value.isascii() or "\r" in value or "\n" in value:
            raise ValueError(f"{name} must be ASCII on one line (URLs are percent-encoded)")
        if len(value) > MAX_LIST_HEADER:
            raise ValueError(f"{name} is too long")
        header = super().__new__(cls, value)
        header.name = name
        return header

    def fold(self, *, policy) -> str:
        items = re.split(r"(?<=>)\s*,\s*", self.strip())
        lines = [f"{self.name}:"]
        for index, item in enumerate(items):
            item += "," if index < len(items) - 1 else ""
            if index and len(lines[-1]) + 1 + len(item) > policy.max_line_length:
                lines.append("")
            lines[-1] += f" {item}"
        return policy.linesep.join(lines) + policy.linesep


def sign_dkim(data: bytes, key: account_settings.Dkim) -> bytes:
    """Prepend a DKIM-Signature (relaxed/relaxed, rsa-sha256) for the account's domain and selector.

    dkimpy parses and canonicalises; the RSA signature itself is OpenSSL's (``cryptography``): dkimpy's own
    is Python's big-integer ``pow``, tens of milliseconds a message (``_OpenSslDkim``)."""
    headers = [name for name in SIGNED_HEADERS if _has_header(data, name)]
    dkim.parse_pem_private_key = _parsed_pem  # dkimpy parses the key for every signature (for its own RSA, unused)
    signer = _OpenSslDkim(data, private_key=_rsa_key(key.private_key))
    signature = signer.sign(
        key.selector.encode(),
        key.domain.encode(),
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=headers,
    )
    return signature + data


_parsed_pem = functools.lru_cache(maxsize=64)(dkim.parse_pem_private_key)


@functools.lru_cache(maxsize=64)
def _rsa_key(pem: bytes) -> rsa.RSAPrivateKey:
    """The account's key loaded once per process (a mailing signs thousands of messages with it).

    Without OpenSSL's consistency check of the key's numbers: that takes about 50 ms, and a worker pays it in
    every job (each runs in a fresh work horse). The check is only safe to skip for a valid key, and this one is:
    ``account_settings`` checked it when it was generated or imported, and only those store it (encrypted)."""
    loaded = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise dkim.KeyFormatError("the DKIM key is not an RSA key")
    return loaded


class _OpenSslDkim(dkim.DKIM):
    """dkimpy's signer with the RSA step done by OpenSSL: the same header hash (``dkim.hash_headers`` over
    the canonicalised headers and the signature header with an empty ``b=``), signed PKCS #1 v1.5 over the
    prehashed SHA-256 digest, which is what dkimpy's ``RSASSA_PKCS1_v1_5_sign`` computes."""

    def __init__(self, message: bytes, *, private_key: rsa.RSAPrivateKey):
        super().__init__(message, signature_algorithm=b"rsa-sha256", linesep=b"\r\n")
        self.openssl_key = private_key

    def gen_header(self, fields, include_headers, canon_policy, header_name, pk, standardize=False):
        header_value = dkim.RE_BTAG.sub(
            b"\\1", dkim.fold(b"; ".join(b"=".join(x) for x in fields), namelen=len(header_name), linesep=b"\r\n")
        )
        hasher = hashlib.sha256()
        headers = canon_policy.canonicalize_headers(self.headers)
        self.signed_headers = dkim.hash_headers(
            hasher, canon_policy, headers, include_headers, (header_name, b" " + header_value), dict(fields)
        )
        signature = self.openssl_key.sign(hasher.digest(), padding.PKCS1v15(), Prehashed(hashes.SHA256()))
        index = [i for i, (name, _value) in enumerate(fields) if name == b"b"][0]
        fields[index] = (b"b", base64.b64encode(signature))
        header_value = b"; ".join(b"=".join(x) for x in fields) + self.linesep
        return dkim.fold(header_value, namelen=len(header_name), linesep=self.linesep)


def _has_header(data: bytes, name: bytes) -> bool:
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    return head.startswith(name + b":") or (b"\r\n" + name + b":") in head


# --- transports -------------------------------------------------------------------------------------------


def smtp_send(url: str, envelope_from: str, recipient: str, data: bytes, *, guarded: bool = False) -> None:
    """One SMTP transaction; SMTP replies and network errors become MailTemporaryError/MailPermanentError.

    ``guarded`` (an account's own URL): connect only to the public address ``smtp_address`` checked, and say
    no more than "cannot connect" whatever went wrong, so the error texts cannot map a network."""
    with SmtpConnection(url, guarded=guarded) as connection:
        connection.send(envelope_from, recipient, data)


class SmtpConnection:
    """An SMTP connection kept open for several messages (a mailing's batch): connects on the first ``send``,
    connects again after the server dropped it, ends with ``close`` (or the ``with`` block)."""

    def __init__(self, url: str, *, guarded: bool = False):
        self.url, self.guarded = url, guarded
        self.parts = urlsplit(url)
        self.options = {name: values[-1] for name, values in parse_qs(self.parts.query).items()}
        self.client: smtplib.SMTP | None = None

    def __enter__(self) -> "SmtpConnection":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def send(self, envelope_from: str, recipient: str, data: bytes) -> None:
        """One SMTP transaction over the open connection; errors as ``smtp_send``'s."""
        if self.client is None:
            self.client = self._connect()
            try:
                self._greet(self.client)
            except BaseException:
                self.close()
                raise
        try:
            _transaction(self.client, envelope_from, recipient, data)
        except MailError as error:
            if error.refusal is None:  # not an answer to RCPT or DATA: the next message gets a new connection
                self.close()
            raise

    def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.options.get("verify") in ("0", "false", "no"):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        parts, guarded = self.parts, self.guarded
        timeout = float(self.options.get("timeout") or DEFAULT_TIMEOUT)
        host = parts.hostname or ""
        client: smtplib.SMTP
        try:
            address = account_settings.smtp_address(self.url) if guarded else host
            if parts.scheme == "smtps":
                client = smtplib.SMTP_SSL(timeout=timeout, context=self._context())
            else:
                client = smtplib.SMTP(timeout=timeout)
            # The name TLS checks the certificate against (the constructor sets it given a host; typeshed lacks it).
            client._host = host  # type: ignore[attr-defined]
            client.connect(address, parts.port or (465 if parts.scheme == "smtps" else 25))
        except (OSError, smtplib.SMTPException, ValidationError) as error:
            current_app.logger.warning("Cannot connect to the SMTP server %s: %s", host, error)
            detail = "." if guarded else f": {error}"
            raise MailTemporaryError(f"Cannot connect to the SMTP server {host}{detail}") from None
        return client

    def _greet(self, client: smtplib.SMTP) -> None:
        parts, options = self.parts, self.options
        starttls = (options.get("starttls") or "auto").lower()
        try:
            client.ehlo()
            if parts.scheme == "smtp" and starttls not in ("never", "0", "false", "no"):
                if client.has_extn("starttls"):
                    client.starttls(context=self._context())
                    client.ehlo()
                elif starttls in ("require", "1", "true", "yes"):
                    raise MailTemporaryError("The SMTP server does not offer STARTTLS, which the SMTP URL requires.")
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
        except smtplib.SMTPResponseException as error:
            raise _reply_error(error.smtp_code, error.smtp_error, "The SMTP server said no") from None
        except smtplib.SMTPNotSupportedError as error:
            raise MailPermanentError(f"The SMTP server does not support this: {error}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise MailTemporaryError(f"The SMTP connection failed: {error}") from None


def _transaction(client: smtplib.SMTP, envelope_from: str, recipient: str, data: bytes) -> None:
    try:
        client.sendmail(envelope_from, [recipient], data)
    except smtplib.SMTPRecipientsRefused as error:
        code, reply = next(iter(error.recipients.values()))
        raise _reply_error(code, reply, f"The SMTP server refused {recipient}", ("rcpt", recipient)) from None
    except smtplib.SMTPDataError as error:
        raise _reply_error(
            error.smtp_code, error.smtp_error, "The SMTP server refused the message", ("data", recipient)
        ) from None
    except smtplib.SMTPResponseException as error:
        raise _reply_error(error.smtp_code, error.smtp_error, "The SMTP server said no") from None
    except smtplib.SMTPNotSupportedError as error:
        raise MailPermanentError(f"The SMTP server does not support this: {error}") from None
    except (OSError, smtplib.SMTPException) as error:
        raise MailTemporaryError(f"The SMTP connection failed: {error}") from None


def open_connection(account_id: int) -> "SmtpConnection | None":
    """A connection to the account's SMTP server for several messages (``send_mail(connection=…)``), or None
    when its mail goes to the development catcher."""
    try:
        settings = account_settings.effective(account_id)
    except ValidationError as error:
        raise MailPermanentError(error.message) from None
    return SmtpConnection(settings.smtp_url, guarded=settings.guarded) if settings.smtp_url else None


def _reply_error(code: int, reply: bytes | str, what: str, refused: tuple[str, str] | None = None) -> MailError:
    """The error for an SMTP reply; ``refused`` (stage, recipient) when it refused the recipient or message."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    kind = MailPermanentError if 500 <= code < 600 else MailTemporaryError
    refusal = Refusal(code, text, refused[0], refused[1]) if refused and code >= 400 else None
    return kind(f"{what}: {code} {text}", refusal)


def _catch(account_id, message_id, envelope_from, recipient, subject, data) -> None:
    _write(
        insert(CaughtMail).values(
            account_id=account_id,
            message_id=message_id,
            sender=envelope_from,
            recipient=recipient,
            subject=subject[:500],
            raw=data,
            created_at=utcnow(),
        )
    )


def caught_messages(account_id: int | None = None) -> list[EmailMessage]:
    """Messages in the development catcher, newest first (all of them when ``account_id`` is None)."""
    query = select(CaughtMail.raw).order_by(CaughtMail.id.desc())
    if account_id is not None:
        query = query.where(CaughtMail.account_id == account_id)
    return [parse(raw) for raw in db.session.scalars(query)]


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


# --- log and rate ---------------------------------------------------------------------------------------


def _log_sent(*, mailing_id: int | None, prechecked: Prechecked | None = None, **values) -> None:
    """The sent-message log row and, in the same transaction, the message's ``EmailResult`` (``results``)."""
    if prechecked is None and db.session.scalar(
        select(SentMessage.id).where(SentMessage.message_id == values["message_id"])
    ):
        return  # sent again under the same Message-ID (an admin resolving an interrupted send)
    moment = utcnow()
    sent_id = db.session.execute(
        insert(SentMessage).values(sent_at=moment, **values).returning(SentMessage.id)
    ).scalar_one()
    results.record_sent(
        account_id=values["account_id"],
        sent_message_id=sent_id,
        profile_id=values["profile_id"],
        template_id=values["template_id"],
        mailing_id=mailing_id,
        category=values["category"],
        sent_at=moment,
        database_id=prechecked.database_id if prechecked is not None else None,
    )


def _write(statement) -> None:
    """Run an insert in the caller's transaction (see the module docstring)."""
    db.session.execute(statement)


# --- the catcher in the admin ---------------------------------------------------------------------------


def list_caught(account_id: int, limit: int = 200) -> list[CaughtMail]:
    """The account's caught messages, newest first (without loading their bodies' parsing)."""
    query = select(CaughtMail).where(CaughtMail.account_id == account_id).order_by(CaughtMail.id.desc())
    return list(db.session.scalars(query.limit(limit)))


def get_caught(account_id: int, caught_id: int) -> CaughtMail:
    return owned(CaughtMail, account_id, caught_id, _("Message not found."))
