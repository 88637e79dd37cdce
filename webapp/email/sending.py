"""Sending a template to a profile: personalise, track, add the unsubscribe footer and headers, send, journal.

Every such email is marketing mail: it carries ``List-Unsubscribe`` (the signed unsubscribe page and, with
BOUNCE_DOMAIN, a mailto address) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058), an
unsubscribe link in its footer (unless the template places ``{{ unsubscribe_url }}`` itself), a VERP return
path and a DKIM signature when the account has a key (both in ``mail``). Links become signed click redirects
and an open pixel is added, each when the template tracks them. The message is logged (``SentMessage``) and
an ``email_sent`` event is journalled in the caller's transaction; the caller commits.
"""

import functools
from dataclasses import dataclass

import lxml.html
from flask_babel import force_locale
from flask_babel import gettext as _
from lxml import etree

from webapp.email import delivery, link_tokens, templates, text_part
from webapp.extensions import db
from webapp.models import Account, EmailTemplate, Profile, Subprofile
from webapp.platform.errors import NotFound
from webapp.profiles import events
from webapp.profiles.events import Origin
from webapp.profiles.profiles import get_profile
from webapp.profiles.unsubscribe import is_subscribed


@dataclass(frozen=True)
class Links:
    """Signs the links of one message to one profile."""

    account_id: int
    profile_code: str
    message_id: str

    def values(self) -> dict:
        return {"a": self.account_id, "p": self.profile_code, "m": self.message_id}

    @functools.cached_property
    def unsubscribe(self) -> str:  # signed once per message: the footer, the template and the headers use it
        return link_tokens.unsubscribe_link(self.account_id, self.profile_code, self.message_id)

    @property
    def pixel(self) -> str:
        return link_tokens.link("open", **self.values())

    def click(self, url: str) -> str:
        return link_tokens.link("click", **self.values(), u=url)


def send_template_email(
    account_id: int,
    template_id: int,
    profile_id: int,
    *,
    message_id: str,
    origin_reference: str = "",
    subprofile_id: int | None = None,
    source: str = "follow-up",
    subject: str = "",
    sender: str = "",
    mailing_id: int | None = None,
    connection: delivery.SmtpConnection | None = None,
    prechecked: bool = False,
) -> str:
    """Render ``template_id`` for the profile, send it as marketing mail and journal ``email_sent``.

    ``subject`` and ``sender`` (a mailing's) replace the template's when given; ``mailing_id`` and
    ``connection`` go to ``delivery.send_mail``; ``prechecked``: a mailing's batch checked the suppression
    list for its messages and the Message-ID is new (``delivery.Prechecked``). Raises
    ``delivery.MailTemporaryError``/``MailPermanentError`` (no address, unsubscribed, refused) and
    ``errors.NotFound``/``errors.ValidationError`` (a missing or broken template). Returns the Message-ID.
    """
    account = db.session.get(Account, account_id)
    if account is None:
        raise NotFound()
    template = templates.with_subject(templates.get_template(account, template_id), subject)
    profile = get_profile(account, profile_id)
    subprofile = _subprofile(account, profile, subprofile_id)
    recipient = recipient_of(profile)
    if not is_subscribed(profile):
        raise delivery.MailPermanentError("The profile is unsubscribed: marketing email is not sent to it.")
    links = Links(account.id, profile.code, message_id)
    rendered = templates.render(template, profile, subprofile=subprofile, unsubscribe_url=links.unsubscribe)
    html, text = finished_parts(account, template, rendered, links)
    delivery.send_mail(
        account.id,
        to=recipient,
        subject=rendered.subject,
        text=text,
        html=html,
        sender=sender or template.sender or None,
        reply_to=template.reply_to or None,
        headers=link_tokens.list_unsubscribe_headers(account.id, profile.code, message_id, links.unsubscribe),
        message_id=message_id,
        profile_id=profile.id,
        category="marketing",
        template_id=template_id,
        origin_reference=origin_reference,
        mailing_id=mailing_id,
        connection=connection,
        prechecked=delivery.Prechecked(profile.database_id) if prechecked else None,
    )
    changes = {"message_id": message_id, "template_id": template_id, "subject": rendered.subject}
    events.record("email_sent", Origin(source, reference=origin_reference[:100]), profile=profile, changes=changes)
    return message_id


