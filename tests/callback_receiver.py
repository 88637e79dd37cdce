"""A real HTTP receiver for callback tests: records every request; answers 200, another status, or hangs."""

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


class Receiver:
    """``answers`` is a list consumed per request: an int status, ``"hang"`` (no answer until
    stopped) or ``"slow"`` (200 after 0.3 s)."""

    def __init__(self):
        self.requests: list[Received] = []
        self.answers: list[int | str] = []
        self.default: int | str = 200
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                answer = receiver.answers.pop(0) if receiver.answers else receiver.default
                if answer == "hang":
                    receiver.release.wait(10)
                    return
                if answer == "slow":
                    receiver.release.wait(0.3)
                    answer = 200
                self.send_response(int(answer))
                self.send_header("content-type", "text/plain")
                text = b"ok" if int(answer) < 300 else b"receiver says no"
                self.send_header("content-length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
