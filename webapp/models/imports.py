"""Import definitions (what to read and how to map it), their runs, and the lines a run rejected."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class ImportRunStatus(StrEnum):
    """The ``status`` of an ``ImportRun``."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    ROLLING_BACK = "rolling_back"


IMPORT_RUN_STATUSES = tuple(ImportRunStatus)


class ImportDefinition(Base):
    """How to import into a database: source, parsing options, column mapping, key fields and policies."""

    __tablename__ = "import_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Empty for uploads; http(s)://, ftp://, ftps://, sftp:// for fetched imports
    source_url: Mapped[str] = mapped_column(String(2000), default="")
    # Encrypted with CREDENTIALS_KEY; never shown back in full
    credentials: Mapped[str] = mapped_column(Text, default="")
    # {"delimiter": ",", "quotechar": '"', "encoding": "utf-8", "date_order": "DMY"|"MDY"|""}
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # {column header: "field:Name" | "collection:Orders.Field" | "interest:Name" | "ignore"}
    mapping: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    key_fields: Mapped[list[str]] = mapped_column(JSONType, default=list)
    on_match: Mapped[str] = mapped_column(String(16), default="update")  # update | update_empty | skip
    on_no_match: Mapped[str] = mapped_column(String(16), default="create")  # create | ignore
    on_empty: Mapped[str] = mapped_column(String(16), default="leave")  # leave | clear
    # Interval in seconds, or a cron expression; empty: not scheduled
    schedule: Mapped[str] = mapped_column(String(100), default="")
    last_fetch: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # etag, last_modified, size, sha256
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportRun(Base):
    """One run of an import (an upload or a fetch); its profile events carry ``reference = f"import {id}"``."""

    __tablename__ = "import_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_definition.id", ondelete="SET NULL"), index=True
    )
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ImportRunStatus.PENDING)
    file_name: Mapped[str] = mapped_column(String(255), default="")
    file_path: Mapped[str] = mapped_column(String(1000), default="")
    file_size: Mapped[int] = mapped_column(default=0)
    lines_total: Mapped[int] = mapped_column(default=0)
    lines_done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)  # by a policy (a match to skip, no match to ignore)
    unchanged: Mapped[int] = mapped_column(default=0, server_default="0")  # matched, and already as the line has it
    rejected: Mapped[int] = mapped_column(default=0)
    # A rollback (durable work of kind ``import_rollback``): profiles to go through, gone through, and its counts.
    rollback_total: Mapped[int] = mapped_column(default=0, server_default="0")
    rollback_done: Mapped[int] = mapped_column(default=0, server_default="0")
    removed: Mapped[int] = mapped_column(default=0, server_default="0")
    restored: Mapped[int] = mapped_column(default=0, server_default="0")
    # The file as read ({"header": [...], "delimiter", "quotechar", "encoding"}): the error report is written
    # in it. And the language of whoever started the run: its line errors are written in it.
    layout: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    locale: Mapped[str] = mapped_column(String(16), default="", server_default="")
    error: Mapped[str] = mapped_column(Text, default="")
    # The ids of the first and last profile event the run wrote: its rollback reads the journal in that range.
    first_event_id: Mapped[int | None]
    last_event_id: Mapped[int | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportLineError(Base):
    """A line a run rejected: where, what and why (downloadable as CSV)."""

    __tablename__ = "import_line_error"
    __table_args__ = (Index("ix_import_line_error_run_id_line", "run_id", "line"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("import_run.id", ondelete="CASCADE"))
    line: Mapped[int]
    row: Mapped[int] = mapped_column(default=0, server_default="0")  # as a spreadsheet counts (header: 1)
    # The whole line in the file's columns, on the first error of a line (the report writes it once)
    cells: Mapped[list[str] | None] = mapped_column(JSONType)
    column: Mapped[str] = mapped_column(String(255), default="")
    value: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
