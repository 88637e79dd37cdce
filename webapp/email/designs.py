"""Templates designed in the visual email editor: the design beside the HTML it compiles to.

The editor (GrapesJS with its MJML plugin, served from ``static/vendor``) writes MJML, the markup for
responsive email, and its own project JSON (to reopen the design as it was). A saved design is
``{"version": 1, "mjml": …, "project": …}`` on the template; its HTML part is the MJML compiled here, on the
server (MRML, the Rust port of MJML), so what is sent never depends on the browser that designed it. The HTML
is then an ordinary template part: the sandboxed Jinja of ``templates`` personalises it (``{{ profile.Name }}``
typed or picked from the editor's menu), ``text_part`` makes its plain-text part, ``sending`` tracks it.

A design is refused, with the reason, when its MJML does not compile or its HTML holds anything active
(scripts, frames, forms, event handlers, ``javascript:`` links, external stylesheets): email clients drop
these at best, and a preview in the admin must never run them. Web fonts are left out (``fonts={}``): they
would load from a third party each time the email is opened.
"""

import json
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import lxml.html
import mjml
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from lxml import etree

from webapp.email import templates, test_sends, text_part
from webapp.email.templates import Rendered, TemplateValues
from webapp.models import Account, EmailTemplate
from webapp.platform.errors import NotFound, ValidationError

DESIGN_VERSION = 1
MAX_MJML = 500_000  # characters
MAX_PROJECT = 2_000_000  # characters of the project's JSON
STARTERS_DIR = Path(__file__).parent / "starters"
STARTERS = {  # key: (name, description); the MJML is starters/<key>.mjml
    "newsletter": (_l("Newsletter"), _l("A header, an introduction, two columns, a button and social links.")),
    "announcement": (_l("Announcement"), _l("One message with a big button.")),
    "letter": (_l("Personal letter"), _l("Plain text that reads like a letter.")),
}
BLANK_MJML = (
    "<mjml><mj-body><mj-section><mj-column><mj-text>{{ profile.FirstName }}</mj-text>"
    '<mj-text font-size="12px" color="#6b7280"><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>'
    "</mj-column></mj-section></mj-body></mjml>"
)
ACTIVE_TAGS = frozenset(
    {
        "script",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "form",
        "input",
        "textarea",
        "select",
        "base",
        "link",
        "meta",
        "svg",
        "math",
    }  # fmt: skip
)
URL_ATTRIBUTES = ("href", "src", "background", "action", "formaction", "poster", "srcset", "xlink:href")
SAFE_META = frozenset({"content-type", "x-ua-compatible", "viewport", "format-detection"})


@dataclass(frozen=True)
class Starter:
    key: str
    name: str
    description: str
    mjml: str


def starters() -> list[Starter]:
    """The starter designs a new template can begin from."""
    return [starter(key) for key in STARTERS]


def starter(key: str) -> Starter:
    if key not in STARTERS:
        raise NotFound(_("There is no such starter template."))
    name, description = STARTERS[key]
    return Starter(key, str(name), str(description), _starter_mjml(key))


@cache
def _starter_mjml(key: str) -> str:
    return (STARTERS_DIR / f"{key}.mjml").read_text(encoding="utf-8")


def design_of(template: EmailTemplate | None) -> dict[str, Any] | None:
    """The template's design, or None when it was written (or last edited) as HTML."""
    design = template.design if template is not None else None
    return design if isinstance(design, dict) and design.get("version") == DESIGN_VERSION else None


def with_design(values: TemplateValues, mjml_source: str, project_json: str) -> TemplateValues:
    """``values`` with the design stored and its compiled HTML as the HTML part; ValidationError otherwise.

    ``project_json`` is the editor's project as JSON text (empty: none, the design reopens from its MJML).
    """
    project = _project(project_json)
    html = compile_mjml(mjml_source)
    design = {"version": DESIGN_VERSION, "mjml": mjml_source.strip(), "project": project}
    return replace(values, html=html, design=design)


def save_design(
    account: Account, values: TemplateValues, mjml_source: str, project_json: str, template_id: int | None = None
) -> EmailTemplate:
    """Create or update a template from the editor: the design and its HTML, checked like any template."""
    return templates.save_template(account, with_design(values, mjml_source, project_json), template_id)


