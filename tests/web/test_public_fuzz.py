"""A bounded fuzz of every public route (issue 21): malformed, oversized and hostile input never gives a 500,
and nothing is stored half.

The routes: the embed API (definition, token, captcha, submissions, preflight), ``/embed.js``, the hosted page
``/f/KEY``, the double opt-in confirm link, the mail links (``/p/o``, ``/p/c``, ``/p/u``) and SOAP. The inputs
come from a fixed list and a seeded generator, so a failure is reproducible; the total is a few hundred
requests.
"""

import random
import time

import pytest
from sqlalchemy import func, select

from tests.factories import make_database, make_form
from webapp.extensions import db
from webapp.models import FormSubmission, Profile, ProfileEvent
from webapp.webforms import spam

SEED = 21
HOSTILE = [
    "",
    " ",
    "x" * 300_000,
    "9" * 5000,
    "-" + "9" * 4400,
    "1e999999",
    "NaN",
    "-0",
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "' OR '1'='1' --",
    "../../../../etc/passwd",
    "\r\nSet-Cookie: hacked=1",
    "\u202e\u0000"[:1],
    "😀" * 1000,
    "a@" + "b" * 300 + ".example",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "%s%s%s%n",
    "\udcff".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


@pytest.fixture
def form(account):
    database = make_database(
        account,
        fields={"Email": {"type": "email", "indexed": True}, "Score": "number", "Amount": "decimal", "Secret": "text"},
    )
    return make_form(
        account,
        database,
        items=[
            {"type": "field", "field": "Email", "required": True},
            {"type": "field", "field": "Score"},
            {"type": "field", "field": "Amount"},
            {"type": "password", "field": "Secret"},
        ],
        min_fill_seconds=0,
    )


def public_paths(key: str, rng: random.Random) -> list[str]:
    junk = rng.choice(["x", "A" * 5000, "%2e%2e%2f", "..", "%ff%fe", "1.2.3", "-1", "99999999999999999999"])
    return [
        f"/p/forms/{key}",
        f"/p/forms/{key}/token",
        f"/p/forms/{key}/captcha",
        f"/p/forms/{key}/submissions",
        f"/p/forms/{junk}",
        f"/p/forms/{junk}/submissions",
        f"/p/forms/{key}/{junk}",
        f"/f/{key}",
        f"/f/{junk}",
        "/f/",
        "/embed.js",
        f"/p/confirm/{junk}",
        f"/p/o/{junk}",
        f"/p/c/{junk}",
        f"/p/u/{junk}",
        f"/p/{junk}",
    ]


def hostile_fields(names: list[str], rng: random.Random) -> dict:
    fields = {name: rng.choice(HOSTILE) for name in names}
    choice = rng.randrange(5)
    if choice == 0:
        fields.update({f"extra{n}": "y" * 100 for n in range(3000)})  # very many fields
    elif choice == 1:
        fields["x" * 5000] = "long name"
    elif choice == 2:
        fields.update({"profile": rng.choice(HOSTILE), "sig": rng.choice(HOSTILE)})
    elif choice == 3:
        fields["_idempotency_key"] = rng.choice(HOSTILE)
    return fields


def assert_not_500(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.get_data(as_text=True)[:300]}"


def test_public_routes_never_answer_500(anonymous, form, app, monkeypatch):
    monkeypatch.setitem(app.config, "FORM_RATE_LIMIT", "off")
    monkeypatch.setitem(app.config, "FORM_RATE_LIMIT_PER_FORM", "off")
    rng = random.Random(SEED)
    names = ["_token", "_hp", "_altcha", *(f"f{item['field_id']}" for item in form.items)]
    key = form.key
    for _round in range(4):
        for path in public_paths(key, rng):
            for method in METHODS:
                response = anonymous._send(method, path, data=hostile_fields(names, rng) if method != "GET" else None)
                assert_not_500(response, f"{method} {path[:80]}")
            query = {"profile": rng.choice(HOSTILE)[:2000], "sig": rng.choice(HOSTILE)[:2000], "lang": "xx"}
            assert_not_500(anonymous.get(path, query_string=query), f"GET {path[:80]} with a query")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"f1": ' + b"9" * 5000 + b"}"),
        ("application/json", b"{not json"),
        ("text/plain", b"\xff\xfe\x00garbage"),
        ("application/x-www-form-urlencoded", b"%ff%fe=%c3%28&a=%e2%82&=&&&=" + b"a" * 100_000),
        ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nb'),
        ("multipart/form-data", b"no boundary at all"),
        ("application/xml", b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>'),
    ],
)
def test_malformed_bodies_are_refused_plainly(anonymous, form, content_type, body):
    for path in (f"/p/forms/{form.key}/submissions", f"/f/{form.key}", "/p/u/x", "/p/confirm/x"):
        response = anonymous._send("POST", path, data=body, headers={"Content-Type": content_type})
        assert_not_500(response, f"POST {path} as {content_type}")


