"""Texts in several languages, for web forms and surveys alike: which language a visitor gets, and a text in it.

A text a marketer writes (a label, a button, a message, an email) is either a string (the same in every
language: what older forms hold) or a map by language (``{"nl": "…", "en": "…"}``). A form or survey offers
``languages`` (of ``LANGUAGES``; the first is its default). The visitor's language is the link's or snippet's,
else one stored earlier (a survey response's), else the profile's language field, else the browser's, else the
default (``choose_language``). The product's own strings (error messages, a button without a label) come from
the app's catalogues, which hold fewer languages: ``in_language`` uses a catalogue when there is one.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app
from flask_babel import force_locale

LANGUAGES = ("nl", "en", "fr", "de")


def localized(text: Any, lang: str, default_lang: str) -> str:
    """A text in ``lang``, else in the default language, else any (texts may be plain strings)."""
    if isinstance(text, dict):
        return str(text.get(lang) or text.get(default_lang) or next((v for v in text.values() if v), ""))
    return str(text or "")


def written_in(text: Any, lang: str, default_lang: str) -> str:
    """What a text says in ``lang`` itself, for an input per language: nothing borrowed from another language,
    and a plain string (written before there were languages) under the default language only."""
    if isinstance(text, dict):
        return str(text.get(lang) or "")
    return str(text or "") if lang == default_lang else ""


def language_code(value: Any) -> str:
    """``nl-NL``, ``NL`` or ``nl_BE`` → ``nl``: the language part of a tag, as the settings name languages."""
    return str(value or "").strip().lower()[:2]


def choose_language(
    languages: list[str], *, requested: Any = "", stored: Any = "", profile_value: Any = "", browser: Iterable[str] = ()
) -> str:
    """The requested language (the link's or snippet's), else the stored one (a survey response's), else the
    profile's language field, else the browser's first that is offered, else the first of ``languages``."""
    for candidate in (requested, stored, profile_value, *browser):
        if language_code(candidate) in languages:
            return language_code(candidate)
    return languages[0]


@contextmanager
def in_language(lang: str) -> Iterator[None]:
    """The product's own strings in ``lang`` when the app has a catalogue for it; else as the request chose."""
    if lang in current_app.config["LANGUAGES"]:
        with force_locale(lang):
            yield
    else:
        yield
