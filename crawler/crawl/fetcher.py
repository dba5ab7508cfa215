"""A small synchronous, polite HTTP client for one-shot commands (``newsmon discover``).

The service crawls through Scrapy; a command that looks at a few dozen pages of one site
does not need a reactor, but it must be as polite as the service: it sends the configured
user agent, reads each host's robots.txt first (protego, as Scrapy does) and never requests
what it disallows, spaces requests to one host by ``download_delay`` (or the host's
``Crawl-delay``, if longer), gives up after ``timeout`` and drops bodies larger than
``max_page_bytes``. Redirects are followed by hand so that every hop passes the same checks,
and like the crawl it reaches no loopback or private address except the host:port of the
address it was given, unless ``allow_private_networks`` is on.
"""

from __future__ import annotations

import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

from protego import Protego

from crawler.config import CrawlConfig
from crawler.crawl.destinations import Destination, destination_of, ip_literal, non_public_kind
from crawler.errors import first_line

log = logging.getLogger("crawler.crawl.fetcher")

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    """A response, or why there is none (``status`` 0 and ``error`` set)."""

    url: str  # after redirects
    status: int
    body: bytes = b""
    content_type: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class _Origin:
    robots: Protego | None  # None: no rules (no robots.txt, or it could not be read)
    sitemaps: tuple[str, ...] = ()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx comes back as an HTTPError; PoliteFetcher follows it itself


@dataclass
class PoliteFetcher:
    """GET with robots.txt, per-host spacing, a timeout and a size limit."""

    crawl: CrawlConfig
    trusted: frozenset[Destination] = frozenset()  # host:port pairs that may be private
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _origins: dict[str, _Origin] = field(default_factory=dict)
    _last_start: dict[str, float] = field(default_factory=dict)  # by host name, as Scrapy

    def __post_init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirects())

    def get(self, url: str) -> Fetched:
        """The page at ``url``, following redirects; never raises for network trouble."""
        for _hop in range(MAX_REDIRECTS + 1):
            refused = self.refusal(url)
            if refused:
                return Fetched(url, 0, error=refused)
            fetched, location = self._get_once(url)
            if location is None:
                return fetched
            url = urljoin(url, location)
        return Fetched(url, 0, error=f"more than {MAX_REDIRECTS} redirects")

    def refusal(self, url: str) -> str | None:
        """Why ``url`` must not be requested (robots.txt, a private address); None if it may."""
        parts = urlsplit(url)
        destination = destination_of(parts)
        if destination is None:
            return "not an http(s) URL"
        private = self._private_kind(destination)
        if private:
            return f"{private} address ([crawl] allow_private_networks is off)"
        origin = self._origin(url)
        if origin.robots is not None and not origin.robots.can_fetch(url, self.crawl.user_agent):
            return "disallowed by robots.txt"
        return None

    def sitemaps_of(self, url: str) -> tuple[str, ...]:
        """The ``Sitemap:`` lines of the robots.txt of ``url``'s origin."""
        return self._origin(url).sitemaps

    def _private_kind(self, destination: Destination) -> str | None:
        if self.crawl.allow_private_networks or destination in self.trusted:
            return None
        host, port = destination
        literal = ip_literal(host)
        if literal is not None:
            return non_public_kind(literal)
        try:
            answers = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return None  # the request itself will fail and say why
        for *_rest, address in answers:
            found = ip_literal(str(address[0]).split("%")[0])
            kind = non_public_kind(found) if found is not None else None
            if kind:
                return kind
        return None

    def _origin(self, url: str) -> _Origin:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc}".lower()
        origin = self._origins.get(key)
        if origin is None:
            origin = self._origins[key] = _Origin(None)
            if self.crawl.obey_robots_txt:
                self._read_robots(key, origin)
        return origin

    def _read_robots(self, key: str, origin: _Origin) -> None:
        fetched, _location = self._get_once(key + "/robots.txt")  # a redirect: no rules
        if not fetched.ok:
            # 4xx: no robots.txt, no rules (RFC 9309); 5xx or no answer: crawl on, as
            # Scrapy's middleware (and so the service) does.
            return
        text = fetched.body.decode("utf-8", errors="replace")
        origin.robots = Protego.parse(text)
        origin.sitemaps = tuple(origin.robots.sitemaps)

    def _get_once(self, url: str) -> tuple[Fetched, str | None]:
        """One request, after waiting for the host's turn; the Location of a redirect."""
        self._wait_turn(url)
        request = urllib.request.Request(url, headers={"User-Agent": self.crawl.user_agent})
        try:
            with self._opener.open(request, timeout=self.crawl.timeout) as response:
                return self._read(url, response.status, response, response.headers), None
        except urllib.error.HTTPError as error:
            location = error.headers.get("Location")
            if error.code in (301, 302, 303, 307, 308) and location:
                error.close()
                return Fetched(url, error.code), location
            with error:
                content_type = error.headers.get("Content-Type")
                return Fetched(url, error.code, content_type=content_type), None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            return Fetched(url, 0, error=first_line(reason)), None

    def _read(self, url: str, status: int, stream: IO[bytes], headers: Message) -> Fetched:
        limit = self.crawl.max_page_bytes
        body = stream.read(limit + 1)
        if len(body) > limit:
            return Fetched(url, 0, error=f"larger than max_page_bytes ({limit} bytes)")
        return Fetched(url, status, body, headers.get("Content-Type"))

    def _wait_turn(self, url: str) -> None:
        parts = urlsplit(url)
        origin = self._origins.get(f"{parts.scheme}://{parts.netloc}".lower())
        delay = self.crawl.download_delay
        if origin is not None and origin.robots is not None:
            delay = max(delay, float(origin.robots.crawl_delay(self.crawl.user_agent) or 0))
        host = (parts.hostname or "").lower()
        wait = self._last_start.get(host, float("-inf")) + delay - self.clock()
        if wait > 0:
            self.sleep(wait)
        self._last_start[host] = self.clock()
