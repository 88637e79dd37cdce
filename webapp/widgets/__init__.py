"""Form and survey widgets: one definition turned into what the embed and hosted pages show, and one
validator for what comes back (used by the embed API, the hosted page and the admin preview); ``languages``
picks a visitor's language and a text in it, for forms and surveys alike.

Filled by the web forms work; the field types it builds on live in ``webapp/profiles/field_types.py``.
"""
