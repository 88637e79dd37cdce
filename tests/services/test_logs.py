"""Structured logs: LOG_FORMAT=json turns every log record into one JSON line."""

import json
import logging
import logging.config

import pytest

from webapp.platform import logs


@pytest.fixture
def root_logger():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield root
    root.handlers[:], level = saved
    root.setLevel(level)


def test_json_lines_carry_time_level_logger_message_and_extras(root_logger, capsys):
    logs.configure("json")
    logging.getLogger("webapp.test").warning("disk %s", "full", extra={"account_id": 3})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("webapp.test").exception("failed")
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "webapp.test" and first["message"] == "disk full"
    assert first["account_id"] == 3 and first["time"].endswith("Z")
    assert "RuntimeError: boom" in second["exc_info"]


def test_text_changes_nothing_and_unknown_formats_are_refused(root_logger):
    handlers = root_logger.handlers[:]
    logs.configure("text")
    assert root_logger.handlers == handlers
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.configure("xml")


def test_gunicorns_logs_take_the_same_shape(root_logger, capsys):
    logging.config.dictConfig(logs.gunicorn_logconfig())
    logging.getLogger("gunicorn.error").info("Booting worker")
    assert json.loads(capsys.readouterr().err)["logger"] == "gunicorn.error"
