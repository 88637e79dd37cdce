"""The complex types of the SOAP API, named as Copernica's clients expect them on the wire.

Inputs: maps are ``pair{key, value}`` sequences, requirements ``requirement{fieldname, value, operator,
casesensitive}``, object references ``{id}``, id lists repeated ``item``. Outputs: entities (``database``,
``field``, ``collection``, ``collectionfield``, ``profile``, ``subprofile``, ``callback``, ``view``, ``rule``,
``miniview``, ``fieldcondition``, ``interestcondition``), paged lists
(``start``, ``length``, ``total``, ``items``), ``value``, ``map{pair*}`` and ``array{item*}``.
"""

import os

from spyne import Boolean, ComplexModel, Integer, Unicode

DEFAULT_NAMESPACE = "http://verrijk/soap"
NAMESPACE = os.environ.get("SOAP_NAMESPACE", "").strip() or DEFAULT_NAMESPACE
"""The target namespace of the WSDL and of every element on the wire. Copernica's own is not in any public
source we could find; ``SOAP_NAMESPACE`` (read once, when the types are built) sets it for generated code that
hard-codes another one."""


class _Type(ComplexModel):
    __namespace__ = NAMESPACE


Token = Unicode(min_occurs=0)
"""The ``access_token`` member every method takes (last, after ``login``, as in Copernica's WSDL)."""


class Login(_Type):
    """Copernica's per-call ``login{username, account, password}`` (which it documents as soon deprecated).

    Named ``logindata`` here because the ``login`` method's own input already has that name inside Spyne;
    the WSDL calls it ``login`` (see ``wsdl.py``).
    """

    __type_name__ = "logindata"
    _type_info = [("username", Unicode), ("account", Unicode), ("password", Unicode)]


Timestamp = Unicode(min_occurs=0)
"""Copernica's ``timestamp`` of a historic profile (``Profile_createSubProfile``, ``Profile_subProfiles``, …)."""


class CallerInfo(_Type):
    """Copernica's ``caller{followups, caller, identity}``: who makes a change (accepted; follow-ups always run)."""

    __type_name__ = "caller"
    _type_info = [("followups", Boolean), ("caller", Unicode), ("identity", Unicode)]


class Pair(_Type):
    __type_name__ = "pair"
    _type_info = [("key", Unicode), ("value", Unicode)]


class Map(_Type):
    __type_name__ = "map"
    _type_info = [("pair", Pair.customize(max_occurs="unbounded"))]


class Requirement(_Type):
    __type_name__ = "requirement"
    _type_info = [
        ("fieldname", Unicode),
        ("value", Unicode),
        ("operator", Unicode),
        ("casesensitive", Boolean),
    ]


class Requirements(_Type):
    __type_name__ = "requirements"
    _type_info = [("requirement", Requirement.customize(max_occurs="unbounded"))]


class IdList(_Type):
    __type_name__ = "idlist"
    _type_info = [("item", Integer.customize(max_occurs="unbounded"))]


class StringArray(_Type):
    __type_name__ = "array"
    _type_info = [("item", Unicode.customize(max_occurs="unbounded"))]


class ObjectRef(_Type):
    """A reference to an object by id: ``collection{id}``, ``profile{id}``."""

    __type_name__ = "reference"
    _type_info = [("id", Integer)]


class DatabaseEntity(_Type):
    __type_name__ = "database"
    _type_info = [
        ("id", Integer),
        ("name", Unicode),
        ("description", Unicode),
        ("archived", Boolean),
        ("created", Unicode),
        ("unsubscribebehavior", Unicode),
        ("countprofiles", Integer),
    ]


_FIELD_PROPERTIES = [
    ("id", Integer),
    ("name", Unicode),
    ("type", Unicode),
    ("value", Unicode),
    ("displayed", Boolean),
    ("ordered", Boolean),
    ("length", Integer),
    ("lines", Integer),
    ("big", Boolean),
    ("hidden", Boolean),
    ("index", Boolean),
    ("specialcontent", Unicode),
]


class FieldEntity(_Type):
    __type_name__ = "field"
    _type_info = list(_FIELD_PROPERTIES)


class CollectionFieldEntity(_Type):
    __type_name__ = "collectionfield"
    _type_info = list(_FIELD_PROPERTIES)


class InterestEntity(_Type):
    __type_name__ = "interest"
    _type_info = [("id", Integer), ("name", Unicode), ("groupname", Unicode), ("weight", Integer)]


class CollectionEntity(_Type):
    __type_name__ = "collection"
    _type_info = [
        ("id", Integer),
        ("name", Unicode),
        ("created", Unicode),
        ("unsubscribebehavior", Unicode),
        ("countsubprofiles", Integer),
    ]


class ProfileEntity(_Type):
    __type_name__ = "profile"
    _type_info = [
        ("id", Integer),
        ("code", Unicode),
        ("database", Integer),
        ("created", Unicode),
        ("modified", Unicode),
        ("fields", Map),
        ("interests", Map),
    ]


class SubprofileEntity(_Type):
    __type_name__ = "subprofile"
    _type_info = [
        ("id", Integer),
        ("code", Unicode),
        ("profile", Integer),
        ("collection", Integer),
        ("created", Unicode),
        ("modified", Unicode),
        ("fields", Map),
    ]


