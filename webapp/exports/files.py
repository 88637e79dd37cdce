"""Exports: a database's profiles or a collection's subprofiles as CSV, TSV or JSON Lines, optionally gzipped.

An export is streamed: ``Export.chunks`` is a generator of ``bytes`` that reads rows in keyset batches of
``BATCH_SIZE`` (by id, plain columns, so the session's identity map never fills up) and yields one chunk per
batch; the file is never built in memory. The secret ``code`` of a (sub)profile is never exported.

CSV and TSV cells holding text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return are
prefixed with ``'`` so that a spreadsheet does not run them as formulas (on by default); JSON Lines values
are never altered.
"""

import csv
import io
import json
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, select

from webapp.extensions import db
from webapp.models import Account, Field, Profile, Subprofile, utcnow
from webapp.platform.errors import ValidationError
from webapp.profiles.databases import get_collection, get_database
from webapp.profiles.field_types import format_value

BATCH_SIZE = 1000
FORMATS = ("csv", "tsv", "jsonl")
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
}
BOM = "\ufeff"


@dataclass(frozen=True)
class ExportOptions:
    """What to write. ``fields``: names to include (``None`` for all, in their order); ``delimiter``: for CSV."""

    format: str = "csv"
    delimiter: str = ","
    fields: list[str] | None = None
    interests: bool = True
    gzip: bool = False
    bom: bool = False
    protect_formulas: bool = True


@dataclass
class Export:
    filename: str
    content_type: str
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class _Column:
    """One selected field, as plain values (the generator must not lazy-load ORM attributes)."""

    key: str
    name: str
    type: str = "text"
    options: dict[str, Any] = dataclass_field(default_factory=dict, hash=False)

    def value(self, values: dict[str, Any]) -> Any:
        """This column's value of a row as it is written (a decimal keeps its field's scale)."""
        return format_value(self, values.get(self.key))


def export_database(
    account: Account, database_id: int, options: ExportOptions, *, members: Select | None = None
) -> Export:
    """Profiles of a database: ``id``, ``created``, ``modified``, the chosen fields, interests as yes/no.
    ``members``: only the profiles whose ids this SELECT gives (a selection's, computed by SQL as it streams)."""
    database = get_database(account, database_id)
    _check(options)
    columns = _columns(database.fields, options.fields)
    interests = [(interest.id, interest.name) for interest in database.interests] if options.interests else []
    header = ["id", "created", "modified", *(c.name for c in columns), *(name for _id, name in interests)]
    statement = select(Profile.id, Profile.created_at, Profile.updated_at, Profile.fields, Profile.interests).where(
        Profile.account_id == account.id, Profile.database_id == database.id
    )

    def records(row) -> tuple[list[Any], dict[str, Any]]:
        profile_id, created, modified, values, held = row
        values = values or {}
        held = set(held or [])
        flags = [(name, interest_id in held) for interest_id, name in interests]
        cells = [profile_id, timestamp(created), timestamp(modified), *(c.value(values) for c in columns)]
        cells += ["yes" if on else "no" for _name, on in flags]  # words the imports read back
        record = {
            "id": profile_id,
            "created": timestamp(created),
            "modified": timestamp(modified),
            "fields": {c.name: c.value(values) for c in columns},
        }
        if options.interests:
            record["interests"] = dict(flags)
        return cells, record

    return _export(database.name, options, header, statement, Profile.id, records, members)


def export_collection(
    account: Account, collection_id: int, options: ExportOptions, *, members: Select | None = None
) -> Export:
    """Subprofiles of a collection: ``profile_id``, ``subprofile_id``, ``created``, ``modified``, the fields.
    ``members``: only the subprofiles whose ids this SELECT gives."""
    collection = get_collection(account, collection_id)
    _check(options)
    columns = _columns(collection.fields, options.fields)
    header = ["profile_id", "subprofile_id", "created", "modified", *(c.name for c in columns)]
    statement = select(
        Subprofile.id, Subprofile.profile_id, Subprofile.created_at, Subprofile.updated_at, Subprofile.fields
    ).where(Subprofile.account_id == account.id, Subprofile.collection_id == collection.id)

    def records(row) -> tuple[list[Any], dict[str, Any]]:
        subprofile_id, profile_id, created, modified, values = row
        values = values or {}
        cells = [
            profile_id,
            subprofile_id,
            timestamp(created),
            timestamp(modified),
            *(c.value(values) for c in columns),
        ]
        record = {
            "profile_id": profile_id,
            "subprofile_id": subprofile_id,
            "created": timestamp(created),
            "modified": timestamp(modified),
            "fields": {c.name: c.value(values) for c in columns},
        }
        return cells, record

    name = f"{collection.database.name}-{collection.name}"
    return _export(name, options, header, statement, Subprofile.id, records, members)


# --- helpers --------------------------------------------------------------------------------------


