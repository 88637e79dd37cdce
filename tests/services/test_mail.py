"""Sending mail: the development catcher, a real SMTP server (aiosmtpd), errors, DKIM, the send rate."""

import dkim
import pytest
from sqlalchemy import select

from tests.factories import make_account
from tests.smtp_server import SmtpServer, smtp_server  # noqa: F401
from webapp.email import account_settings, delivery, link_tokens
from webapp.extensions import db
from webapp.models import CaughtMail, SentMessage
from webapp.platform.errors import ValidationError


@pytest.fixture
def smtp_url(app):
    """Point the app at a URL for one test (the catcher again afterwards)."""

    def use(url: str) -> None:
        app.config["SMTP_URL"] = url

    yield use
    app.config["SMTP_URL"] = ""


@pytest.fixture
def bounce_domain(app):
    app.config["BOUNCE_DOMAIN"] = "bounces.example.org"
    yield "bounces.example.org"
    app.config["BOUNCE_DOMAIN"] = ""


def send(account_id, **overrides):
    values = {"to": "Ann <ann@example.com>", "subject": "Hello", "text": "Plain body", "html": "<p>HTML body</p>"}
    return delivery.send_mail(account_id, **(values | overrides))


def test_message_ids_are_unique_and_well_formed(ctx):
    first, second = delivery.new_message_id(), delivery.new_message_id(1)
    assert first != second
    assert first.startswith("<") and first.endswith("@verrijk.test>")


def test_the_catcher_keeps_messages_per_account_newest_first(account):
    other = make_account("Other")
    first = send(account.id, subject="First")
    second = send(account.id, subject="Second", sender="Shop <shop@example.com>", reply_to="help@example.com")
    send(other.id, subject="Elsewhere")
    caught = delivery.caught_messages(account.id)
    assert [m["Subject"] for m in caught] == ["Second", "First"]
    assert [m["Message-ID"] for m in caught] == [second, first]
    newest = caught[0]
    assert newest["From"] == "Shop <shop@example.com>" and newest["Reply-To"] == "help@example.com"
    assert newest.get_body(("plain",)).get_content().strip() == "Plain body"
    assert newest.get_body(("html",)).get_content().strip() == "<p>HTML body</p>"
    assert len(delivery.caught_messages()) == 3
    assert [m["Subject"] for m in delivery.caught_messages(other.id)] == ["Elsewhere"]


def test_the_sender_defaults_to_the_account_then_mail_from(account):
    send(None)
    account.default_sender = "Acme <news@acme.example>"
    db.session.commit()
    send(account.id)
    assert [m["From"] for m in delivery.caught_messages()] == [
        "Acme <news@acme.example>",
        "Verrijk <noreply@localhost>",
    ]


def test_sending_does_not_commit_the_callers_transaction(account):
    account.name = "Renamed"
    send(account.id)
    assert len(delivery.caught_messages(account.id)) == 1
    db.session.rollback()
    assert db.session.get(type(account), account.id).name == "Acme"
    assert delivery.caught_messages(account.id) == []  # the log goes with the caller's transaction


def test_every_message_of_an_account_is_logged_with_its_return_key(account):
    message_id = send(account.id, profile_id=None, message_id="<fixed.1@verrijk.test>")
    assert message_id == "<fixed.1@verrijk.test>"
    logged = db.session.scalar(select(SentMessage))
    assert (logged.account_id, logged.message_id, logged.category) == (account.id, message_id, "transactional")
    assert logged.return_key == link_tokens.return_key(message_id)
    assert logged.recipient == "ann@example.com"


def test_a_bad_recipient_is_a_permanent_error(account):
    with pytest.raises(delivery.MailPermanentError, match="recipient"):
        send(account.id, to="not an address")
    assert delivery.caught_messages() == []


def test_a_header_with_a_line_break_is_refused(account):
    with pytest.raises(delivery.MailPermanentError, match="header"):
        send(account.id, subject="Hi\r\nBcc: victim@example.com")


def test_smtp_delivery_uses_the_vERP_return_path(account, smtp_server, smtp_url, bounce_domain):  # noqa: F811
    smtp_url(smtp_server.url)
    message_id = send(account.id)
    [received] = smtp_server.wait_for(1)
    assert received["Message-ID"] == message_id
    envelope = smtp_server.envelopes[0]
    assert envelope.rcpt_tos == ["ann@example.com"]
    assert envelope.mail_from.startswith("bounce+") and envelope.mail_from.endswith("@" + bounce_domain)
    prefix, account_id, key = link_tokens.parse_address(envelope.mail_from)
    assert (prefix, account_id, key) == ("bounce", account.id, link_tokens.return_key(message_id))
    assert len(envelope.mail_from.partition("@")[0]) <= 64
    assert delivery.caught_messages() == []


