"""Test support: a news site that publishes on demand and talks back about polling.

* ``/feed.xml``: RSS of the articles published so far, newest first; optional ``<ttl>``
  and ``sy:updatePeriod``/``sy:updateFrequency`` tags and a ``Cache-Control`` header.
  While ``publish_per_fetch`` is set, each feed request first publishes that many new
  articles (a site that keeps publishing); set it to 0 and the site goes quiet.
* ``/a/N.html``: article N, with an ``ETag``; ``If-None-Match`` with it gets a 304.
* ``throttle(status, retry_after, times, prefix)``: the next ``times`` requests (for paths
  under ``prefix``) get ``status`` with that ``Retry-After`` value (seconds or a date).
* ``requests``: every request seen (path, monotonic time, status, If-None-Match).
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.loopback import LoopbackServer

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PARAGRAPHS = (
    "The harbour board met on Tuesday to decide the order in which the quays are rebuilt, "
    "after a winter in which three storms broke the old wall in several places.",
    "Engineers said the new wall would stand a metre higher and be finished within two "
    "years; fishermen welcomed the plan but asked for the work to pause in the season.",
    "The council expects to publish the tender documents in May and to choose a contractor "
    "before the end of the year, its chair told the meeting.",
)


@dataclass(frozen=True)
class Seen:
    path: str
    at: float  # time.monotonic()
    status: int
    if_none_match: str | None


def article_html(index: int, title: str) -> bytes:
    body = "\n".join(
        f"<p>{html.escape(p)} Report {index} of the series, item {index * 7 + 3}.</p>"
        for p in PARAGRAPHS
    )
    when = T0 + timedelta(minutes=index)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta property="og:type" content="article">'
        f'<meta property="article:published_time" content="{when.isoformat()}">'
        f"</head>\n<body><main><article><h1>{html.escape(title)}</h1>\n{body}\n"
        "</article></main></body></html>\n"
    ).encode()


class PollSite:
    def __init__(
        self,
        name: str = "poll",
        published: int = 0,
        publish_per_fetch: int = 0,
        ttl_minutes: int | None = None,
        update_period: tuple[str, int] | None = None,
        cache_control: str | None = None,
        shared_links: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.published = published
        self.publish_per_fetch = publish_per_fetch
        self.ttl_minutes = ttl_minutes
        self.update_period = update_period
        self.cache_control = cache_control
        self.shared_links = shared_links  # extra item links (another site's articles)
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._throttle: tuple[int, str, int] | None = None
        self._throttle_prefix = "/"
        self._server = LoopbackServer(self, name)
        self.base_url = self._server.base_url

    def url(self, path: str) -> str:
        return self.base_url + path

    def throttle(self, status: int, retry_after: str, times: int = 1, prefix: str = "/") -> None:
        """The next ``times`` requests for paths under ``prefix`` get ``status``."""
        with self._lock:
            self._throttle = (status, retry_after, times)
            self._throttle_prefix = prefix

    def feed_times(self) -> list[float]:
        with self._lock:
            return [s.at for s in self.requests if s.path == "/feed.xml"]

    def count(self, prefix: str) -> int:
        with self._lock:
            return sum(1 for s in self.requests if s.path.startswith(prefix))

    def seen(self, prefix: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.requests if s.path.startswith(prefix)]

    def close(self) -> None:
        self._server.close()

    def __enter__(self) -> PollSite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _feed(self) -> bytes:
        items = [
            f"<item><title>Report {i}</title><link>{self.url(f'/a/{i}.html')}</link>"
            f"<guid>{self.url(f'/a/{i}.html')}</guid>"
            f"<pubDate>{format_datetime(T0 + timedelta(minutes=i))}</pubDate></item>"
            for i in range(self.published, 0, -1)
        ]
        items += [f"<item><title>Shared</title><link>{u}</link></item>" for u in self.shared_links]
        tags = f"<ttl>{self.ttl_minutes}</ttl>" if self.ttl_minutes else ""
        if self.update_period:
            tags += (
                f"<sy:updatePeriod>{self.update_period[0]}</sy:updatePeriod>"
                f"<sy:updateFrequency>{self.update_period[1]}</sy:updateFrequency>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>'
            f"<title>{self.name}</title><link>{self.base_url}/</link>"
            f"<description>Test feed</description>{tags}\n"
            + "\n".join(items)
            + "\n</channel></rss>\n"
        ).encode()

    def _reply(
        self, path: str, handler: BaseHTTPRequestHandler
    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        with self._lock:
            throttled = path != "/robots.txt" and path.startswith(self._throttle_prefix)
            if self._throttle is not None and throttled:
                status, retry_after, times = self._throttle
                self._throttle = (status, retry_after, times - 1) if times > 1 else None
                return status, b"slow down", [("Retry-After", retry_after)]
        if path == "/feed.xml":
            with self._lock:
                self.published += self.publish_per_fetch
            headers = [("Content-Type", "application/rss+xml")]
            if self.cache_control:
                headers.append(("Cache-Control", self.cache_control))
            return 200, self._feed(), headers
        if path.startswith("/a/") and path.endswith(".html"):
            index = int(path.removeprefix("/a/").removesuffix(".html"))
            etag = f'"{self.name}-{index}-v1"'
            if handler.headers.get("If-None-Match") == etag:
                return 304, b"", [("ETag", etag)]
            body = article_html(index, f"{self.name} report {index}")
            return 200, body, [("Content-Type", "text/html; charset=utf-8"), ("ETag", etag)]
        if path == "/robots.txt":
            return 200, b"User-agent: *\nAllow: /\n", [("Content-Type", "text/plain")]
        return 404, b"not found", [("Content-Type", "text/plain")]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        status, body, headers = self._reply(path, handler)
        with self._lock:
            self.requests.append(
                Seen(path, time.monotonic(), status, handler.headers.get("If-None-Match"))
            )
        try:
            handler.send_response(status)
            for name, value in headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass


def http_date(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC), usegmt=True)
