"""Test support: a quiet threaded HTTP server on 127.0.0.1, port 0, for fixture sites
(another loopback address or a given port on request).

A site object only has to answer ``_handle(request)``; this module owns the sockets and the
thread, and shuts them down cleanly (no ResourceWarning, handler threads joined).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol


class Site(Protocol):
    def _handle(self, request: BaseHTTPRequestHandler) -> None: ...


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    sys_version = ""
    timeout = 5  # a client that connects and never sends must not block close()

    def do_GET(self) -> None:
        self.server.site._handle(self)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output must stay readable."""


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the handler threads

    def __init__(self, site: Site, handler: type[_Handler], address: tuple[str, int]) -> None:
        self.site = site
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: a client hanging up mid-response is normal for a crawler."""


class LoopbackServer:
    """Serves ``site`` on its own port from a background thread until :meth:`close`."""

    def __init__(
        self,
        site: Site,
        name: str,
        server_version: str = "Fixture/1.0",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        handler = type("Handler", (_Handler,), {"server_version": server_version})
        self._server = _Server(site, handler, (host, port))
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fixture-{name}",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
