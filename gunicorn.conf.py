"""gunicorn's settings for Verrijk, read from the working directory: ``gunicorn "webapp:create_app()"``.

Only what the app itself needs; bind address, workers and threads stay on the command line. With
``LOG_FORMAT=json`` gunicorn's error and access logs are JSON lines too (``platform/logs.py``)."""

import gc
import os

from webapp.platform import logs

if os.environ.get("LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = logs.gunicorn_logconfig(os.environ.get("LOG_LEVEL", "INFO").strip() or "INFO")


def post_worker_init(worker) -> None:
    """Freeze what loading the app made (modules, models, templates, caches) out of the garbage collector's
    reach: every full collection would otherwise walk those long-lived objects again, for nothing."""
    gc.collect()
    gc.freeze()
