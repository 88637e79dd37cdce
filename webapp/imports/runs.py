"""Import runs: upload a file, create its definition with a guessed mapping, preview it, start it, and read
its line errors. Applying a run is ``apply``'s work, undoing it ``rollback``'s.
"""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.utils import secure_filename

from webapp.exports.files import CsvWriter
from webapp.extensions import db
from webapp.imports import files as import_files
from webapp.imports.files import FileFormat, ImportFileError
from webapp.imports.lines import LineResult
from webapp.imports.mapping import clean_definition, guess_mapping, schema_of
from webapp.imports.planner import Planner, plan_rows
from webapp.models import (
    Account,
    ImportDefinition,
    ImportLineError,
    ImportRun,
    ImportRunStatus,
)
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_database

PREVIEW_LINES = 20
PREVIEW_LIMIT = 10_000


# --- the mapping ----------------------------------------------------------------------------------


# --- definitions and runs -------------------------------------------------------------------------


def get_run(account: Account, run_id: int) -> ImportRun:
    return owned(ImportRun, account, run_id, _("Import not found."))


def list_runs(account: Account, database_id: int, *, limit: int = 100) -> list[ImportRun]:
    database = get_database(account, database_id)
    return list(
        db.session.scalars(
            select(ImportRun)
            .where(ImportRun.account_id == account.id, ImportRun.database_id == database.id)
            .order_by(ImportRun.id.desc())
            .limit(limit)
        )
    )


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
    # guess_mapping only maps a column to a field it found, so every key is a field of the schema.
    email_keys = [name for name in keys if (field := schema.field(name)) is not None and field.type == "email"]
    definition = ImportDefinition(
        account_id=account.id,
        database_id=database.id,
        name=(file_name or "import")[:100],
        mapping=mapping,
        key_fields=email_keys[:1] or keys[:1],
        options={"encoding": "", "delimiter": "", "quotechar": "", "date_order": ""},
    )
    db.session.add(definition)
    db.session.flush()
    run = ImportRun(
        account_id=account.id,
        definition_id=definition.id,
        database_id=database.id,
        file_name=file_name[:255],
        file_path=str(path),
        file_size=size,
    )
    db.session.add(run)
    db.session.commit()
    return run


def run_format(run: ImportRun, definition: ImportDefinition) -> FileFormat:
    options = definition.options or {}
    return import_files.detect_format(
        run.file_path,
        encoding=options.get("encoding", ""),
        delimiter=options.get("delimiter", ""),
        quotechar=options.get("quotechar", ""),
    )


def run_header(account: Account, run_id: int) -> tuple[FileFormat, list[str]]:
    """The detected (or chosen) format of a run's file and its column names."""
    run = get_run(account, run_id)
    file_format = run_format(run, definition_of(run))
    return file_format, import_files.read_header(run.file_path, file_format)


def definition_of(run: ImportRun) -> ImportDefinition:
    definition = db.session.get(ImportDefinition, run.definition_id) if run.definition_id else None
    if definition is None:
        raise ValidationError(_("The import definition of this run was deleted."))
    return definition


def start_run(account: Account, run_id: int) -> ImportRun:
    """Queue a pending run (durable work of kind ``import``)."""
    run = get_run(account, run_id)
    if run.status != ImportRunStatus.PENDING:
        raise ValidationError(_("This import has been started already."))
    definition = definition_of(run)
    _check_mapping(account, run, definition)
    run.status = ImportRunStatus.QUEUED
    work.schedule("import", payload={"run_id": run.id}, account_id=account.id)
    db.session.commit()
    return run


def _check_mapping(account: Account, run: ImportRun, definition: ImportDefinition) -> None:
    """The stored mapping must still fit the database and the file's columns."""
    schema = schema_of(get_database(account, definition.database_id))
    clean_definition(
        schema,
        definition.mapping,
        definition.key_fields,
        definition.on_match,
        definition.on_no_match,
        definition.on_empty,
        definition.options or {},
    )
    header = import_files.read_header(run.file_path, run_format(run, definition))
    if not any(definition.mapping.get(column, "ignore") != "ignore" for column in header):
        raise ValidationError(_("Map at least one column to a field or an interest."))


# --- planning lines (shared by preview and apply) -------------------------------------------------


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
    definition = definition_of(run)
    _check_mapping(account, run, definition)
    planner = Planner(account, definition, schema_of(get_database(account, run.database_id)), show=True)
    rows: list[import_files.Row] = []
    complete = True
    for row in import_files.read_rows(run.file_path, run_format(run, definition)):
        if len(rows) >= limit:
            complete = False
            break
        rows.append(row)
    results = plan_rows(planner, rows)
    db.session.rollback()
    counts = {"create": 0, "update": 0, "skip": 0, "reject": 0}
    for result in results:
        counts[result.action] += 1
    return Preview(results[:lines], counts, len(rows), complete)


# --- applying a run -------------------------------------------------------------------------------


def error_rows(account: Account, run_id: int) -> Iterator[tuple[int, str, str, str]]:
    """The run's rejected lines as (line, column, value, reason), in line order (streamed)."""
    run = get_run(account, run_id)
    query = (
        select(ImportLineError.line, ImportLineError.column, ImportLineError.value, ImportLineError.reason)
        .where(ImportLineError.run_id == run.id)
        .order_by(ImportLineError.line, ImportLineError.id)
    )
    yield from db.session.execute(query.execution_options(yield_per=1000))


def error_report(account: Account, run_id: int) -> Iterator[str]:
    """The run's rejected lines as a CSV file, in parts of about 64 KB: line, column, value, reason (values
    neutralised against formulas by the one CSV writer)."""
    writer = CsvWriter()
    writer.row([_("line"), _("column"), _("value"), _("reason")])
    for error in error_rows(account, run_id):
        writer.row(error)
        if writer.size > 65536:
            yield writer.take()
    yield writer.take()


def count_errors(run: ImportRun) -> int:
    return db.session.execute(
        select(func.count()).select_from(ImportLineError).where(ImportLineError.run_id == run.id)
    ).scalar_one()


# --- rollback -------------------------------------------------------------------------------------


# --- the durable work kind ------------------------------------------------------------------------