def render_test(
    account: Account, template_id: int, profile_id: int, *, subject: str = ""
) -> tuple[str, str | None, str]:
    """(subject, html, text) of the template for a profile, as its message would be, for a test send to other
    addresses: links are left as written (a test click must count nowhere) and the unsubscribe link is inert."""
    template = templates.get_template(account, template_id)
    profile = get_profile(account, profile_id)
    rendered = templates.render(template, profile, unsubscribe_url="#")
    if subject:
        rendered = templates.render(
            templates.TemplateValues(name=template.name, subject=subject, html=template.html, text=template.text),
            profile,
            unsubscribe_url="#",
        )
    text = rendered.text or text_part.text_of(rendered.html)
    return rendered.subject, (rendered.html or None), text


def new_message_id(account_id: int, template_id: int | None) -> str:
    """A Message-ID for sending ``template_id`` later, in the domain of the sender it will have."""
    return delivery.new_message_id(domain=message_id_domain(account_id, template_id))


def message_id_domain(account_id: int, template_id: int | None) -> str:
    """The domain of the Message-IDs of messages from ``template_id``: its sender's (``delivery``)."""
    template = db.session.get(EmailTemplate, template_id) if template_id else None
    sender = template.sender if template is not None and template.account_id == account_id else None
    return delivery.message_id_domain(account_id, sender or None)


def recipient_of(profile: Profile) -> str:
    """The profile's address: the first email field (in field order) with a value."""
    for field in profile.database.fields:
        value = profile.fields.get(str(field.id))
        if field.type == "email" and value:
            return str(value)
    raise delivery.MailPermanentError("The profile has no email address.")


def _subprofile(account: Account, profile: Profile, subprofile_id: int | None) -> Subprofile | None:
    if subprofile_id is None:
        return None
    subprofile = db.session.get(Subprofile, subprofile_id)
    if subprofile is None or subprofile.account_id != account.id or subprofile.profile_id != profile.id:
        return None  # removed since (the template's subprofile values are then empty)
    return subprofile


def finished_parts(
    account: Account, template: EmailTemplate | templates.TemplateValues, rendered, links: Links
) -> tuple[str | None, str]:
    footer = unsubscribe_footer(account, template)
    text = with_text_footer(rendered.text or text_part.text_of(rendered.html), footer, links.unsubscribe)
    if not rendered.html.strip():
        return None, text
    return finished_html(rendered.html, template, links, footer), text


def unsubscribe_footer(account: Account, template: EmailTemplate | templates.TemplateValues) -> str | None:
    """The footer link's text, or None when the template places ``{{ unsubscribe_url }}`` itself."""
    if "unsubscribe_url" in (template.html + template.text):
        return None
    with force_locale(account.language or "en"):
        return _("Unsubscribe")


def with_text_footer(text: str, footer: str | None, unsubscribe: str) -> str:
    return f"{text.rstrip()}\n\n-- \n{footer}: {unsubscribe}\n" if footer else text


def finished_html(html: str, template: EmailTemplate | templates.TemplateValues, links, footer: str | None) -> str:
    """The rendered HTML with its links made click redirects, the unsubscribe footer and the open pixel
    (``links``: a ``Links``, or anything with its ``click``, ``unsubscribe`` and ``pixel``)."""
    document = lxml.html.document_fromstring(html)
    if template.track_clicks:
        for anchor in document.iter("a"):
            href = (anchor.get("href") or "").strip()
            if link_tokens.is_trackable(href):
                anchor.set("href", links.click(href))
    body = document.find("body")
    if body is None:
        body = etree.SubElement(document, "body")
    if footer:
        paragraph = etree.SubElement(body, "p")
        anchor = etree.SubElement(paragraph, "a", href=links.unsubscribe)
        anchor.text = footer
    if template.track_opens:
        etree.SubElement(body, "img", src=links.pixel, width="1", height="1", alt="")
    return lxml.html.tostring(document, doctype="<!DOCTYPE html>", encoding="unicode")
