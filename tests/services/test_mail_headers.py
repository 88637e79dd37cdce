"""Headers as receivers read the raw bytes: List-Unsubscribe (RFC 2369/8058), MIME-Version, the Message-ID domain."""

import re

import dkim
import pytest

from tests.factories import make_database
from tests.smtp_server import smtp_server  # noqa: F401
from webapp.email import account_settings, delivery, link_tokens, sending, templates
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.profiles import profiles
from webapp.profiles.events import Origin

LONG_PUBLIC_URL = "https://newsletters.a-rather-long-subdomain.verrijk-example-shop.example.com/mail/links"


@pytest.fixture
def wire(app, smtp_server):  # noqa: F811
    """A real SMTP server, an https PUBLIC_URL long enough that each URL passes 78 characters, a bounce domain."""
    saved = {name: app.config[name] for name in ("SMTP_URL", "PUBLIC_URL", "BOUNCE_DOMAIN")}
    app.config.update(SMTP_URL=smtp_server.url, PUBLIC_URL=LONG_PUBLIC_URL, BOUNCE_DOMAIN="bounces.example.org")
    yield smtp_server
    app.config.update(saved)


@pytest.fixture
def profile(account):
    database = make_database(account)
    return profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))


def send_template(account, profile, sender="Shop <shop@Example.COM>"):
    template = templates.save_template(
        account, TemplateValues(name="News", subject="News", html="<p>Hello</p>", text="Hello", sender=sender)
    )
    message_id = sending.new_message_id(account.id, template.id)
    sending.send_template_email(account.id, template.id, profile.id, message_id=message_id)
    db.session.commit()
    return message_id


def raw_header(data: bytes, name: bytes) -> bytes:
    head = data.split(b"\r\n\r\n", 1)[0]
    match = re.search(rb"^" + name + rb":(.*?)\r\n(?=\S)", head + b"\r\nEnd:", re.M | re.S | re.I)
    assert match, name
    return match.group(1)


def test_list_unsubscribe_goes_out_as_plain_urls_folded_only_at_commas(account, profile, wire):
    message_id = send_template(account, profile)
    data = wire.envelopes[-1].data
    value = raw_header(data, b"List-Unsubscribe")
    assert b"=?" not in value  # never RFC 2047-encoded
    lines = value.split(b"\r\n")
    assert len(lines) == 2 and all(line.startswith(b" <") for line in lines)  # one URL per line, folded after ","
    assert lines[0].endswith(b">,") and lines[1].endswith(b">")
    https, mailto = re.findall(rb"<([^>]+)>", value)
    link = link_tokens.unsubscribe_link(account.id, profile.code, message_id).encode()
    assert https == link and len(https) > 78
    mailbox = link_tokens.address("unsubscribe", account.id, link_tokens.return_key(message_id)).encode()
    assert mailto == b"mailto:" + mailbox + b"?subject=unsubscribe"
    assert raw_header(data, b"List-Unsubscribe-Post") == b" List-Unsubscribe=One-Click"


def test_short_list_unsubscribe_values_stay_on_one_line(app, account, profile, wire):
    app.config.update(PUBLIC_URL="https://v.example", BOUNCE_DOMAIN="")
    send_template(account, profile)
    value = raw_header(wire.envelopes[-1].data, b"List-Unsubscribe")
    assert value.startswith(b" <https://v.example/p/u/") and b"\r\n" not in value


def test_dkim_still_verifies_the_raw_list_unsubscribe(account, profile, wire):
    key = account_settings.generate_dkim_key(account, domain="example.com", selector="s1")
    name, record = account_settings.dkim_dns_record(key)
    send_template(account, profile)
    data = wire.envelopes[-1].data
    assert b"list-unsubscribe" in raw_header(data, b"DKIM-Signature").lower()

    def dns(query, timeout=5):
        return record.encode() if query.decode().rstrip(".") == name.rstrip(".") else None

    assert dkim.verify(data, dnsfunc=dns)
    tampered = data.replace(b"?subject=unsubscribe", b"?subject=unsubscribX")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_a_list_header_with_a_line_break_or_non_ascii_is_refused(account):
    for value in ("<https://x.example/a>\r\nBcc: evil@example.com", "<https://x.example/ü>"):
        with pytest.raises(delivery.MailPermanentError):
            delivery.send_mail(
                account.id, to="a@example.com", subject="S", text="T", headers={"List-Unsubscribe": value}
            )


def test_only_the_top_level_carries_mime_version(account, profile, wire):
    send_template(account, profile)
    data = wire.envelopes[-1].data
    assert data.count(b"MIME-Version:") == 1
    assert data.split(b"\r\n\r\n", 1)[0].count(b"MIME-Version: 1.0") == 1


def test_the_message_id_domain_is_the_senders(account, profile, wire):
    message_id = send_template(account, profile, sender="Shop <news@Shop.Example.NL>")
    assert message_id.endswith("@shop.example.nl>")
    assert wire.messages[-1]["Message-ID"] == message_id
    # Without a sender of its own the template's mail takes the account's default sender.
    account.default_sender = "Acme <hello@acme.example>"
    assert delivery.new_message_id(account.id).endswith("@acme.example>")