def _check(options: ExportOptions) -> None:
    if options.format not in FORMATS:
        raise ValidationError({"format": _("Choose CSV, TSV or JSON Lines.")})
    if options.format == "csv" and options.delimiter not in DELIMITERS.values():
        raise ValidationError({"delimiter": _("Choose a comma, a semicolon or a tab.")})


def _columns(fields: list[Field], names: list[str] | None) -> list[_Column]:
    if names is None:
        return [_column(field) for field in fields]
    by_name = {field.name.lower(): field for field in fields}
    unknown = [name for name in names if name.lower() not in by_name]
    if unknown:
        raise ValidationError({"fields": _("There is no field named %(name)s.", name=", ".join(unknown))})
    chosen: dict[str, _Column] = {}
    for name in names:
        field = by_name[name.lower()]
        chosen.setdefault(field.key, _column(field))
    return list(chosen.values())


def _column(field: Field) -> _Column:
    return _Column(field.key, field.name, field.type, dict(field.options or {}))


def timestamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _filename(name: str, options: ExportOptions) -> str:
    extension = {"csv": "csv", "tsv": "tsv", "jsonl": "jsonl"}[options.format]
    return f"{name}-{utcnow().date().isoformat()}.{extension}" + (".gz" if options.gzip else "")


def _export(name, options: ExportOptions, header, statement, id_column, records, members=None) -> Export:
    content_type = "application/gzip" if options.gzip else CONTENT_TYPES[options.format]
    text = _lines(options, header, statement, id_column, records, members)
    chunks = _gzipped(text) if options.gzip else (part.encode("utf-8") for part in text)
    return Export(filename=_filename(name, options), content_type=content_type, chunks=chunks)


def keyset_batches(statement, id_column, members: Select | None = None) -> Iterator[Sequence[Any]]:
    """Rows of ``statement`` in keyset batches by id: each batch is one short query.

    ``members`` (a ``SELECT id``, a selection's): only rows whose id it gives. Each batch bounds the members
    query by the same id, so that PostgreSQL reads the members from the batch on, not from the first one again
    (unbounded, a batch's merge join walked every earlier member: an export grew with the square of them)."""
    last_id = 0
    while True:
        batch = statement.where(id_column > last_id)
        if members is not None:
            batch = batch.where(id_column.in_(members.where(members.selected_columns[0] > last_id)))
        rows = db.session.execute(batch.order_by(id_column).limit(BATCH_SIZE)).all()
        if not rows:
            return
        yield rows
        if len(rows) < BATCH_SIZE:
            return
        last_id = rows[-1][0]


def _lines(options: ExportOptions, header, statement, id_column, records, members=None) -> Iterator[str]:
    """The file as text: the header (with the BOM when asked), then one part per batch of rows."""
    if options.format == "jsonl":
        for rows in keyset_batches(statement, id_column, members):
            yield "".join(json.dumps(records(row)[1], ensure_ascii=False) + "\n" for row in rows)
        return
    writer = CsvWriter(
        delimiter=options.delimiter,
        tsv=options.format == "tsv",
        protect_formulas=options.protect_formulas,
    )
    writer.row(header)  # names are letters, digits and _ (``check_name``): never neutralised
    yield (BOM if options.bom else "") + writer.take()
    for rows in keyset_batches(statement, id_column, members):
        for row in rows:
            writer.row(records(row)[0])
        yield writer.take()


class CsvWriter:
    """The one CSV writer of the product: every CSV or TSV file it writes (exports, web form results, the
    import error report) goes through here, so each cell is written by ``csv_cell`` and text a spreadsheet
    would run as a formula is neutralised the same way everywhere.

    Rows are collected in memory; ``take`` hands over what was written since the last call (for streaming).
    """

    def __init__(
        self, *, delimiter: str = ",", tsv: bool = False, protect_formulas: bool = True, quotechar: str = '"'
    ) -> None:
        self._buffer = io.StringIO()
        if tsv:
            self._writer = csv.writer(self._buffer, dialect="excel-tab")
        else:
            self._writer = csv.writer(self._buffer, delimiter=delimiter, quotechar=quotechar)
        self.protect_formulas = protect_formulas

    def row(self, values: Iterable[Any]) -> None:
        self._writer.writerow([csv_cell(value, self.protect_formulas) for value in values])

    @property
    def size(self) -> int:
        """Characters written and not yet taken."""
        return self._buffer.tell()

    def take(self) -> str:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text


def csv_cell(value: Any, protect: bool) -> str:
    """A stored value as CSV text: lists (multiple choice) joined by commas, empty as ``""``; with ``protect``,
    text starting with ``FORMULA_STARTS`` gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = ", ".join(str(item) for item in value)
    if isinstance(value, str):
        return "'" + value if protect and value.startswith(FORMULA_STARTS) else value
    return str(value)


def _gzipped(parts: Iterator[str]) -> Iterator[bytes]:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    for part in parts:
        # A sync flush per batch: the client receives each batch now, at a negligible cost in size.
        yield compressor.compress(part.encode("utf-8")) + compressor.flush(zlib.Z_SYNC_FLUSH)
    yield compressor.flush()