def test_a_forged_return_path_is_not_ours(ctx, bounce_domain):
    address = link_tokens.address("bounce", 1, "abcdefghijklmnop")
    assert link_tokens.parse_address(address) == ("bounce", 1, "abcdefghijklmnop")
    assert link_tokens.parse_address(address.upper()) == ("bounce", 1, "abcdefghijklmnop")
    assert link_tokens.parse_address(address.replace("+1.", "+2.")) is None
    assert link_tokens.parse_address("bounce+1.x@" + bounce_domain) is None
    assert link_tokens.parse_address("someone@example.com") is None


def test_without_a_bounce_domain_the_sender_is_the_return_path(account, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url)
    send(account.id, sender="shop@example.com")
    smtp_server.wait_for(1)
    assert smtp_server.envelopes[0].mail_from == "shop@example.com"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_with_authentication(account, smtp_url):
    server = SmtpServer(username="mailer", password="s3cret").start()
    try:
        smtp_url(server.url)
        send(account.id)
        assert server.wait_for(1)[0]["Subject"] == "Hello"
        smtp_url(server.url.replace("s3cret", "wrong"))
        with pytest.raises(delivery.MailPermanentError, match="535"):
            send(account.id)
    finally:
        server.stop()


def test_smtp_with_starttls_and_authentication(account, smtp_url, tmp_path):
    server = SmtpServer(username="mailer", password="s3cret", starttls=True, cert_dir=tmp_path).start()
    try:
        smtp_url(server.url)
        send(account.id)
        assert server.wait_for(1)[0]["Subject"] == "Hello"
        smtp_url(server.url.replace("&verify=0", ""))  # a self-signed certificate is refused when verifying
        with pytest.raises(delivery.MailTemporaryError, match="certificate"):
            send(account.id)
    finally:
        server.stop()


def test_starttls_required_but_not_offered_is_refused(account, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url + "?starttls=require")
    with pytest.raises(delivery.MailTemporaryError, match="STARTTLS"):
        send(account.id)
    assert smtp_server.envelopes == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("451 4.3.0 try again later", delivery.MailTemporaryError),
        ("550 5.1.1 no such user", delivery.MailPermanentError),
    ],
)
def test_smtp_replies_map_to_temporary_and_permanent_errors(account, smtp_server, smtp_url, reply, error):  # noqa: F811
    smtp_url(smtp_server.url)
    smtp_server.replies = [reply]
    with pytest.raises(error, match=reply.split()[0]):
        send(account.id)
    assert db.session.scalar(select(SentMessage)) is None


def test_a_refused_message_body_is_an_error_too(account, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url)
    smtp_server.replies = [None, "554 5.7.1 rejected as spam"]
    with pytest.raises(delivery.MailPermanentError, match="554"):
        send(account.id)


def test_smtp_down_is_temporary_then_back(account, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url)
    smtp_server.stop()
    with pytest.raises(delivery.MailTemporaryError, match="connect"):
        send(account.id)
    smtp_server.start()
    send(account.id)
    assert len(smtp_server.wait_for(1)) == 1


def test_an_accounts_own_smtp_server_overrides_the_default(account, smtp_server):  # noqa: F811
    other = make_account("Other")
    account_settings.update_settings(account, smtp_url=smtp_server.url, rate_per_minute=None)
    send(account.id)
    send(other.id)
    assert len(smtp_server.wait_for(1)) == 1
    assert [m["To"] for m in delivery.caught_messages()] == ["Ann <ann@example.com>"]
    stored = db.session.get(type(account_settings.settings_of(account)), account.id).smtp_url
    assert "127.0.0.1" not in stored  # encrypted at rest


def test_the_smtp_url_is_validated_and_masked(account):
    with pytest.raises(ValidationError, match="smtp://"):
        account_settings.update_settings(account, smtp_url="http://mail.example.com", rate_per_minute=None)
    with pytest.raises(ValidationError):
        account_settings.update_settings(account, smtp_url="smtp://mail.example.com:99999", rate_per_minute=None)
    account_settings.update_settings(account, smtp_url="smtp://u%40x:p4ss@mail.example.com:587", rate_per_minute=None)
    assert account_settings.masked_smtp_url(account) == "smtp://u%40x:••••••@mail.example.com:587"
    account_settings.update_settings(account, smtp_url=None, rate_per_minute=30)
    assert account_settings.masked_smtp_url(account) == "smtp://u%40x:••••••@mail.example.com:587"
    account_settings.update_settings(account, smtp_url="", rate_per_minute=None)
    assert account_settings.masked_smtp_url(account) == ""