class CallbackEntity(_Type):
    __type_name__ = "callback"
    _type_info = [("id", Integer), ("url", Unicode), ("method", Unicode), ("expression", Unicode)]


class ViewEntity(_Type):
    """A selection (Copernica's "view")."""

    __type_name__ = "view"
    _type_info = [("id", Integer), ("name", Unicode), ("description", Unicode)]


class RuleEntity(_Type):
    """A rule of a view (``selections/views.py``): its conditions are AND-ed, the view's rules OR-ed."""

    __type_name__ = "rule"
    _type_info = [("id", Integer), ("name", Unicode), ("view", Integer), ("inversed", Boolean), ("disabled", Boolean)]


class MiniViewEntity(_Type):
    """A selection of a collection's subprofiles (Copernica's "miniview")."""

    __type_name__ = "miniview"
    _type_info = [("id", Integer), ("name", Unicode), ("description", Unicode)]


_CONDITION = [("id", Integer), ("type", Unicode), ("disabled", Boolean)]


class FieldConditionEntity(_Type):
    """A ``Field`` condition of a rule: Copernica's members, and ``field`` (the field's name; Copernica reads it
    with a separate call)."""

    __type_name__ = "fieldcondition"
    _type_info = [
        *_CONDITION,
        ("comparison", Unicode),
        ("value", Unicode),
        ("numericComparison", Boolean),
        ("field", Unicode),
    ]


class InterestConditionEntity(_Type):
    """An ``Interest`` condition of a rule: ``interest`` (its name), ``interestgroup`` and ``value`` (``1``: has
    the interest, ``0``: has it not)."""

    __type_name__ = "interestcondition"
    _type_info = [*_CONDITION, ("interest", Unicode), ("interestgroup", Unicode), ("value", Unicode)]


def _items(name: str, entity) -> type:
    """The ``items`` of a paged list: repeated elements named after the entity."""
    return type(
        f"{name}Items",
        (_Type,),
        {"__type_name__": f"{name}items", "_type_info": [(name, entity.customize(max_occurs="unbounded"))]},
    )


DatabaseItems = _items("database", DatabaseEntity)
FieldItems = _items("field", FieldEntity)
CollectionFieldItems = _items("collectionfield", CollectionFieldEntity)
CollectionItems = _items("collection", CollectionEntity)
ProfileItems = _items("profile", ProfileEntity)
SubprofileItems = _items("subprofile", SubprofileEntity)
CallbackItems = _items("callback", CallbackEntity)
ViewItems = _items("view", ViewEntity)
RuleItems = _items("rule", RuleEntity)
InterestItems = _items("interest", InterestEntity)
MiniViewItems = _items("miniview", MiniViewEntity)


class ConditionItems(_Type):
    """The ``items`` of ``Rule_conditions``: a rule's conditions, by kind."""

    __type_name__ = "conditionitems"
    _type_info = [
        ("fieldcondition", FieldConditionEntity.customize(max_occurs="unbounded")),
        ("interestcondition", InterestConditionEntity.customize(max_occurs="unbounded")),
    ]


PAGED = ("start", "length", "total", "items")


class ResultItems(_Type):
    """The ``items`` of Copernica's ``Result``: optional repeated members of every entity kind."""

    __type_name__ = "Items"
    _type_info = [
        ("database", DatabaseEntity.customize(max_occurs="unbounded")),
        ("field", FieldEntity.customize(max_occurs="unbounded")),
        ("collectionfield", CollectionFieldEntity.customize(max_occurs="unbounded")),
        ("collection", CollectionEntity.customize(max_occurs="unbounded")),
        ("interest", InterestEntity.customize(max_occurs="unbounded")),
        ("profile", ProfileEntity.customize(max_occurs="unbounded")),
        ("subprofile", SubprofileEntity.customize(max_occurs="unbounded")),
        ("callback", CallbackEntity.customize(max_occurs="unbounded")),
        ("view", ViewEntity.customize(max_occurs="unbounded")),
        ("rule", RuleEntity.customize(max_occurs="unbounded")),
        ("miniview", MiniViewEntity.customize(max_occurs="unbounded")),
        ("fieldcondition", FieldConditionEntity.customize(max_occurs="unbounded")),
        ("interestcondition", InterestConditionEntity.customize(max_occurs="unbounded")),
    ]


class Result(_Type):
    """Copernica's one response type: the member named after what a method returns, the others absent."""

    __type_name__ = "Result"
    _type_info = [
        ("value", Integer),
        ("document", Unicode),  # Verrijk's extension Account_accessExport: JSON text
        ("database", DatabaseEntity),
        ("field", FieldEntity),
        ("collectionfield", CollectionFieldEntity),
        ("collection", CollectionEntity),
        ("interest", InterestEntity),
        ("profile", ProfileEntity),
        ("subprofile", SubprofileEntity),
        ("callback", CallbackEntity),
        ("view", ViewEntity),
        ("rule", RuleEntity),
        ("miniview", MiniViewEntity),
        ("map", Map),
        ("start", Integer),
        ("length", Integer),
        ("total", Integer),
        ("items", ResultItems),
    ]