def test_hostile_submissions_store_nothing_half(anonymous, form, app, monkeypatch):
    """After a fuzzed run of the form, every profile came whole from one accepted submission with its events, and
    every accepted submission has its profile; nothing a password item posted is kept."""
    monkeypatch.setitem(app.config, "FORM_RATE_LIMIT", "off")
    monkeypatch.setitem(app.config, "FORM_RATE_LIMIT_PER_FORM", "off")
    rng = random.Random(SEED + 1)
    email, score, amount, secret = (f"f{item['field_id']}" for item in form.items)
    for n in range(60):
        values = {
            "_token": spam.issue_token(form.key, now=time.time() - 60),
            email: rng.choice([f"u{n}@example.com", rng.choice(HOSTILE)]),
            score: rng.choice(["7", *HOSTILE]),
            amount: rng.choice(["1.5", *HOSTILE]),
            secret: "pw-" + rng.choice(HOSTILE)[:50],
        }
        values[secret + "_repeat"] = values[secret]
        path = rng.choice([f"/p/forms/{form.key}/submissions", f"/f/{form.key}"])
        assert_not_500(anonymous.post(path, values, csrf=False), f"POST {path}")
    db.session.expire_all()
    accepted = db.session.scalars(select(FormSubmission).where(FormSubmission.status == "accepted")).all()
    profile_ids = set(db.session.scalars(select(Profile.id)))
    assert accepted and {row.profile_id for row in accepted} == profile_ids
    created = db.session.scalar(
        select(func.count()).select_from(ProfileEvent).where(ProfileEvent.kind == "profile_created")
    )
    assert created == len(profile_ids)
    for row in db.session.scalars(select(FormSubmission).where(FormSubmission.status != "accepted")):
        assert secret not in row.data and "pw-" not in str(row.data)


SOAP_BODIES = [
    b"",
    b"not xml at all",
    b"<a>" * 10_000,
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><lolz>&lol2;</lolz>',
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
    b'<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Nope/></Body></Envelope>',
    b"\xff\xfe\x00<",
]


def soap_call(method: str, inner: str) -> bytes:
    return (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:v="http://verrijk/soap"><s:Body><v:{method}>{inner}</v:{method}></s:Body></s:Envelope>'
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        *SOAP_BODIES,
        soap_call("Database_createProfile", "<v:access_token>x</v:access_token><v:id>" + "9" * 5000 + "</v:id>"),
        soap_call("Account_databases", "<v:access_token>" + "x" * 100_000 + "</v:access_token>"),
        soap_call("Database_profiles", "<v:access_token>x</v:access_token><v:id>-1</v:id><v:start>-5</v:start>"),
        soap_call("Profile_fields", "<v:access_token>x</v:access_token><v:id>abc</v:id>"),
    ],
)
def test_soap_never_answers_500_with_an_internal_error(anonymous, body):
    for content_type in ("text/xml; charset=utf-8", "application/soap+xml", "application/json"):
        response = anonymous._send("POST", "/soap", data=body, headers={"Content-Type": content_type})
        text = response.get_data(as_text=True)
        # SOAP 1.1 answers a fault with HTTP 500 (its rule); what must never appear is an unhandled error.
        assert response.status_code < 500 or "Fault" in text, text[:300]
        assert "Internal Error" not in text and "Traceback" not in text, text[:300]
