"""A three-page survey on a database with a language field, a tier and a favourite colour, for the survey tests."""

from tests.factories import make_database
from webapp.surveys import builder

PAGES = [
    {
        "title": {"en": "About you", "nl": "Over jou"},
        "items": [
            {
                "id": "intro",
                "type": "text",
                "html": {"en": "<p>Hello <script>x()</script><b>there</b></p>", "nl": "<p>Hallo</p>"},
            },
            {
                "id": "colour",
                "type": "choice",
                "label": {"en": "Colour?", "nl": "Kleur?"},
                "required": True,
                "options": [{"value": "red", "label": {"en": "Red", "nl": "Rood"}}, "blue"],
                "other": True,
                "field": "Favourite",
            },
            {"id": "visits", "type": "open", "variant": "number", "label": "Visits"},
        ],
        "branches": [
            {"condition": {"rules": [{"source": "answer", "name": "colour", "op": "equals", "value": "blue"}]}, "to": 3}
        ],
    },
    {
        "title": "Details",
        "items": [
            {
                "id": "why_red",
                "type": "open",
                "variant": "lines",
                "label": "Why red?",
                "required": True,
                "condition": {"rules": [{"source": "answer", "name": "colour", "op": "equals", "value": "red"}]},
            },
            {
                "id": "vip",
                "type": "open",
                "label": "For our best customers",
                "required": True,
                "condition": {"rules": [{"source": "field", "name": "Tier", "op": "equals", "value": "gold"}]},
            },
            {
                "id": "service",
                "type": "grid",
                "label": "Service",
                "rows": ["speed", "price"],
                "columns": ["bad", "good"],
            },
            {"id": "stars", "type": "rating", "label": "Stars", "scale": 5},
        ],
    },
    {
        "title": "Last",
        "items": [
            {"id": "nps", "type": "nps", "label": "Recommend us?", "required": True},
            {
                "id": "topics",
                "type": "choice",
                "multiple": True,
                "label": "Topics",
                "options": ["news", "offers"],
                "default": ["news"],
            },
        ],
    },
]
FIELDS = {"Email": {"type": "email"}, "Tier": "text", "Language": "text", "Favourite": "text"}


def make_survey(account, database=None, *, pages=None, **settings):
    database = database or make_database(account, fields=FIELDS)
    survey = builder.create_survey(account, database.id, "Opinions")
    return builder.update_survey(
        account,
        survey.id,
        name="Opinions",
        pages=pages or PAGES,
        settings={"languages": ["en", "nl", "fr", "de"], **settings},
        origins=settings.pop("origins", []),
    )
