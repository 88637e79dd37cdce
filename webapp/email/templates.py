"""Email templates: subject, HTML and text with personalisation in a sandboxed Jinja environment.

A template sees ``profile`` (field values by field name, plus ``profile.id``), ``interests`` (names of the
profile's interests), ``subprofile`` (the triggering subprofile's values by name, when there is one),
``subprofiles`` (per collection name, the profile's latest ``SUBPROFILE_LIMIT`` subprofiles), ``now`` (the
account's local time), ``unsubscribe_url`` and ``database``. ``default`` also replaces empty values
(``{{ profile.FirstName | default("customer") }}``). The environment is Jinja's immutable sandbox: no access
to internals (``__class__``…), no mutation of values; the HTML part is autoescaped.

Errors — bad syntax, unsafe access, a failing filter — are found when a template is saved (it is rendered
against an empty profile of its database) and shown per part in the preview; ``render`` raises the same
``ValidationError`` at send time.
"""

import functools
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from jinja2 import Template, TemplateError, Undefined, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Account, Collection, EmailTemplate, Profile, Subprofile, utcnow
from webapp.platform.errors import Conflict, ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_database
from webapp.profiles.field_types import format_value

PARTS = ("subject", "html", "text")
SUBPROFILE_LIMIT = 100
MAX_OUTPUT = 1_000_000  # characters per rendered part


@dataclass
class TemplateValues:
    """What the editor saves (and previews before saving)."""

    name: str
    subject: str
    html: str = ""
    text: str = ""
    sender: str = ""
    reply_to: str = ""
    track_opens: bool = True
    track_clicks: bool = True
    database_id: int | None = None
    design: dict[str, Any] | None = None  # the visual editor's (``designs``); None from the HTML editor


def with_subject(template: EmailTemplate | TemplateValues, subject: str) -> EmailTemplate | TemplateValues:
    """The template as sent with another subject (a mailing's), not saved; the template itself without one."""
    if not subject:
        return template
    return TemplateValues(
        name=template.name,
        subject=subject,
        html=template.html,
        text=template.text,
        sender=template.sender,
        reply_to=template.reply_to,
        track_opens=template.track_opens,
        track_clicks=template.track_clicks,
    )


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def _default(value: Any, fallback: Any = "", boolean: bool = True) -> Any:
    """Jinja's ``default``, but an empty value counts as missing too (unless ``boolean=False``)."""
    if isinstance(value, Undefined) or value is None or (boolean and value == ""):
        return fallback
    return value


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, where touching an unsafe attribute is an error even when only printed."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    env = _Sandbox(autoescape=autoescape, undefined=Undefined)
    env.filters["default"] = env.filters["d"] = _default
    return env


_environments: dict[bool, ImmutableSandboxedEnvironment] = {}


def environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    """One sandboxed environment per escaping mode, built on first use (nothing runs at import)."""
    if autoescape not in _environments:
        _environments[autoescape] = _environment(autoescape)
    return _environments[autoescape]


@functools.lru_cache(maxsize=64)
def _compiled(autoescape: bool, source: str) -> Template:
    """A part compiled once (a mailing renders the same parts for every recipient); errors are not cached."""
    return environment(autoescape=autoescape).from_string(source)


# --- storage ------------------------------------------------------------------------------------


def list_templates(account: Account) -> list[EmailTemplate]:
    return list(
        db.session.scalars(
            select(EmailTemplate)
            .where(EmailTemplate.account_id == account.id)
            .order_by(func.lower(EmailTemplate.name), EmailTemplate.id)
        )
    )


def get_template(account: Account, template_id: int) -> EmailTemplate:
    return owned(EmailTemplate, account, template_id, _("Email template not found."))


def values_of(template: EmailTemplate) -> TemplateValues:
    return TemplateValues(**{name: getattr(template, name) for name in TemplateValues.__dataclass_fields__})


def save_template(account: Account, values: TemplateValues, template_id: int | None = None) -> EmailTemplate:
    """Create (``template_id`` None) or update a template after checking every part renders."""
    template = get_template(account, template_id) if template_id is not None else None
    values = _checked(account, values)
    if values.design is None and template is not None and template.design and template.html == values.html:
        values.design = template.design  # saved from the HTML editor without touching the design's HTML
    duplicate = db.session.scalar(
        select(EmailTemplate.id).where(
            EmailTemplate.account_id == account.id,
            func.lower(EmailTemplate.name) == values.name.lower(),
            EmailTemplate.id != (template_id or 0),
        )
    )
    if duplicate is not None:
        raise Conflict(_("A template with this name exists already."))
    if template is None:
        template = EmailTemplate(account_id=account.id)
        db.session.add(template)
    for name, value in asdict(values).items():
        setattr(template, name, value)
    template.updated_at = utcnow()
    db.session.commit()
    return template


