"""The mapping of an import: which column goes to which field, collection field or interest, the key fields, and
what a line does on a match, without one, and with empty cells. Guessed from the header, checked on every save.
"""

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.imports import files as import_files
from webapp.models import (
    Account,
    Collection,
    Database,
    Field,
    ImportDefinition,
    ImportRun,
    ImportRunStatus,
    Interest,
)
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles import consents
from webapp.profiles.databases import get_database

ON_MATCH = ("update", "update_empty", "skip")


ON_NO_MATCH = ("create", "ignore")


ON_EMPTY = ("leave", "clear")


DATE_ORDERS = ("", "DMY", "MDY")


# What a header may add to a field's name and still mean it: "Email address", "E-mail adres", "Telefoonnummer".
NAME_SUFFIXES = ("address", "adres", "adresse", "addr", "number", "nummer", "nr")
NOT_LETTERS = re.compile(r"[\s\-_]+")


def loose_name(name: str) -> str:
    """A name as header matching compares it: case, spaces, hyphens, underscores and diacritics ignored
    (``E-mail``, ``e_mail`` and ``Émail`` are all ``email``)."""
    decomposed = unicodedata.normalize("NFKD", name.strip())
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return NOT_LETTERS.sub("", letters).casefold()


def _without_suffix(loose: str) -> str:
    for suffix in NAME_SUFFIXES:
        if loose.endswith(suffix) and len(loose) > len(suffix):
            return loose[: -len(suffix)]
    return loose


def _forgiving(items: list, name: str, name_of=lambda item: item.name):
    """The item whose name equals ``name`` case-insensitively, else loosely (``loose_name``), else with a
    suffix like "address" left off the header's name; None when no item, or more than one, matches loosely."""
    wanted = name.strip().lower()
    exact = next((item for item in items if name_of(item).lower() == wanted), None)
    if exact is not None:
        return exact
    loose = loose_name(name)
    for candidate in (loose, _without_suffix(loose)):
        found = [item for item in items if loose_name(name_of(item)) == candidate]
        if len(found) == 1:
            return found[0]
    return None


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

    def guess(self, column: str) -> str:
        """The target a column's name suggests, matched forgivingly (``_forgiving``), or ``ignore``."""
        if found := _forgiving(self.fields, column):
            return f"field:{found.name}"
        collection_name, dot, name = column.partition(".")
        pair = _forgiving(list(self.collections.values()), collection_name, lambda pair: pair[0].name) if dot else None
        if pair is not None and (found := _forgiving(pair[1], name)):
            return f"collection:{pair[0].name}.{found.name}"
        if interest := _forgiving(self.interests, column):
            return f"interest:{interest.name}"
        return "ignore"


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
    """Columns named like a field, ``Collection.Field`` or an interest (forgivingly: ``Schema.guess``); else
    ignored. Two columns never map to one field: the later one is ignored."""
    mapping: dict[str, str] = {}
    for column in header:
        target = schema.guess(column)
        mapping[column] = "ignore" if target != "ignore" and target in mapping.values() else target
    return mapping


def proposed_key(schema: Schema, mapping: dict[str, str]) -> list[str]:
    """The key proposed for a new mapping: the mapped field of type email, and never another field (a first
    name or a city as the key would merge different people). Without one, no key: the person chooses."""
    emails = [
        found.name
        for target in mapping.values()
        if target.startswith("field:") and (found := schema.field(target[6:])) is not None and found.type == "email"
    ]
    return emails[:1]


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
    cleaned_mapping, mapped_fields, mapped_collection_fields = {}, set(), set()
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
        if parsed.kind == "collection":
            mapped_collection_fields.add(name)
        if parsed.kind == "field":
            assert parsed.field is not None
            if parsed.field.name in mapped_fields:
                errors[column] = _("Another column is mapped to %(name)s already.", name=parsed.field.name)
            mapped_fields.add(parsed.field.name)
    keys: list[str] = []
    for name in key_fields:
        if "." in name:  # a collection's key field: it finds the subprofile a line updates
            errors.update(_collection_key(schema, name, mapped_collection_fields, keys))
            continue
        found = schema.field(name)
        if found is None:
            errors["key_fields"] = _("There is no field named %(name)s.", name=name)
        elif found.name not in mapped_fields:
            errors["key_fields"] = _("Key field %(name)s must be mapped from a column.", name=found.name)
        elif found.name not in keys:
            keys.append(found.name)
    if on_match not in ON_MATCH or on_no_match not in ON_NO_MATCH or on_empty not in ON_EMPTY:
        errors["policy"] = _("Choose one of the offered policies.")
    if on_match != "skip" and not [key for key in keys if "." not in key] and on_no_match == "ignore":
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
    try:  # a basis stated for every profile the import creates or changes: a consent record each
        stated = consents.stated(options.get("consent"))
    except ValidationError as error:
        errors.update(error.errors)
    else:
        if stated is not None:
            clean_options["consent"] = stated.as_dict()
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


def _collection_key(schema: Schema, name: str, mapped: set[str], keys: list[str]) -> dict[str, str]:
    """Add ``Collection.Field`` to ``keys`` when it is a mapped collection field; else the error."""
    collection_name, _dot, field_name = name.partition(".")
    pair = schema.collection_field(collection_name, field_name)
    if pair is None:
        return {"key_fields": _("There is no field named %(name)s.", name=name)}
    full = f"{pair[0].name}.{pair[1].name}"
    if full not in mapped:
        return {"key_fields": _("Key field %(name)s must be mapped from a column.", name=full)}
    if full not in keys:
        keys.append(full)
    return {}


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


REMEMBERED = ("mapping", "key_fields", "on_match", "on_no_match", "on_empty", "options")
REMEMBER_SEARCH = 50  # the most recent started runs of the database looked at


def remembered(account: Account, schema: Schema, header: list[str]) -> dict[str, Any] | None:
    """The mapping, key, policies and options of the latest definition of this database that a started run
    used on a file with the same columns (in the same order) — still valid for the database — or None."""
    definitions = db.session.scalars(
        select(ImportDefinition)
        .join(ImportRun, ImportRun.definition_id == ImportDefinition.id)
        .where(
            ImportRun.account_id == account.id,
            ImportRun.database_id == schema.database_id,
            ImportRun.status != ImportRunStatus.PENDING,
        )
        .order_by(ImportRun.id.desc())
        .limit(REMEMBER_SEARCH)
    )
    for definition in definitions:
        if sorted(definition.mapping or {}) != sorted(header):  # jsonb keeps no key order
            continue
        try:
            return clean_definition(
                schema,
                definition.mapping,
                definition.key_fields,
                definition.on_match,
                definition.on_no_match,
                definition.on_empty,
                definition.options or {},
            )
        except ValidationError:
            continue  # a field it used is gone: guess instead
    return None


def remember_target(account: Account, definition_id: int, column: str, target: str) -> None:
    """Store one column's target in a definition (a field just created for it), so a reload keeps it."""
    definition = get_definition(account, definition_id)
    parse_target(schema_of(get_database(account, definition.database_id)), target)
    definition.mapping = {**(definition.mapping or {}), column: target}
    db.session.commit()
