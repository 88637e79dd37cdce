"""Copernica-style callbacks, checked the way a receiver written for Copernica checks them.

The receiver is real: an HTTP server records the call; the public key is looked up in DNS (a real DNS server,
dnslib, answering the account's DKIM TXT record) under the Signature's ``keyId``, as Copernica documents for
its own key; the HTTP Signature (draft-cavage, what Copernica uses) is verified with ``httpsig``, a library
nobody here wrote; the Digest is recomputed from the body.
"""

import base64
import hashlib
import socket
import textwrap
from calendar import timegm
from datetime import datetime
from urllib.parse import parse_qs

import dns.resolver
import pytest
from dnslib import QTYPE, RR, TXT
from dnslib.server import BaseResolver, DNSServer
from httpsig.utils import parse_signature_header
from httpsig.verify import HeaderVerifier
from sqlalchemy import select

from tests.callback_receiver import Receiver
from tests.factories import make_database
from tests.workers import run_burst_worker
from webapp.callbacks import definitions
from webapp.callbacks import deliveries as callback_deliveries
from webapp.email import account_settings
from webapp.extensions import db
from webapp.models import CallbackDelivery, MailSettings
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin

REQUIRED = ["(request-target)", "host", "date", "content-length", "content-type", "x-copernica-id", "digest", "x-nonce"]


class _Records(BaseResolver):
    def __init__(self, records: dict[str, str]):
        self.records = records

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        if request.q.qtype == QTYPE.TXT and name in self.records:
            value = self.records[name]
            chunks = [value[i : i + 255] for i in range(0, len(value), 255)]  # TXT strings hold 255 octets
            reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
        return reply


@pytest.fixture
def dns_server():
    """A real DNS server on 127.0.0.1 serving the TXT records put in ``.records``; yields (records, resolver)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    records: dict[str, str] = {}
    server = DNSServer(_Records(records), port=port, address="127.0.0.1")
    server.start_thread()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], port
    yield records, resolver
    server.stop()
    server.server.server_close()  # dnslib's stop leaves the socket open


@pytest.fixture
def receiver(app):
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def database(account):
    database = make_database(account, fields={"Email": "email", "City": "text", "Age": "number"})
    databases.create_interest(account, database.id, "Newsletter")
    databases.create_interest(account, database.id, "Offers")
    return database


@pytest.fixture
def published_key(account, dns_server):
    """The account's DKIM key, its TXT record published in the test DNS."""
    account_settings.generate_dkim_key(account, domain="shop.example", selector="hooks1")
    name, value = account_settings.dkim_dns_record(db.session.get(MailSettings, account.id))
    records, resolver = dns_server
    records[name] = value
    return resolver


def deliver() -> None:
    work.dispatch_due()
    run_burst_worker()
    db.session.expire_all()


def public_key_from_dns(resolver, key_id: str) -> str:
    """What Copernica's receivers do: the TXT record at keyId, its ``p=`` tag as a PEM public key."""
    answer = resolver.resolve(key_id, "TXT")
    record = b"".join(answer[0].strings).decode()
    tags = dict(part.strip().split("=", 1) for part in record.split(";") if "=" in part)
    body = "\n".join(textwrap.wrap(tags["p"], 64))
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"


def verified(request, resolver) -> bool:
    """The receiver's checks: Signature (httpsig) with the key from DNS, then the Digest of the body."""
    key_id = parse_signature_header(request.headers["signature"])["keyId"]
    verifier = HeaderVerifier(
        request.headers,
        public_key_from_dns(resolver, key_id),
        required_headers=REQUIRED,
        method="POST",
        path=request.path,
        sign_header="signature",
    )
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(request.body).digest()).decode()
    return verifier.verify() and request.headers["digest"] == digest


def test_a_copernica_style_callback_needs_the_accounts_dkim_key(account, database, receiver):
    with pytest.raises(ValidationError) as refused:
        definitions.create_callback(account, database.id, url=receiver.url, style="copernica")
    assert "DKIM" in refused.value.errors["style"]
    with pytest.raises(ValidationError) as unknown:
        definitions.create_callback(account, database.id, url=receiver.url, style="zapier")
    assert "style" in unknown.value.errors


