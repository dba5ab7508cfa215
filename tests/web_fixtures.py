"""Shared by the web app's tests: a small database of known articles, the app on it, and
``newsmon web`` as a real process on port 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from crawler.config import Settings, parse_settings
from crawler.store.store import Store
from crawler.web.app import create_app
from tests.factories import make_article

FEEDS_TOML = """
[[feeds]]
name = "herald-rss"
kind = "rss"
url = "https://herald.example/rss.xml"

[[feeds]]
name = "courier-world"
kind = "listing"
url = "https://courier.example/world"

[[feeds]]
name = "gazette-quiet"
kind = "rss"
url = "https://gazette.example/rss.xml"
"""
TOKEN = "a-web-token-of-24-chars!"
START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def fill(url: str) -> None:
    """30 herald articles (harbour, 10 of them tagged port, by Ann Lee in German for the
    odd days), 10 courier ones about the grain deal, one herald article edited once."""
    with Store.open(url) as store:
        for n in range(30):
            odd = n % 2 == 1
            store.save_article(
                make_article(
                    f"https://herald.example/2024/05/{n:02d}/harbour-{n}.html",
                    title=f"Harbour story number {n}",
                    body=f"The harbour reopened on day {n} after the storm. " * 12,
                    published_at=START + timedelta(days=n % 10, hours=n),
                    authors=("Ann Lee",) if odd else ("Bo Chen", "Ann Lee"),
                    language="de" if odd else "en",
                    tags=("port", "weather") if n < 10 else ("weather",),
                ),
                feed="herald-rss",
            )
        for n in range(10):
            store.save_article(
                make_article(
                    f"https://courier.example/world/grain-{n}",
                    title=f"Grain deal talks, day {n}",
                    body=f"Negotiators met again on day {n} to discuss grain exports. " * 12,
                    published_at=START + timedelta(days=n),
                    authors=("Cy Diaz",),
                    tags=("grain",),
                ),
                feed="courier-world",
            )
        edited = make_article(
            "https://herald.example/2024/05/00/harbour-0.html",
            title="Harbour story number 0, updated",
            body="The harbour reopened on day 0 after the long storm. " * 12,
            published_at=START,
            authors=("Bo Chen", "Ann Lee"),
            tags=("port", "weather"),
        )
        store.save_article(edited, feed="herald-rss")


def settings_for(url: str, extra: str = "") -> Settings:
    return parse_settings(f'[database]\nurl = "{url}"\n{extra}\n{FEEDS_TOML}')


@contextmanager
def client(url: str, token: str | None = None) -> Iterator[TestClient]:
    """The app on a read-only store of ``url``, through Starlette's test client."""
    store = Store.open(url, create=False, read_only=True)
    try:
        app = create_app(settings_for(url), store, token)
        # raise_server_exceptions off: a 500 must show as a 500, as a browser sees it.
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        store.close()


@contextmanager
def web_process(
    settings: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``newsmon web --port 0`` running; yields the process and its base URL."""
    command = [sys.executable, "-m", "crawler", "web", "--port", "0", "--settings",
               str(settings), *args]  # fmt: skip
    environment = {**os.environ, **(env or {})}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    ) as process:
        try:
            assert process.stdout is not None and process.stderr is not None
            line = process.stdout.readline()  # the first line names the address, or it died
            found = re.search(r"on (http://\S+?/)", line)
            if not found:
                process.kill()
                raise AssertionError(f"newsmon web did not start: {line!r} {process.stderr.read()}")
            yield process, found.group(1)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
