"""English and Dutch stay complete: every UI string has a Dutch translation, compiled and current."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "webapp" / "translations" / "nl" / "LC_MESSAGES"
METHODS = [("webapp/**.py", "python"), ("webapp/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def source_strings() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, options_map={"webapp/templates/**.html": {}}
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def dutch():
    with (CATALOGUE / "messages.po").open("rb") as handle:
        return read_po(handle, locale="nl")


def translated(message) -> bool:
    strings = message.string if isinstance(message.string, list | tuple) else [message.string]
    return all(strings)


def test_every_string_has_a_dutch_translation():
    catalogue = dutch()
    missing = sorted(text for text in source_strings() if not (catalogue.get(text) and translated(catalogue.get(text))))
    assert missing == [], f"{len(missing)} strings without Dutch translation; run scripts/translations"
    fuzzy = sorted(message.id for message in catalogue if message.id and message.fuzzy)
    assert fuzzy == []


def test_translations_keep_their_placeholders():
    problems = [(message.id, errors) for message, errors in dutch().check() if errors]
    assert problems == []


def hashable(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def test_compiled_catalogue_is_current():
    with (CATALOGUE / "messages.mo").open("rb") as handle:
        compiled = {hashable(message.id): hashable(message.string) for message in read_mo(handle) if message.id}
    source = {hashable(m.id): hashable(m.string) for m in dutch() if m.id and translated(m)}
    assert compiled == source, "run scripts/translations to compile messages.mo"
