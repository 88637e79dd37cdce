"""The run command on embedded defaults: schema, first login, web + worker + dispatcher + mail receiver, all
stopped by Ctrl-C."""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 90  # seconds to wait for start-up on a slow, shared machine (a limit, not a measurement)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, what: str, log: Path):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; output:\n{log.read_text()[-4000:]}")


def page(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
            return response.status
    except OSError:
        return None


def housekeeping_done(database: Path) -> bool:
    if not database.exists():
        return False
    try:
        with sqlite3.connect(database) as connection:
            rows = connection.execute("SELECT status FROM scheduled_work WHERE kind = 'housekeeping'").fetchall()
    except sqlite3.OperationalError:
        return False
    return ("done",) in rows


def health_status(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
            return json.load(response)["status"]
    except OSError:
        return None


def server_header(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
        return response.headers.get("Server", "")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_start_runs_everything_on_embedded_defaults_and_ctrl_c_stops_it(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(port))
    log = tmp_path / "out.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "webapp", "start"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: page(f"http://127.0.0.1:{port}/login") == 200, "the login page", log)
        wait_for(lambda: housekeeping_done(tmp_path / "instance" / "verrijk.sqlite"), "the dispatcher and worker", log)
        output = log.read_text()
        assert re.search(r"email:\s+admin@example.com", output) and re.search(r"password:\s+\S{12,}", output)
        assert (tmp_path / "instance" / "secret_key").exists()
        pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)]
        assert len(pids) == 5  # redis, web, worker, dispatcher, mail receiver
        assert re.search(r"mail receiver listening on 127\.0\.0\.1:\d+", log.read_text())
        # The web process is gunicorn, not Flask's development server (issue 21).
        assert server_header(f"http://127.0.0.1:{port}/login").startswith("gunicorn")
        assert "development server" not in output
        # Worker and dispatcher beat: the health endpoint says all is well (issue 21).
        wait_for(lambda: health_status(f"http://127.0.0.1:{port}/healthz") == "ok", "a healthy /healthz", log)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    assert all(not alive(pid) for pid in pids)
    assert log.read_text().count("First login") == 1
