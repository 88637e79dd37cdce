""" "Create this field" on the import mapping screen: a new field for a column that maps to nothing yet.

A column ``Orders.Total`` whose collection ``Orders`` exists becomes a field of that collection; any other column
becomes a database field. The field is named after the column, made a valid name (``First name`` becomes
``First_name``); the column is mapped to it in the definition at once (the rest of the mapping screen is saved
with ``mapping.update_definition``). A column with line breaks in a cell proposes a large-text field.
"""

import re
from collections.abc import Iterable
from itertools import islice

from flask_babel import gettext as _

from webapp.imports import mapping as imports_mapping
from webapp.imports.files import Row
from webapp.models import Account
from webapp.platform.errors import ValidationError
from webapp.profiles.databases import get_database
from webapp.profiles.fields import FieldSpec, create_field

# The types that need no further options (a multiple choice needs its choices, a reference its database).
TYPES = ("text", "email", "phone", "number", "decimal", "date", "datetime", "country", "large_text")
NOT_A_NAME = re.compile(r"[^A-Za-z0-9_]+")
NAME_LENGTH = 64
SAMPLE_ROWS = 500  # the lines looked at to propose a new field's type
LONG_TEXT = 255  # a cell longer than this proposes a large-text field


def field_name(text: str) -> str:
    """``text`` as a field name: letters, digits and underscores, starting with a letter, at most 64 long."""
    name = NOT_A_NAME.sub("_", text.strip()).strip("_")
    if not name[:1].isalpha():
        name = "Field_" + name
    return name[:NAME_LENGTH].rstrip("_")


def proposal(schema: imports_mapping.Schema, column: str) -> str | None:
    """The target a new field for ``column`` would be (``field:Name`` or ``collection:Orders.Name``), or None
    when the column already matches a field, collection field or interest."""
    if imports_mapping.guess_mapping(schema, [column])[column] != "ignore":
        return None
    collection_name, dot, rest = column.partition(".")
    if dot and collection_name.strip().lower() in schema.collections:
        collection, _fields = schema.collections[collection_name.strip().lower()]
        return f"collection:{collection.name}.{field_name(rest)}"
    return f"field:{field_name(column)}"


def proposed_types(rows: Iterable[Row], header: list[str]) -> dict[str, str]:
    """The type proposed for a new field per column: large text when a cell of the first lines spans several
    lines or is long, else text."""
    types = dict.fromkeys(header, "text")
    for row in islice(rows, SAMPLE_ROWS):
        for column, cell in (row.values or {}).items():
            if "\n" in cell or "\r" in cell or len(cell) > LONG_TEXT:
                types[column] = "large_text"
    return types


def create_for_column(
    account: Account, database_id: int, column: str, type_name: str, *, definition_id: int | None = None
) -> str:
    """Create the field ``proposal`` names for ``column`` with the type ``type_name``; returns its target.
    With ``definition_id`` the column is mapped to the new field in that definition at once, so that a reload
    of the mapping screen keeps it.

    Raises ``ValidationError`` (a type that needs options, a name taken meanwhile, …)."""
    database = get_database(account, database_id)
    schema = imports_mapping.schema_of(database)
    target = proposal(schema, column)
    if target is None:
        raise ValidationError({"column": _("Column %(name)s maps to an existing field already.", name=column)})
    if type_name not in TYPES:
        raise ValidationError({"type": _("Choose one of the offered field types.")})
    kind, _sep, name = target.partition(":")
    if kind == "collection":
        collection_name, _dot, name = name.partition(".")
        collection, _fields = schema.collections[collection_name.lower()]
        create_field(account, FieldSpec(name=name, type=type_name), collection_id=collection.id)
    else:
        create_field(account, FieldSpec(name=name, type=type_name), database_id=database.id)
    if definition_id is not None:
        imports_mapping.remember_target(account, definition_id, column, target)
    return target
