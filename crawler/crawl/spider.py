"""The spider of one feed run: fetch the feed's pages, then the articles it lists.

One crawl per feed run. The feed page (listing, RSS/Atom or sitemap) is fetched every run,
conditionally; article URLs already stored are linked to this feed without a download,
unless they are young enough to be re-checked for edits (the revisit window).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawler.config import FeedConfig, ListingFeed, Settings, SitemapFeed
from crawler.crawl.destinations import DestinationRefused
from crawler.crawl.politeness import HostGuard
from crawler.crawl.robots import RobotsCache
from crawler.dedup import body_hash
from crawler.errors import DiscoveryError
from crawler.extract.discovery import (
    Candidate,
    Discovery,
    discover_feed,
    discover_listing,
    discover_sitemap,
)
from crawler.store.store import PageValidators, RunCounts, Store, utcnow
from crawler.urls import url_key

log = logging.getLogger("crawler.feed")

# A known article is re-fetched when the time since its last fetch exceeds this fraction
# of its age: often while young (edits are most likely then), rarely when old.
REVISIT_FRACTION = 0.25
MAX_CHILD_SITEMAPS = 20
ROBOTS_REASON = "forbidden by robots.txt"


@dataclass
class FeedRun:
    """Shared between the spider, the pipeline and the code that started the crawl."""

    feed: FeedConfig
    settings: Settings
    store: Store
    host_guard: HostGuard
    robots: RobotsCache | None = None  # robots.txt shared across crawls (crawler.crawl.robots)
    counts: RunCounts = field(default_factory=RunCounts)
    started_at: datetime = field(default_factory=utcnow)
    failure: str | None = None  # set when the feed itself could not be read
    problems: list[str] = field(default_factory=list)
    # Validators are saved only after a clean run: otherwise a 304 next time would hide
    # the articles that failed this time.
    pending_validators: dict[str, PageValidators] = field(default_factory=dict)
    not_articles: int = 0
    robots_skipped: int = 0
    transient_failures: int = 0  # 5xx, timeouts: worth retrying next run
    # Bounds against runaway or hostile sites: articles considered (max_articles_per_run),
    # URLs already requested, sitemaps read (an index may list itself) and what was skipped.
    articles_considered: int = 0
    article_keys: set[str] = field(default_factory=set)
    sitemaps_seen: set[str] = field(default_factory=set)
    child_sitemaps: int = 0
    child_sitemaps_over_limit: int = 0
    skipped_by_limits: int = 0

    @property
    def may_save_validators(self) -> bool:
        """A 304 next run would skip this run's articles: allow it only when none of them
        failed in a way that a retry could fix (a 404 will not get better; a 500 may)."""
        return self.failure is None and self.transient_failures == 0

    def problem(self, url: str, reason: str) -> None:
        self.counts.errors += 1
        self.problems.append(f"{url}: {reason}")
        log.warning("feed %s: %s: %s", self.feed.name, url, reason)


@dataclass(frozen=True)
class ArticlePage:
    """An article response handed to the pipeline."""

    run: FeedRun
    body: bytes
    url: str  # final URL, after redirects
    requested_url: str
    charset: str | None
    candidate: Candidate
    fetched_at: datetime


class FeedSpider(scrapy.Spider):
    name = "newsmon-feed"

    def __init__(self, run: FeedRun, **kwargs: Any) -> None:
        super().__init__(name=f"feed:{run.feed.name}", **kwargs)
        self.run = run
        self.feed = run.feed

    async def start(self) -> AsyncIterator[Request]:
        self.run.sitemaps_seen.add(self.feed.url)
        yield self._feed_request(self.feed.url, page=1)

    # -- the feed's own pages -----------------------------------------------------------

    def _feed_request(self, url: str, page: int) -> Request:
        headers: dict[str, str] = {}
        validators = self.run.store.page_validators(url)
        if validators is not None:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        return Request(
            url,
            callback=self.parse_feed_page,
            errback=self.feed_page_failed,
            headers=headers,
            dont_filter=True,  # fetched every run, whatever the dupefilter remembers
            meta={"page": page, "handle_httpstatus_list": [304], "known_validators": validators},
            priority=10,
        )

    async def parse_feed_page(self, response: Response) -> AsyncIterator[Request]:
        counts = self.run.counts
        counts.pages_fetched += 1
        if response.status == 304:
            counts.not_modified += 1
            return
        raw_hash = body_hash(response.body)
        known: PageValidators | None = response.meta.get("known_validators")
        self.run.pending_validators[response.url] = PageValidators(
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            body_hash=raw_hash,
        )
        if known is not None and known.body_hash == raw_hash:
            # Some servers send no or stale validators: the raw bytes tell us nothing changed.
            counts.not_modified += 1
            return
        try:
            if not response.body:
                raise DiscoveryError("empty page")
            # A feed of many thousand entries takes a second or more to read: off the loop.
            discovery = await asyncio.to_thread(self._discover, response)
        except DiscoveryError as exc:
            if response.meta.get("page", 1) == 1 and not response.meta.get("child_sitemap"):
                self.run.failure = f"{response.url}: {exc}"
            self.run.problem(response.url, str(exc))
            return
        for request in self._follow_pages(discovery, response):
            yield request
        total = discovery.total_entries
        for request in self._article_requests(discovery.candidates, total=total):
            yield request

    def _discover(self, response: Response) -> Discovery:
        feed = self.feed
        if isinstance(feed, ListingFeed):
            if not isinstance(response, TextResponse):
                raise DiscoveryError("listing page is not HTML")
            return discover_listing(response.text, response.url, feed.article_links, feed.next_page)
        if isinstance(feed, SitemapFeed):
            cutoff = utcnow() - feed.max_age if feed.max_age else None
            return discover_sitemap(
                response.body,
                response.url,
                max_bytes=self.run.settings.crawl.max_page_bytes,
                default_tz=feed.timezone,
                max_age_cutoff=cutoff,
            )
        return discover_feed(
            response.body,
            response.url,
            _header(response, b"Content-Type"),
            max_entries=self.run.settings.crawl.max_articles_per_run,
        )

    def _follow_pages(self, discovery: Discovery, response: Response) -> Iterator[Request]:
        page = int(response.meta.get("page", 1))
        if isinstance(self.feed, ListingFeed):
            if page < self.feed.max_pages:
                for url in discovery.next_pages[:1]:
                    yield self._feed_request(url, page + 1)
        elif isinstance(self.feed, SitemapFeed):
            yield from self._child_sitemaps(discovery.next_pages, response.url, page + 1)

    def _child_sitemaps(self, urls: tuple[str, ...], index: str, page: int) -> Iterator[Request]:
        """Each sitemap once per run (indexes may list themselves or each other), and at
        most MAX_CHILD_SITEMAPS of them in all, however deep the indexes nest."""
        run = self.run
        over_limit = 0
        for url in urls:
            if url in run.sitemaps_seen:
                run.skipped_by_limits += 1
                log.warning(
                    "feed %s: %s: sitemap already read in this run (listed again by %s), skipped",
                    self.feed.name,
                    url,
                    index,
                )
                continue
            if run.child_sitemaps >= MAX_CHILD_SITEMAPS:
                over_limit += 1
                continue
            run.sitemaps_seen.add(url)
            run.child_sitemaps += 1
            request = self._feed_request(url, page)
            request.meta["child_sitemap"] = True
            yield request
        if over_limit:
            run.skipped_by_limits += over_limit
            run.child_sitemaps_over_limit += over_limit
            if run.child_sitemaps_over_limit > over_limit:
                return  # said once per run: nested indexes would repeat it for every child
            log.warning(
                "feed %s: %s: %d child sitemaps skipped (at most %d per run)",
                self.feed.name,
                index,
                over_limit,
                MAX_CHILD_SITEMAPS,
            )

    def feed_page_failed(self, failure: Failure) -> None:
        if isinstance(failure.value, DestinationRefused):
            return  # recorded once per destination, never a failure of the feed
        request = failure.request  # type: ignore[attr-defined]
        reason = describe_failure(failure, self.run.settings.crawl.max_page_bytes)
        if request.meta.get("page", 1) == 1 and not request.meta.get("child_sitemap"):
            self.run.failure = f"{request.url}: {reason}"
        self.run.problem(request.url, reason)

    # -- articles -----------------------------------------------------------------------

    def _article_requests(
        self, candidates: tuple[Candidate, ...], total: int | None = None
    ) -> Iterator[Request]:
        allowed = self._within_limits(
            [c for c in candidates if self.feed.url_allowed(c.url)],
            entries=max(total or 0, len(candidates)),
            trimmed=total is not None and total > len(candidates),
        )
        known = self.run.store.known_urls(url_key(c.url) for c in allowed)
        now = utcnow()
        revisit_window: timedelta = self.run.settings.crawl.revisit_window
        to_fetch: list[Candidate] = []
        links: list[tuple[int, str]] = []
        for candidate in allowed:
            self.run.counts.articles_found += 1
            stored = known.get(url_key(candidate.url))
            if stored is not None:
                age = now - stored.first_seen_at
                since_fetch = now - stored.last_fetched_at
                if not (age < revisit_window and since_fetch >= age * REVISIT_FRACTION):
                    links.append((stored.article_id, candidate.url))
                    continue
            to_fetch.append(candidate)
        self.run.store.link_known(links, feed=self.feed.name, tags=self.feed.tags, seen_at=now)
        for candidate in to_fetch:
            yield Request(
                candidate.url,
                callback=self.parse_article_page,
                errback=self.article_failed,
                # Duplicates are dropped by _within_limits; the dupefilter would also drop
                # the repeated URL of a redirect loop, silently instead of reporting it.
                dont_filter=True,
                meta={"candidate": candidate},
            )

    def _within_limits(
        self, candidates: list[Candidate], *, entries: int, trimmed: bool
    ) -> list[Candidate]:
        """URLs not yet taken this run, newest first, within max_articles_per_run.

        ``entries`` is how many entries the page had; ``trimmed``: discovery already kept
        only the newest of them.
        """
        run = self.run
        seen = set(run.article_keys)
        fresh: list[Candidate] = []
        for candidate in candidates:
            key = url_key(candidate.url)
            if key not in seen:
                seen.add(key)
                fresh.append(candidate)
        left = max(run.settings.crawl.max_articles_per_run - run.articles_considered, 0)
        if len(fresh) > left or trimmed:
            fresh.sort(key=_newest_first)  # stable: undated entries keep the feed's order
            run.skipped_by_limits += max(len(fresh) - left, 0) + (entries - len(candidates))
            fresh = fresh[:left]
            which = "newest" if any(c.published_at for c in fresh) else "first"
            log.info(
                "feed %s: %d entries, fetching the %s %d (max_articles_per_run)",
                self.feed.name,
                entries,
                which,
                len(fresh),
            )
        run.articles_considered += len(fresh)
        run.article_keys.update(url_key(c.url) for c in fresh)
        return fresh

    def parse_article_page(self, response: Response) -> Iterator[ArticlePage]:
        self.run.counts.pages_fetched += 1
        if not response.body:
            self.run.transient_failures += 1  # often a server hiccup: read the feed again
            self.run.problem(response.url, "empty page")
            return
        content_type = (_header(response, b"Content-Type") or "").lower()
        if content_type and not any(t in content_type for t in ("html", "xml", "text/plain")):
            self.run.problem(response.url, f"not an HTML page (Content-Type {content_type})")
            return
        if looks_binary(response.body):
            served = (
                f"served as {content_type.split(';')[0]}" if content_type else "no Content-Type"
            )
            self.run.problem(response.url, f"not an HTML page (binary content, {served})")
            return
        charset = response.encoding if isinstance(response, TextResponse) else None
        yield ArticlePage(
            run=self.run,
            body=response.body,
            url=response.url,
            requested_url=response.request.url if response.request else response.url,
            charset=charset,
            candidate=response.meta["candidate"],
            fetched_at=utcnow(),
        )

    def article_failed(self, failure: Failure) -> None:
        if isinstance(failure.value, DestinationRefused):
            return  # recorded once per destination by the destination policy
        request = failure.request  # type: ignore[attr-defined]
        reason = describe_failure(failure, self.run.settings.crawl.max_page_bytes)
        if reason == ROBOTS_REASON:
            # Obeying robots.txt is policy, not a failure of the feed.
            self.run.robots_skipped += 1
            log.info("feed %s: %s: %s", self.feed.name, request.url, reason)
            return
        if is_transient(failure):
            self.run.transient_failures += 1
        self.run.problem(request.url, reason)


def is_transient(failure: Failure) -> bool:
    """Server errors and network trouble may pass; client errors (4xx) will not."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return int(exc.response.status) >= 500 or int(exc.response.status) == 429
    # Too large, a redirect loop, a decompression bomb: the same again next run.
    return not isinstance(exc, (IgnoreRequest, DownloadCancelledError))


