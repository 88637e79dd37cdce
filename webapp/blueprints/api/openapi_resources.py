"""OpenAPI schemas and parameters of the schema writes, selections, mailings, surveys, and form and follow-up
definitions (``openapi.build_document`` adds them to the document)."""

from typing import Any

from webapp.widgets.languages import LANGUAGES

TEXT = {"type": "string"}
NULLABLE_TEXT = {"type": ["string", "null"]}
COUNT = {"type": "integer"}
FLAG = {"type": ["boolean", "integer", "string"]}
ID_VALUE = {"type": ["integer", "string", "null"]}
IDS = {"type": "array", "items": {"type": ["integer", "string"]}}
TEXTS = {"type": "array", "items": TEXT}
LOCALIZED_TEXT = {"oneOf": [TEXT, {"type": "object", "additionalProperties": TEXT}]}  # by language: {"nl": …}


# What ``PUT form/{id}`` changes besides name, collection and behaviour; ``GET form/{id}`` shows it alike.
FORM_SETTINGS: dict[str, Any] = {
    "key_fields": IDS,
    "on_no_match": TEXT,
    "origins": TEXTS,
    "languages": {"type": "array", "items": {"type": "string", "enum": list(LANGUAGES)}},
    "language_field": ID_VALUE,
    "submit_label": LOCALIZED_TEXT,
    "success_message": LOCALIZED_TEXT,
    "redirect_url": TEXT,
    "max_submissions_per_profile": COUNT,
    "min_fill_seconds": COUNT,
    "notify_email": TEXT,
    "double_opt_in": {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean"},
            "unconfirmed_values": {"type": "object", "description": "field id (or name) to value"},
            "confirmed_values": {"type": "object", "description": "field id (or name) to value"},
            "email_subject": LOCALIZED_TEXT,
            "email_text": LOCALIZED_TEXT,
            "link_ttl_hours": COUNT,
        },
    },
}


