"""Providers' webhooks (``POST /inbound/<provider>/<account id>``): each with valid and forged credentials,
onto the same records and events as the SMTP receiver; 503 when the database is unreachable."""

import base64
import datetime
import hashlib
import hmac
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from tests.factories import make_database
from webapp import create_app
from webapp.config import normalize_database_url
from webapp.email import delivery
from webapp.extensions import db
from webapp.hygiene import credentials, ses
from webapp.models import BounceReport, ProfileEvent, UnmatchedReport
from webapp.profiles import profiles
from webapp.profiles.events import Origin

TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"


@pytest.fixture
def sent(account):
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))
    message_id = delivery.send_mail(
        account.id, to="ann@example.com", subject="News", text="Hi", profile_id=profile.id, category="marketing"
    )
    db.session.commit()
    return message_id, profile


@pytest.fixture
def client(app):
    return app.test_client()


def bounced(profile_id: int) -> list[ProfileEvent]:
    db.session.expire_all()
    query = select(ProfileEvent).where(
        ProfileEvent.profile_id == profile_id, ProfileEvent.kind.in_(["bounced", "complained"])
    )
    return list(db.session.scalars(query))


# --- Amazon SES via SNS ------------------------------------------------------------------------------


@pytest.fixture
def sns_key(app):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    fetched: list[str] = []
    confirmed: list[str] = []
    app.extensions["sns_certificates"] = lambda url: fetched.append(url) or pem
    app.extensions["sns_confirm"] = confirmed.append
    yield key, confirmed
    del app.extensions["sns_certificates"], app.extensions["sns_confirm"]


def sns(key, kind: str, **fields) -> bytes:
    envelope = {
        "Type": kind,
        "MessageId": "m-1",
        "TopicArn": TOPIC,
        "Timestamp": "2026-12-06T03:00:00.000Z",
        "SignatureVersion": "2",
        "SigningCertURL": CERT_URL,
        **fields,
    }
    signature = key.sign(ses.string_to_sign(envelope), padding.PKCS1v15(), hashes.SHA256())
    envelope["Signature"] = base64.b64encode(signature).decode()
    return json.dumps(envelope).encode()


def ses_bounce(message_id: str) -> str:
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Transient",  # SES's label; the 5.1.1 in the report wins
                "bouncedRecipients": [
                    {"emailAddress": "ann@example.com", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 unknown"}
                ],
            },
            "mail": {"messageId": "ses-1", "commonHeaders": {"messageId": message_id}},
        }
    )


def test_ses_bounce_with_a_valid_signature_is_journalled(client, account, sent, sns_key):
    message_id, profile = sent
    credentials.set_secret(account, "ses", TOPIC)
    response = client.post(
        f"/inbound/ses/{account.id}", data=sns(sns_key[0], "Notification", Message=ses_bounce(message_id))
    )
    assert response.status_code == 200 and response.json == {"taken_in": 1, "matched": 1}
    [event] = bounced(profile.id)
    assert event.changes["bounce"]["type"] == "hard" and event.changes["bounce"]["reason"] == "user_unknown"


def test_ses_with_a_forged_signature_or_another_topic_changes_nothing(client, account, sent, sns_key):
    message_id, profile = sent
    credentials.set_secret(account, "ses", TOPIC)
    body = json.loads(sns(sns_key[0], "Notification", Message=ses_bounce(message_id)))
    body["Message"] = body["Message"].replace("5.1.1", "4.2.2")
    assert client.post(f"/inbound/ses/{account.id}", data=json.dumps(body)).status_code == 403
    elsewhere = json.loads(sns(sns_key[0], "Notification", Message=ses_bounce(message_id)))
    elsewhere["SigningCertURL"] = "https://evil.example.com/cert.pem"
    assert client.post(f"/inbound/ses/{account.id}", data=json.dumps(elsewhere)).status_code == 403
    credentials.set_secret(account, "ses", "arn:aws:sns:eu-west-1:123456789012:other")
    body = sns(sns_key[0], "Notification", Message=ses_bounce(message_id))
    assert client.post(f"/inbound/ses/{account.id}", data=body).status_code == 403
    assert bounced(profile.id) == []


def test_ses_subscription_is_confirmed_only_when_signed_for_a_configured_topic_on_sns(client, account, sns_key):
    key, confirmed = sns_key
    credentials.set_secret(account, "ses", TOPIC)
    good = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t"
    fields = {"Message": "confirm", "Token": "t"}
    body = sns(key, "SubscriptionConfirmation", SubscribeURL=good, **fields)
    assert client.post(f"/inbound/ses/{account.id}", data=body).status_code == 200
    evil = sns(key, "SubscriptionConfirmation", SubscribeURL="https://169.254.169.254/latest", **fields)
    assert client.post(f"/inbound/ses/{account.id}", data=evil).status_code == 403
    assert confirmed == [good]


# --- SendGrid ----------------------------------------------------------------------------------------


