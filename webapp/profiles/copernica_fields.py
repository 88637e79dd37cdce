"""Copernica's field properties, as its SOAP and REST APIs send them, read into a ``fields.FieldSpec``.

Copernica's names, in its order: ``name``, ``type``, ``value``, ``display``, ``ordered``, ``length``,
``textlines``, ``hidden``, ``index``, ``specialcontent``. Our earlier names stay accepted after them as
aliases: ``displayed`` (= ``display``, the REST API's name), ``lines`` (= ``textlines``) and ``big`` (a big
text field). ``textlines`` is accepted and not stored: Verrijk shows text fields on one line and big fields on
five. ``specialcontent`` is a field type here (``profiles.special_content``): ``email`` makes an email field.

Field types use Copernica's names where ours differ (``FROM_WIRE``; ours are accepted too); both doors share
this reading, so a field made through either API is the same field.
"""

from dataclasses import dataclass

from webapp.models import Field
from webapp.profiles import fields
from webapp.profiles.special_content import type_with_special_content

# Our field type → Copernica's name on the wire (a big text field is ``text`` with ``big`` in SOAP).
TO_WIRE = {
    "number": "integer",
    "decimal": "float",
    "choice": "select",
    "large_text": "text",
    "reference": "foreign_key",
}
FROM_WIRE = {
    "integer": "number",
    "int": "number",
    "float": "decimal",
    "double": "decimal",
    "select": "choice",
    "big": "large_text",
    "foreign_key": "reference",
    "empty_date": "date",
    "empty_datetime": "datetime",
    "phone_fax": "phone",
    "phone_gsm": "phone",
}


def field_type_from_wire(name: str | None, big: bool | None) -> str:
    name = (name or "text").strip().lower()
    ours = FROM_WIRE.get(name, name)
    return "large_text" if ours == "text" and big else ours


@dataclass(frozen=True)
class FieldProperties:
    """What a call said about a field, in Copernica's order (``None``: not given)."""

    name: str | None = None
    type: str | None = None
    value: str | None = None
    display: bool | None = None
    ordered: bool | None = None
    length: int | None = None
    textlines: int | None = None
    hidden: bool | None = None
    index: bool | None = None
    specialcontent: str | None = None
    displayed: bool | None = None
    lines: int | None = None
    big: bool | None = None


def _current_spec(current: Field | None) -> fields.FieldSpec:
    if current is None:
        return fields.FieldSpec(name="")
    return fields.FieldSpec(
        name=current.name,
        type=current.type,
        options=dict(current.options or {}),
        default=current.default,
        required=current.required,
        shown=current.shown,
        hidden=current.hidden,
        indexed=current.indexed,
        unique=current.unique,
    )


def field_spec(current: Field | None, given: FieldProperties, *, indexable: bool = True) -> fields.FieldSpec:
    """A ``FieldSpec`` from Copernica's field properties; what is not given keeps its current value."""
    spec = _current_spec(current)
    if given.name is not None:
        spec.name = given.name
    if given.type is not None or given.big is not None:
        wire_type = given.type if given.type is not None else TO_WIRE.get(spec.type, spec.type)
        big = given.big if given.big is not None else spec.type == "large_text"
        spec.type = field_type_from_wire(wire_type, big)
    spec.type = type_with_special_content(spec.type, given.specialcontent)
    if current is not None and spec.type != current.type:
        spec.options = {}
    if spec.type == "choice":
        if given.value is not None:
            spec.options = {**spec.options, "choices": given.value.splitlines()}
        if current is None or spec.type != current.type:
            spec.default = None
    elif given.value is not None:
        spec.default = given.value
    if given.length is not None and spec.type == "text":
        spec.options = {**spec.options, "length": given.length}
    display = given.display if given.display is not None else given.displayed
    if display is not None:
        spec.shown = bool(display)
    if given.hidden is not None:
        spec.hidden = bool(given.hidden)
    if indexable and (given.ordered is not None or given.index is not None):
        spec.indexed = bool(given.index if given.index is not None else given.ordered)
    return spec
