"""Imports: upload a file, map its columns, preview, apply in bulk through the event spine, roll back.

A run reads its file in batches of ``BATCH_SIZE`` records. Each batch is one transaction, committed with the
run's counters — including ``lines_done``, the number of records consumed (``docs/imports.md``). On
PostgreSQL a batch is validated in Python (each distinct cell value once, see ``import_values``), copied
into a staging table and matched, merged and journalled by one set-based statement
(``import_staging.BulkMerge``); a batch that statement cannot take (two lines with one key, an empty
required field, …), runs with unique or reference fields, and SQLite go through the line-by-line
``Planner``, which gives the same results. Reading and validating the next batch overlaps with the database
applying this one (``_Prepared``).
A rerun after a crash skips the first ``lines_done`` records: the batch that was lost is applied again, and
its key lookup finds what an earlier batch created, so nothing is duplicated and no line is lost.

A rejected line is never half-applied: a line's profile values, interests and subprofile are validated
before any of them is taken into the batch. Counting: a matched line that changes nothing counts as
skipped; "update only empty fields" fills empty fields and leaves interests alone; when several profiles
match a key, the oldest one (lowest id) is updated.

The ``import`` work kind commits once per batch (other kinds never commit): the run row is locked and its
``lines_done`` checked at the start of each batch, so a second job of the same run stops instead of
applying a batch twice.
"""

import gc
import queue
import re
import secrets
import sys
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select, update
from werkzeug.utils import secure_filename