def test_copernica_receivers_verify_the_signature_and_read_copernicas_variables(
    account, database, receiver, published_key
):
    callback = definitions.create_callback(account, database.id, url=receiver.url + "?site=1", style="copernica")
    newsletter = {interest.name: interest.id for interest in database.interests}["Newsletter"]
    profile = profiles.create_profile(
        account,
        database.id,
        {"Email": "ann@example.com", "Age": 30},
        origin=Origin("soap"),
        interests={newsletter: True},
    )
    profiles.update_profile(account, profile.id, {"City": "Delft"}, origin=Origin("admin"))
    deliver()
    created, updated = receiver.requests
    assert verified(created, published_key) and verified(updated, published_key)
    assert created.path == "/hook?site=1"
    assert created.headers["x-copernica-id"] == f"account-{account.id}"
    assert created.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_signature_header(created.headers["signature"])["keyId"] == "hooks1._domainkey.shop.example"
    assert created.headers["x-nonce"] != updated.headers["x-nonce"]

    form = parse_qs(created.text, keep_blank_values=True)
    assert (
        form["type"] == ["create"] and form["profile"] == [str(profile.id)] and form["database"] == [str(database.id)]
    )
    assert form["fields[Email]"] == ["ann@example.com"] and form["fields[Age]"] == ["30"]
    assert form["fields[City]"] == [""]  # empty values are "", as Copernica sends them
    assert form["parameters[Email]"] == ["ann@example.com"] and form["parameters[Age]"] == ["30"]
    assert form["interests[]"] == ["Newsletter"]
    moment = datetime.strptime(form["timestamp"][0], "%Y-%m-%d %H:%M:%S")
    assert form["time"] == [str(timegm(moment.timetuple()))]
    assert len(form["created"][0]) == len(form["modified"][0]) == 19
    assert not {"changes", "source", "event", "id"} & {key.partition("[")[0] for key in form}  # ours stay ours
    second = parse_qs(updated.text, keep_blank_values=True)
    assert second["type"] == ["update"] and second["parameters[City]"] == ["Delft"]
    assert "parameters[Email]" not in second and second["fields[City]"] == ["Delft"]
    statuses = db.session.scalars(select(CallbackDelivery.status).where(CallbackDelivery.callback_id == callback.id))
    assert set(statuses) == {"delivered"}


def test_a_changed_call_or_another_key_does_not_verify(account, database, receiver, published_key, dns_server):
    definitions.create_callback(account, database.id, url=receiver.url, style="copernica")
    profiles.create_profile(account, database.id, {"City": "Gouda"}, origin=Origin("admin"))
    deliver()
    [request] = receiver.requests
    assert verified(request, published_key)
    request.headers["x-copernica-id"] = "account-999"
    assert not verified(request, published_key)
    request.headers["x-copernica-id"] = f"account-{account.id}"
    request.body = request.body.replace(b"Gouda", b"Delft")
    assert not verified(request, published_key)  # the Digest no longer matches the body
    # a key rotation in the account without republishing: the published key no longer verifies new calls
    records, _resolver = dns_server
    old = dict(records)
    account_settings.generate_dkim_key(account, domain="shop.example", selector="hooks1")
    records.update(old)
    profiles.create_profile(account, database.id, {"City": "Ede"}, origin=Origin("admin"))
    deliver()
    assert not verified(receiver.requests[-1], published_key)


def test_the_test_call_is_copernica_style_too(account, database, receiver, published_key):
    callback = definitions.create_callback(account, database.id, url=receiver.url, style="copernica")
    assert callback_deliveries.send_test(account, callback.id)["ok"]
    [request] = receiver.requests
    assert verified(request, published_key)
    assert parse_qs(request.text, keep_blank_values=True)["type"] == ["test"]
