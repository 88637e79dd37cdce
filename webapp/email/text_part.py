"""The plain-text part of a mail whose template has only HTML (mail without one looks like spam).

Made with inscriptis, which lays text out the way a browser would: paragraphs and headings on lines of their
own, list items with bullets or numbers, data tables in columns, and the paragraphs inside the layout tables
that newsletter HTML is built from kept apart (see ``pyproject.toml`` for the comparison with html2text).
Link targets are written after their text as ``text <URL>`` (RFC 3986, appendix C), so mail clients show
them as links; a link whose text is its target is written once.
"""

import re

from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

_CONFIG = ParserConfig(css=CSS_PROFILES["strict"], display_links=True)
_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]+)\)")
_BLANK_LINES = re.compile(r"\n{3,}")


def text_of(html: str) -> str:
    """Readable plain text of ``html``: paragraphs, lists, tables and link targets kept."""
    if not html.strip():
        return ""
    text = _LINK.sub(_link, get_text(html, _CONFIG))
    lines = (line.rstrip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _link(match: re.Match) -> str:
    label, target = match.group(1).strip(), match.group(2)
    if not label or label == target or f"mailto:{label}" == target:
        return f"<{target}>"
    return f"{label} <{target}>"
