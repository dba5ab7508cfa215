"""The spider of one feed run: fetch the feed's pages, then the articles it lists.

One crawl per feed run. The feed page (listing, RSS/Atom or sitemap) is fetched every run,
conditionally; article URLs already stored are linked to this feed without a download,
unless they are young enough to be re-checked for edits (the revisit window).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import scrapy
from scrapy.http import Request, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import DNSLookupError, TCPTimedOutError, TimeoutError
from twisted.python.failure import Failure

from crawler.config import FeedConfig, ListingFeed, Settings, SitemapFeed
from crawler.dedup import body_hash
from crawler.politeness import HostGuard
from crawler.spiders.discovery import (
    Candidate,
    Discovery,
    DiscoveryError,
    discover_feed,
    discover_listing,
    discover_sitemap,
)
from crawler.store import PageValidators, RunCounts, Store, utcnow
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

    def parse_feed_page(self, response: Response) -> Iterator[Request]:
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
            discovery = self._discover(response)
        except DiscoveryError as exc:
            if response.meta.get("page", 1) == 1 and not response.meta.get("child_sitemap"):
                self.run.failure = f"{response.url}: {exc}"
            self.run.problem(response.url, str(exc))
            return
        yield from self._follow_pages(discovery, response)
        yield from self._article_requests(discovery.candidates)

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
        return discover_feed(response.body, response.url, _header(response, b"Content-Type"))

    def _follow_pages(self, discovery: Discovery, response: Response) -> Iterator[Request]:
        page = int(response.meta.get("page", 1))
        if isinstance(self.feed, ListingFeed):
            if page < self.feed.max_pages:
                for url in discovery.next_pages[:1]:
                    yield self._feed_request(url, page + 1)
        elif isinstance(self.feed, SitemapFeed):
            for url in discovery.next_pages[:MAX_CHILD_SITEMAPS]:
                request = self._feed_request(url, page + 1)
                request.meta["child_sitemap"] = True
                yield request

    def feed_page_failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        reason = describe_failure(failure)
        if request.meta.get("page", 1) == 1 and not request.meta.get("child_sitemap"):
            self.run.failure = f"{request.url}: {reason}"
        self.run.problem(request.url, reason)

    # -- articles -----------------------------------------------------------------------

    def _article_requests(self, candidates: tuple[Candidate, ...]) -> Iterator[Request]:
        allowed = [c for c in candidates if self.feed.url_allowed(c.url)]
        known = self.run.store.known_urls(url_key(c.url) for c in allowed)
        now = utcnow()
        revisit_window: timedelta = self.run.settings.crawl.revisit_window
        for candidate in allowed:
            self.run.counts.articles_found += 1
            stored = known.get(url_key(candidate.url))
            if stored is not None:
                age = now - stored.first_seen_at
                since_fetch = now - stored.last_fetched_at
                if not (age < revisit_window and since_fetch >= age * REVISIT_FRACTION):
                    self.run.store.link_known(
                        stored.article_id,
                        feed=self.feed.name,
                        tags=self.feed.tags,
                        url=candidate.url,
                        seen_at=now,
                    )
                    continue
            yield Request(
                candidate.url,
                callback=self.parse_article_page,
                errback=self.article_failed,
                meta={"candidate": candidate},
            )

    def parse_article_page(self, response: Response) -> Iterator[ArticlePage]:
        self.run.counts.pages_fetched += 1
        content_type = (_header(response, b"Content-Type") or "").lower()
        if content_type and not any(t in content_type for t in ("html", "xml", "text/plain")):
            self.run.problem(response.url, f"not an HTML page (Content-Type {content_type})")
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
        request = failure.request  # type: ignore[attr-defined]
        reason = describe_failure(failure)
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
    return True


def describe_failure(failure: Failure) -> str:
    """One line a person can act on, for a failed request."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    if isinstance(exc, (TimeoutError, TCPTimedOutError)):
        return "timed out"
    if isinstance(exc, DNSLookupError):
        return "host name not found"
    name = type(exc).__name__
    if name == "IgnoreRequest" and "robots" in str(exc).lower():
        return ROBOTS_REASON
    text = str(exc).strip().splitlines()
    return f"{name}: {text[0]}" if text else name


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
