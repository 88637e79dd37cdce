"""Applying an import run: batches of its file, each one transaction, through the event spine.

A run reads its file in batches of ``BATCH_SIZE`` records. Each batch is one transaction, committed with the
run's counters — including ``lines_done``, the number of records consumed (``docs/imports.md``). On
PostgreSQL a batch is validated in Python (each distinct cell value once, see ``cells``), copied
into a staging table and matched, merged and journalled by one set-based statement
(``staging.BulkMerge``); a batch that statement cannot take (two lines with one key, an empty
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
import sys
import threading
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import insert, select, update

from webapp.extensions import db
from webapp.imports import files as import_files
from webapp.imports import staging as import_staging
from webapp.imports.files import ImportFileError, Row
from webapp.imports.lines import ACTIONS, LineResult
from webapp.imports.mapping import schema_of
from webapp.imports.planner import Planner, plan_rows
from webapp.imports.runs import definition_of, run_format
from webapp.models import (
    Account,
    ImportLineError,
    ImportRun,
    ImportRunStatus,
    Profile,
    ProfileEvent,
    ScheduledWork,
    Subprofile,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.profiles import consents, events
from webapp.profiles.databases import get_database
from webapp.profiles.field_expressions import dialect_name
from webapp.profiles.profiles import new_code
from webapp.profiles.values import diff, interests_diff

BATCH_SIZE = 5_000


SLICE_SECONDS = 120  # one RQ job's share of a long run (RQ's default job timeout is 180 s)


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
    if run is None or run.status in (
        ImportRunStatus.DONE,
        ImportRunStatus.FAILED,
        ImportRunStatus.ROLLED_BACK,
        ImportRunStatus.ROLLING_BACK,
        ImportRunStatus.PENDING,
    ):
        return run
    account = db.session.get_one(Account, run.account_id)
    try:
        definition = definition_of(run)
        database = get_database(account, run.database_id)
        file_format = run_format(run, definition)
        if run.status != ImportRunStatus.RUNNING:
            run.status, run.started_at = ImportRunStatus.RUNNING, run.started_at or utcnow()
        if not run.lines_total:
            run.lines_total = import_files.count_records(run.file_path, file_format)
        if run.layout is None:
            run.layout = {
                "header": import_files.read_header(run.file_path, file_format),
                "delimiter": file_format.delimiter,
                "quotechar": file_format.quotechar,
                "encoding": file_format.encoding,
            }
        db.session.commit()
        planner = Planner(account, definition, schema_of(database))
        if planner.bulk_ready():
            planner.prepare_merge()
        origin = events.Origin("import", reference=f"import {run.id}")
        stated = consents.stated((definition.options or {}).get("consent"))
        done = run.lines_done
        rows = import_files.read_rows(run.file_path, file_format, skip=done)
        with (
            _without_cycle_collection(),
            _prompt_thread_switches(),
            in_language(run.locale),
            _Prepared(_prepare_batches(rows, planner, BATCH_SIZE), run.locale) as batches,
        ):
            for batch in batches:
                done = _apply_batch(run_id, planner, batch, done, origin, stated)
                gc.collect(1)  # the batch's reference cycles, without walking the whole heap
                over_time = time_limit is not None and time.monotonic() - started >= time_limit
                if over_time and len(batch.rows) >= BATCH_SIZE:
                    return db.session.get(ImportRun, run_id)
    except _Overtaken:
        db.session.rollback()
        return None
    except (ImportFileError, ValidationError) as error:
        db.session.rollback()
        run = db.session.get_one(ImportRun, run_id)
        run.status, run.error, run.finished_at = ImportRunStatus.FAILED, "; ".join(error.errors.values()), utcnow()
        db.session.commit()
        return run
    run = db.session.get_one(ImportRun, run_id)
    run.status, run.finished_at = ImportRunStatus.DONE, utcnow()
    db.session.commit()
    return run


def in_language(locale: str):
    """Messages (a line's reasons) in ``locale``, the language of whoever started the run; else the default."""
    return force_locale(locale) if locale else nullcontext()


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

    def __init__(self, batches: Generator[_Batch, None, None], locale: str = ""):
        self.batches = batches
        self.locale = locale
        self.ready: queue.Queue = queue.Queue(maxsize=1)
        self.stopped = threading.Event()
        # current_app is a LocalProxy, typed as the Flask app it stands for: the thread needs the app itself.
        self.app = current_app._get_current_object()  # type: ignore[attr-defined]
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
        with self.app.app_context(), in_language(self.locale):  # messages in the language of the run
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


def _apply_batch(
    run_id: int, planner: Planner, batch: _Batch, done: int, origin: events.Origin, stated: consents.Stated | None
) -> int:
    run = db.session.scalar(select(ImportRun).where(ImportRun.id == run_id).with_for_update())
    if run is None or run.lines_done != done or run.status != ImportRunStatus.RUNNING:
        raise _Overtaken()
    planner.reset()
    last_before = run.last_event_id
    counts = _write_batch(run, planner, batch, origin)
    if stated is not None and run.last_event_id is not None and run.last_event_id != last_before:
        # This batch's events follow the earlier batches' (one sequence): one INSERT … SELECT over them.
        first = run.first_event_id if last_before is None else last_before + 1
        assert first is not None, "a run with a last event has a first"
        consents.record_stated_batch(
            run.account_id,
            (first, run.last_event_id),
            event_reference=origin.reference,
            reference=str(run.id),
            given=stated,
        )
    run.lines_done = done + len(batch.rows)
    run.created += counts["create"]
    run.updated += counts["update"]
    run.skipped += counts["skip"]
    run.unchanged += counts["unchanged"]
    run.rejected += counts["reject"]
    db.session.commit()
    _after_batch(run_id, done + len(batch.rows))
    return done + len(batch.rows)


def _write_batch(run: ImportRun, planner: Planner, batch: _Batch, origin: events.Origin) -> dict[str, int]:
    """Write one batch — set-based when it was staged (see ``Planner.stage``), else line by line through
    ``plan`` — and return its counts by action."""
    if batch.staged is not None:
        return _write_staged(run, planner, *batch.staged, origin, batch.rows)
    results = plan_rows(planner, batch.rows)
    _write(run, planner, results, origin, batch.rows)
    counts = dict.fromkeys(ACTIONS, 0)
    for result in results:
        counts[result.action] += 1
    return counts


def _write_staged(
    run: ImportRun,
    planner: Planner,
    lines: import_staging.StagedLines,
    rejected: list[LineResult],
    origin: events.Origin,
    rows: list[Row],
) -> dict[str, int]:
    """The set-based path: merge the staged lines (``BulkMerge``), hand the scope of the events it wrote to
    the bulk subscribers, and write the rejected lines."""
    _write_errors(run, rejected, rows)
    if not lines.count:
        return {**dict.fromkeys(ACTIONS, 0), "reject": len(rejected)}
    assert planner.merge is not None, "a batch is staged only when the planner has a merge"
    merged = planner.merge.apply(utcnow(), origin.source, origin.actor, origin.reference, lines)
    if merged.event_range is not None:
        _note_events(run, *merged.event_range)
        kinds = {"profile_created"} if merged.created else set()
        kinds |= {"profile_updated"} if merged.updated else set()
        kinds |= {"subprofile_created"} if merged.collection_ids else set()
        events.note_bulk_scope(
            events.BulkEvents(
                account_id=run.account_id,
                database_id=run.database_id,
                source=origin.source,
                reference=origin.reference,
                kinds=frozenset(kinds),
                collection_ids=merged.collection_ids,
                id_range=merged.event_range,
            )
        )
    skipped = lines.count - merged.created - merged.updated - merged.unchanged
    return {
        "create": merged.created,
        "update": merged.updated,
        "unchanged": merged.unchanged,
        "skip": skipped,
        "reject": len(rejected),
    }


def _write(run: ImportRun, planner: Planner, results: list[LineResult], origin: events.Origin, rows: list[Row]) -> None:
    """The batch's new and changed profiles, new subprofiles, their events and the rejected lines."""
    now = utcnow()
    writer = _CopyWriter(run, now, origin) if dialect_name() == "postgresql" else _CoreWriter(run, now, origin)
    event_rows: list[import_staging.EventRow] = []
    created = [state for state in planner.states if state.new]
    if created:
        ids = writer.insert_profiles([(state.fields, state.interests) for state in created])
        for state, profile_id in zip(created, ids, strict=True):
            state.id = profile_id
            event_rows.append(
                (
                    profile_id,
                    "profile_created",
                    None,
                    None,
                    {"fields": diff({}, state.fields), "interests": interests_diff([], state.interests)},
                )
            )
    changed = [
        s
        for s in planner.states
        if not s.new and (s.fields != s.original_fields or s.interests != s.original_interests)
    ]
    if changed:
        writer.update_profiles([(s.id, s.fields, s.interests) for s in changed])
        event_rows += [
            (
                s.saved_id,
                "profile_updated",
                None,
                None,
                {
                    "fields": diff(s.original_fields, s.fields),
                    "interests": interests_diff(s.original_interests, s.interests),
                },
            )
            for s in changed
        ]
    subs = [(s.saved_id, collection_id, fields) for s in planner.states for collection_id, fields in s.subprofiles]
    if subs:
        event_rows += [
            (profile_id, "subprofile_created", collection_id, sub_id, {"fields": diff({}, fields)})
            for (profile_id, collection_id, fields), sub_id in zip(subs, writer.insert_subprofiles(subs), strict=True)
        ]
    event_rows += _update_subprofiles(planner, now)
    if event_rows:
        event_ids = writer.insert_events(event_rows)
        _note_events(run, min(event_ids), max(event_ids))
        events.note_bulk(event_ids)
    _write_errors(run, results, rows)


def _update_subprofiles(planner: Planner, now) -> list[import_staging.EventRow]:
    """Write the subprofiles that lines changed through a collection's key fields; their events."""
    changed = [sub for subs in planner.held.values() for sub in subs if sub.fields != sub.original]
    if not changed:
        return []
    db.session.execute(update(Subprofile), [{"id": s.id, "fields": s.fields, "updated_at": now} for s in changed])
    return [
        (s.profile_id, "subprofile_updated", s.collection_id, s.id, {"fields": diff(s.original, s.fields)})
        for s in changed
    ]


def _note_events(run: ImportRun, first: int, last: int) -> None:
    """Widen the run's range of event ids (what its rollback reads) to take ``first``–``last``."""
    run.first_event_id = first if run.first_event_id is None else min(run.first_event_id, first)
    run.last_event_id = last if run.last_event_id is None else max(run.last_event_id, last)


def _write_errors(run: ImportRun, results: list[LineResult], rows: list[Row]) -> None:
    """The rejected lines' errors (line, column, value, reason), each line with its spreadsheet row and, on its
    first error, its cells (the error report writes the line whole). A zero byte, which PostgreSQL cannot
    store and which is why some values are refused, is shown as the replacement character."""
    rejected = [result for result in results if result.action == "reject"]
    if not rejected:
        return
    by_line = {row.line: row for row in rows}
    errors = []
    for result in rejected:
        row = by_line.get(result.line)
        cells = _cells_of(row)
        for position, (column, value, reason) in enumerate(result.errors or [("", "", "")]):
            errors.append(
                {
                    "run_id": run.id,
                    "line": result.line,
                    "row": row.row if row else 0,
                    "cells": cells if position == 0 else None,
                    "column": column[:255],
                    "value": value.replace("\x00", "\ufffd"),
                    "reason": reason,
                }
            )
    db.session.execute(insert(ImportLineError), errors)


def _cells_of(row: Row | None) -> list[str] | None:
    if row is None:
        return None
    cells = list(row.values.values()) if row.values is not None else list(row.cells or [])
    return [cell.replace("\x00", "\ufffd") for cell in cells]


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
        return import_staging.insert_events(
            *self.scope, self.origin.source, self.origin.actor, self.origin.reference, rows
        )


class _CoreWriter:
    """Other databases (SQLite): Core inserts and an executemany update."""

    def __init__(self, run: ImportRun, now, origin: events.Origin):
        self.base = {"account_id": run.account_id, "database_id": run.database_id}
        self.now = now
        self.origin = origin

    def _insert(self, model, rows: list[dict]) -> list[int]:
        return list(db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))

    def insert_profiles(self, values):
        return self._insert(
            Profile,
            [
                {
                    **self.base,
                    "code": new_code(),
                    "fields": fields,
                    "interests": interests,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
                for fields, interests in values
            ],
        )

    def update_profiles(self, values):
        db.session.execute(
            update(Profile),
            [
                {"id": profile_id, "fields": fields, "interests": interests, "updated_at": self.now}
                for profile_id, fields, interests in values
            ],
        )

    def insert_subprofiles(self, values):
        return self._insert(
            Subprofile,
            [
                {
                    **self.base,
                    "collection_id": collection_id,
                    "profile_id": profile_id,
                    "code": new_code(),
                    "fields": fields,
                    "created_at": self.now,
                    "updated_at": self.now,
                }
                for profile_id, collection_id, fields in values
            ],
        )

    def insert_events(self, rows):
        return self._insert(
            ProfileEvent,
            [
                {
                    **self.base,
                    "profile_id": profile_id,
                    "kind": kind,
                    "collection_id": collection_id,
                    "subprofile_id": subprofile_id,
                    "changes": changes,
                    "source": self.origin.source,
                    "actor": self.origin.actor,
                    "reference": self.origin.reference,
                    "created_at": self.now,
                }
                for profile_id, kind, collection_id, subprofile_id, changes in rows
            ],
        )


def run_import_work(row: ScheduledWork) -> None:
    """The ``import`` work kind: apply the run named in the payload for at most ``SLICE_SECONDS``.

    Unlike other kinds this commits (once per batch), so progress is visible and a crash loses at most
    one batch; a rerun continues after the last committed batch (see ``apply_run``). A run that needs
    longer schedules its next slice (which keeps each RQ job well inside RQ's job timeout).
    """
    run_id = int(row.payload["run_id"])
    try:
        run = apply_run(run_id, time_limit=SLICE_SECONDS)
        if run is not None and run.status == ImportRunStatus.RUNNING:
            work.schedule("import", payload={"run_id": run_id}, account_id=run.account_id)
    except Exception as error:
        db.session.rollback()
        run = db.session.get(ImportRun, run_id)
        if run is not None:
            run.error = f"{type(error).__name__}: {error}"[:2000]
            if row.attempts + 1 >= work.MAX_ATTEMPTS:
                run.status, run.finished_at = ImportRunStatus.FAILED, utcnow()
            db.session.commit()
        raise


def init_app(app) -> None:
    with app.app_context():
        work.register_kind("import", run_import_work)
