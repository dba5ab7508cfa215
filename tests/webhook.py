"""Test support: a webhook receiver on 127.0.0.1 (port 0) for apprise's ``json://`` targets.

It records every POST it gets (path, JSON body) and answers 200, or the statuses queued by
:meth:`WebhookReceiver.fail_next` first, so a test can make a target fail and recover.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Post:
    path: str
    body: dict[str, Any]
    status: int  # what the receiver answered

    @property
    def title(self) -> str:
        return str(self.body.get("title", ""))

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        receiver = self.server.receiver
        status = receiver._answer()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"raw": raw.decode("utf-8", "replace")}
        receiver._record(Post(self.path, body, status))
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver
        super().__init__(("127.0.0.1", 0), _Handler)


class WebhookReceiver:
    """A context manager; ``url(path)`` is the apprise ``json://`` URL of a path on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.posts: list[Post] = []
        self._failures: list[int] = []
        self._server = _Server(self)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/hook", scheme: str = "json") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._lock:
            self._failures += [status] * count

    def received(self, path: str | None = None, ok_only: bool = True) -> list[Post]:
        with self._lock:
            return [
                p
                for p in self.posts
                if (path is None or p.path == path) and (not ok_only or p.status == 200)
            ]

    def wait_for(self, what: str, probe: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if probe():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; got {self.posts}")

    def _answer(self) -> int:
        with self._lock:
            return self._failures.pop(0) if self._failures else 200

    def _record(self, post: Post) -> None:
        with self._lock:
            self.posts.append(post)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
