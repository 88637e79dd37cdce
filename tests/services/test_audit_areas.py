"""The audit log covers every admin area (issue 17): a change made through each area's domain call is logged
with the area, the actor, the object and what changed; profiles' data is not."""

import io

import pytest
from sqlalchemy import select

from tests.factories import make_database, make_followup, make_form, make_user
from webapp.accounts import accounts, audit, tokens, users
from webapp.bulk import runs as bulk_runs
from webapp.bulk.runs import Picked
from webapp.callbacks import definitions as callbacks
from webapp.email import account_settings, branding
from webapp.email.templates import TemplateValues, save_template
from webapp.exports.targets import TargetSpec, create_export
from webapp.extensions import db
from webapp.hygiene.policies import PolicySettings, save_policy
from webapp.imports import runs
from webapp.mailings import definitions as mailing_definitions
from webapp.mailings.definitions import MailingValues
from webapp.models import AuditEntry, Field
from webapp.privacy import retention
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.selections import selections
from webapp.surveys import builder


def _settings(account, database, actor):
    accounts.update_account_settings(
        account, name="Acme Two", time_zone="Europe/Amsterdam", language="nl", default_sender=""
    )
    return {"name": ["Acme", "Acme Two"], "language": ["en", "nl"]}


def _users(account, database, actor):
    viewer = make_user(account, "viewer", email="vera@example.com")
    users.change_role(account, actor, viewer.id, "editor")
    return {"role": ["viewer", "editor"]}


def _tokens(account, database, actor):
    row, _secret = tokens.create_api_token(account, "Shop", created_by=actor)
    tokens.revoke_api_token(account, row.id)
    return {"token_hash": ["***", "***"]}


def _databases(account, database, actor):
    databases.update_database(account, database.id, name="Clients", description="All of them")
    return {"name": ["Customers", "Clients"]}


def _fields(account, database, actor):
    create_field(account, FieldSpec(name="City", type="text"), database_id=database.id)
    return {"name": [None, "City"]}


def _interests(account, database, actor):
    interest = databases.create_interest(account, database.id, "Cycling")
    databases.update_interest(account, interest.id, name="Hiking")
    return {"name": ["Cycling", "Hiking"]}


def _collections(account, database, actor):
    databases.create_collection(account, database.id, "Orders")
    return {"name": [None, "Orders"]}


def _forms(account, database, actor):
    make_form(account, database)
    return {"name": [None, "Sign up"]}


def _surveys(account, database, actor):
    builder.create_survey(account, database.id, "Opinions")
    return {"name": [None, "Opinions"]}


def _followups(account, database, actor):
    field_id = db.session.scalar(select(Field.id).where(Field.database_id == database.id, Field.name == "LastName"))
    make_followup(
        account,
        database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "update_fields", "values": {str(field_id): "x"}}],
    )
    return {"name": [None, "Welcome"]}


def _callbacks(account, database, actor):
    callbacks.create_callback(account, database.id, url="http://127.0.0.1:9/hook")
    return {"secret": ["***", "***"]}


def _imports(account, database, actor):
    runs.upload(account, database.id, io.BytesIO(b"Email\nann@example.com\n"), "people.csv")
    return {"file_name": [None, "people.csv"]}


def _exports(account, database, actor):
    create_export(
        account, database.id, TargetSpec(name="Nightly", target_url="http://127.0.0.1:9/in/", file_name="all.csv")
    )
    return {"name": [None, "Nightly"]}


def _email_templates(account, database, actor):
    save_template(account, TemplateValues(name="Welcome", subject="Hello", text="Hello there"))
    return {"subject": [None, "Hello"]}


def _email_settings(account, database, actor):
    account_settings.update_settings(account, smtp_url="smtp://user:pw@127.0.0.1:2525", rate_per_minute=60)
    return {"smtp_url": ["***", "***"]}


def _hygiene(account, database, actor):
    save_policy(account, database.id, PolicySettings(hard_threshold=2))
    return {}


def _selections(account, database, actor):
    selections.create_selection(account, database.id, "Everyone")
    return {"name": [None, "Everyone"]}


def _mailings(account, database, actor):
    template = save_template(account, TemplateValues(name="News", subject="News", text="News"))
    everyone = selections.create_selection(account, database.id, "Everyone")
    values = MailingValues(name="Monday", database_id=database.id, template_id=template.id, target_ids=[everyone.id])
    mailing_definitions.create_mailing(account, values)
    return {"name": [None, "Monday"]}


def _branding(account, database, actor):
    branding.save_branding(
        account,
        color_primary="#123456",
        color_background="#ffffff",
        confirm_redirect_url="",
        unsubscribe_redirect_url="",
    )
    return {"color_primary": [None, "#123456"]}


def _bulk_actions(account, database, actor):
    profile = profiles.create_profile(account, database.id, {}, origin=Origin("admin"))
    bulk_runs.start(account, database.id, "export", Picked(ids=(profile.id,)))
    return {"action": [None, "export"]}


def _privacy(account, database, actor):
    retention.save_settings(account, {"audit_days": "365"})
    retention.save_settings(account, {"audit_days": "400"})
    return {"audit_days": [365, 400]}


AREAS = {
    "settings": _settings,
    "users": _users,
    "tokens": _tokens,
    "databases": _databases,
    "fields": _fields,
    "interests": _interests,
    "collections": _collections,
    "forms": _forms,
    "surveys": _surveys,
    "follow-ups": _followups,
    "callbacks": _callbacks,
    "imports": _imports,
    "exports": _exports,
    "email templates": _email_templates,
    "email settings": _email_settings,
    "hygiene": _hygiene,
    "selections": _selections,
    "mailings": _mailings,
    "branding": _branding,
    "bulk actions": _bulk_actions,
    "privacy": _privacy,
}


def test_every_area_has_a_test_here():
    assert set(AREAS) == set(audit.AREAS)


@pytest.mark.parametrize("area", sorted(AREAS))
def test_a_change_in_each_area_is_logged(account, area):
    owner = make_user(account, "owner", email="olga@example.com")
    database = make_database(account)
    before = db.session.scalar(select(db.func.max(AuditEntry.id)))
    audit.set_actor(audit.user_actor(owner, "198.51.100.4"))
    expected = AREAS[area](account, database, owner)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.area == area, AuditEntry.id > before)).all()
    assert entries, f"no entry for {area}"
    for entry in entries:
        assert (entry.account_id, entry.actor, entry.user_id, entry.ip) == (
            account.id,
            "olga@example.com",
            owner.id,
            "198.51.100.4",
        )
        assert entry.object_id
    changes = {}
    for entry in entries:
        changes.update(entry.changes)
    for name, values in expected.items():
        if values[0] is None:
            assert changes[name][1] == values[1], (name, changes)
        else:
            assert changes[name] == values, (name, changes)


def test_profile_data_is_not_audited(account):
    database = make_database(account)
    before = db.session.scalar(select(db.func.count()).select_from(AuditEntry))
    profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)) == before
