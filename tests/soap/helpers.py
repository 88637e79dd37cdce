"""Small builders of zeep arguments in the API's conventions."""

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import ProfileEvent


def pairs(**values) -> dict:
    return {"pair": [{"key": key, "value": str(value)} for key, value in values.items()]}


def as_dict(soap_map) -> dict:
    """A ``map{pair*}`` as zeep returns it (zeep unwraps the one repeated child into a list)."""
    if soap_map is None:
        return {}
    found = soap_map if isinstance(soap_map, list) else (soap_map.pair or [])
    return {pair.key: pair.value for pair in found}


def requirements(*items) -> dict:
    """Each item ``(fieldname, operator, value)`` or ``(fieldname, operator, value, casesensitive)``."""
    result = []
    for item in items:
        name, operator, value, *rest = item
        result.append(
            {"fieldname": name, "operator": operator, "value": value, "casesensitive": bool(rest and rest[0])}
        )
    return {"requirement": result}


RESULT_MEMBERS = (
    "value",
    "document",
    "database",
    "field",
    "collectionfield",
    "collection",
    "interest",
    "profile",
    "subprofile",
    "callback",
    "view",
    "rule",
    "miniview",
    "map",
)


def unwrap(result):
    """A ``Result`` (Copernica's layout) as the flat layout answered: the one member a method returns, or
    the ``Result`` itself for a paged list (``start``, ``length``, ``total``, ``items``); None when empty."""
    if result is None or result["start"] is not None or result["items"] is not None:
        return result
    return next((result[name] for name in RESULT_MEMBERS if result[name] is not None), None)


def copernica_call(operation, **parameters):
    """Call a zeep operation the way Copernica's clients do (``parameters={...}``) and unwrap its ``result``."""
    return unwrap(operation(parameters=parameters))


def items(page, name: str) -> list:
    return list(page["items"][name] or []) if page["items"] is not None else []


def events(profile_id: int) -> list[ProfileEvent]:
    db.session.rollback()
    return list(
        db.session.scalars(select(ProfileEvent).where(ProfileEvent.profile_id == profile_id).order_by(ProfileEvent.id))
    )
