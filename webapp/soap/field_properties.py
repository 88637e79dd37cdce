"""The field properties of ``Database_createField``, ``Collection_createField`` and their ``*_update``, as Spyne
parameters; their reading into a field (shared with the REST door) is ``profiles.copernica_fields``.
"""

from spyne import Boolean, Integer, Unicode

from webapp.models import Field
from webapp.profiles.copernica_fields import FieldProperties, field_spec

__all__ = ["FIELD_PARAMETERS", "FieldProperties", "field_spec", "find_field"]

FIELD_PARAMETERS = (
    Unicode,  # name
    Unicode,  # type
    Unicode,  # value
    Boolean,  # display
    Boolean,  # ordered
    Integer,  # length
    Integer,  # textlines
    Boolean,  # hidden
    Boolean,  # index
    Unicode,  # specialcontent
    Boolean,  # displayed (alias of display)
    Integer,  # lines (alias of textlines)
    Boolean,  # big
)


def find_field(owner_fields: list[Field], identifier: str | None) -> Field | None:
    key = (identifier or "").strip().lower()
    for field in owner_fields:
        if field.name.lower() == key or str(field.id) == key:
            return field
    return None
