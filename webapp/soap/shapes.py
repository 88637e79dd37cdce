"""Turning SOAP input into service arguments, and models into the entities of the wire format.

Field types on the wire follow Copernica's names where ours differ (inputs accept both):

======================  ====================================================
ours                    on the wire
======================  ====================================================
text, email, phone      ``text``, ``email``, ``phone``
number                  ``integer``
decimal                 ``float``
date, datetime          ``date``, ``datetime``
choice                  ``select`` (the choices, one per line, in ``value``)
large_text              ``text`` with ``big`` true (``big`` as input too)
reference               ``foreign_key``
country                 ``country`` (Copernica has no such type)
======================  ====================================================

Values go out as text: numbers as written, dates ``YYYY-MM-DD``, datetimes ``YYYY-MM-DD HH:MM:SS``, the
choices of a multiple choice field comma-separated, an empty value as ``""``; interests as ``1``/``0``.
Interests come in as a yes/no word read by ``profiles.flags.parse_flag``; any other text counts as on.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from webapp.models import Callback, Collection, Database, Field, Interest, Profile, Subprofile
from webapp.profiles import databases
from webapp.profiles.copernica_fields import TO_WIRE
from webapp.profiles.field_types import format_value
from webapp.profiles.flags import parse_flag
from webapp.profiles.search import Requirement
from webapp.profiles.special_content import special_content_of
from webapp.soap import types

TIMESTAMP = "%Y-%m-%d %H:%M:%S"


def timestamp(value: datetime | None) -> str:
    return value.strftime(TIMESTAMP) if value else ""


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


# --- input ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairValue:
    """One ``pair`` of an input map, as ``read_map`` reads it (a light stand-in for ``types.Pair``)."""

    key: str | None
    value: str | None


def read_map(element) -> types.Map:
    """An input ``map`` element: its ``pair`` children's ``key`` and ``value`` texts, in one pass."""
    found = []
    for pair in element:
        if not isinstance(pair.tag, str):
            continue  # a comment or processing instruction
        texts = {etree.QName(child).localname: child.text for child in pair if isinstance(child.tag, str)}
        found.append(PairValue(texts.get("key"), texts.get("value")))
    return types.Map(pair=found)


def pairs(value: types.Map | None) -> dict[str, Any]:
    """A ``pair`` sequence as a dict (a later pair with the same key wins); keys are stripped."""
    result: dict[str, Any] = {}
    for pair in (getattr(value, "pair", None) or []) if value is not None else []:
        if pair is not None and pair.key:
            result[pair.key.strip()] = "" if pair.value is None else pair.value
    return result


def interest_on(value: Any) -> bool:
    """An interest value from the API: a yes/no word (``parse_flag``); text that is not one counts as on, as the
    API has always read it (it never refused an interest value)."""
    return parse_flag(value) is not False


def requirements(value: types.Requirements | None) -> list[Requirement]:
    result = []
    for item in (getattr(value, "requirement", None) or []) if value is not None else []:
        if item is None or not item.fieldname:
            continue
        result.append(
            Requirement(
                fieldname=item.fieldname,
                value="" if item.value is None else item.value,
                operator=item.operator or "=",
                case_sensitive=bool(item.casesensitive),
            )
        )
    return result


def ids(value: types.IdList | None) -> list[int]:
    return [int(i) for i in (getattr(value, "item", None) or []) if i is not None] if value is not None else []


def strings(value: types.StringArray | None) -> list[str]:
    return [str(i).strip() for i in (getattr(value, "item", None) or []) if i] if value is not None else []


def reference_id(value: types.ObjectRef | None) -> int:
    return int(value.id) if value is not None and value.id is not None else 0


# --- output ---------------------------------------------------------------------------------------


def database(entity: Database) -> types.DatabaseEntity:
    return types.DatabaseEntity(
        id=entity.id,
        name=entity.name,
        description=entity.description or "",
        archived=bool(entity.archived),
        created=timestamp(entity.created_at),
        unsubscribebehavior=entity.unsubscribe_behaviour,
        countprofiles=databases.count_profiles(entity),
    )


def field(entity: Field, cls=types.FieldEntity):
    options = entity.options or {}
    value = "\n".join(options.get("choices") or []) if entity.type == "choice" else text(entity.default)
    return cls(
        id=entity.id,
        name=entity.name,
        type=TO_WIRE.get(entity.type, entity.type),
        value=value,
        displayed=bool(entity.shown),
        ordered=bool(entity.indexed),
        length=int(options.get("length") or (65535 if entity.type == "large_text" else 255)),
        lines=5 if entity.type == "large_text" else 1,
        big=entity.type == "large_text",
        hidden=bool(entity.hidden),
        index=bool(entity.indexed),
        specialcontent=special_content_of(entity.type),
    )