def test_sendgrid_signed_events_are_taken_in_and_forged_ones_refused(client, account, sent):
    message_id, profile = sent
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    credentials.set_secret(account, "sendgrid", base64.b64encode(public).decode())
    events = [
        {
            "event": "bounce",
            "type": "bounce",
            "email": "ann@example.com",
            "status": "5.2.2",
            "reason": "mailbox full",
            "smtp-id": message_id,
        },
        {"event": "spamreport", "email": "ann@example.com", "smtp-id": message_id},
        {"event": "open", "email": "ann@example.com"},
    ]
    body = json.dumps(events).encode()
    timestamp = "1733450000"
    signature = base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    headers = {"X-Twilio-Email-Event-Webhook-Signature": signature, "X-Twilio-Email-Event-Webhook-Timestamp": timestamp}
    forged = client.post(f"/inbound/sendgrid/{account.id}", data=body.replace(b"5.2.2", b"5.1.1"), headers=headers)
    assert forged.status_code == 403 and bounced(profile.id) == []
    response = client.post(f"/inbound/sendgrid/{account.id}", data=body, headers=headers)
    assert response.json == {"taken_in": 2, "matched": 2}
    assert sorted(event.kind for event in bounced(profile.id)) == ["bounced", "complained"]


# --- Mailgun -----------------------------------------------------------------------------------------


def mailgun(key: str, message_id: str) -> bytes:
    signed = {"timestamp": "1733450000", "token": "abc123"}
    signed["signature"] = hmac.new(key.encode(), b"1733450000abc123", hashlib.sha256).hexdigest()
    event = {
        "event": "failed",
        "severity": "permanent",
        "recipient": "ann@example.com",
        "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"},
        "message": {"headers": {"message-id": message_id.strip("<>")}},
    }
    return json.dumps({"signature": signed, "event-data": event}).encode()


def test_mailgun_signed_failure_is_taken_in_and_a_wrong_key_refused(client, account, sent):
    message_id, profile = sent
    credentials.set_secret(account, "mailgun", "key-right")
    assert client.post(f"/inbound/mailgun/{account.id}", data=mailgun("key-wrong", message_id)).status_code == 403
    assert bounced(profile.id) == []
    assert client.post(f"/inbound/mailgun/{account.id}", data=mailgun("key-right", message_id)).status_code == 200
    [event] = bounced(profile.id)
    assert event.changes["bounce"]["type"] == "hard" and event.changes["bounce"]["status"] == "5.1.1"


# --- Postmark ----------------------------------------------------------------------------------------


def test_postmark_basic_auth(client, account, sent):
    message_id, profile = sent
    credentials.set_secret(account, "postmark", "hooks:s3cret")
    event = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "Email": "ann@example.com",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
        "Metadata": {"message_id": message_id},
    }

    def auth(value: str) -> dict:
        return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}

    assert client.post(f"/inbound/postmark/{account.id}", json=event, headers=auth("hooks:wrong")).status_code == 403
    assert client.post(f"/inbound/postmark/{account.id}", json=event).status_code == 403
    assert bounced(profile.id) == []
    assert client.post(f"/inbound/postmark/{account.id}", json=event, headers=auth("hooks:s3cret")).status_code == 200
    [event_row] = bounced(profile.id)
    assert event_row.changes["bounce"]["reason"] == "user_unknown"


# --- generic -----------------------------------------------------------------------------------------


def test_generic_hmac_endpoint_and_an_unmatched_message_id(client, account, sent):
    message_id, profile = sent
    credentials.set_secret(account, "generic", "shared-secret")
    body = json.dumps(
        [
            {
                "event": "bounce",
                "type": "soft",
                "recipient": "ann@example.com",
                "message_id": message_id,
                "diagnostic": "452 4.2.2 mailbox full",
            },
            {"event": "complaint", "recipient": "bob@example.com", "message_id": "<unknown@x.test>"},
        ]
    ).encode()
    good = "sha256=" + hmac.new(b"shared-secret", body, hashlib.sha256).hexdigest()
    forged = "sha256=" + hmac.new(b"guess", body, hashlib.sha256).hexdigest()
    assert (
        client.post(f"/inbound/generic/{account.id}", data=body, headers={"X-Verrijk-Signature": forged}).status_code
        == 403
    )
    response = client.post(f"/inbound/generic/{account.id}", data=body, headers={"X-Verrijk-Signature": good})
    assert response.json == {"taken_in": 2, "matched": 1}
    [event] = bounced(profile.id)
    assert event.changes["bounce"]["type"] == "soft"
    assert len(db.session.scalars(select(UnmatchedReport)).all()) == 1


def test_another_accounts_message_is_not_matched(client, account, sent):
    from tests.factories import make_account

    message_id, profile = sent
    other = make_account("Other")
    credentials.set_secret(other, "generic", "other-secret")
    body = json.dumps(
        {"event": "bounce", "type": "hard", "recipient": "ann@example.com", "message_id": message_id}
    ).encode()
    signature = "sha256=" + hmac.new(b"other-secret", body, hashlib.sha256).hexdigest()
    response = client.post(f"/inbound/generic/{other.id}", data=body, headers={"X-Verrijk-Signature": signature})
    assert response.json == {"taken_in": 1, "matched": 0}
    assert bounced(profile.id) == [] and db.session.scalars(select(BounceReport)).all() == []


def test_an_unconfigured_webhook_is_not_found(client, account):
    assert client.post(f"/inbound/mailgun/{account.id}", data=b"{}").status_code == 404
    assert client.post(f"/inbound/nosuch/{account.id}", data=b"{}").status_code == 404


def test_with_the_database_down_webhooks_answer_503(app, redis_url):
    down = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": normalize_database_url("postgresql://postgres@127.0.0.1:9/unreachable"),
            "REDIS_URL": redis_url,
        }
    )
    response = down.test_client().post("/inbound/generic/1", data=b"{}", headers={"X-Verrijk-Signature": "sha256=00"})
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
