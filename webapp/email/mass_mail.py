"""One template sent to many profiles (a mailing's batch): rendered once per variant, filled in per recipient.

``sending.send_template_email`` does for every message what is the same for all of them: parse the rendered
HTML (lxml), rewrite its links, add the footer and the open pixel, derive the text part (inscriptis), build the
MIME message (``delivery.build_message``). ``Variant`` does that once, for a template whose HTML part is plain
substitution (``templates.substitutions``: text and ``{{ profile.X }}``, ``{{ unsubscribe_url }}``,
``{{ database }}``), rendered with a marker per value; per recipient it fills in the escaped values, the signed
click, open and unsubscribe links, and the MIME headers and bodies (``mime_skeleton``). The subject and a text
part of the template's own are rendered per message as before (cheap).

Filling in gives what rendering gives only when the values cannot change the layout around them, so a
recipient takes the fast path only when
- the template's markers sit in text (not in an attribute, a link's label or a tracked link's address), and
  the derived text part lays out the same with markers of two lengths (no column widths of a table);
- every value prints as itself in HTML and text: non-empty, printable, single-spaced, none of ``&<>"'[]()``;
- the filled-in HTML equals the HTML Jinja renders for the profile (checked for every message).
Otherwise that message is built the usual way (``send_template_email``'s own steps). Either way the message
is the same; ``tests/services/test_mass_mail.py`` compares them.
"""

import re
import secrets
from dataclasses import dataclass
from email.utils import formatdate

import lxml.html
from lxml import etree

from webapp.email import account_settings, delivery, link_tokens, send_rate, sending, templates, text_part
from webapp.email.mime_skeleton import MimeSkeleton
from webapp.models import Account, EmailTemplate, Profile
from webapp.profiles.unsubscribe import is_subscribed

_PLAIN_VALUE = re.compile(r"[^&<>\"'\[\]()]+")
_URL = re.compile(r"[A-Za-z0-9:/?=._~%+-]+")


@dataclass(frozen=True)
class Delivered:
    """A message the SMTP server accepted; the caller logs it (sent-message row, result, event)."""

    message_id: str
    return_key: str
    recipient: str
    subject: str


class _Markers:
    """Stand-ins for a message's links while the skeleton is made: markers, and the tracked addresses."""

    def __init__(self, marker):
        self.marker = marker
        self.unsubscribe, self.pixel = marker("unsubscribe_url"), marker("pixel")
        self.clicked: list[str] = []

    def click(self, url: str) -> str:
        self.clicked.append(url)
        return self.marker(f"click{len(self.clicked) - 1}")


class _Content:
    """The HTML part (and, without a text part of the template's own, the derived text) with markers:
    ``x<token>s<index>x``, the index into ``names`` (``profile.X``, ``database``, ``unsubscribe_url``,
    ``pixel``, ``click<n>``)."""

    def __init__(self, account: Account, template: EmailTemplate | templates.TemplateValues, names: list[str]):
        self.token = secrets.token_hex(6)
        self.pattern = re.compile(rf"x{self.token}s(\d+)(?:y{{24}})?x")
        self.substituted = list(dict.fromkeys(names))
        self.names = list(dict.fromkeys([*names, "unsubscribe_url", "pixel"]))
        self.rendered = self._render(template, "")
        self.footer = sending.unsubscribe_footer(account, template)
        links = _Markers(self.marker)
        self.html = sending.finished_html(self.rendered, template, links, self.footer)
        self.clicked = links.clicked  # each has its marker (``click<n>``) in ``names``
        self.text = None if template.text.strip() else self._derived_text(template)

    def marker(self, name: str, padding: str = "") -> str:
        if name not in self.names:
            self.names.append(name)
        return f"x{self.token}s{self.names.index(name)}{padding}x"

    def _render(self, template, padding: str) -> str:
        return templates.render_substituted(
            template.html, {name: self.marker(name, padding) for name in self.substituted}
        )

    def _derived_text(self, template) -> str | None:
        """The text part from the marked HTML, or None when value lengths could move text around (a table)."""
        texts = []
        for padding in ("", "y" * 24):
            derived = text_part.text_of(self._render(template, padding))
            texts.append(sending.with_text_footer(derived, self.footer, self.marker("unsubscribe_url", padding)))
        return texts[0] if texts[1].replace("y" * 24 + "x", "x") == texts[0] else None

    def safe(self) -> bool:
        """Whether the markers of values sit in text only, and no tracked link holds a marker."""
        document = lxml.html.document_fromstring(self.rendered)
        values = [self.marker(name) for name in self.substituted if name != "unsubscribe_url"]
        for element in document.iter():
            if any(value in str(attribute) for attribute in element.attrib.values() for value in values):
                return False
            if element.tag == "a" and any(value in element.text_content() for value in values):
                return False
        return not any(self.pattern.search(url) for url in self.clicked)

    def fill(self, source: str, values: dict[str, str]) -> str:
        return self.pattern.sub(lambda match: values[self.names[int(match.group(1))]], source)

    def plain(self, values: dict[str, str]) -> bool:
        """Whether every value prints as itself (see the module's docstring)."""
        for name in self.names:
            value = values.get(name, "")
            if name in ("unsubscribe_url", "pixel") or name.startswith("click"):
                if not _URL.fullmatch(value):
                    return False
            elif not (_PLAIN_VALUE.fullmatch(value) and value.isprintable() and " ".join(value.split()) == value):
                return False
        return True


