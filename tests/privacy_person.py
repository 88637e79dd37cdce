"""A person touched through every door (form with double opt-in and a consent box, survey, import, SOAP, REST,
a follow-up email that was opened, a bounce, a callback), and the generic scan that finds them anywhere."""

import io
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import JSON, LargeBinary, String, Text, select

from tests.factories import make_database, make_form
from webapp.callbacks import definitions as callbacks
from webapp.email import link_tokens, sending, tracking
from webapp.email.delivery import caught_messages
from webapp.email.templates import TemplateValues, save_template
from webapp.extensions import db
from webapp.hygiene import intake
from webapp.imports import apply as imports_apply
from webapp.imports import runs as imports
from webapp.models import Base, Field, Profile
from webapp.profiles import databases, links
from webapp.profiles.fields import FieldSpec, create_field
from webapp.surveys import builder
from webapp.surveys import responses as surveys
from webapp.surveys.responses import Visitor
from webapp.webforms import opt_in
from webapp.webforms import spam as form_spam
from webapp.webforms import submissions as forms
from webapp.widgets.definition import item_name

ADDRESS = "zeb.quill@example.org"
# Values only this person has: none may be found anywhere after an erasure.
DISTINCTIVE = (ADDRESS, "zebediah", "quillfeather", "quillhaven", "quillorder-77")
CONSENT_TEXT = "Yes, send me the monthly letter."
BOUNCE_DOMAIN = "bounces.example.org"
FIELDS = {
    "Email": {"type": "email", "indexed": True},
    "FirstName": "text",
    "LastName": "text",
    "City": "text",
    "Favourite": "text",
    "Score": "number",
}


@dataclass
class Touched:
    database: object
    profile_id: int
    message_id: str
    form: object
    survey: object


def build_database(account):
    database = make_database(account, fields=FIELDS)
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Note", type="text"), collection_id=orders.id)
    for name in ("FirstName", "LastName"):
        db.session.scalar(select(Field).where(Field.database_id == database.id, Field.name == name)).personal = True
    db.session.commit()
    return database


def field_id(database, name):
    return next(field.id for field in database.fields if field.name == name)