from webapp.extensions import db
from webapp.models import (
    Account,
    Collection,
    Database,
    Field,
    ImportDefinition,
    ImportLineError,
    ImportRun,
    Interest,
    Profile,
    ProfileEvent,
    ScheduledWork,
    Subprofile,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import events
from webapp.profiles.databases import get_database
from webapp.profiles.field_expressions import dialect_name, sort_literal, sort_value
from webapp.profiles.field_types import FieldValueError, get_field_type
from webapp.profiles.profiles import MAX_ID, new_code
from webapp.profiles.values import diff, interests_diff, match_literal, validate_interests, validate_values
from webapp.services import import_files, import_staging
from webapp.services.import_files import FileFormat, ImportFileError, Row
from webapp.services.import_values import CellCoercer

BATCH_SIZE = 5_000
SLICE_SECONDS = 120  # one RQ job's share of a long run (RQ's default job timeout is 180 s)
PREVIEW_LINES = 20
PREVIEW_LIMIT = 10_000
LOOKUP_CHUNK = 500
LOOKUP_CHUNK_POSTGRESQL = 10_000  # one IN list per 10,000 keys (SQLite allows fewer bound parameters)
ON_MATCH = ("update", "update_empty", "skip")
ON_NO_MATCH = ("create", "ignore")
ON_EMPTY = ("leave", "clear")
DATE_ORDERS = ("", "DMY", "MDY")
TRUE_WORDS = {"1", "yes", "y", "true", "on", "x", "ja", "j", "waar"}
FALSE_WORDS = {"0", "no", "n", "false", "off", "nee", "onwaar"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
OTHER_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


# --- the mapping ----------------------------------------------------------------------------------


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
        if found := schema.collection_field(collection_name, field_name):
            return Target("collection", collection=found[0], field=found[1])
    raise ValidationError(_("%(target)s is not a field, collection field or interest of this database.",
                            target=target))


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


def _clean_definition(schema: Schema, mapping: dict[str, str], key_fields: list[str], on_match: str,
                      on_no_match: str, on_empty: str, options: dict[str, Any]) -> dict[str, Any]:
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
        name = f"{parsed.collection.name}.{parsed.field.name}" if parsed.collection else (
            parsed.field.name if parsed.field else parsed.interest.name)
        cleaned_mapping[column] = f"{parsed.kind}:{name}"
        if parsed.kind == "field":
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
    return {"mapping": cleaned_mapping, "key_fields": keys, "on_match": on_match, "on_no_match": on_no_match,
            "on_empty": on_empty, "options": clean_options}


# --- definitions and runs -------------------------------------------------------------------------


def get_definition(account: Account, definition_id: int) -> ImportDefinition:
    definition = db.session.get(ImportDefinition, definition_id) if 0 < definition_id <= MAX_ID else None
    if definition is None or definition.account_id != account.id:
        raise NotFound(_("Import not found."))
    return definition


def get_run(account: Account, run_id: int) -> ImportRun:
    run = db.session.get(ImportRun, run_id) if 0 < run_id <= MAX_ID else None
    if run is None or run.account_id != account.id:
        raise NotFound(_("Import not found."))
    return run


def list_runs(account: Account, database_id: int, *, limit: int = 100) -> list[ImportRun]:
    database = get_database(account, database_id)
    return list(db.session.scalars(
        select(ImportRun).where(ImportRun.account_id == account.id, ImportRun.database_id == database.id)
        .order_by(ImportRun.id.desc()).limit(limit)
    ))


def upload_directory() -> Path:
    """Where uploaded files are kept: ``IMPORT_FOLDER`` when set, else ``imports/`` in the instance folder."""
    return Path(current_app.config.get("IMPORT_FOLDER") or Path(current_app.instance_path) / "imports")


def upload(account: Account, database_id: int, stream: IO[bytes], file_name: str) -> ImportRun:
    """Store an uploaded file and create a definition (with a guessed mapping) and a pending run for it."""
    database = get_database(account, database_id)
    file_name = (file_name or "").replace("\x00", "")  # a name the browser sent; PostgreSQL stores no zero byte
    directory = upload_directory() / str(account.id)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{secrets.token_hex(8)}-{secure_filename(file_name) or 'import.csv'}"
    size = 0
    with path.open("wb") as out:
        while chunk := stream.read(import_files.CHUNK_BYTES):
            out.write(chunk)
            size += len(chunk)
    if not size:
        path.unlink()
        raise ValidationError({"file": _("The file is empty.")})
    try:
        file_format = import_files.detect_format(path)
        header = import_files.read_header(path, file_format)
    except ImportFileError as error:
        path.unlink()
        raise ValidationError({"file": error.message}) from None
    schema = schema_of(database)
    mapping = guess_mapping(schema, header)
    keys = [target.split(":", 1)[1] for target in mapping.values() if target.startswith("field:")]
    email_keys = [name for name in keys if schema.field(name).type == "email"]
    definition = ImportDefinition(
        account_id=account.id, database_id=database.id, name=(file_name or "import")[:100], mapping=mapping,
        key_fields=email_keys[:1] or keys[:1],
        options={"encoding": "", "delimiter": "", "quotechar": "", "date_order": ""},
    )
    db.session.add(definition)
    db.session.flush()
    run = ImportRun(account_id=account.id, definition_id=definition.id, database_id=database.id,
                    file_name=file_name[:255], file_path=str(path), file_size=size)
    db.session.add(run)
    db.session.commit()
    return run


def update_definition(account: Account, definition_id: int, *, mapping: dict[str, str], key_fields: list[str],
                      on_match: str, on_no_match: str, on_empty: str,
                      options: dict[str, Any] | None = None) -> ImportDefinition:
    definition = get_definition(account, definition_id)
    schema = schema_of(get_database(account, definition.database_id))
    cleaned = _clean_definition(schema, mapping, key_fields, on_match, on_no_match, on_empty, options or {})
    for name, value in cleaned.items():
        setattr(definition, name, value)
    db.session.commit()
    return definition


def run_format(run: ImportRun, definition: ImportDefinition) -> FileFormat:
    options = definition.options or {}
    return import_files.detect_format(run.file_path, encoding=options.get("encoding", ""),
                                      delimiter=options.get("delimiter", ""), quotechar=options.get("quotechar", ""))


def run_header(account: Account, run_id: int) -> tuple[FileFormat, list[str]]:
    """The detected (or chosen) format of a run's file and its column names."""
    run = get_run(account, run_id)
    file_format = run_format(run, _definition_of(run))
    return file_format, import_files.read_header(run.file_path, file_format)


def _definition_of(run: ImportRun) -> ImportDefinition:
    definition = db.session.get(ImportDefinition, run.definition_id) if run.definition_id else None
    if definition is None:
        raise ValidationError(_("The import definition of this run was deleted."))
    return definition


def start_run(account: Account, run_id: int) -> ImportRun:
    """Queue a pending run (durable work of kind ``import``)."""
    run = get_run(account, run_id)
    if run.status != "pending":
        raise ValidationError(_("This import has been started already."))
    definition = _definition_of(run)
    _check_mapping(account, run, definition)
    run.status = "queued"
    work.schedule("import", payload={"run_id": run.id}, account_id=account.id)
    db.session.commit()
    return run


def _check_mapping(account: Account, run: ImportRun, definition: ImportDefinition) -> None:
    """The stored mapping must still fit the database and the file's columns."""
    schema = schema_of(get_database(account, definition.database_id))
    _clean_definition(schema, definition.mapping, definition.key_fields, definition.on_match,
                      definition.on_no_match, definition.on_empty, definition.options or {})
    header = import_files.read_header(run.file_path, run_format(run, definition))
    if not any(definition.mapping.get(column, "ignore") != "ignore" for column in header):
        raise ValidationError(_("Map at least one column to a field or an interest."))


# --- planning lines (shared by preview and apply) -------------------------------------------------


@dataclass
class State:
    """A profile as a batch sees it: before the batch, and after the batch's lines so far."""

    id: int | None
    fields: dict[str, Any]
    interests: list[int]
    original_fields: dict[str, Any]
    original_interests: list[int]
    new: bool = False
    subprofiles: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@dataclass
class LineResult:
    line: int
    action: str  # create | update | skip | reject
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (column, value, reason)


class LineRejected(Exception):
    def __init__(self, errors: list[tuple[str, str, str]]):
        super().__init__(errors)
        self.errors = errors


def normalize_date(text: str, type_name: str, order: str) -> str:
    """``YYYY-MM-DD [hh:mm:ss]`` as is; ``31-12-2024``, ``12/31/2024``, ``31.12.2024 10:00`` only with a
    declared day/month order. Anything else is an error, never a silent zero date."""
    text = text.strip()
    if ISO_DATE.match(text):
        return text
    match = OTHER_DATE.match(text)
    if match and order in ("DMY", "MDY"):
        first, second, year, hour, minute, seconds = match.groups()
        day, month = (first, second) if order == "DMY" else (second, first)
        try:
            value = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(seconds or 0))
        except ValueError:
            raise FieldValueError(_("is not an existing date")) from None
        if type_name == "date":
            if hour is not None:
                raise FieldValueError(_("must be a date without a time"))
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if order:
        example = "31-12-2024" if order == "DMY" else "12/31/2024"
        raise FieldValueError(_("is not a date like 2024-12-31 or %(example)s", example=example))
    raise FieldValueError(_("is not a date like 2024-12-31 (declare the day/month order for other formats)"))


@dataclass(frozen=True)
class _Rules:
    """What ``validate_values`` checks for a list of fields, prepared once per run."""

    fields: list[Field]
    names: dict[str, str]
    defaults: list[tuple[str, Any]]
    required: list[Field]
    checked: bool  # reference or unique fields: their checks query the database, so validate_values does them

    @classmethod
    def of(cls, fields: list[Field]) -> "_Rules":
        return cls(fields, {f.key: f.name for f in fields},
                   [(f.key, f.default) for f in fields if f.default is not None],
                   [f for f in fields if f.required],
                   any(f.unique or f.type == "reference" for f in fields))


class Planner:
    """Decides what each line does to which profile, validating it; writes nothing itself.

    Cells are coerced through one ``CellCoercer`` per field (each distinct value once, see
    ``import_values``); the rules of ``values.validate_values`` (defaults, required fields) are applied to
    the coerced values here, and a field list with reference or unique fields goes through
    ``validate_values`` itself (their checks query the database).
    """

    def __init__(self, account: Account, definition: ImportDefinition, schema: Schema, *, show: bool = False):
        self.account = account
        self.schema = schema
        self.show = show  # LineResult.values (the preview shows them; applying does not need them)
        self.on_match, self.on_no_match, self.on_empty = (
            definition.on_match, definition.on_no_match, definition.on_empty)
        self.date_order = (definition.options or {}).get("date_order", "")
        self.targets = {column: parse_target(schema, target) for column, target in definition.mapping.items()}
        self.key_fields = [schema.field(name) for name in definition.key_fields]
        self.key_columns = {
            target.field.name: column for column, target in self.targets.items() if target.kind == "field"
        }
        self.unique_fields = [f for f in schema.fields if f.unique]
        every_field = schema.fields + [f for _collection, fields in schema.collections.values() for f in fields]
        self.coercers = {f.key: CellCoercer(f, self._preparer(f)) for f in every_field}
        # (column, kind, field key, coercer, collection id or interest) of every mapped column
        self.cells = [
            (column, target.kind, target.field.key if target.field else None,
             self.coercers[target.field.key] if target.field else None,
             target.collection.id if target.collection else target.interest)
            for column, target in self.targets.items() if target.kind != "ignore"
        ]
        self.key_parts = [(f, self.key_columns[f.name], self.coercers[f.key],
                           str.lower if get_field_type(f.type).sort_as == "text" else str) for f in self.key_fields]
        self.rules = {None: _Rules.of(schema.fields)}
        self.rules.update({c.id: _Rules.of(fields) for c, fields in schema.collections.values()})
        self.merge: import_staging.BulkMerge | None = None
        self.reset()

    def _preparer(self, target_field: Field):
        if target_field.type not in ("date", "datetime"):
            return None
        return lambda raw: normalize_date(raw, target_field.type, self.date_order)

    def reset(self) -> None:
        self.by_key: dict[tuple, State] = {}
        self.keys: dict[int, Any] = {}
        self.states: list[State] = []
        self.claims: dict[str, dict[str, int]] = {f.key: {} for f in self.unique_fields}

    # the line's cells, by what they map to
    def _split(self, row: Row):
        """Coerced values by field key (None clears), interest changes, subprofile values, cell errors."""
        values: dict[str, Any] = {}
        interests: dict[int, bool] = {}
        subs: dict[int, dict[str, Any]] = {}
        errors: list[tuple[str, str, str]] = []
        cells, leave_empty = row.values, self.on_empty == "leave"
        for column, kind, key, coercer, owner in self.cells:
            raw = cells.get(column)
            if raw is None:
                continue
            empty = not raw.strip()
            if kind == "collection":
                if not empty:
                    try:
                        value = coercer(raw)
                    except FieldValueError as error:
                        errors.append((column, raw, str(error)))
                    else:
                        subs.setdefault(owner, {})[key] = value
                continue
            if empty and leave_empty:
                continue
            if kind == "interest":
                word = raw.strip().lower()
                if empty or word in FALSE_WORDS:
                    interests[owner.id] = False
                elif word in TRUE_WORDS:
                    interests[owner.id] = True
                else:
                    errors.append((column, raw, _("Interest %(name)s must be yes or no (1 or 0).",
                                                  name=owner.name)))
                continue
            if empty:
                values[key] = None
                continue
            try:
                values[key] = coercer(raw)
            except FieldValueError as error:
                errors.append((column, raw, str(error)))
        return values, interests, subs, errors

    def _key(self, row: Row) -> tuple[tuple, tuple] | None:
        """The line's key (match literals, stored values), or None without key fields (computed once)."""
        if not self.key_fields:
            return None
        if row.line not in self.keys:
            try:
                self.keys[row.line] = self._compute_key(row)
            except LineRejected as rejected:
                self.keys[row.line] = rejected
        found = self.keys[row.line]
        if isinstance(found, LineRejected):
            raise LineRejected(found.errors)
        return found

    def _compute_key(self, row: Row) -> tuple[tuple, tuple]:
        literals, stored = [], []
        for key_field, column, coercer, literal in self.key_parts:
            raw = row.values.get(column, "")
            try:
                value = coercer(raw)
            except FieldValueError as error:
                raise LineRejected([(column, raw, str(error))]) from None
            if value is None or isinstance(value, list):
                raise LineRejected([(column, raw, _("Key field %(name)s is empty.", name=key_field.name))])
            literals.append(literal(str(value)))  # as values.match_literal has it
            stored.append(value)
        return tuple(literals), tuple(stored)

    def load(self, rows: list[Row]) -> None:
        """Find the profiles the rows' keys match: one query per ``LOOKUP_CHUNK`` keys."""
        if not self.key_fields:
            return
        wanted: dict[tuple, tuple] = {}
        for row in rows:
            if row.values is None:
                continue
            try:
                key = self._key(row)
            except LineRejected:
                continue
            if key[0] not in self.by_key:
                wanted[key[0]] = key[1]
        first, dialect = self.key_fields[0], dialect_name()
        firsts = sorted({sort_literal(first, stored[0], dialect) for stored in wanted.values()}, key=str)
        size = LOOKUP_CHUNK_POSTGRESQL if dialect == "postgresql" else LOOKUP_CHUNK
        for start in range(0, len(firsts), size):
            chunk = firsts[start:start + size]
            found = db.session.execute(
                select(Profile.id, Profile.fields, Profile.interests)
                .where(Profile.account_id == self.account.id, Profile.database_id == self.schema.database_id,
                       sort_value(first, dialect).in_(chunk))
                .order_by(Profile.id)
            )
            for profile_id, fields, interests in found:
                values = [fields.get(f.key) for f in self.key_fields]
                if any(value is None for value in values):
                    continue
                key = tuple(match_literal(f, value) for f, value in zip(self.key_fields, values, strict=True))
                if key in wanted and key not in self.by_key:
                    state = State(profile_id, dict(fields), list(interests or []), dict(fields),
                                  list(interests or []))
                    self.by_key[key] = state
                    self.states.append(state)

    def plan(self, row: Row) -> LineResult:
        """Validate one line and take it into the batch's states, or reject it whole."""
        if row.values is None:
            return LineResult(row.line, "reject", errors=[("", "", row.error)])
        try:
            return self._plan(row)
        except LineRejected as rejected:
            return LineResult(row.line, "reject", errors=rejected.errors)

    def _plan(self, row: Row) -> LineResult:
        values, interest_changes, subs, errors = self._split(row)
        key = self._key(row)
        if errors:
            raise LineRejected(errors)
        state = self.by_key.get(key[0]) if key else None
        if state is None and self.on_no_match == "ignore":
            return LineResult(row.line, "skip")
        if state is not None and self.on_match == "skip":
            return LineResult(row.line, "skip")
        if state is not None and self.on_match == "update_empty":
            values = {key: value for key, value in values.items() if state.fields.get(key) is None}
            interest_changes = {}
        current = state.fields if state else None
        stored = self._merge(row, None, values, current, state.id if state else None)
        current_interests = state.interests if state else []
        if interest_changes:
            new_interests = validate_interests(self.schema.interests, interest_changes, current_interests)
        else:
            new_interests = sorted(set(current_interests))
        new_subs = [(collection_id, self._merge(row, collection_id, sub_values, None, None))
                    for collection_id, sub_values in subs.items()]
        claims = self._check_unique(row, stored, state)
        if state is None:
            state = State(None, stored, new_interests, {}, [], new=True)
            self.states.append(state)
            if key:
                self.by_key[key[0]] = state
            action = "create"
        else:
            changed = stored != state.fields or new_interests != state.interests or new_subs
            state.fields, state.interests = stored, new_interests
            action = "update" if changed else "skip"
        state.subprofiles.extend(new_subs)
        for key, literal in claims:
            self.claims[key][literal] = id(state)
        if not self.show:
            return LineResult(row.line, action)
        shown = {f.name: stored.get(f.key) for f in self.schema.fields if f.key in stored}
        for collection_id, sub_fields in new_subs:
            collection, fields = next(pair for pair in self.schema.collections.values() if pair[0].id == collection_id)
            shown.update({f"{collection.name}.{f.name}": sub_fields.get(f.key) for f in fields if f.key in sub_fields})
        for interest in self.schema.interests:
            if interest.id in interest_changes:
                shown[interest.name] = interest.id in new_interests
        return LineResult(row.line, action, shown)

    def _column(self, name: str, collection: Collection | None) -> str:
        for column, target in self.targets.items():
            if target.field and target.field.name == name and target.collection == collection:
                return column
        return ""

    def _merge(self, row: Row, collection_id: int | None, values: dict[str, Any], current: dict[str, Any] | None,
               holder_id: int | None) -> dict[str, Any]:
        """``validate_values`` for coerced values keyed by field key: the new stored JSON, or the line's errors."""
        rules = self.rules[collection_id]
        collection = None
        if collection_id is not None:
            collection = next(c for c, _fields in self.schema.collections.values() if c.id == collection_id)
        if rules.checked:
            by_name = {rules.names[key]: value for key, value in values.items()}
            return self._validate(row, rules.fields, by_name, current, holder_id, collection)
        stored = dict(current) if current is not None else {}
        for key, value in values.items():
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = value
        if current is None:
            for key, default in rules.defaults:
                stored.setdefault(key, default)
        problems = []
        for required in rules.required:
            if stored.get(required.key) is None:
                column = self._column(required.name, collection)
                problems.append((column, row.values.get(column, "") if column else "",
                                 _("%(name)s is required.", name=required.name)))
        if problems:
            raise LineRejected(problems)
        return stored

    def _validate(self, row, fields, values, current, holder_id, collection=None) -> dict[str, Any]:
        try:
            return validate_values(self.account, fields, values, current, holder_id=holder_id)
        except ValidationError as error:
            problems = []
            for name, message in error.errors.items():
                column = self._column(name, collection)
                problems.append((column, row.values.get(column, "") if column else "", message))
            raise LineRejected(problems) from None

    def _check_unique(self, row: Row, stored: dict[str, Any], state: State | None) -> list[tuple[str, str]]:
        """Two lines of one batch may not give two profiles the same unique value (the database
        check in ``validate_values`` cannot see profiles this batch has not inserted yet)."""
        mine = id(state) if state else None
        problems, claims = [], []
        for unique_field in self.unique_fields:
            value = stored.get(unique_field.key)
            if value is None:
                continue
            literal = match_literal(unique_field, value)
            owner = self.claims[unique_field.key].get(literal)
            if owner is not None and owner != mine:
                column = self._column(unique_field.name, None)
                problems.append((column, row.values.get(column, ""), _(
                    "Another profile already has %(value)s as %(name)s.", value=value, name=unique_field.name)))
            claims.append((unique_field.key, literal))
        if problems:
            raise LineRejected(problems)
        return claims

    # the set-based path (PostgreSQL): validate in Python, match and merge in SQL

    def bulk_ready(self) -> bool:
        """Whether batches may take the set-based path: PostgreSQL, no field whose checks query the database
        (unique, reference) in a layer the file writes, and every required profile field mapped (a line
        that leaves one empty goes the planner's way, see ``stage``)."""
        if dialect_name() != "postgresql":
            return False
        layers = {None} | {owner for _c, kind, _k, _co, owner in self.cells if kind == "collection"}
        if any(self.rules[layer].checked for layer in layers):
            return False
        mapped = {key for _c, kind, key, _co, _o in self.cells if kind == "field"}
        return all(required.key in mapped for required in self.rules[None].required)

    def prepare_merge(self) -> None:
        """The run's ``BulkMerge`` statement (once per run)."""
        first = self.key_fields[0] if self.key_fields else None
        self.merge = import_staging.BulkMerge(
            self.account.id, self.schema.database_id, self.key_fields,
            [key for _column, kind, key, _coercer, _owner in self.cells if kind == "field"],
            key_indexed=bool(first and (first.indexed or first.unique)),
            on_match=self.on_match, on_no_match=self.on_no_match,
            defaults=dict(self.rules[None].defaults), collections=len(self.schema.collections),
        )
        fields = [(column, key, coercer.pair, key in {f.key for f in self.key_fields})
                  for column, kind, key, coercer, _owner in self.cells if kind == "field"]
        # In jsonb's own key order (shorter keys first), so that PostgreSQL finds each staged object
        # already sorted when it parses it; a line's errors keep the order of its cells (as the planner reports them).
        self.field_cells = sorted(fields, key=lambda cell: (len(cell[1]), cell[1]))
        self.cell_order = {column: position for position, (column, *_rest) in enumerate(self.cells)}
        self.other_cells = [cell for cell in self.cells if cell[1] != "field"]
        self.required_keys = frozenset(required.key for required in self.rules[None].required)
        # A new profile's event is written as staged unless field defaults or interests add to its values.
        self.changes_in_python = not self.rules[None].defaults and not any(
            kind == "interest" for _c, kind, _k, _co, _o in self.cells)

    def stage(self, rows: list[Row]) -> tuple[import_staging.StagedLines, list[LineResult]] | None:
        """Validate a batch for the set-based path: (staged lines, rejected lines) — or None when a line's
        outcome depends on what it matches (two lines with one key, an empty required field, an invalid
        subprofile on a line a policy may skip): then the batch goes through ``plan`` instead."""
        staged: list[import_staging.StagedLine] = []
        rejected: list[LineResult] = []
        seen: set[tuple] = set()
        leave = self.on_empty == "leave"
        may_skip = self.on_match == "skip" or self.on_no_match == "ignore"
        for row in rows:
            cells = row.values
            if cells is None:
                rejected.append(LineResult(row.line, "reject", errors=[("", "", row.error)]))
                continue
            members, changes, errors, keys, cleared = [], [], [], {}, []
            for column, key, pair, is_key in self.field_cells:
                raw = cells.get(column)
                if raw is None:
                    continue
                try:
                    value, member, change = pair(raw)
                except FieldValueError as error:
                    errors.append((column, raw, str(error)))
                    if is_key:
                        keys[key] = error
                    continue
                if is_key:
                    keys[key] = value
                if member:
                    members.append(member)
                    changes.append(change)
                elif not leave:
                    cleared.append(key)
            extra = self._extra(row, cleared, errors) if self.other_cells or cleared else None
            key = self._staged_key(cells, keys, errors)
            if errors:
                if len(errors) > 1:
                    errors.sort(key=lambda error: self.cell_order.get(error[0], len(self.cell_order)))
                rejected.append(LineResult(row.line, "reject", errors=errors))
                continue
            if self.required_keys and not all(self._given(cells, required) for required in self.required_keys):
                return None
            if isinstance(extra, LineRejected):
                if may_skip:
                    return None
                rejected.append(LineResult(row.line, "reject", errors=extra.errors))
                continue
            if key is not None:
                if key in seen:
                    return None
                seen.add(key)
            created = '{"fields":{' + ",".join(changes) + '},"interests":{}}' if self.changes_in_python else None
            staged.append((row.line, "{" + ",".join(members) + "}", created, extra))
        return import_staging.StagedLines.of(staged), rejected

    def _given(self, cells: dict[str, str], key: str) -> bool:
        """Whether the line gives field ``key`` a value (its cell is not empty)."""
        column = next(column for column, field_key, _pair, _is_key in self.field_cells if field_key == key)
        return bool((cells.get(column) or "").strip())

    def _staged_key(self, cells: dict[str, str], keys: dict[str, Any], errors: list) -> tuple | None:
        """The line's key (as ``_compute_key`` has it); a bad or empty key field makes its error the only one."""
        if not self.key_parts:
            return None
        literals = []
        for key_field, column, _coercer, literal in self.key_parts:
            value = keys.get(key_field.key)
            raw = cells.get(column, "")
            if isinstance(value, FieldValueError):
                errors[:] = [(column, raw, str(value))]
                return None
            if value is None or isinstance(value, list):
                errors[:] = [(column, raw, _("Key field %(name)s is empty.", name=key_field.name))]
                return None
            literals.append(literal(str(value)))
        return tuple(literals)

    def _extra(self, row: Row, cleared: list[str], errors: list) -> str | LineRejected | None:
        """The line's cleared fields, interest changes and subprofile as JSON (None when it has none);
        cell errors are added to ``errors``; a subprofile the collection's rules refuse is returned."""
        cells, leave = row.values, self.on_empty == "leave"
        on, off, subs = [], [], {}
        for column, kind, key, coercer, owner in self.other_cells:
            raw = cells.get(column)
            if raw is None:
                continue
            empty = not raw.strip()
            if kind == "collection":
                if not empty:
                    try:
                        subs.setdefault(owner, {})[key] = coercer(raw)
                    except FieldValueError as error:
                        errors.append((column, raw, str(error)))
                continue
            if empty and leave:
                continue
            word = raw.strip().lower()
            if empty or word in FALSE_WORDS:
                on, off = [i for i in on if i != owner.id], [*off, owner.id]
            elif word in TRUE_WORDS:
                on, off = [*on, owner.id], [i for i in off if i != owner.id]
            else:
                errors.append((column, raw, _("Interest %(name)s must be yes or no (1 or 0).", name=owner.name)))
        extra: dict[str, Any] = {}
        if cleared:
            extra["clear"] = cleared
        if on or off:
            extra["on"], extra["off"] = on, off
        if subs and not errors:
            try:
                extra["subs"] = {
                    str(owner): self._merge(row, owner, values, None, None) for owner, values in subs.items()
                }
            except LineRejected as rejected:
                return rejected
        return import_staging.encode_json(extra) if extra else None


def _plan_rows(planner: Planner, rows: list[Row]) -> list[LineResult]:
    planner.load(rows)
    return [planner.plan(row) for row in rows]


# --- preview --------------------------------------------------------------------------------------


@dataclass
class Preview:
    lines: list[LineResult]
    counts: dict[str, int]
    lines_read: int
    complete: bool


def preview(account: Account, run_id: int, *, lines: int = PREVIEW_LINES, limit: int = PREVIEW_LIMIT) -> Preview:
    """A dry run: the first ``lines`` lines as they would be stored and what the first ``limit`` lines
    would do (create, update, skip, reject). Writes nothing."""
    run = get_run(account, run_id)
    definition = _definition_of(run)
    _check_mapping(account, run, definition)
    planner = Planner(account, definition, schema_of(get_database(account, run.database_id)), show=True)
    rows, complete = [], True
    for row in import_files.read_rows(run.file_path, run_format(run, definition)):
        if len(rows) >= limit:
            complete = False
            break
        rows.append(row)
    results = _plan_rows(planner, rows)
    db.session.rollback()
    counts = {"create": 0, "update": 0, "skip": 0, "reject": 0}
    for result in results:
        counts[result.action] += 1
    return Preview(results[:lines], counts, len(rows), complete)


# --- applying a run -------------------------------------------------------------------------------


class _Overtaken(Exception):
    """Another worker has moved this run on; this one stops."""


def _after_batch(run_id: int, lines_done: int) -> None:
    """Called after each committed batch (tests use it to simulate a crash between batches)."""


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while batches are applied.

    A batch holds tens of thousands of small dicts and lists; every few hundred allocations the collector
    would walk them all again, which costs more than the import itself. The young generations are collected
    after each batch instead (what the batch left behind), and collection resumes when the run stops.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def _prompt_thread_switches() -> Iterator[None]:
    """Let a thread that waited on the database take the interpreter back within 0.2 ms, not 5 ms.

    While a batch is applied the thread reading and validating the next one holds the interpreter. At
    each answer from PostgreSQL the applying thread would wait for it up to the default switch interval
    (5 ms) — about ten times per batch, which left the database idle for a sixth of the run.
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def apply_run(run_id: int, *, time_limit: float | None = None) -> ImportRun | None:
    """Apply a queued run (or continue a run that crashed); finished runs are left as they are.

    With ``time_limit`` (seconds) it stops after the batch that passes it and leaves the run ``running``;
    calling it again continues where it stopped. Returns None when another job has moved the run on.
    """
    started = time.monotonic()
    run = db.session.get(ImportRun, run_id)
    if run is None or run.status in ("done", "failed", "rolled_back", "pending"):
        return run
    account = db.session.get(Account, run.account_id)
    try:
        definition = _definition_of(run)
        database = get_database(account, run.database_id)
        file_format = run_format(run, definition)
        if run.status != "running":
            run.status, run.started_at = "running", run.started_at or utcnow()
        if not run.lines_total:
            run.lines_total = import_files.count_records(run.file_path, file_format)
        db.session.commit()
        planner = Planner(account, definition, schema_of(database))
        if planner.bulk_ready():
            planner.prepare_merge()
        origin = events.Origin("import", reference=f"import {run.id}")
        done = run.lines_done
        rows = import_files.read_rows(run.file_path, file_format, skip=done)
        with (
            _without_cycle_collection(),
            _prompt_thread_switches(),
            _Prepared(_prepare_batches(rows, planner, BATCH_SIZE)) as batches,
        ):
            for batch in batches:
                done = _apply_batch(run_id, planner, batch, done, origin)
                gc.collect(1)  # the batch's reference cycles, without walking the whole heap
                over_time = time_limit is not None and time.monotonic() - started >= time_limit
                if over_time and len(batch.rows) >= BATCH_SIZE:
                    return db.session.get(ImportRun, run_id)
    except _Overtaken:
        db.session.rollback()
        return None
    except (ImportFileError, ValidationError) as error:
        db.session.rollback()
        run = db.session.get(ImportRun, run_id)
        run.status, run.error, run.finished_at = "failed", error.message, utcnow()
        db.session.commit()
        return run
    run = db.session.get(ImportRun, run_id)
    run.status, run.finished_at = "done", utcnow()
    db.session.commit()
    return run


@dataclass
class _Batch:
    """Records of the file, and — when the set-based path takes them — their staged lines and rejections."""

    rows: list[Row]
    staged: tuple[import_staging.StagedLines, list[LineResult]] | None = None


def _prepare_batches(rows: Iterator[Row], planner: Planner, size: int) -> Generator[_Batch, None, None]:
    """The file's records in batches of ``size``, staged for the set-based path when the planner has one."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield _Batch(batch, planner.stage(batch) if planner.merge is not None else None)
            batch = []
    if batch:
        yield _Batch(batch, planner.stage(batch) if planner.merge is not None else None)


class _Prepared:
    """Runs a batch iterator one batch ahead in a thread of its own, so reading and validating the next
    batch (Python) overlaps with PostgreSQL applying this one (psycopg2 lets go of the GIL while it waits).

    The thread only reads the file and validates cells; every database write stays in the caller's thread
    and transaction, so a crash loses at most what it always did. Errors (a damaged file) are raised in
    the caller's thread when it reaches the batch that failed.
    """

    def __init__(self, batches: Generator[_Batch, None, None]):
        self.batches = batches
        self.ready: queue.Queue = queue.Queue(maxsize=1)
        self.stopped = threading.Event()
        self.app = current_app._get_current_object()
        self.thread = threading.Thread(target=self._produce, name="import-prepare", daemon=True)

    def __enter__(self) -> Iterator[_Batch]:
        self.thread.start()
        return self._consume()

    def __exit__(self, *_exc) -> None:
        self.stopped.set()
        while self.thread.is_alive():
            with suppress(queue.Empty):
                self.ready.get(timeout=0.1)
        self.thread.join()

    def _produce(self) -> None:
        with self.app.app_context():  # messages are translated as in the caller's thread
            try:
                for batch in self.batches:
                    if not self._put(batch):
                        return
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                self._put(error)
                return
            finally:
                self.batches.close()  # the file, when the caller stopped early
            self._put(None)

    def _put(self, item) -> bool:
        while not self.stopped.is_set():
            try:
                self.ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _consume(self) -> Iterator[_Batch]:
        while (item := self.ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item


def _apply_batch(run_id: int, planner: Planner, batch: _Batch, done: int, origin: events.Origin) -> int:
    run = db.session.scalar(select(ImportRun).where(ImportRun.id == run_id).with_for_update())
    if run is None or run.lines_done != done or run.status != "running":
        raise _Overtaken()
    planner.reset()
    counts = _write_batch(run, planner, batch, origin)
    run.lines_done = done + len(batch.rows)
    run.created += counts["create"]
    run.updated += counts["update"]
    run.skipped += counts["skip"]
    run.rejected += counts["reject"]
    db.session.commit()
    _after_batch(run_id, done + len(batch.rows))
    return done + len(batch.rows)


def _write_batch(run: ImportRun, planner: Planner, batch: _Batch, origin: events.Origin) -> dict[str, int]:
    """Write one batch — set-based when it was staged (see ``Planner.stage``), else line by line through
    ``plan`` — and return its counts by action."""
    if batch.staged is not None:
        return _write_staged(run, planner, *batch.staged, origin)
    results = _plan_rows(planner, batch.rows)
    _write(run, planner, results, origin)
    counts = {"create": 0, "update": 0, "skip": 0, "reject": 0}
    for result in results:
        counts[result.action] += 1
    return counts


def _write_staged(run: ImportRun, planner: Planner, lines: import_staging.StagedLines,
                  rejected: list[LineResult], origin: events.Origin) -> dict[str, int]:
    """The set-based path: merge the staged lines (``BulkMerge``), hand the scope of the events it wrote to
    the bulk subscribers, and write the rejected lines."""
    _write_errors(run, rejected)
    if not lines.count:
        return {"create": 0, "update": 0, "skip": 0, "reject": len(rejected)}
    merged = planner.merge.apply(utcnow(), origin.source, origin.actor, origin.reference, lines)
    if merged.event_range is not None:
        _note_events(run, *merged.event_range)
        kinds = {"profile_created"} if merged.created else set()
        kinds |= {"profile_updated"} if merged.updated else set()
        kinds |= {"subprofile_created"} if merged.collection_ids else set()
        events.note_bulk_scope(events.BulkEvents(
            account_id=run.account_id, database_id=run.database_id, source=origin.source,
            reference=origin.reference, kinds=frozenset(kinds), collection_ids=merged.collection_ids,
            id_range=merged.event_range))
    skipped = lines.count - merged.created - merged.updated
    return {"create": merged.created, "update": merged.updated, "skip": skipped, "reject": len(rejected)}


def _write(run: ImportRun, planner: Planner, results: list[LineResult], origin: events.Origin) -> None:
    """The batch's new and changed profiles, new subprofiles, their events and the rejected lines."""
    now = utcnow()
    writer = _CopyWriter(run, now, origin) if dialect_name() == "postgresql" else _CoreWriter(run, now, origin)
    event_rows: list[import_staging.EventRow] = []
    created = [state for state in planner.states if state.new]
    if created:
        ids = writer.insert_profiles([(state.fields, state.interests) for state in created])
        for state, profile_id in zip(created, ids, strict=True):
            state.id = profile_id
            event_rows.append((profile_id, "profile_created", None, None, {
                "fields": diff({}, state.fields), "interests": interests_diff([], state.interests)}))
    changed = [s for s in planner.states if not s.new and (
        s.fields != s.original_fields or s.interests != s.original_interests)]
    if changed:
        writer.update_profiles([(s.id, s.fields, s.interests) for s in changed])
        event_rows += [(s.id, "profile_updated", None, None, {
            "fields": diff(s.original_fields, s.fields),
            "interests": interests_diff(s.original_interests, s.interests)}) for s in changed]
    subs = [(s.id, collection_id, fields) for s in planner.states for collection_id, fields in s.subprofiles]
    if subs:
        event_rows += [
            (profile_id, "subprofile_created", collection_id, sub_id, {"fields": diff({}, fields)})
            for (profile_id, collection_id, fields), sub_id in zip(subs, writer.insert_subprofiles(subs), strict=True)
        ]
    if event_rows:
        event_ids = writer.insert_events(event_rows)
        _note_events(run, min(event_ids), max(event_ids))
        events.note_bulk(event_ids)
    _write_errors(run, results)


def _note_events(run: ImportRun, first: int, last: int) -> None:
    """Widen the run's range of event ids (what its rollback reads) to take ``first``–``last``."""
    run.first_event_id = first if run.first_event_id is None else min(run.first_event_id, first)
    run.last_event_id = last if run.last_event_id is None else max(run.last_event_id, last)


def _write_errors(run: ImportRun, results: list[LineResult]) -> None:
    """The rejected lines' errors (line, column, value, reason); a zero byte, which PostgreSQL cannot store
    and which is why some values are refused, is shown as the replacement character."""
    errors = [
        {"run_id": run.id, "line": result.line, "column": column[:255], "value": value.replace("\x00", "\ufffd"),
         "reason": reason}
        for result in results if result.action == "reject" for column, value, reason in result.errors
    ]
    if errors:
        db.session.execute(insert(ImportLineError), errors)


class _CopyWriter:
    """PostgreSQL: COPY into the tables and a staging table (``import_staging``)."""

    def __init__(self, run: ImportRun, now, origin: events.Origin):
        self.scope = (run.account_id, run.database_id, now)
        self.origin = origin

    def insert_profiles(self, values):
        return import_staging.insert_profiles(*self.scope, values)

    def update_profiles(self, values):
        import_staging.update_profiles(self.scope[2], values)

    def insert_subprofiles(self, values):
        return import_staging.insert_subprofiles(*self.scope, values)

    def insert_events(self, rows):
        return import_staging.insert_events(*self.scope, self.origin.source, self.origin.actor,
                                            self.origin.reference, rows)


class _CoreWriter:
    """Other databases (SQLite): Core inserts and an executemany update."""

    def __init__(self, run: ImportRun, now, origin: events.Origin):
        self.base = {"account_id": run.account_id, "database_id": run.database_id}
        self.now = now
        self.origin = origin

    def _insert(self, model, rows: list[dict]) -> list[int]:
        return list(db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))

    def insert_profiles(self, values):
        return self._insert(Profile, [{**self.base, "code": new_code(), "fields": fields, "interests": interests,
                                       "created_at": self.now, "updated_at": self.now} for fields, interests in values])

    def update_profiles(self, values):
        db.session.execute(update(Profile), [
            {"id": profile_id, "fields": fields, "interests": interests, "updated_at": self.now}
            for profile_id, fields, interests in values])

    def insert_subprofiles(self, values):
        return self._insert(Subprofile, [
            {**self.base, "collection_id": collection_id, "profile_id": profile_id, "code": new_code(),
             "fields": fields, "created_at": self.now, "updated_at": self.now}
            for profile_id, collection_id, fields in values])

    def insert_events(self, rows):
        return self._insert(ProfileEvent, [
            {**self.base, "profile_id": profile_id, "kind": kind, "collection_id": collection_id,
             "subprofile_id": subprofile_id, "changes": changes, "source": self.origin.source,
             "actor": self.origin.actor, "reference": self.origin.reference, "created_at": self.now}
            for profile_id, kind, collection_id, subprofile_id, changes in rows])


def error_rows(account: Account, run_id: int) -> Iterator[tuple[int, str, str, str]]:
    """The run's rejected lines as (line, column, value, reason), in line order (streamed)."""
    run = get_run(account, run_id)
    query = (select(ImportLineError.line, ImportLineError.column, ImportLineError.value, ImportLineError.reason)
             .where(ImportLineError.run_id == run.id).order_by(ImportLineError.line, ImportLineError.id))
    yield from db.session.execute(query.execution_options(yield_per=1000))


def count_errors(run: ImportRun) -> int:
    return db.session.scalar(select(func.count()).select_from(ImportLineError).where(ImportLineError.run_id == run.id))


# --- rollback -------------------------------------------------------------------------------------


@dataclass
class RollbackReport:
    removed: int = 0
    restored: int = 0
    left: list[str] = field(default_factory=list)  # what was changed since, and left alone


@dataclass
class _Touched:
    created: bool = False
    last_event: int = 0
    fields: dict[str, list] = field(default_factory=dict)  # key: [first old, last new]
    interests: dict[str, list] = field(default_factory=dict)
    subprofiles: list[int] = field(default_factory=list)


def rollback_run(account: Account, run_id: int) -> RollbackReport:
    """Undo a finished run: remove what it created, restore what it changed — except what was changed
    since by another event (reported and left). Journalled with source import, in one transaction."""
    run = get_run(account, run_id)
    if run.status != "done":
        raise ValidationError(_("Only a finished import can be rolled back."))
    reference = f"import {run.id}"
    names = {f.key: f.name for f in get_database(account, run.database_id).fields}
    touched: dict[int, _Touched] = {}
    first_event = None
    query = (select(ProfileEvent.id, ProfileEvent.profile_id, ProfileEvent.subprofile_id, ProfileEvent.kind,
                    ProfileEvent.changes)
             .where(ProfileEvent.id.between(run.first_event_id or 0, run.last_event_id or 0),
                    ProfileEvent.account_id == account.id, ProfileEvent.database_id == run.database_id,
                    ProfileEvent.source == "import", ProfileEvent.reference == reference)
             .order_by(ProfileEvent.id))
    for event_id, profile_id, subprofile_id, kind, changes in db.session.execute(query):
        first_event = first_event or event_id
        entry = touched.setdefault(profile_id, _Touched())
        entry.last_event = event_id
        if kind == "profile_created":
            entry.created = True
        if kind == "subprofile_created":
            entry.subprofiles.append(subprofile_id)
            continue
        for section, target in (("fields", entry.fields), ("interests", entry.interests)):
            for key, (old, new) in (changes.get(section) or {}).items():
                target.setdefault(key, [old, new])[1] = new
    report = RollbackReport()
    origin = events.Origin("import", reference=f"{reference} rollback")
    now = utcnow()
    profile_ids = sorted(touched)
    event_rows: list[dict] = []
    for start in range(0, len(profile_ids), LOOKUP_CHUNK):
        chunk = profile_ids[start:start + LOOKUP_CHUNK]
        later: dict[int, list] = {}
        for profile_id, subprofile_id, event_id, kind, changes in db.session.execute(
            select(ProfileEvent.profile_id, ProfileEvent.subprofile_id, ProfileEvent.id, ProfileEvent.kind,
                   ProfileEvent.changes)
            .where(ProfileEvent.profile_id.in_(chunk), ProfileEvent.id > first_event,
                   ProfileEvent.reference != reference)
        ):
            if event_id > touched[profile_id].last_event:
                later.setdefault(profile_id, []).append((subprofile_id, kind, changes))
        current = {row.id: row for row in db.session.execute(
            select(Profile.id, Profile.fields, Profile.interests).where(Profile.id.in_(chunk)))}
        sub_ids = [sub_id for profile_id in chunk for sub_id in touched[profile_id].subprofiles]
        current_subs = {row.id: row for start_sub in range(0, len(sub_ids), LOOKUP_CHUNK) for row in db.session.execute(
            select(Subprofile.id, Subprofile.collection_id, Subprofile.fields)
            .where(Subprofile.id.in_(sub_ids[start_sub:start_sub + LOOKUP_CHUNK])))}
        removed_subs = []
        removals, updates = [], []
        for profile_id in chunk:
            entry, since = touched[profile_id], later.get(profile_id, [])
            profile = current.get(profile_id)
            if profile is None:
                report.left.append(_("Profile %(id)s was removed since.", id=profile_id))
                continue
            if entry.created:
                if since:
                    report.left.append(_("Profile %(id)s was changed since; it is kept.", id=profile_id))
                    continue
                removals.append(profile_id)
                event_rows.append(_event(account, run, origin, now, profile_id, "profile_removed", {
                    "fields": diff(profile.fields, {}), "interests": interests_diff(profile.interests, [])}))
                continue
            changed_fields = {k for _sub, kind, changes in since if _sub is None for k in (changes.get("fields") or {})}
            changed_interests = {
                k for _sub, kind, changes in since if _sub is None for k in (changes.get("interests") or {})}
            fields, interests = dict(profile.fields), set(profile.interests or [])
            for key, (old, new) in entry.fields.items():
                if key in changed_fields or fields.get(key) != new:
                    report.left.append(_("Profile %(id)s: %(field)s was changed since; it is kept.",
                                         id=profile_id, field=names.get(key, key)))
                elif old is None:
                    fields.pop(key, None)
                else:
                    fields[key] = old
            for key, (old, new) in entry.interests.items():
                if key in changed_interests or (int(key) in interests) != new:
                    report.left.append(_("Profile %(id)s: an interest was changed since; it is kept.", id=profile_id))
                elif old:
                    interests.add(int(key))
                else:
                    interests.discard(int(key))
            new_interests = sorted(interests)
            if fields != profile.fields or new_interests != sorted(profile.interests or []):
                updates.append({"id": profile_id, "fields": fields, "interests": new_interests, "updated_at": now})
                event_rows.append(_event(account, run, origin, now, profile_id, "profile_updated", {
                    "fields": diff(profile.fields, fields),
                    "interests": interests_diff(profile.interests or [], new_interests)}))
                report.restored += 1
            changed_subs = {sub for sub, _kind, _changes in since if sub is not None}
            for sub_id in entry.subprofiles:
                sub = current_subs.get(sub_id)
                if sub is None or sub_id in changed_subs:
                    report.left.append(_("Subprofile %(id)s was changed since; it is kept.", id=sub_id))
                    continue
                removed_subs.append(sub_id)
                event_rows.append(_event(account, run, origin, now, profile_id, "subprofile_removed",
                                         {"fields": diff(sub.fields, {})}, sub.collection_id, sub_id))
        if removed_subs:
            db.session.execute(delete(Subprofile).where(Subprofile.id.in_(removed_subs)))
        if updates:
            db.session.execute(update(Profile), updates)
        if removals:
            db.session.execute(delete(Subprofile).where(Subprofile.profile_id.in_(removals)))
            db.session.execute(delete(Profile).where(Profile.id.in_(removals)))
            report.removed += len(removals)
    if event_rows:
        event_ids = db.session.scalars(insert(ProfileEvent).returning(ProfileEvent.id), event_rows).all()
        events.note_bulk(list(event_ids))
    run = get_run(account, run_id)
    run.status = "rolled_back"
    if report.left:
        run.error = "\n".join(report.left)[:60000]
    db.session.commit()
    return report


def _event(account, run, origin, now, profile_id, kind, changes, collection_id=None, subprofile_id=None) -> dict:
    return {"account_id": account.id, "database_id": run.database_id, "profile_id": profile_id,
            "collection_id": collection_id, "subprofile_id": subprofile_id, "kind": kind,
            "source": origin.source, "actor": origin.actor, "reference": origin.reference,
            "changes": changes, "created_at": now}


# --- the durable work kind ------------------------------------------------------------------------


def run_import_work(row: ScheduledWork) -> None:
    """The ``import`` work kind: apply the run named in the payload for at most ``SLICE_SECONDS``.

    Unlike other kinds this commits (once per batch), so progress is visible and a crash loses at most
    one batch; a rerun continues after the last committed batch (see ``apply_run``). A run that needs
    longer schedules its next slice (which keeps each RQ job well inside RQ's job timeout).
    """
    run_id = int(row.payload["run_id"])
    try:
        run = apply_run(run_id, time_limit=SLICE_SECONDS)
        if run is not None and run.status == "running":
            work.schedule("import", payload={"run_id": run_id}, account_id=run.account_id)
    except Exception as error:
        db.session.rollback()
        run = db.session.get(ImportRun, run_id)
        if run is not None:
            run.error = f"{type(error).__name__}: {error}"[:2000]
            if row.attempts + 1 >= work.MAX_ATTEMPTS:
                run.status, run.finished_at = "failed", utcnow()
            db.session.commit()
        raise


def init_app(app) -> None:
    with app.app_context():
        work.register_kind("import", run_import_work)