# Scrapy's messages for DOWNLOAD_MAXSIZE: while downloading, and while decompressing.
_MAXSIZE = re.compile(r"(?:Expected to receive|Received) (\d+) bytes .*max size \((\d+)\)")
_MAXSIZE_DECOMPRESSED = re.compile(r"DOWNLOAD_MAXSIZE \((\d+) B\) during decompression")


class _ReportedBySpider(logging.Filter):
    """Drops Scrapy's own warnings about DOWNLOAD_MAXSIZE: the spider logs each of those
    failures itself, in one line that also names the feed."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (_MAXSIZE.search(message) or _MAXSIZE_DECOMPRESSED.search(message))


_REPORTED_BY_SPIDER = _ReportedBySpider()
# (A logger's filters see only its own records, not those of its children.)
for _logger in (
    "scrapy.core.downloader.handlers.http11",
    "scrapy.downloadermiddlewares.httpcompression",
):
    logging.getLogger(_logger).addFilter(_REPORTED_BY_SPIDER)


def describe_failure(failure: Failure, max_page_bytes: int | None = None) -> str:
    """One line a person can act on, for a failed request."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    if isinstance(exc, (TimeoutError, TCPTimedOutError, DownloadTimeoutError)):
        return "timed out"
    if isinstance(exc, (DNSLookupError, CannotResolveHostError)):
        return "host name not found"
    if isinstance(exc, DownloadConnectionRefusedError):
        return "connection refused"
    message = str(exc)
    if match := _MAXSIZE.search(message):
        size, limit = match.groups()
        announced = message.startswith("Expected")
        more = f": the server announced {size} bytes" if announced else ""
        return f"larger than max_page_bytes ({limit} bytes){more}"
    if match := _MAXSIZE_DECOMPRESSED.search(message):
        return f"larger than max_page_bytes ({match.group(1)} bytes) once decompressed"
    if isinstance(exc, DownloadCancelledError) and not message:
        # Scrapy cancels a download without a message when the body outgrows
        # DOWNLOAD_MAXSIZE and the server announced no Content-Length.
        limit = f" ({max_page_bytes} bytes)" if max_page_bytes else ""
        return f"larger than max_page_bytes{limit}"
    if isinstance(exc, IgnoreRequest) and "max redirections" in message:
        return "too many redirects (a redirect loop?)"
    name = type(exc).__name__
    if name == "IgnoreRequest" and "robots" in str(exc).lower():
        return ROBOTS_REASON
    text = str(exc).strip().splitlines()
    return f"{name}: {text[0]}" if text else name


# Bytes that do not occur in text, HTML or not (tab, line feed, form feed, carriage
# return and escape do).
_CONTROL_BYTES = bytes([*range(0, 9), 11, *range(14, 27), *range(28, 32)])
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)


def looks_binary(body: bytes) -> bool:
    """Images, archives, random bytes: more than 3% control bytes in the first 8 KB.
    A page with a few stray NULs is still text; UTF-16 (with its BOM) is text too."""
    sample = body[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return len(sample.translate(None, _NOT_CONTROL)) > len(sample) * 0.03


def _newest_first(candidate: Candidate) -> tuple[bool, float]:
    published = candidate.published_at
    return (published is None, -published.timestamp() if published else 0.0)


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
