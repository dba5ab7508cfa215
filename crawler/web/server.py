"""``newsmon web``: the app on a socket, served by uvicorn until SIGINT or SIGTERM.

Off loopback a token is required (``NEWSMON_WEB_TOKEN``, else ``[web] token``): without
one the command refuses to start. The socket is bound before uvicorn starts, so the line
that says where the app is names the real port, also for ``--port 0``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import signal
import socket
from collections.abc import Callable
from types import FrameType

import uvicorn

from crawler.config import Settings
from crawler.config_web import check_token
from crawler.errors import StoreError, UsageError
from crawler.store.database import shown_url
from crawler.store.store import Store

TOKEN_ENV = "NEWSMON_WEB_TOKEN"
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def web_token(settings: Settings) -> str | None:
    """The token from the environment, else from the settings; UsageError if unusable."""
    value = os.environ.get(TOKEN_ENV)
    if value is not None:
        try:
            return check_token(value, TOKEN_ENV)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return settings.web.token


def loopback_hosts(host: str) -> list[str]:
    """The Host headers a browser on this machine sends to an app on loopback."""
    return list(dict.fromkeys(["127.0.0.1", "localhost", "::1", host]))


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except (OSError, OverflowError) as exc:
        sock.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _stopper(server: uvicorn.Server) -> Callable[[int, FrameType | None], None]:
    """The signal handler: SIGINT or SIGTERM stops the server gracefully (a second SIGINT at
    once), and the command then ends with exit 0, as ``newsmon run`` does. (uvicorn's own
    handler raises the signal again once stopped, which would end the process by it.)"""

    def stop(sig: int, frame: FrameType | None) -> None:
        if server.should_exit and sig == signal.SIGINT:
            server.force_exit = True
        server.should_exit = True

    return stop


def serve(settings: Settings, host: str, port: int) -> int:
    """Run the app until stopped; returns the exit code."""
    from crawler.web.app import create_app

    token = web_token(settings)
    loopback = is_loopback(host)
    if not loopback and token is None:
        raise UsageError(
            f"--host {host} is not a loopback address: set [web] token in settings.toml"
            f" or {TOKEN_ENV} (at least 16 characters) so that only you can read the app"
        )
    store = Store.open(settings.database, create=False, read_only=True)
    try:
        sock = bind(host, port)
        app = create_app(
            settings, store, token, allowed_hosts=loopback_hosts(host) if loopback else None
        )
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", server_header=False
        )
        server = uvicorn.Server(config)
        server.handle_exit = _stopper(server)  # type: ignore[method-assign,assignment]
        bound = sock.getsockname()[1]
        shown_host = f"[{host.strip('[]')}]" if ":" in host else host
        print(
            f"newsmon web: {shown_url(settings.database.url)} on http://{shown_host}:{bound}/"
            + (" (token required)" if token else ""),
            flush=True,
        )
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        store.close()
    return 0
