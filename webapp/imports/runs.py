"""Import runs: upload a file, create its definition with a guessed mapping, preview it, start it, and read
its line errors. Applying a run is ``apply``'s work, undoing it ``rollback``'s.
"""

import codecs
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from werkzeug.utils import secure_filename

from webapp.exports.files import CsvWriter
from webapp.extensions import db
from webapp.imports import files as import_files
from webapp.imports import new_fields
from webapp.imports.files import FileFormat, ImportFileError
from webapp.imports.lines import ACTIONS, LineResult
from webapp.imports.mapping import (
    Schema,
    clean_definition,
    guess_mapping,
    proposed_key,
    remembered,
    schema_of,
    update_definition,
)
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
BLANK_OPTIONS = {"encoding": "", "delimiter": "", "quotechar": "", "date_order": ""}
PREVIEW_LIMIT = 10_000
START_CHECK_LINES = 1_000  # the lines planned before a start, to refuse a run that would reject them all


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
    definition = ImportDefinition(
        account_id=account.id,
        database_id=database.id,
        name=(file_name or "import")[:100],
        **first_settings(account, schema_of(database), header),
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


def first_settings(account: Account, schema: Schema, header: list[str]) -> dict[str, Any]:
    """A new file's mapping, key, policies and options: those of a started earlier file with the same columns
    (``mapping.remembered``), else guessed from the header, with only an email field proposed as the key."""
    settings = remembered(account, schema, header)
    if settings is None:
        mapping = guess_mapping(schema, header)
        settings = {"mapping": mapping, "key_fields": proposed_key(schema, mapping), "options": dict(BLANK_OPTIONS)}
    return settings


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


def new_field_types(account: Account, run_id: int, header: list[str]) -> dict[str, str]:
    """The type "Create field" proposes per column (``new_fields.proposed_types``: large text for a column
    with line breaks in a cell)."""
    run = get_run(account, run_id)
    rows = import_files.read_rows(run.file_path, run_format(run, definition_of(run)))
    try:
        return new_fields.proposed_types(rows, header)
    except ValidationError:
        return dict.fromkeys(header, "text")


def definition_of(run: ImportRun) -> ImportDefinition:
    definition = db.session.get(ImportDefinition, run.definition_id) if run.definition_id else None
    if definition is None:
        raise ValidationError(_("The import definition of this run was deleted."))
    return definition


def start_run(
    account: Account,
    run_id: int,
    settings: dict[str, Any] | None = None,
    *,
    anyway: bool = False,
    locale: str = "",
) -> ImportRun:
    """Queue a pending run (durable work of kind ``import``), after saving ``settings`` (the mapping screen
    as it is: ``mapping.update_definition``'s arguments) when given. Refused for a file without lines, and —
    unless ``anyway`` (to get the error report) — when the first lines would all be rejected (a wrong mapping,
    a wrong file). ``locale``: the language its line errors are written in (the starter's)."""
    run = get_run(account, run_id)
    if run.status != ImportRunStatus.PENDING:
        raise ValidationError(_("This import has been started already."))
    _save(account, run, settings)
    definition = definition_of(run)
    _check_mapping(account, run, definition)
    checked = _plan_first(account, run, definition, START_CHECK_LINES)
    if not checked.lines_read:
        raise ValidationError(_("The file has a header but no lines: there is nothing to import."))
    if checked.counts["reject"] == checked.lines_read and not anyway:
        message = ngettext(
            "The line of the file would be rejected: correct the mapping or the file (see the preview), or "
            "start even so to get the error report.",
            "The first %(num)d lines would all be rejected: correct the mapping or the file (see the preview), "
            "or start even so to get the error report.",
            checked.lines_read,
        )
        raise ValidationError({"start": message})
    run = get_run(account, run_id)
    run.status, run.locale = ImportRunStatus.QUEUED, locale[:16]
    work.schedule("import", payload={"run_id": run.id}, account_id=account.id)
    db.session.commit()
    return run


def upload_and_start(
    account: Account,
    database_id: int,
    stream: IO[bytes],
    file_name: str,
    settings: dict[str, Any] | None = None,
    *,
    anyway: bool = False,
    locale: str = "",
) -> ImportRun:
    """``upload`` then ``start_run`` in one call (the REST door's import): the file's mapping is ``settings``
    when given, else the remembered or guessed one. A file that cannot start (a bad mapping, no lines, every
    first line rejected) leaves nothing behind: its run, definition and stored file are removed and the
    reason raised."""
    run = upload(account, database_id, stream, file_name)
    try:
        return start_run(account, run.id, settings, anyway=anyway, locale=locale)
    except ValidationError:
        db.session.rollback()
        run = get_run(account, run.id)
        definition = db.session.get(ImportDefinition, run.definition_id) if run.definition_id else None
        Path(run.file_path).unlink(missing_ok=True)
        db.session.delete(run)
        if definition is not None:
            db.session.delete(definition)
        db.session.commit()
        raise


def _save(account: Account, run: ImportRun, settings: dict[str, Any] | None) -> None:
    if settings is not None:
        update_definition(account, definition_of(run).id, **settings)


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
    warnings: list[str] = field(default_factory=list)


def preview(
    account: Account,
    run_id: int,
    settings: dict[str, Any] | None = None,
    *,
    lines: int = PREVIEW_LINES,
    limit: int = PREVIEW_LIMIT,
) -> Preview:
    """A dry run: the first ``lines`` lines as they would be stored, what the first ``limit`` lines would do
    (create, update, leave unchanged, skip, reject) and warnings about the key. Saves ``settings`` (the mapping
    screen as it is) first when given; writes nothing else."""
    run = get_run(account, run_id)
    _save(account, run, settings)
    definition = definition_of(run)
    _check_mapping(account, run, definition)
    result = _plan_first(account, run, definition, limit)
    result.lines = result.lines[:lines]
    return result


def _plan_first(account: Account, run: ImportRun, definition: ImportDefinition, limit: int) -> Preview:
    """Plan the first ``limit`` lines of the run's file without writing anything."""
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
    counts = dict.fromkeys(ACTIONS, 0)
    for result in results:
        counts[result.action] += 1
    return Preview(results, counts, len(rows), complete, _key_warnings(planner, definition, counts, len(rows)))


def _key_warnings(planner: Planner, definition: ImportDefinition, counts: dict[str, int], read: int) -> list[str]:
    """What the person must know before starting: no key, a key that is not unique in the file, a key that
    matches several profiles, every line rejected."""
    warnings = []
    if read and counts["reject"] == read:
        warnings.append(_("Every line would be rejected: the import cannot be started like this."))
    if planner.subprofiles_known:
        warnings.append(
            ngettext(
                "%(num)d line holds a subprofile its profile has already, with the same values: it is not added again.",
                "%(num)d lines hold a subprofile their profile has already, with the same values: they are not "
                "added again.",
                planner.subprofiles_known,
            )
        )
    if not definition.key_fields:
        if definition.on_no_match == "create":
            warnings.append(
                _(
                    "No key fields are chosen: every line creates a new profile, even when the database "
                    "already holds one with the same values. Choose a key (an email address, a customer "
                    "number) to update existing profiles."
                )
            )
        return warnings
    keys = [key[0] for key in planner.keys.values() if isinstance(key, tuple)]
    repeated = len(keys) - len(set(keys))
    names = ", ".join(definition.key_fields)
    if repeated:
        warnings.append(
            ngettext(
                "The key (%(names)s) is not unique in the file: %(num)d line has the key of an earlier line, "
                "so they change one and the same profile. Is this the right key?",
                "The key (%(names)s) is not unique in the file: %(num)d lines have the key of an earlier line, "
                "so they change one and the same profile. Is this the right key?",
                repeated,
                names=names,
            )
        )
    if planner.ambiguous:
        warnings.append(
            ngettext(
                "%(num)d key (%(names)s) matches several profiles: only the oldest of them is updated. "
                "Is this the right key?",
                "%(num)d keys (%(names)s) match several profiles: only the oldest of each is updated. "
                "Is this the right key?",
                len(planner.ambiguous),
                names=names,
            )
        )
    return warnings


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


@dataclass
class ErrorReport:
    """The rejected lines as a file to correct and import again: each line whole, in the file's columns,
    with its row (as a spreadsheet counts it) and why it was rejected; in the file's delimiter and
    encoding (UTF-8 with a byte order mark, which Excel needs to show accents, for a UTF-8 file)."""

    encoding: str
    parts: Iterator[bytes]


# The report's encoding for the file's: Excel reads UTF-8 only with a byte order mark, UTF-16 needs one.
REPORT_ENCODINGS = {"utf-8": "utf-8-sig", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}


def error_report(account: Account, run_id: int) -> ErrorReport:
    """The run's rejected lines (``ErrorReport``), written in parts of about 64 KB by the one CSV writer (values
    neutralised against formulas). A run from before reports kept their layout gets UTF-8 with ``;``."""
    run = get_run(account, run_id)
    layout = run.layout or {}
    header = list(layout.get("header") or [])
    encoding = REPORT_ENCODINGS.get(layout.get("encoding", ""), layout.get("encoding") or "utf-8-sig")
    writer = CsvWriter(delimiter=layout.get("delimiter") or ";", quotechar=layout.get("quotechar") or '"')
    query = (
        select(ImportLineError.line, ImportLineError.row, ImportLineError.cells, ImportLineError.reason)
        .where(ImportLineError.run_id == run.id)
        .order_by(ImportLineError.line, ImportLineError.id)
        .execution_options(yield_per=1000)
    )
    rows = db.session.execute(query)
    encoder = codecs.getincrementalencoder(encoding)(errors="replace")

    def parts() -> Iterator[bytes]:
        writer.row([*header, _("Row"), _("Reason")])
        for _line, group in groupby(rows, key=lambda error: error.line):
            errors = list(group)
            cells = errors[0].cells if errors[0].cells is not None else []
            reasons = list(dict.fromkeys(error.reason for error in errors if error.reason))
            cells = [*cells, *[""] * (len(header) - len(cells))] if header else cells
            writer.row([*cells, errors[0].row or errors[0].line, "; ".join(reasons)])
            if writer.size > 65536:
                yield encoder.encode(writer.take())
        yield encoder.encode(writer.take(), final=True)

    return ErrorReport(encoding, parts())


def count_errors(run: ImportRun) -> int:
    return db.session.execute(
        select(func.count()).select_from(ImportLineError).where(ImportLineError.run_id == run.id)
    ).scalar_one()


# --- rollback -------------------------------------------------------------------------------------


# --- the durable work kind ------------------------------------------------------------------------
