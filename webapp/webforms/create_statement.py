"""The common case of a web form submission — a new profile from a "create" form — as one prepared statement.

One round trip writes the submission record, the profile under an id drawn for it, its ``profile_created``
and ``form_submitted`` events, in order, and a consent record per consent box ticked (``profiles.consents``);
nothing is written when the idempotency key is taken or the form or its database changed since it was validated
(see ``CREATE_SQL_TEXT``). PostgreSQL only.
"""

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from webapp.extensions import db
from webapp.models import (
    Form,
)
from webapp.profiles.field_expressions import dialect_name
from webapp.webforms import opt_in as form_opt_in

# The writes of the common case, a new profile from a "create" form, in one round trip: the submission record,
# the profile under an id drawn for it, and its ``profile_created`` and ``form_submitted`` events, in order.
# Nothing is written and no row comes back when the idempotency key is taken (the unique index decides), or
# when the form's revision or its database's configuration version is no longer the one validated against.
CREATE_SQL_TEXT = """
WITH submission AS (
    INSERT INTO form_submission (account_id, form_id, profile_id, status, reason, data, consents, origin, ip,
                                 user_agent, idempotency_key, response, created_at)
    SELECT :account_id, :form_id, nextval(pg_get_serial_sequence('profile', 'id')), 'accepted', '', :data,
           :consents, :origin, :ip, :user_agent, :idempotency_key, :response, :created_at
    FROM form JOIN database ON database.id = form.database_id
    WHERE form.id = :form_id AND form.revision = :revision AND database.config_version = :config_version
    ON CONFLICT (form_id, idempotency_key) DO NOTHING
    RETURNING id, profile_id
), profile AS (
    INSERT INTO profile (id, account_id, database_id, code, fields, interests, created_at, updated_at)
    SELECT profile_id, :account_id, :database_id, :code, :fields, :interests, :created_at, :updated_at
    FROM submission
), event AS (
    INSERT INTO profile_event (account_id, database_id, profile_id, kind, source, actor, reference, changes,
                               created_at)
    SELECT :account_id, :database_id, submission.profile_id, written.kind, :source, :actor, :reference,
           coalesce(written.changes, json_build_object('form', json_build_object('id', :form_id,
                                                                                 'submission', submission.id))),
           :created_at
    FROM submission,
         (VALUES (1, 'profile_created', CAST(:created_changes AS json)), (2, 'form_submitted', NULL)) AS
             written (position, kind, changes)
    ORDER BY written.position
    RETURNING id, kind
), consent AS (
    INSERT INTO consent_record (account_id, database_id, profile_id, source, reference, item, text, basis, ip,
                                agreed_at, confirmed_ip)
    SELECT :account_id, :database_id, submission.profile_id, 'form', CAST(:form_id AS text), entry.key,
           entry.value, 'consent', :consent_ip, :created_at, ''
    FROM submission, jsonb_each_text(:consents) AS entry
)
SELECT submission.id AS submission_id, submission.profile_id, event.id AS event_id, event.kind
FROM submission, event
"""


# Its parameters and their types: it is prepared once per database connection, so PostgreSQL parses and plans
# it once rather than on every submission.
CREATE_PARAMETERS = {
    "account_id": "integer",
    "form_id": "integer",
    "revision": "integer",
    "config_version": "integer",
    "database_id": "integer",
    "code": "text",
    "fields": "jsonb",
    "interests": "jsonb",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "data": "jsonb",
    "consents": "jsonb",
    "origin": "text",
    "ip": "text",
    "user_agent": "text",
    "idempotency_key": "text",
    "response": "jsonb",
    "created_changes": "json",
    "source": "text",
    "actor": "text",
    "reference": "text",
    "consent_ip": "text",
}


_NUMBERS = {name: number for number, name in enumerate(CREATE_PARAMETERS, start=1)}


PREPARE_CREATE = "PREPARE verrijk_form_create ({}) AS {}".format(
    ", ".join(CREATE_PARAMETERS.values()),
    re.sub(r"(?<![:\w]):(\w+)", lambda match: f"${_NUMBERS[match.group(1)]}", CREATE_SQL_TEXT),
)


CREATE_SQL = text(f"EXECUTE verrijk_form_create ({', '.join(f':{name}' for name in CREATE_PARAMETERS)})").bindparams(
    *(
        bindparam(name, type_=JSON if kind == "json" else JSONB)
        for name, kind in CREATE_PARAMETERS.items()
        if kind in ("json", "jsonb")
    )
)


def execute_create(values: dict[str, Any]) -> Sequence[Any]:
    """Run ``CREATE_SQL_TEXT`` in the session's transaction, preparing it first on a new connection."""
    connection = db.session.connection()
    known = connection.connection.info  # lives as long as the database connection
    if not known.get("verrijk_form_create"):
        connection.exec_driver_sql(PREPARE_CREATE)
        known["verrijk_form_create"] = True
    return db.session.execute(CREATE_SQL, values).all()


def one_statement_form(form: Form) -> bool:
    """Whether the form's submissions are the common case ``CREATE_SQL_TEXT`` writes (when they bring no files): a
    new profile, no subprofile, no double opt-in (its mail needs the profile), no key fields (a sign-up that
    matches them updates; without them a unique value taken sends the submission the general way), on PostgreSQL."""
    return (
        form.behaviour == "create"
        and not form.key_field_ids
        and not form.collection_id
        and not form_opt_in.opt_in_settings(form).get("enabled")
        and dialect_name() == "postgresql"
    )