def delete_template(account: Account, template_id: int) -> None:
    db.session.delete(get_template(account, template_id))
    db.session.commit()


def _checked(account: Account, values: TemplateValues) -> TemplateValues:
    errors: dict[str, str] = {}
    values.name, values.subject = values.name.strip(), values.subject.strip()
    if not values.name:
        errors["name"] = _("Enter a name.")
    elif len(values.name) > 200:
        errors["name"] = _("Use at most 200 characters.")
    if not values.subject:
        errors["subject"] = _("Enter a subject.")
    elif len(values.subject) > 500:
        errors["subject"] = _("Use at most 500 characters.")
    if not values.html.strip() and not values.text.strip():
        errors["text"] = _("Enter an HTML part, a text part or both.")
    for name in ("sender", "reply_to"):
        setattr(values, name, getattr(values, name).strip())
        if getattr(values, name) and not is_address(getattr(values, name)):
            errors[name] = _("Enter an email address, like Name <name@example.com>.")
    if values.database_id is not None:
        get_database(account, values.database_id)
    errors = {**_template_errors(account, values), **errors}
    if errors:
        raise ValidationError(errors)
    return values


def is_address(value: str) -> bool:
    if "\n" in value or "\r" in value:
        return False
    try:
        validate_email(parseaddr(value)[1], check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def _template_errors(account: Account, values: TemplateValues) -> dict[str, str]:
    """Render every part against an empty profile of the template's database: errors by part."""
    fields = get_database(account, values.database_id).fields if values.database_id else []
    context = _context(account, {field.name: "" for field in fields} | {"id": 0}, [], None, {}, "#")
    errors = _render_parts(values, context)[1]
    for part in PARTS:
        if part in errors:
            continue
        source = environment(autoescape=part == "html").parse(getattr(values, part) or "")
        unknown = sorted(meta.find_undeclared_variables(source) - set(context))
        if unknown:
            errors[part] = _(
                "Unknown name: %(names)s. Use profile, subprofile, subprofiles, interests, now, "
                "unsubscribe_url or database.",
                names=", ".join(unknown),
            )
    return errors


# --- rendering ----------------------------------------------------------------------------------


def render(
    template: EmailTemplate | TemplateValues,
    profile: Profile,
    *,
    subprofile: Subprofile | None = None,
    unsubscribe_url: str = "#",
) -> Rendered:
    """The template's parts for this profile; ValidationError (by part) when a part cannot be rendered."""
    account = db.session.get_one(Account, profile.account_id)
    context = _profile_context(account, profile, subprofile, unsubscribe_url)
    rendered, errors = _render_parts(template, context)
    if errors:
        raise ValidationError(errors)
    return rendered


def render_sample(account: Account, values: TemplateValues) -> Rendered:
    """The parts for an empty profile of the template's database (a test send without a chosen profile)."""
    fields = get_database(account, values.database_id).fields if values.database_id else []
    context = _context(account, {field.name: "" for field in fields} | {"id": 0}, [], None, {}, "#")
    rendered, errors = _render_parts(values, context)
    if errors:
        raise ValidationError(errors)
    return rendered


def preview(account: Account, values: TemplateValues, profile_id: int) -> tuple[Rendered | None, dict[str, str]]:
    """Render unsaved editor values for a real profile: (parts, errors by part)."""
    from webapp.profiles.profiles import get_profile

    profile = get_profile(account, profile_id)
    context = _profile_context(account, profile, None, "#")
    rendered, errors = _render_parts(values, context)
    return (None if errors else rendered), errors


def _render_parts(template, context: dict[str, Any]) -> tuple[Rendered, dict[str, str]]:
    parts, errors = {}, {}
    for part in PARTS:
        source = getattr(template, part) or ""
        try:
            output = _compiled(part == "html", source).render(context)
        except TemplateError as error:
            line = getattr(error, "lineno", None)
            errors[part] = _("Line %(line)s: %(error)s", line=line, error=error) if line else str(error)
            continue
        except (TypeError, ValueError, ArithmeticError, LookupError) as error:
            errors[part] = str(error)
            continue
        if len(output) > MAX_OUTPUT:
            errors[part] = _("The result is too long.")
        parts[part] = " ".join(output.split()) if part == "subject" else output
    return Rendered(**{part: parts.get(part, "") for part in PARTS}), errors


def profile_values(profile: Profile) -> dict[str, Any]:
    """``profile`` as a template sees it: the values by field name, and ``id``."""
    return _named_values(profile.database.fields, profile.fields) | {"id": profile.id}


SUBSTITUTED_NAMES = ("unsubscribe_url", "database")


def substitutions(source: str) -> list[str] | None:
    """What a part prints when it is plain substitution — text and ``{{ profile.X }}``, ``{{ profile["X"] }}``,
    ``{{ unsubscribe_url }}``, ``{{ database }}``, nothing else (no tag, filter, test or expression) — as names
    (``profile.X``, ``unsubscribe_url``, ``database``); None when it is more (checked on Jinja's syntax tree).
    A mailing renders such a part once per batch with markers and fills in each recipient's values."""
    try:
        tree = environment(autoescape=True).parse(source)
    except TemplateError:
        return None
    names: list[str] = []
    for statement in tree.body:
        if not isinstance(statement, nodes.Output):
            return None
        for node in statement.nodes:
            name = _substituted(node)
            if name is None:
                return None
            if name:
                names.append(name)
    return names


def _substituted(node: nodes.Node) -> str | None:
    """'' for literal text, the name a node prints, or None when it is not a plain substitution."""
    if isinstance(node, nodes.TemplateData):
        return ""
    if isinstance(node, nodes.Name) and node.name in SUBSTITUTED_NAMES:
        return node.name
    profile = getattr(node, "node", None)
    if not (isinstance(profile, nodes.Name) and profile.name == "profile"):
        return None
    if isinstance(node, nodes.Getattr):
        return f"profile.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return f"profile.{node.arg.value}"
    return None


def render_substituted(source: str, values: dict[str, str]) -> str:
    """A plain-substitution HTML part (``substitutions``) with ``values`` by name (``profile.X``, …)."""
    profile = {name.removeprefix("profile."): value for name, value in values.items() if name.startswith("profile.")}
    context = {"profile": profile} | {name: values.get(name, "") for name in SUBSTITUTED_NAMES}
    return _compiled(True, source).render(context)


def _profile_context(account: Account, profile: Profile, subprofile: Subprofile | None, unsubscribe_url: str):
    database = profile.database
    values = profile_values(profile)
    interest_names = {interest.id: interest.name for interest in database.interests}
    interests = [interest_names[i] for i in profile.interests or [] if i in interest_names]
    context = _context(
        account,
        values,
        interests,
        _subprofile_values(subprofile) if subprofile is not None else None,
        _Subprofiles(profile),
        unsubscribe_url,
    )
    context["database"] = database.name
    return context


def _context(account, profile_values, interests, subprofile_values, subprofiles, unsubscribe_url) -> dict[str, Any]:
    return {
        "profile": profile_values,
        "interests": interests,
        "subprofile": subprofile_values or {},
        "subprofiles": subprofiles,
        "now": _now(account),
        "unsubscribe_url": unsubscribe_url,
        "database": "",
    }


def _now(account: Account) -> datetime:
    try:
        zone = ZoneInfo(account.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).replace(microsecond=0)


def _subprofile_values(subprofile: Subprofile) -> dict[str, Any]:
    return _named_values(subprofile.collection.fields, subprofile.fields) | {"id": subprofile.id}


def _named_values(fields, stored: dict[str, Any]) -> dict[str, Any]:
    """Stored values by field name as a template reads them: a decimal with a scale prints with it (``499.00``)
    and still compares and calculates as a number (a ``Decimal`` of ``format_value``'s text)."""
    values = {}
    for field in fields:
        if field.key not in (stored or {}):
            continue
        value = format_value(field, stored[field.key])
        values[field.name] = Decimal(value) if field.type == "decimal" and isinstance(value, str) else value
    return values


class _Subprofiles(Mapping):
    """A profile's subprofiles per collection name, loaded when a template asks for a collection (the
    collections too: most templates never ask, and a mailing renders one per message)."""

    def __init__(self, profile: Profile):
        self._profile = profile
        self._known: dict[str, Collection] | None = None
        self._loaded: dict[str, list[dict[str, Any]]] = {}

    @property
    def _collections(self) -> dict[str, Collection]:
        if self._known is None:
            query = select(Collection).where(Collection.database_id == self._profile.database_id)
            self._known = {c.name: c for c in db.session.scalars(query)}
        return self._known

    def __getitem__(self, name: str) -> list[dict[str, Any]]:
        if name not in self._loaded:
            collection = self._collections[name]
            rows = db.session.scalars(
                select(Subprofile)
                .where(Subprofile.profile_id == self._profile.id, Subprofile.collection_id == collection.id)
                .order_by(Subprofile.id.desc())
                .limit(SUBPROFILE_LIMIT)
            )
            self._loaded[name] = [_subprofile_values(row) for row in rows]
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._collections)

    def __len__(self) -> int:
        return len(self._collections)
