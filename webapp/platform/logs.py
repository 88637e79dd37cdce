"""Log output of every process: plain text (the default), or one JSON object per line (``LOG_FORMAT=json``)
for log collectors (Loki, Elasticsearch, CloudWatch, journald).

A JSON line holds ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``process`` and ``message``, plus
``exc_info`` for an exception and any ``extra={...}`` the caller passed. The web app, the RQ worker and the
dispatcher call ``configure`` (through ``create_app``); gunicorn's own error and access logs take the same
shape from ``gunicorn_logconfig`` (read by ``gunicorn.conf.py``).
"""

import logging
import sys
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter

FORMATS = ("text", "json")
FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}


def json_formatter() -> JsonFormatter:
    """The JSON formatter of every process (timestamps in UTC)."""
    formatter = JsonFormatter(FIELDS, rename_fields=RENAMED, datefmt="%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    return formatter


def configure(log_format: str, level: str = "INFO") -> None:
    """With ``json``, every log record of this process goes to stderr as one JSON line; ``text`` changes nothing
    (Flask, RQ and gunicorn keep their own output)."""
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    if log_format != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def gunicorn_logconfig(level: str = "INFO") -> dict[str, Any]:
    """gunicorn's ``logconfig_dict`` for JSON lines: its error and access logs, through the same formatter."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "webapp.platform.logs.json_formatter"}},
        "handlers": {"console": handler, "error_console": handler},
        "root": {"level": level.upper(), "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level.upper(), "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