def touch_everywhere(app, account, soap=None, token=None, api=None) -> Touched:
    """The person signs up (double opt-in, consent), confirms, answers a survey, is imported, changed by SOAP and
    REST, gets a follow-up mail they open, which then bounces; a callback watches the database."""
    database = build_database(account)
    callbacks.create_callback(account, database.id, url="http://127.0.0.1:9/hook")
    db.session.commit()
    # The form, with double opt-in and a consent box.
    form = make_form(
        account,
        database,
        items=[
            {"type": "field", "field": "Email", "required": True},
            {"type": "field", "field": "FirstName"},
            {"id": "letter", "type": "consent", "text": CONSENT_TEXT, "required": True},
        ],
        double_opt_in={"enabled": True, "email_subject": "Confirm", "email_text": "Click {link}"},
    )
    consent_item = next(item for item in form.items if item["type"] == "consent")
    values = {
        f"f{field_id(database, 'Email')}": ADDRESS,
        f"f{field_id(database, 'FirstName')}": "Zebediah",
        item_name(consent_item): "on",
    }
    result = forms.submit_form(
        form.key,
        values,
        {},
        origin="",
        ip="198.51.100.7",
        idempotency_key=None,
        elapsed_token=form_spam.issue_token(form.key, now=time.time() - 60),
    )
    assert result.status == "ok", result.body
    profile_id = result.profile_id
    [confirmation] = [m for m in caught_messages(account.id) if m["To"] == ADDRESS]
    link = re.search(r"(http\S+/p/confirm/\S+)", confirmation.get_body(("plain",)).get_content()).group(1)
    opt_in.confirm_subscription(link.rsplit("/", 1)[1], ip="198.51.100.8")
    # The survey, through the signed profile link.
    survey = builder.create_survey(account, database.id, "Opinions")
    builder.update_survey(
        account,
        survey.id,
        name="Opinions",
        settings={"languages": ["en"]},
        origins=[],
        pages=[
            {
                "title": "You",
                "items": [
                    {"id": "story", "type": "open", "label": "Your story", "required": True},
                    {
                        "id": "colour",
                        "type": "choice",
                        "label": "Colour",
                        "options": ["red", "blue"],
                        "field": "Favourite",
                    },
                ],
            }
        ],
    )
    profile = db.session.get(Profile, profile_id)
    visitor = Visitor(profile_id=profile.id, signature=links.profile_signature(profile.id, profile.code))
    page = surveys.start(survey.key, visitor).page["index"]
    view = surveys.submit_page(
        survey.key,
        {"q_story": "Zebediah rides to Quillhaven", "q_colour": "blue"},
        visitor,
        page_index=page,
        origin="",
        token=form_spam.issue_token(f"survey:{survey.key}", now=time.time() - 60),
    )
    assert view.status == "complete", view.errors
    # An import: one good line, one rejected line (kept in the error report with the whole line).
    csv = f"Email,City,Score\n{ADDRESS},Quillhaven,7\n{ADDRESS},Quillhaven,lots\n".encode()
    run = imports.upload(account, database.id, io.BytesIO(csv), "people.csv")
    imports.start_run(account, run.id, anyway=True)
    done = imports_apply.apply_run(run.id)
    assert done.rejected == 1 and done.file_path
    # SOAP and REST.
    if soap is not None:
        from tests.soap.helpers import pairs

        assert soap.Profile_updateFields(access_token=token, id=profile_id, fields=pairs(LastName="Quillfeather")) == 1
    if api is not None:
        response = api.post(f"/profile/{profile_id}/subprofiles/Orders", json={"Note": "quillorder-77"})
        assert response.status_code in (200, 201, 204), response.get_data(as_text=True)
    # A follow-up mail, opened, then bounced.
    template = save_template(account, TemplateValues(name="Hello", subject="Hello {{ profile.FirstName }}", text="Hi"))
    message_id = sending.send_template_email(
        account.id,
        template.id,
        profile_id,
        message_id=sending.new_message_id(account.id, template.id),
        origin_reference="followup-run:1",
    )
    db.session.commit()
    tracking.record_open(
        link_tokens.sign("open", a=account.id, p=db.session.get(Profile, profile_id).code, m=message_id)
    )
    app.config["BOUNCE_DOMAIN"] = BOUNCE_DOMAIN
    try:
        verp = link_tokens.address("bounce", account.id, link_tokens.return_key(message_id))
        intake.take_in_message(dsn(message_id), verp)
    finally:
        app.config["BOUNCE_DOMAIN"] = ""
    db.session.expire_all()
    return Touched(database, profile_id, message_id, form, survey)


def dsn(message_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: someone@bounces.example.org\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        f"--b\r\nContent-Type: text/plain\r\n\r\nYour message to {ADDRESS} could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {ADDRESS}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{ADDRESS}>: User unknown\r\n\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\nTo: {ADDRESS}\r\n\r\n"
        "--b--\r\n"
    ).encode()


# --- the generic scan --------------------------------------------------------------------------------------


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1").lower()
    if isinstance(value, str):
        return value.lower()
    return json.dumps(value, ensure_ascii=False, default=str).lower()


def scan_tables(needles=DISTINCTIVE) -> list[str]:
    """Every row of every table of the models (whatever branch added it), every text, JSON or binary column:
    where one of the ``needles`` is found, as ``table.column #key: needle``."""
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [column for column in table.columns if isinstance(column.type, (String, Text, JSON, LargeBinary))]
        if not columns:
            continue
        for row in db.session.execute(select(table)).mappings():
            for column in columns:
                text = _as_text(row[column.name])
                for needle in needles:
                    if needle.lower() in text:
                        key = row.get("id", "")
                        found.append(f"{table.name}.{column.name} #{key}: {needle}")
    return found


def scan_files(folder: Path, needles=DISTINCTIVE) -> list[str]:
    """Every file under ``folder`` whose bytes hold one of the ``needles``."""
    found = []
    for path in sorted(folder.rglob("*")) if folder.exists() else []:
        if path.is_file():
            data = path.read_bytes().decode("latin-1").lower()
            found += [f"{path.name}: {needle}" for needle in needles if needle.lower() in data]
    return found
