"""A message's MIME bytes built once for many messages, then filled in per message (a mailing's batch).

``delivery.build_message`` and ``as_bytes`` cost about 1.5 ms a message, most of it the email package parsing
and folding constant headers (From, Reply-To, List-Unsubscribe-Post, MIME-Version, Content-Type) again for
every message. ``MimeSkeleton`` has the email package build one message with a marker in place of every value
that changes per message, cuts its bytes at the markers, and per message writes only those values the way the
email package writes them: each header through the policy's own header factory and ``fold`` (a ``Date`` once
per second), each body through ``email.contentmanager``'s encoding choice (7bit, 8bit, quoted-printable,
base64) and the generator's line endings. The result is the bytes ``build_message`` would give, boundary
aside (one per skeleton, checked absent from each message's bodies); ``tests/services/test_mass_mail.py``
compares both.
"""

import email.contentmanager
import email.policy
import re
import secrets
import sys
from collections.abc import Callable

from webapp.email.delivery import ListHeader, build_message

POLICY = email.policy.SMTP
LINE = POLICY.max_line_length or 78
_NEWLINES = re.compile(r"\r\n|\r|\n")  # as ``email.generator.NLCRE``
HEADER_SLOTS = ("To", "Subject", "Date", "Message-ID", "List-Unsubscribe")
_AS_IS = {  # header values the email package writes unchanged when they fit on a line
    "To": re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"),
    "Message-ID": re.compile(r"<[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+>"),
    "Subject": re.compile(r"[A-Za-z0-9.,:;!?'&%+/-]+( [A-Za-z0-9.,:;!?'&%+/-]+)*"),
    "Date": re.compile(r"(?!)"),  # parsed (and cached per second): its zone is written as +0000
}


class MimeSkeleton:
    """The message of one sender (and Reply-To) with a text part and, when ``with_html``, an HTML alternative."""

    def __init__(self, *, sender: str, reply_to: str | None, with_html: bool):
        token = secrets.token_hex(8)
        marks = {name: f"x{token}s{name.lower().replace('-', '')}x" for name in (*HEADER_SLOTS, "text", "html")}
        marks["Date"] = "Mon, 01 Jan 1973 00:00:00 +0000"  # a Date header must parse (a marker would be dropped)
        message = build_message(
            to=f"{marks['To']}@example.invalid",
            subject=marks["Subject"],
            text=marks["text"],
            html=marks["html"] if with_html else None,
            sender=sender,
            reply_to=reply_to,
            headers={
                "List-Unsubscribe": f"<{marks['List-Unsubscribe']}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            message_id=f"<{marks['Message-ID']}@example.invalid>",
            date=marks["Date"],
        )
        self.sender = str(message["From"])
        if with_html:  # the generator's kind of boundary, chosen once (it would pick one per message)
            message.set_boundary(f"{'=' * 15}{secrets.randbelow(sys.maxsize):019d}==")
        self.boundary = (message.get_boundary() or "").encode()
        data = message.as_bytes(policy=POLICY)
        self.segments = _segments(
            data, {mark.encode(): name for name, mark in marks.items() if with_html or name != "html"}
        )
        self._dates: dict[str, bytes] = {}

    def fill(
        self, *, to: str, subject: str, date: str, message_id: str, list_unsubscribe: str, text: str, html: str | None
    ) -> bytes | None:
        """The message's bytes, or None when a body contains the skeleton's boundary (build it the usual way)."""
        bodies = {"text": _body(text)} | ({"html": _body(html)} if html is not None else {})
        if self.boundary and any(b"--" + self.boundary in payload for _cte, payload in bodies.values()):
            return None
        values: dict[str, bytes] = {
            "To": _folded("To", to),
            "Subject": _folded("Subject", subject),
            "Date": self._date(date),
            "Message-ID": _folded("Message-ID", message_id),
            "List-Unsubscribe": ListHeader("List-Unsubscribe", list_unsubscribe).fold(policy=POLICY).encode(),
        }
        for name, (cte, payload) in bodies.items():
            values[f"{name}:cte"], values[name] = cte, payload
        return b"".join(segment if isinstance(segment, bytes) else values[segment] for segment in self.segments)

    def _date(self, date: str) -> bytes:
        if date not in self._dates:
            self._dates = {date: _folded("Date", date)}  # one second's worth
        return self._dates[date]


def _folded(name: str, value: str) -> bytes:
    """The header as the email package writes it (``message[name] = value``, then the generator). A plain value
    (``_AS_IS``: an address, a Message-ID, a subject of ASCII words, on one line of at most 78 characters) is
    written as it is, which is what the email package does with it, without parsing it (a fifth of a
    millisecond per header)."""
    if len(name) + 2 + len(value) <= LINE and _AS_IS[name].fullmatch(value):
        return f"{name}: {value}\r\n".encode()
    header = POLICY.header_factory(name, value)
    return header.fold(policy=POLICY).encode("ascii", "surrogateescape")


def _body(text: str) -> tuple[bytes, bytes]:
    """(Content-Transfer-Encoding, payload bytes) as ``set_content`` chooses and the generator writes them."""
    encode: Callable = email.contentmanager._encode_text  # type: ignore[attr-defined]  # set_content's own choice
    cte, payload = encode(text or "", "utf-8", None, POLICY)
    lines = _NEWLINES.split(payload)
    written = POLICY.linesep.join(lines[:-1]) + POLICY.linesep + lines[-1] if len(lines) > 1 else lines[0]
    return cte.encode(), written.encode("ascii", "surrogateescape")


def _segments(data: bytes, marks: dict[bytes, str]) -> list[bytes | str]:
    """The skeleton's bytes cut into constant pieces and slots: a header field whole (with its folding), a
    body's Content-Transfer-Encoding value, a body's payload."""
    cuts: list[tuple[int, int, str]] = []
    for mark, name in marks.items():
        at = data.index(mark)
        if name in HEADER_SLOTS:
            cuts.append((_field_start(data, at), _field_end(data, at), name))
        else:
            cte = b"Content-Transfer-Encoding: "
            cte_at = data.rindex(cte + b"7bit\r\n", 0, at) + len(cte)
            cuts.append((cte_at, cte_at + 4, f"{name}:cte"))
            cuts.append((at, at + len(mark) + 2, name))  # the payload and its line end
    segments: list[bytes | str] = []
    position = 0
    for start, end, name in sorted(cuts):
        segments += [data[position:start], name]
        position = end
    segments.append(data[position:])
    return [segment for segment in segments if segment != b""]


def _field_start(data: bytes, at: int) -> int:
    """Where the header field holding ``at`` begins (after the line end before its name)."""
    start = data.rfind(b"\r\n", 0, at) + 2 if data.rfind(b"\r\n", 0, at) >= 0 else 0
    while start > 0 and data[start : start + 1] in (b" ", b"\t"):  # a continuation line: go back
        start = data.rfind(b"\r\n", 0, start - 2) + 2 if data.rfind(b"\r\n", 0, start - 2) >= 0 else 0
    return start


def _field_end(data: bytes, at: int) -> int:
    """Where the header field holding ``at`` ends (after its last line end, continuation lines included)."""
    end = data.index(b"\r\n", at) + 2
    while data[end : end + 1] in (b" ", b"\t"):
        end = data.index(b"\r\n", end) + 2
    return end