def preview_design(
    account: Account, values: TemplateValues, mjml_source: str, profile_id: int
) -> tuple[Rendered | None, dict[str, str]]:
    """The unsaved design rendered for a real profile, with the text part it gets: (parts, errors by part)."""
    rendered, errors = templates.preview(account, replace(values, html=compile_mjml(mjml_source)), profile_id)
    if rendered is not None and not rendered.text.strip():
        rendered = replace(rendered, text=text_part.text_of(rendered.html))
    return rendered, errors


def send_test(
    account: Account, values: TemplateValues, mjml_source: str, addresses: str, profile_id: int | None = None
) -> list[str]:
    """Send the unsaved design now to the typed addresses (``test_sends``); returns them."""
    return test_sends.send_test(account, replace(values, html=compile_mjml(mjml_source)), addresses, profile_id)


def compile_mjml(mjml_source: str) -> str:
    """Responsive email HTML from MJML; ValidationError (``design``) when it does not compile or is unsafe."""
    source = mjml_source.strip()
    if not source:
        raise ValidationError({"design": _("The design is empty: add at least one block.")})
    if len(source) > MAX_MJML:
        raise ValidationError({"design": _("The design is too large (at most 500,000 characters of MJML).")})
    if not source.startswith("<mjml"):
        raise ValidationError({"design": _("The design is not MJML: it must start with <mjml>.")})
    try:
        html = mjml.mjml2html(source, fonts={})
    except (ValueError, RuntimeError) as error:
        message = _("The design cannot be made into email HTML: %(error)s", error=error)
        raise ValidationError({"design": message}) from None
    problems = active_content(html)
    if problems:
        raise ValidationError(
            {"design": _("The design holds content email may not have: %(parts)s.", parts=", ".join(problems))}
        )
    return html


def active_content(html: str) -> list[str]:
    """What in ``html`` could run or load something (scripts, frames, forms, handlers, script links), by name."""
    try:
        document = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return [_("HTML that cannot be read")]
    problems: set[str] = set()
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue  # comments (Outlook's conditional ones hold layout tables) and processing instructions
        tag = element.tag.lower()
        if tag in ACTIVE_TAGS and not (tag == "meta" and _harmless_meta(element)):
            problems.add(f"<{tag}>")
        for name, value in element.attrib.items():
            name = name.lower()
            if name.startswith("on"):
                problems.add(f"{name}=")
            elif name in URL_ATTRIBUTES and _active_url(value, tag):
                problems.add(_("a %(scheme)s link", scheme=value.strip().split(":", 1)[0].lower() + ":"))
            elif name == "style" and _active_style(value):
                problems.add(_("an active style"))
        if tag == "style" and _active_style(element.text or ""):
            problems.add(_("an active style"))
    return sorted(problems)


def _harmless_meta(element) -> bool:
    kind = (element.get("http-equiv") or element.get("name") or "").lower()
    return kind in SAFE_META or (element.get("charset") is not None and len(element.attrib) == 1)


def _active_url(value: str, tag: str) -> bool:
    compact = "".join(value.split()).lower()
    if compact.startswith("data:"):
        return not (tag == "img" and compact.startswith("data:image/") and "svg" not in compact[:20])
    return compact.startswith(("javascript:", "vbscript:"))


def _active_style(value: str) -> bool:
    compact = "".join(value.split()).lower()
    return any(marker in compact for marker in ("expression(", "javascript:", "@import", "behavior:", "-moz-binding"))


def _project(project_json: str) -> dict[str, Any]:
    if not project_json.strip():
        return {}
    if len(project_json) > MAX_PROJECT:
        raise ValidationError({"design": _("The design is too large to store.")})
    try:
        project = json.loads(project_json)
    except ValueError:
        project = None
    if not isinstance(project, dict):
        raise ValidationError({"design": _("The editor sent a design that cannot be read; reload and try again.")})
    return project


def mjml_of_html(html: str) -> str:
    """A template written as HTML as a design: its body in one raw block (to restyle it with blocks)."""
    if not html.strip():
        return BLANK_MJML
    try:
        body = lxml.html.document_fromstring(html).find("body")
    except (etree.ParserError, ValueError):
        body = None
    inner = (
        ""
        if body is None
        else (body.text or "") + "".join(lxml.html.tostring(child, encoding="unicode") for child in body)
    )
    return f"<mjml><mj-body><mj-section><mj-column><mj-raw>{inner}</mj-raw></mj-column></mj-section></mj-body></mjml>"