class Variant:
    """One template (with a mailing's subject and sender) for the messages of one batch."""

    def __init__(
        self,
        account: Account,
        template_id: int,
        *,
        subject: str = "",
        sender: str = "",
        connection: delivery.SmtpConnection | None = None,
    ):
        self.account, self.template_id, self.connection = account, template_id, connection
        template = templates.with_subject(templates.get_template(account, template_id), subject)
        self.template = template
        self.settings = account_settings.effective(account.id)
        self.allowance = send_rate.Allowance(account.id)
        self.sender = sender or template.sender or delivery.default_sender(account.id)
        self.content = _prepared(account, template)
        self.skeleton = MimeSkeleton(sender=self.sender, reply_to=template.reply_to or None, with_html=True)

    def send(self, profile: Profile, message_id: str) -> Delivered:
        """Render, build, sign and send the message to the profile (its suppression checked by the caller).
        Raises what ``send_template_email`` raises; logs nothing (the caller does)."""
        data, delivered = self.build(profile, message_id)
        delivery.deliver(
            self.account.id,
            self.settings,
            envelope_from=delivery.envelope_sender(self.account.id, delivered.return_key, self.skeleton.sender),
            recipient=delivered.recipient,
            data=data,
            message_id=message_id,
            profile_id=profile.id,
            subject=delivered.subject,
            connection=self.connection,
            allowance=self.allowance,
        )
        return delivered

    def build(self, profile: Profile, message_id: str) -> tuple[bytes, Delivered]:
        """The message's bytes (not signed yet): filled in when it can be, else the per-message way."""
        address = sending.recipient_of(profile)
        if not is_subscribed(profile):
            raise delivery.MailPermanentError("The profile is unsubscribed: marketing email is not sent to it.")
        recipient = delivery.checked_address(address)
        links = sending.Links(self.account.id, profile.code, message_id)
        rendered = templates.render(self.template, profile, unsubscribe_url=links.unsubscribe)
        headers = link_tokens.list_unsubscribe_headers(self.account.id, profile.code, message_id, links.unsubscribe)
        data = self._filled(profile, address, rendered, links, headers)
        if data is None:  # not plain substitution, or a value that needs the whole way round
            html, text = sending.finished_parts(self.account, self.template, rendered, links)
            message = delivery.build_message(
                to=address,
                subject=rendered.subject,
                text=text,
                html=html,
                sender=self.sender,
                reply_to=self.template.reply_to or None,
                headers=headers,
                message_id=message_id,
            )
            data = message.as_bytes(policy=delivery.SMTP_POLICY)
        key = link_tokens.return_key(message_id)
        return data, Delivered(message_id=message_id, return_key=key, recipient=recipient, subject=rendered.subject)

    def _filled(self, profile: Profile, address: str, rendered, links, headers: dict[str, str]) -> bytes | None:
        content = self.content
        if content is None or not rendered.html.strip():
            return None
        values = {f"profile.{name}": str(value) for name, value in templates.profile_values(profile).items()}
        values |= {"database": profile.database.name, "unsubscribe_url": links.unsubscribe, "pixel": links.pixel}
        values |= {f"click{index}": links.click(url) for index, url in enumerate(content.clicked)}
        if not content.plain(values) or content.fill(content.rendered, values) != rendered.html:
            return None
        if rendered.text:
            text = sending.with_text_footer(rendered.text, content.footer, links.unsubscribe)
        elif content.text is not None:
            text = content.fill(content.text, values)
        else:
            return None
        try:
            return self.skeleton.fill(
                to=address,
                subject=rendered.subject,
                date=formatdate(localtime=False, usegmt=True),
                message_id=links.message_id,
                list_unsubscribe=headers["List-Unsubscribe"],
                text=text,
                html=content.fill(content.html, values),
            )
        except (ValueError, IndexError) as error:
            raise delivery.MailPermanentError(f"Invalid message header: {error}") from None


def _prepared(account: Account, template: EmailTemplate | templates.TemplateValues) -> _Content | None:
    """The template's skeleton, or None when its messages are built one by one (not plain substitution, or
    values that could move things around, or HTML the skeleton cannot be made of)."""
    names = templates.substitutions(template.html) if template.html.strip() else None
    if names is None:
        return None
    try:
        content = _Content(account, template, names)
        return content if content.safe() else None
    except (ValueError, LookupError, TypeError, etree.LxmlError):  # the per-message way says what is wrong
        return None