def test_dkim_signature_verifies_against_the_published_key(account, smtp_server, smtp_url):  # noqa: F811
    settings = account_settings.generate_dkim_key(account, domain="Acme.Example.", selector="verrijk1")
    name, record = account_settings.dkim_dns_record(settings)
    assert name == "verrijk1._domainkey.acme.example"
    assert record.startswith("v=DKIM1; k=rsa; p=")
    smtp_url(smtp_server.url)
    send(account.id, headers={"List-Unsubscribe": "<https://verrijk.test/p/u/x>"})
    smtp_server.wait_for(1)
    data = smtp_server.envelopes[0].data
    assert data.startswith(b"DKIM-Signature:")
    assert b"d=acme.example" in data and b"s=verrijk1" in data

    def dns(query_name, timeout=5):
        assert query_name == (name + ".").encode()
        return record.encode()

    assert dkim.verify(data, dnsfunc=dns)
    tampered = data.replace(b"Plain body", b"Other body")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_dkim_settings_are_validated(account):
    with pytest.raises(ValidationError) as error:
        account_settings.generate_dkim_key(account, domain="not a domain", selector="bad selector!")
    assert set(error.value.errors) == {"dkim_domain", "dkim_selector"}


def test_without_a_dkim_key_nothing_is_signed(account):
    send(account.id)
    raw = db.session.scalar(select(CaughtMail.raw))
    assert b"DKIM-Signature" not in raw


def test_the_send_rate_is_enforced_per_account(account, app):
    other = make_account("Other")
    account_settings.update_settings(account, smtp_url=None, rate_per_minute=6)  # a burst of 1, then one per 10 s
    send(account.id)
    with pytest.raises(delivery.MailTemporaryError, match="rate"):
        send(account.id)
    send(other.id)  # another account has its own bucket
    assert len(delivery.caught_messages(account.id)) == 1


def test_settings_unreadable_after_a_key_change_are_a_clear_permanent_error(account, app, monkeypatch):
    account_settings.update_settings(account, smtp_url="smtp://u:p@mail.example.com", rate_per_minute=None)
    monkeypatch.setitem(app.config, "CREDENTIALS_KEY", "another key")
    with pytest.raises(delivery.MailPermanentError, match="CREDENTIALS_KEY"):
        send(account.id)
    assert "CREDENTIALS_KEY" in account_settings.masked_smtp_url(account)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://127.0.0.1:2525",
        "smtp://[::1]:25",
        "smtps://169.254.169.254:25",
        "smtp://localhost:5432",
        "smtp://10.1.2.3",
        "smtp://[::ffff:127.0.0.1]:25",
        "smtp://0.0.0.0:25",
    ],
)
def test_an_smtp_url_into_our_own_network_is_refused_when_saved(account, app, monkeypatch, url):
    """SSRF: the account's SMTP URL gets the outbound URL guard of callbacks and imports."""
    monkeypatch.setitem(app.config, "ALLOW_PRIVATE_URLS", False)
    with pytest.raises(ValidationError) as refused:
        account_settings.update_settings(account, smtp_url=url, rate_per_minute=None)
    assert set(refused.value.errors) == {"smtp_url"} and "private or reserved" in refused.value.errors["smtp_url"]
    assert account_settings.masked_smtp_url(account) == ""


def test_an_accounts_smtp_server_is_checked_again_at_connect_time_with_one_generic_error(
    account,
    app,
    monkeypatch,
    smtp_server,  # noqa: F811
):
    """A URL saved while it pointed outside (DNS changes) is checked again before connecting, and the error is
    the same whether something listens there or not: no port scanning through the send errors."""
    closed = smtp_server.url.rsplit(":", 1)[0] + ":1"
    errors = []
    for url in (smtp_server.url, closed):
        account_settings.update_settings(account, smtp_url=url, rate_per_minute=None)
        monkeypatch.setitem(app.config, "ALLOW_PRIVATE_URLS", False)
        with pytest.raises(delivery.MailTemporaryError) as failed:
            send(account.id)
        errors.append(str(failed.value))
        monkeypatch.setitem(app.config, "ALLOW_PRIVATE_URLS", True)
    assert errors[0] == errors[1] == "Cannot connect to the SMTP server 127.0.0.1."
    assert smtp_server.messages == []
    db.session.rollback()
    assert db.session.scalar(select(SentMessage.id)) is None
