"""Reading values out of a JSON body: each reader checks the JSON type only (the domain checks the rest) and
turns a wrong type into a ``ValidationError`` naming the member, so that bad input is a ``422`` problem and
never a server error."""

from typing import Any

from flask_babel import gettext as _

from webapp.platform.errors import ValidationError
from webapp.profiles.flags import parse_flag

MAX_ID = 2**31 - 1


def text(data: dict[str, Any], name: str, default: str | None = None) -> str | None:
    """A text (a number is taken as written); ``default`` when absent or null."""
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationError({name: _("%(name)s is a text.", name=name)})
    return str(value)


def localized_text(data: dict[str, Any], name: str, default: Any = None) -> Any:
    """A text, or a map of language → text (a form's texts in its languages); ``default`` when absent or null."""
    value = data.get(name)
    if isinstance(value, dict):
        if not all(isinstance(item, str) for item in value.values()):
            raise ValidationError({name: _("%(name)s is a text, or a map of language to text.", name=name)})
        return value
    try:
        return text(data, name, default)
    except ValidationError:
        raise ValidationError({name: _("%(name)s is a text, or a map of language to text.", name=name)}) from None


def flag(data: dict[str, Any], name: str, default: bool | None = None) -> bool | None:
    """A yes/no value (``true``, ``1``, ``"yes"``, …: ``profiles.flags.parse_flag``); ``default`` when absent."""
    if name not in data or data[name] is None:
        return default
    value = parse_flag(data[name])
    if value is None:
        raise ValidationError({name: _("%(name)s is true or false.", name=name)})
    return value


def number(data: dict[str, Any], name: str, default: int | None = None) -> int | None:
    """A whole number (or its digits as text); ``default`` when absent or null."""
    value = data.get(name)
    if value is None:
        return default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_ID:
        raise ValidationError({name: _("%(name)s is a whole number.", name=name)})
    return value


def identifier(data: dict[str, Any], name: str) -> int | None:
    """An id (a positive whole number, or its digits as text); ``None`` when absent, null or empty."""
    if data.get(name) in (None, ""):
        return None
    value = number(data, name)
    if value is None or value < 1:
        raise ValidationError({name: _("%(name)s is an id.", name=name)})
    return value


def identifiers(data: dict[str, Any], name: str) -> list[int]:
    """A list of ids (empty when absent)."""
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError({name: _("%(name)s is a list of ids.", name=name)})
    return [identifier({name: item}, name) or 0 for item in value]


def structure(data: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    """A JSON object (``kind`` dict) or list (``kind`` list) handed to the domain's validator as it is."""
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, kind):
        what = _("an object") if kind is dict else _("a list")
        raise ValidationError({name: _("%(name)s is %(what)s.", name=name, what=what)})
    return value