def interest(entity: Interest) -> types.InterestEntity:
    return types.InterestEntity(id=entity.id, name=entity.name, groupname=entity.group or "", weight=entity.position)


def collection_field(entity: Field) -> types.CollectionFieldEntity:
    return field(entity, types.CollectionFieldEntity)


def collection(entity: Collection) -> types.CollectionEntity:
    return types.CollectionEntity(
        id=entity.id,
        name=entity.name,
        created=timestamp(entity.created_at),
        unsubscribebehavior=entity.unsubscribe_behaviour,
        countsubprofiles=databases.count_subprofiles(entity),
    )


def value_map(values: dict[str, Any]) -> types.Map:
    return types.Map(pair=[types.Pair(key=key, value=text(value)) for key, value in values.items()])


def profile_fields(entity: Profile) -> dict[str, Any]:
    """Every field of the profile's database by name, with its value (``""`` when empty)."""
    return {f.name: format_value(f, entity.fields.get(f.key)) for f in entity.database.fields}


def profile_interests(entity: Profile) -> dict[str, bool]:
    held = set(entity.interests or [])
    return {interest.name: interest.id in held for interest in entity.database.interests}


def profile(entity: Profile, allproperties: bool = True) -> types.ProfileEntity:
    result = types.ProfileEntity(
        id=entity.id,
        code=entity.code,
        database=entity.database_id,
        created=timestamp(entity.created_at),
        modified=timestamp(entity.updated_at),
    )
    if allproperties:
        result.fields = value_map(profile_fields(entity))
        result.interests = value_map(profile_interests(entity))
    return result


def subprofile(entity: Subprofile, allproperties: bool = True) -> types.SubprofileEntity:
    result = types.SubprofileEntity(
        id=entity.id,
        code=entity.code,
        profile=entity.profile_id,
        collection=entity.collection_id,
        created=timestamp(entity.created_at),
        modified=timestamp(entity.updated_at),
    )
    if allproperties:
        result.fields = value_map({f.name: format_value(f, entity.fields.get(f.key)) for f in entity.collection.fields})
    return result


def callback(entity: Callback) -> types.CallbackEntity:
    return types.CallbackEntity(id=entity.id, url=entity.url, method=entity.method, expression=entity.expression or "")


def view(entity) -> types.ViewEntity:
    return types.ViewEntity(id=entity.id, name=entity.name, description=entity.description or "")


def rule(entity) -> types.RuleEntity:
    return types.RuleEntity(id=entity.id, name=entity.name, view=entity.view, inversed=entity.inversed, disabled=False)


def miniview(entity) -> types.MiniViewEntity:
    return types.MiniViewEntity(id=entity.id, name=entity.name, description=entity.description or "")


def conditions(found: list, start: int, total: int) -> tuple:
    """A paged list of a rule's conditions (``selections.views.ViewCondition``), each under its kind's name."""
    fields = [
        types.FieldConditionEntity(
            id=c.id,
            type=c.type,
            disabled=False,
            comparison=c.comparison,
            value=text(c.value),
            numericComparison=c.numeric,
            field=c.field,
        )
        for c in found
        if c.type == "Field"
    ]
    interests = [
        types.InterestConditionEntity(
            id=c.id, type=c.type, disabled=False, interest=c.interest, interestgroup=c.group, value=text(c.value)
        )
        for c in found
        if c.type == "Interest"
    ]
    return start, len(found), total, types.ConditionItems(fieldcondition=fields, interestcondition=interests)


def paged(items: list, items_type, name: str, start: int, total: int) -> tuple:
    """The four members of a paged list: ``start``, ``length``, ``total``, ``items``."""
    return start, len(items), total, items_type(**{name: items})


def page_bounds(start: int | None, length: int | None, total: int, default_length: int = 100) -> tuple[int, int]:
    """A slice ``[start, end)`` of an in-memory list of ``total`` (for lists that are small by nature)."""
    start = max(0, start or 0)
    length = max(0, min(1000, default_length if length is None else length))
    return start, min(total, start + length)


NO_HISTORY = "Verrijk keeps no historic profiles: leave timestamp out."


def no_history(timestamp: str | None) -> None:
    """Refuse Copernica's ``timestamp`` (a historic profile): answering today's values would be wrong."""
    if timestamp and timestamp.strip():
        from spyne import Fault

        raise Fault("Client", NO_HISTORY)