def _entity(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _input(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(item: str) -> dict[str, Any]:
    return _entity(
        ["limit", "count", "next", "data"],
        {"limit": COUNT, "count": COUNT, "next": NULLABLE_TEXT, "data": {"type": "array", "items": _ref(item)}},
    )


VIEW = _entity(
    ["ID", "name", "database", "rules"],
    {
        "ID": TEXT,
        "name": TEXT,
        "description": TEXT,
        "parent-type": TEXT,
        "parent-id": TEXT,
        "has-children": {"type": "boolean"},
        "has-rules": {"type": "boolean"},
        "database": TEXT,
        "collection": NULLABLE_TEXT,
        "standard": TEXT,
        "rules": {"type": "object"},
        "count": {"type": ["integer", "null"]},
        "last-built": TEXT,
        "created": TEXT,
        "modified": TEXT,
    },
)
MAILING_RESULTS = _entity(
    ["ID", "status", "recipients", "sent"],
    {
        "ID": TEXT,
        "status": TEXT,
        "recipients": COUNT,
        "waiting": COUNT,
        "progress": COUNT,
        "by_status": {"type": "object", "additionalProperties": COUNT},
        "skipped": {"type": "object", "additionalProperties": COUNT},
        **{
            name: COUNT
            for name in (
                "sent",
                "delivered",
                "soft_bounces",
                "hard_bounces",
                "unique_opens",
                "opens",
                "unique_clicks",
                "clicks",
                "unsubscribes",
                "complaints",
            )
        },
        "links": {"type": "array", "items": _entity(["url", "clicks"], {"url": TEXT, "clicks": COUNT})},
    },
)
MAILING = _entity(
    ["ID", "name", "database", "status"],
    {
        "ID": TEXT,
        "name": TEXT,
        "database": TEXT,
        "parent": NULLABLE_TEXT,
        "template": NULLABLE_TEXT,
        "subject": TEXT,
        "sender": TEXT,
        "targets": TEXTS,
        "exclusions": TEXTS,
        "per_minute": {"type": ["integer", "null"]},
        "domain_limits": {"type": "object", "additionalProperties": COUNT},
        "variants": {"type": "array", "items": {"type": "object"}},
        "ab_percent": COUNT,
        "ab_wait_minutes": COUNT,
        "ab_metric": TEXT,
        "ab_winner": {"type": ["integer", "null"]},
        "repeat": {"type": "object"},
        "status": {
            "type": "string",
            "enum": ["draft", "scheduled", "periodic", "sending", "testing", "paused", "done", "cancelled"],
        },
        "recipients": COUNT,
        "scheduled": TEXT,
        "started": TEXT,
        "finished": TEXT,
        "created": TEXT,
        "modified": TEXT,
        "results": MAILING_RESULTS,
    },
)
SURVEY = _entity(
    ["ID", "name", "database", "pages"],
    {
        "ID": TEXT,
        "name": TEXT,
        "database": TEXT,
        "key": TEXT,
        "revision": COUNT,
        "pages": {"type": "array", "items": {"type": "object"}},
        "settings": {"type": "object"},
        "origins": TEXTS,
        "created": TEXT,
        "modified": TEXT,
    },
)
SURVEY_RESPONSE = _entity(
    ["ID", "survey", "answers", "completed"],
    {
        "ID": TEXT,
        "survey": TEXT,
        "profile": NULLABLE_TEXT,
        "language": TEXT,
        "answers": {"type": "object"},
        "hidden": {"type": "object"},
        "pages": {"type": "array", "items": COUNT},
        "completed": {"type": "boolean"},
        "created": TEXT,
        "modified": TEXT,
        "finished": TEXT,
    },
)
MEMBER = {"oneOf": [_ref("Profile"), _ref("Subprofile")]}

SCHEMAS: dict[str, Any] = {
    "DatabaseInput": _input({"name": TEXT, "description": TEXT, "archived": FLAG}),
    "FieldInput": _input(
        {
            "name": TEXT,
            "type": TEXT,
            "value": {"type": ["string", "number"]},
            "displayed": FLAG,
            "ordered": FLAG,
            "length": {"type": ["integer", "string"]},
            "textlines": {"type": ["integer", "string"]},
            "hidden": FLAG,
            "index": FLAG,
            "specialcontent": TEXT,
        }
    ),
    "InterestInput": _input({"name": TEXT, "group": TEXT}),
    "CollectionInput": _input({"name": TEXT}),
    "View": VIEW,
    "ViewInput": _input({"name": TEXT, "description": TEXT, "collection": ID_VALUE, "rules": {"type": "object"}}),
    "Member": MEMBER,
    "Mailing": MAILING,
    "MailingResults": MAILING_RESULTS,
    "MailingInput": _input(
        {
            "name": TEXT,
            "database": ID_VALUE,
            "template": ID_VALUE,
            "targets": IDS,
            "exclusions": IDS,
            "subject": TEXT,
            "sender": TEXT,
            "per_minute": {"type": ["integer", "null"]},
            "domain_limits": {"type": "object", "additionalProperties": {"type": "integer"}},
            "variants": {"type": "array", "items": _input({"subject": TEXT, "template": ID_VALUE})},
            "ab_percent": COUNT,
            "ab_wait_minutes": COUNT,
            "ab_metric": {"type": "string", "enum": ["opens", "clicks"]},
            "repeat": _input({"weekdays": {"type": "array", "items": COUNT}, "time": TEXT}),
        }
    ),
    "MailingSend": _input({"at": {"type": "string", "description": "ISO 8601; without a zone: UTC"}}),
    "Survey": SURVEY,
    "SurveyResponse": SURVEY_RESPONSE,
    "ResponsePage": _page("SurveyResponse"),
    "FormInput": _input({"name": TEXT, "database": ID_VALUE, "collection": ID_VALUE}, ("name", "database")),
    "FormSettingsInput": _input({"name": TEXT, "collection": ID_VALUE, "behaviour": TEXT, **FORM_SETTINGS}),
    "FormResults": _entity(
        ["ID", "submissions", "days"],
        {
            "ID": TEXT,
            "submissions": {"type": "object", "additionalProperties": COUNT},
            "days": {
                "type": "array",
                "items": _entity(["day", "views", "submissions"], {"day": TEXT, "views": COUNT, "submissions": COUNT}),
            },
        },
    ),
    "ExportFileInput": _input(
        {
            "format": {"type": "string", "enum": ["csv", "tsv", "jsonl"]},
            "delimiter": {"type": "string", "enum": ["comma", "semicolon", "tab"]},
            "fields": TEXTS,
            "collection": ID_VALUE,
            "interests": FLAG,
            "gzip": FLAG,
            "bom": FLAG,
            "protect_formulas": FLAG,
        }
    ),
    "ExportFile": _entity(
        ["ID", "database", "status"],
        {
            "ID": TEXT,
            "database": TEXT,
            "collection": NULLABLE_TEXT,
            "status": {"type": "string", "enum": ["queued", "running", "retrying", "done", "failed", "expired"]},
            "error": TEXT,
            "file": TEXT,
            "content_type": TEXT,
            "size": COUNT,
            "created": TEXT,
            "finished": TEXT,
            "download": NULLABLE_TEXT,
        },
    ),
    "FollowUpInput": _input(
        {
            "name": TEXT,
            "collection": ID_VALUE,
            "form": ID_VALUE,
            "trigger": {"type": "object"},
            "activation_condition": {"type": "object"},
            "execution_condition": {"type": "object"},
            "delay": {"type": "object"},
            "actions": {"type": "array", "items": {"type": "object"}},
        }
    ),
}
LISTS = ("View", "Mailing", "Survey", "Member")

PARAMETERS = {
    "fieldId": {"name": "field_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
    "interestId": {
        "name": "interest_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}
