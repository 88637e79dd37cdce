"""The mapping of an import: which column goes to which field, collection field or interest, the key fields, and
what a line does on a match, without one, and with empty cells. Guessed from the header, checked on every save.
"""

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from webapp.extensions import db
from webapp.imports import files as import_files
from webapp.models import (
    Account,
    Collection,
    Database,
    Field,
    ImportDefinition,
    Interest,
)
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_database

ON_MATCH = ("update", "update_empty", "skip")


ON_NO_MATCH = ("create", "ignore")


ON_EMPTY = ("leave", "clear")


DATE_ORDERS = ("", "DMY", "MDY")


@dataclass(frozen=True)
class Target:
    """What a column maps to: ``kind`` is field, collection, interest or ignore."""

    kind: str
    field: Field | None = None
    collection: Collection | None = None
    interest: Interest | None = None


@dataclass
class Schema:
    """A snapshot of a database's fields, collections and interests (detached, so commits between
    batches do not make every attribute access a query)."""

    database_id: int
    fields: list[Field]
    interests: list[Interest]
    collections: dict[str, tuple[Collection, list[Field]]]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name.lower() == name.strip().lower()), None)

    def interest(self, name: str) -> Interest | None:
        return next((i for i in self.interests if i.name.lower() == name.strip().lower()), None)

    def collection_field(self, collection_name: str, name: str) -> tuple[Collection, Field] | None:
        found = self.collections.get(collection_name.strip().lower())
        if found is None:
            return None
        collection, fields = found
        match = next((f for f in fields if f.name.lower() == name.strip().lower()), None)
        return (collection, match) if match else None


def _detached(model, row):
    return model(**{column.key: getattr(row, column.key) for column in model.__table__.columns})


def schema_of(database: Database) -> Schema:
    return Schema(
        database_id=database.id,
        fields=[_detached(Field, f) for f in database.fields],
        interests=[_detached(Interest, i) for i in database.interests],
        collections={
            c.name.lower(): (_detached(Collection, c), [_detached(Field, f) for f in c.fields])
            for c in database.collections
        },
    )


def parse_target(schema: Schema, target: str) -> Target:
    """``field:Name``, ``collection:Orders.Field``, ``interest:Name`` or ``ignore``."""
    kind, _sep, name = (target or "ignore").partition(":")
    if kind == "ignore":
        return Target("ignore")
    if kind == "field" and (found := schema.field(name)):
        return Target("field", field=found)
    if kind == "interest" and (interest := schema.interest(name)):
        return Target("interest", interest=interest)
    if kind == "collection" and "." in name:
        collection_name, _dot, field_name = name.partition(".")
        if pair := schema.collection_field(collection_name, field_name):
            return Target("collection", collection=pair[0], field=pair[1])
    raise ValidationError(_("%(target)s is not a field, collection field or interest of this database.", target=target))


def target_choices(schema: Schema) -> list[tuple[str, str]]:
    """Every target a column can map to, as (value, label)."""
    choices = [("ignore", _("Ignore this column"))]
    choices += [(f"field:{f.name}", f.name) for f in schema.fields]
    for collection, fields in schema.collections.values():
        choices += [(f"collection:{collection.name}.{f.name}", f"{collection.name}.{f.name}") for f in fields]
    choices += [(f"interest:{i.name}", _("Interest %(name)s", name=i.name)) for i in schema.interests]
    return choices


def guess_mapping(schema: Schema, header: list[str]) -> dict[str, str]:
    """Columns named like a field (case-insensitively), ``Collection.Field`` or an interest; else ignored."""
    mapping = {}
    for column in header:
        target = "ignore"
        if found := schema.field(column):
            target = f"field:{found.name}"
        elif "." in column and (pair := schema.collection_field(*column.split(".", 1))):
            target = f"collection:{pair[0].name}.{pair[1].name}"
        elif interest := schema.interest(column):
            target = f"interest:{interest.name}"
        mapping[column] = target
    return mapping


def clean_definition(
    schema: Schema,
    mapping: dict[str, str],
    key_fields: list[str],
    on_match: str,
    on_no_match: str,
    on_empty: str,
    options: dict[str, Any],
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned_mapping, mapped_fields = {}, set()
    for column, target in mapping.items():
        try:
            parsed = parse_target(schema, target)
        except ValidationError as error:
            errors[column] = error.message
            continue
        if parsed.kind == "ignore":
            cleaned_mapping[column] = "ignore"
            continue
        # parse_target gives a field and a collection target its field, an interest target its interest.
        if parsed.field is not None:
            name = f"{parsed.collection.name}.{parsed.field.name}" if parsed.collection else parsed.field.name
        else:
            assert parsed.interest is not None
            name = parsed.interest.name
        cleaned_mapping[column] = f"{parsed.kind}:{name}"
        if parsed.kind == "field":
            assert parsed.field is not None
            if parsed.field.name in mapped_fields:
                errors[column] = _("Another column is mapped to %(name)s already.", name=parsed.field.name)
            mapped_fields.add(parsed.field.name)
    keys = []
    for name in key_fields:
        found = schema.field(name)
        if found is None:
            errors["key_fields"] = _("There is no field named %(name)s.", name=name)
        elif found.name not in mapped_fields:
            errors["key_fields"] = _("Key field %(name)s must be mapped from a column.", name=found.name)
        elif found.name not in keys:
            keys.append(found.name)
    if on_match not in ON_MATCH or on_no_match not in ON_NO_MATCH or on_empty not in ON_EMPTY:
        errors["policy"] = _("Choose one of the offered policies.")
    if on_match != "skip" and not keys and on_no_match == "ignore":
        errors["key_fields"] = _("Without key fields nothing can match: every line would be ignored.")
    clean_options = {
        "encoding": options.get("encoding") or "",
        "delimiter": options.get("delimiter") or "",
        "quotechar": options.get("quotechar") or "",
        "date_order": options.get("date_order") or "",
    }
    if clean_options["encoding"] and clean_options["encoding"] not in import_files.ENCODINGS:
        errors["encoding"] = _("Choose one of the offered encodings.")
    if clean_options["delimiter"] and clean_options["delimiter"] not in import_files.DELIMITERS:
        errors["delimiter"] = _("Choose one of the offered delimiters.")
    if clean_options["quotechar"] and clean_options["quotechar"] not in import_files.QUOTECHARS:
        errors["quotechar"] = _("Choose one of the offered quote characters.")
    if clean_options["date_order"] not in DATE_ORDERS:
        errors["date_order"] = _("Choose one of the offered date orders.")
    if errors:
        raise ValidationError(errors)
    return {
        "mapping": cleaned_mapping,
        "key_fields": keys,
        "on_match": on_match,
        "on_no_match": on_no_match,
        "on_empty": on_empty,
        "options": clean_options,
    }


def get_definition(account: Account, definition_id: int) -> ImportDefinition:
    return owned(ImportDefinition, account, definition_id, _("Import not found."))


def update_definition(
    account: Account,
    definition_id: int,
    *,
    mapping: dict[str, str],
    key_fields: list[str],
    on_match: str,
    on_no_match: str,
    on_empty: str,
    options: dict[str, Any] | None = None,
) -> ImportDefinition:
    definition = get_definition(account, definition_id)
    schema = schema_of(get_database(account, definition.database_id))
    cleaned = clean_definition(schema, mapping, key_fields, on_match, on_no_match, on_empty, options or {})
    for name, value in cleaned.items():
        setattr(definition, name, value)
    db.session.commit()
    return definition
