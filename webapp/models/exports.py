"""Scheduled exports: what to export and where to upload it, and the runs that did so."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Base, JSONType, utcnow


class ExportRunStatus(StrEnum):
    """The ``status`` of an ``ExportRun``."""

    RUNNING = "running"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"


EXPORT_RUN_STATUSES = tuple(ExportRunStatus)


class ExportDefinition(Base):
    """An export of a database (or one of its collections) uploaded to an (S)FTP or HTTP target."""

    __tablename__ = "export_definition"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    # None: the profiles of the database; else the subprofiles of this collection
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), index=True)
    # Set: only the members of this selection (of the same database; its collection decides ``collection_id``),
    # computed by SQL at each run. A selection in use cannot be removed (``selections.delete_selection``).
    selection_id: Mapped[int | None] = mapped_column(ForeignKey("selection.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Field names to export, in order; empty: all fields
    fields: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # {"format": "csv"|"tsv"|"jsonl", "delimiter": ",", "interests": bool, "gzip": bool, "bom": bool,
    #  "protect_formulas": bool}
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # ftp://, ftps://, sftp:// (a folder) or http(s):// (the file name is appended when it ends with /)
    target_url: Mapped[str] = mapped_column(String(2000))
    http_method: Mapped[str] = mapped_column(String(8), default="PUT")  # PUT | POST (http and https only)
    # Encrypted with CREDENTIALS_KEY; never shown back in full
    credentials: Mapped[str] = mapped_column(Text, default="")
    # The uploaded file's name; {date}, {time} and {run} are filled in
    file_name: Mapped[str] = mapped_column(String(255))
    # An interval (15m, 1h, 1d) or a cron expression; empty: only when run by hand
    schedule: Mapped[str] = mapped_column(String(100), default="")
    last_upload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # at, file_name, size, host_key
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExportRun(Base):
    """One upload of an export; its retries (same turn of the schedule) share the row."""

    __tablename__ = "export_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("export_definition.id", ondelete="CASCADE"), index=True)
    # The scheduled_work row that runs it (no foreign key: finished work is forgotten after 30 days)
    work_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=ExportRunStatus.RUNNING)
    file_name: Mapped[str] = mapped_column(String(255), default="")
    size: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ExportFileStatus(StrEnum):
    """The ``status`` of an ``ExportFile`` (while ``queued`` its work row says whether it runs, retries or failed)."""

    QUEUED = "queued"
    DONE = "done"
    FAILED = "failed"
    EXPIRED = "expired"


class ExportFile(Base):
    """An export written to a file in a worker, kept for a later download (``exports.downloads``)."""

    __tablename__ = "export_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"), index=True)
    database_id: Mapped[int] = mapped_column(ForeignKey("database.id", ondelete="CASCADE"), index=True)
    # None: the profiles of the database; else the subprofiles of this collection
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collection.id", ondelete="CASCADE"), index=True)
    # exports.files.ExportOptions as a dict: format, delimiter, fields, interests, gzip, bom, protect_formulas
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=ExportFileStatus.QUEUED)
    # The scheduled_work row that writes it (no foreign key: finished work is forgotten after 30 days)
    work_id: Mapped[int | None] = mapped_column(index=True)
    file_name: Mapped[str] = mapped_column(String(255), default="")  # what the download is called
    content_type: Mapped[str] = mapped_column(String(100), default="")
    stored_name: Mapped[str] = mapped_column(String(255), default="")  # inside the exports folder; "" once deleted
    size: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
