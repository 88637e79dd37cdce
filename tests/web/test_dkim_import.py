"""Importing an existing DKIM key (PEM) from the mail settings: the record it gives and mail signed with it."""

import base64

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from webapp.email import account_settings, delivery
from webapp.extensions import db
from webapp.models import MailSettings


def pem(key, form=serialization.PrivateFormat.PKCS8) -> str:
    return key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption()).decode()


def test_an_existing_rsa_key_is_imported_and_signs_mail(browser):
    admin = browser("admin")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    form = {"dkim_domain": "shop.example", "dkim_selector": "old2024", "dkim_private_key": pem(key), "mode": "import"}
    assert admin.post("/email/settings/dkim", form).status_code == 303
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    page = admin.get("/email/settings").get_data(as_text=True)
    assert f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}" in page  # the record already published
    assert "PRIVATE KEY" not in page

    account = admin.user.account
    delivery.send_mail(account.id, to="a@example.com", subject="S", text="T")
    db.session.commit()
    [caught] = delivery.list_caught(account.id)
    name, record = account_settings.dkim_dns_record(db.session.get(MailSettings, account.id))
    assert dkim.verify(caught.raw, dnsfunc=lambda query, timeout=5: record.encode())
    assert name == "old2024._domainkey.shop.example"


def test_a_bad_key_is_refused_and_the_stored_key_kept(browser):
    admin = browser("admin")
    account = admin.user.account
    account_settings.generate_dkim_key(account, domain="shop.example", selector="v1")
    before = db.session.get(MailSettings, account.id).dkim_public_key
    encrypted = rsa.generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    for bad in ("not a key", pem(ec.generate_private_key(ec.SECP256R1())), encrypted.decode()):
        form = {"dkim_domain": "shop.example", "dkim_selector": "v2", "dkim_private_key": bad, "mode": "import"}
        response = admin.post("/email/settings/dkim", form)
        assert response.status_code == 422 and 'id="dkim_private_key-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    row = db.session.get(MailSettings, account.id)
    assert (row.dkim_selector, row.dkim_public_key) == ("v1", before)
