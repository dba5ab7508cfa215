"""Notify targets: apprise URLs checked, shown without their secrets, and sent to.

Each URL is its own :class:`apprise.Apprise`, so one failing target never holds up or
hides another, and its result is its own. apprise is synchronous (HTTP, SMTP...): a send
runs in a thread of its own and is given up after ``SEND_TIMEOUT`` seconds (its sockets
time out by themselves soon after). apprise's own log lines are collected per send and the
last warning becomes the failure's reason, with any password of the URL taken out; they
are not logged again (newsmon logs one line per failure).

A URL is shown as apprise's privacy form (passwords and tokens cut to their ends, e.g.
``tgram://1...p/12315544/``) without its query, or, when apprise cannot read it, as
check-config shows a database URL (:func:`crawler.store.database.shown_url`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.config import DEFAULT_SETTINGS_PATH, Settings
from crawler.errors import SettingsError
from crawler.store.alert_matches import Target
from crawler.store.database import shown_url

SEND_TIMEOUT = 30.0
_APPRISE_LOGGER = "apprise"


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


class _Collected(logging.Handler):
    """apprise's warnings, by the thread that logged them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: dict[int, list[str]] = {}
        self.lock_ = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.lock_:
            self.lines.setdefault(record.thread or 0, []).append(record.getMessage())

    def take(self) -> list[str]:
        with self.lock_:
            return self.lines.pop(threading.get_ident(), [])


_collected = _Collected()
_apprise_log = logging.getLogger(_APPRISE_LOGGER)
_apprise_log.addHandler(_collected)
_apprise_log.propagate = False  # reported once, by newsmon, without the URL's secrets


def target_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _plugin(url: str) -> Any:
    import apprise

    return apprise.Apprise.instantiate(url)


def shown(url: str) -> str:
    """The URL as it may be printed or logged: no password, no token, no query."""
    plugin = _plugin(url)
    _collected.take()  # what apprise said while reading the URL is not a send's reason
    if plugin is None:
        return shown_url(url).split("?", 1)[0]
    return str(plugin.url(privacy=True)).split("?", 1)[0]


def target_of(url: str) -> Target:
    return Target(key=target_key(url), shown=shown(url))


def without_secrets(text: str, url: str) -> str:
    """``text`` with the URL and its password taken out, should apprise have quoted them."""
    text = text.replace(url, shown(url))
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    for secret in {password, unquote(password)} if password else set():
        if len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def send(url: str, title: str, body: str, timeout: float = SEND_TIMEOUT) -> SendResult:
    """Send one message to one target; never raises."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsmon-alert")
    future = pool.submit(_send, url, title, body)
    pool.shutdown(wait=False)  # a send that hangs past its timeout is left to its sockets
    try:
        result = future.result(timeout=timeout)
    except FutureTimeout:
        return SendResult(False, f"no answer within {timeout:g} s")
    except Exception as exc:  # apprise or a plugin failed in a way it did not report
        return SendResult(False, without_secrets(f"{type(exc).__name__}: {exc}", url))
    return result


def _send(url: str, title: str, body: str) -> SendResult:
    import apprise

    _collected.take()
    notifier = apprise.Apprise()
    if not notifier.add(url):
        _collected.take()
        return SendResult(False, "apprise cannot use this URL")
    result = notifier.notify(body=body, title=title)
    said = _collected.take()
    if result:
        return SendResult(True)
    # apprise 2 returns its log entries with the result (its services may run in threads
    # of its own); apprise 1 logs them in this thread.
    entries = getattr(result, "logs", None)
    if callable(entries):
        said += [str(getattr(entry, "message", entry)) for entry in entries()]
    reason = said[-1].strip().splitlines()[0] if said else "apprise reported a failure"
    return SendResult(False, without_secrets(reason, url))


def check_targets(settings: Settings, path: str | None = None) -> None:
    """SettingsError with a line per notify URL that apprise cannot use (an unknown service,
    a part missing), named like every settings problem (``path``: the file as given)."""
    path = path or str(settings.source_path or DEFAULT_SETTINGS_PATH)
    problems: list[str] = []
    for index, alert in enumerate(settings.alerts):
        for position, url in enumerate(alert.notify):
            if _plugin(url) is None:
                where = f"alerts[{index}] (name={alert.name!r}).notify[{position}]"
                problems.append(
                    f"{path}: {where}: apprise cannot use {shown(url)} (an unknown service,"
                    " or a part of the URL missing or wrong: see apprise's list of services)"
                )
    _collected.take()
    if problems:
        raise SettingsError(path, problems)


def sender_for(timeout: float) -> Callable[[str, str, str], SendResult]:
    def bound(url: str, title: str, body: str) -> SendResult:
        return send(url, title, body, timeout)

    return bound
