"""The spider of one feed run: fetch the feed's pages, then the articles it lists.

One crawl per feed run. The feed page (listing, RSS/Atom or sitemap) is fetched every run,
conditionally; article URLs already stored are linked to this feed without a download,
unless they are young enough to be re-checked for edits (the revisit window).

Every database call of the spider runs in a worker thread (``asyncio.to_thread``), never
on the reactor: the reactor serves every crawl of the process, and a database call can wait
for seconds (a SQLite write lock held elsewhere, up to ``busy_timeout``). A database that
is unavailable for longer is waited out (:mod:`crawler.crawl.outage`); if it stays away,
the spider carries on the safe way (no validators: fetch the page whole; no known URLs:
fetch every article) and what it could not write makes the run retry next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any, Self

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from sqlalchemy.exc import SQLAlchemyError
from twisted.python.failure import Failure
from w3lib.encoding import http_content_type_encoding

from crawler.config import ListingFeed, SitemapFeed
from crawler.crawl.context import context_of
from crawler.crawl.destinations import DestinationRefused
from crawler.crawl.failures import ROBOTS_REASON, describe_failure, is_transient, not_html_reason
from crawler.crawl.feedrun import ArticlePage, FeedRun
from crawler.crawl.in_flight import InFlight
from crawler.crawl.limits import child_sitemaps, within_limits
from crawler.crawl.middlewares import RECHECK_KEY, RecheckDeferred, release_response_bytes
from crawler.crawl.outage import call_waiting_out_outages
from crawler.crawl.pauses import HostPaused
from crawler.crawl.revisits import conditional_headers, plan_articles, record_check
from crawler.crawl.stopping import RunStopped
from crawler.dedup import body_hash
from crawler.errors import DiscoveryError, StoreError, WrongKindError, first_line
from crawler.extract.discovery import Candidate, Discovery, ensure_kind
from crawler.extract.feeds import discover_feed
from crawler.extract.listings import discover_listing
from crawler.extract.poll_hints import feed_hints, header_hints, strongest
from crawler.extract.sitemaps import discover_sitemap
from crawler.store.store import PageValidators, Store, utcnow
from crawler.urls import url_key

log = logging.getLogger("crawler.feed")


class FeedSpider(scrapy.Spider):
    name = "newsmon-feed"

    def __init__(
        self, run: FeedRun, stopping: Callable[[], bool] = lambda: False, **kwargs: Any
    ) -> None:
        super().__init__(name=f"feed:{run.feed.name}", **kwargs)
        self.run = run
        self.feed = run.feed
        self._stopping = stopping  # the runner stops: no database outage is waited out
        self.in_flight = InFlight()  # the runner's, set by from_crawler
        # Tells the runner's workers how many new articles are about to be downloaded.
        self.expect_articles: Callable[[int, Store], None] = lambda pages, store: None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        # The run comes with the crawler, as every component's share does.
        context = context_of(crawler)
        workers = context.workers
        spider = super().from_crawler(
            crawler, context.run, lambda: workers.stopping, *args, **kwargs
        )
        crawler.signals.connect(spider.callback_failed, signal=signals.spider_error)
        spider.in_flight = context.in_flight
        spider.expect_articles = workers.expect
        return spider

    def callback_failed(self, failure: Failure, response: Response | Failure) -> None:
        """A callback raised (Scrapy has logged it): what the page led to may be missing,
        so the feed's validators must not hide it from the next run."""
        url = response.url if isinstance(response, Response) else self.feed.url
        self.run.transient_failures += 1
        self.run.problem(url, f"internal error: {first_line(failure.value or RuntimeError())}")

    async def start(self) -> AsyncIterator[Request]:
        self.run.sitemaps_seen.add(self.feed.url)
        yield await self._feed_request(self.feed.url, page=1)

    # -- the feed's own pages -----------------------------------------------------------

    async def _feed_request(self, url: str, page: int, *, child_sitemap: bool = False) -> Request:
        headers: dict[str, str] = {}
        validators: PageValidators | None = None
        try:
            validators = await call_waiting_out_outages(
                "reading feed state",
                self.run.store.page_validators,
                self.feed.name,
                url,
                stopping=self._stopping,
            )
        except (SQLAlchemyError, StoreError) as exc:
            reason = first_line(exc)
            log.warning("feed %s: %s: fetched unconditionally: %s", self.feed.name, url, reason)
        if validators is not None:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
        meta: dict[str, Any] = {
            "page": page,
            "handle_httpstatus_list": [304],
            "known_validators": validators,
        }
        if child_sitemap:
            meta["child_sitemap"] = True
        return Request(
            url,
            callback=self.parse_feed_page,
            errback=self.feed_page_failed,
            headers=headers,
            dont_filter=True,  # fetched every run, whatever the dupefilter remembers
            meta=meta,
            priority=10,
        )

    async def parse_feed_page(self, response: Response) -> AsyncIterator[Request]:
        counts = self.run.counts
        counts.pages_fetched += 1
        first_page = response.meta.get("page", 1) == 1 and not response.meta.get("child_sitemap")
        if first_page:
            self._note_hints(response)
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
                self.run.failure = self._discovery_failure(response.url, exc)
            self.run.problem(response.url, str(exc))
            return
        page = int(response.meta.get("page", 1))
        for url in self._pages_to_follow(discovery, response.url, page):
            yield await self._feed_request(
                url, page + 1, child_sitemap=isinstance(self.feed, SitemapFeed)
            )
        async for request in self._article_requests(discovery):
            yield request

    def _note_hints(self, response: Response) -> None:
        """What the server says about coming back: its headers, and the feed's own tags."""
        hints = header_hints(
            _header(response, b"Cache-Control"),
            _header(response, b"Expires"),
            _header(response, b"Date"),
            utcnow(),
        )
        if response.status != 304 and response.body:
            hints += feed_hints(response.body)
            self.run.hints_read = True
        self.run.poll_hint = strongest(hints)

    def _discover(self, response: Response) -> Discovery:
        feed = self.feed
        if isinstance(feed, ListingFeed):
            if not isinstance(response, TextResponse):
                ensure_kind(response.body, "listing")  # a feed served as binary, say
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

    def _discovery_failure(self, url: str, exc: DiscoveryError) -> str:
        if not isinstance(exc, WrongKindError):
            return f"{url}: {exc}"
        # The fix is an edit of settings.toml: name the entry as its own problems do.
        feeds = self.run.settings.feeds
        index = next((i for i, f in enumerate(feeds) if f.name == self.feed.name), None)
        where = "feeds" if index is None else f"feeds[{index}]"
        return f"{where} (name={self.feed.name!r}): {url} {exc}"

    def _pages_to_follow(self, discovery: Discovery, url: str, page: int) -> list[str]:
        if isinstance(self.feed, ListingFeed):
            return list(discovery.next_pages[:1]) if page < self.feed.max_pages else []
        if isinstance(self.feed, SitemapFeed):
            return list(child_sitemaps(self.run, discovery.next_pages, url))
        return []

    def feed_page_failed(self, failure: Failure) -> None:
        if isinstance(failure.value, DestinationRefused):
            return  # recorded once per destination, never a failure of the feed
        if isinstance(failure.value, RunStopped):
            return  # the run records why it stopped, once
        if isinstance(failure.value, HostPaused):
            self.run.host_paused(failure.value.until)  # not a failure: the host said when
            return
        request = failure.request  # type: ignore[attr-defined]
        reason = describe_failure(failure, self.run.settings.crawl.max_page_bytes)
        if request.meta.get("page", 1) == 1 and not request.meta.get("child_sitemap"):
            self.run.failure = f"{request.url}: {reason}"
        self.run.problem(request.url, reason)

    # -- articles -----------------------------------------------------------------------

    async def _article_requests(self, discovery: Discovery) -> AsyncIterator[Request]:
        candidates, total = discovery.candidates, discovery.total_entries
        allowed = within_limits(
            self.run,
            [c for c in candidates if self.feed.url_allowed(c.url)],
            entries=max(total or 0, len(candidates)),
            trimmed=total is not None and total > len(candidates),
        )
        store = self.run.store
        keys = [url_key(c.url) for c in allowed]
        try:
            known = await call_waiting_out_outages(
                "reading known URLs", store.known_urls, keys, stopping=self._stopping
            )
        except (SQLAlchemyError, StoreError) as exc:
            # Fetch them all: saving an article stored already merges into its row.
            log.warning("feed %s: every article fetched: %s", self.feed.name, first_line(exc))
            known = {}
        try:
            checks = await call_waiting_out_outages(
                "reading article validators", store.article_checks, keys, stopping=self._stopping
            )
        except (SQLAlchemyError, StoreError):
            checks = {}
        now = utcnow()
        self.run.counts.articles_found += len(allowed)
        plan = plan_articles(allowed, known, checks, now, self.run.settings.crawl)
        try:
            await call_waiting_out_outages(
                "linking known articles",
                partial(store.link_known, feed=self.feed.name, tags=self.feed.tags, seen_at=now),
                plan.links,
                stopping=self._stopping,
            )
        except (SQLAlchemyError, StoreError) as exc:
            for _, url in plan.links:
                self.run.not_stored(url, first_line(exc))
        self.expect_articles(len(plan.new), store)
        for candidate in plan.new:
            key = url_key(candidate.url)
            downloading = self.in_flight.claim(key, self.run)
            if downloading is not None:  # another feed's crawl fetches it right now
                self.run.waits.append((key, downloading, candidate.url))
                continue
            yield self._article_request(candidate, {})
        for candidate, check in plan.rechecks:
            if self.in_flight.claim(url_key(candidate.url), self.run) is not None:
                continue  # being fetched by another crawl: that is its re-check
            yield self._article_request(candidate, conditional_headers(check), recheck=True)

    def _article_request(
        self, candidate: Candidate, headers: dict[str, str], recheck: bool = False
    ) -> Request:
        meta: dict[str, Any] = {"candidate": candidate}
        if recheck:
            meta[RECHECK_KEY] = True
            meta["handle_httpstatus_list"] = [304]
        return Request(
            candidate.url,
            callback=self.parse_article_page,
            errback=self.article_failed,
            headers=headers,
            # Duplicates are dropped by within_limits; the dupefilter would also drop
            # the repeated URL of a redirect loop, silently instead of reporting it.
            dont_filter=True,
            meta=meta,
            priority=-1 if recheck else 0,  # new articles first
        )

    def parse_article_page(self, response: Response) -> Iterator[ArticlePage]:
        self.run.counts.pages_fetched += 1
        candidate: Candidate = response.meta["candidate"]
        now = utcnow()
        if response.meta.get(RECHECK_KEY):
            self.run.counts.rechecks += 1
        if response.status in (200, 304):
            record_check(self.run, candidate, response, now)
        if response.status == 304:  # re-checked: unchanged since its last fetch
            self.run.counts.not_modified += 1
            self.run.articles_done += 1
            self.in_flight.release(url_key(candidate.url), self.run)
            return
        if not response.body:
            self.run.transient_failures += 1  # often a server hiccup: read the feed again
            self.run.problem(response.url, "empty page")
            self.in_flight.release(url_key(candidate.url), self.run, ("empty page", True))
            return
        content_type = (_header(response, b"Content-Type") or "").lower()
        reason = not_html_reason(response.body, content_type)
        if reason is not None:
            self.run.problem(response.url, reason)
            self.in_flight.release(url_key(candidate.url), self.run, (reason, False))
            return
        # The charset of the Content-Type header, which the parser expects: not Scrapy's
        # response.encoding, which for a page that declares none decodes (and keeps) the
        # whole body to guess one; the parser reads <meta charset> and guesses on its own.
        charset = http_content_type_encoding(content_type) if content_type else None
        yield ArticlePage(
            body=response.body,
            url=response.url,
            requested_url=response.request.url if response.request else response.url,
            charset=charset,
            candidate=candidate,
            fetched_at=now,
        )

    def article_failed(self, failure: Failure) -> None:
        release_response_bytes(failure.request)  # type: ignore[attr-defined]
        self.run.articles_done += 1
        ending = self._article_failure(failure)
        candidate = failure.request.meta.get("candidate")  # type: ignore[attr-defined]
        if candidate is not None:
            self.in_flight.release(url_key(candidate.url), self.run, ending)

    def _article_failure(self, failure: Failure) -> tuple[str | None, bool]:
        """Record why an article request failed; returns (problem, worth a retry)."""
        if isinstance(failure.value, RecheckDeferred):
            return None, False  # linked already; re-checked by a later run
        if isinstance(failure.value, HostPaused):
            self.run.host_paused(failure.value.until)
            return None, True
        if isinstance(failure.value, DestinationRefused):
            return None, False  # recorded once per destination by the destination policy
        if isinstance(failure.value, RunStopped):
            return None, True  # the run records why it stopped, once
        request = failure.request  # type: ignore[attr-defined]
        reason = describe_failure(failure, self.run.settings.crawl.max_page_bytes)
        if reason == ROBOTS_REASON:
            # Obeying robots.txt is policy, not a failure of the feed.
            self.run.robots_skipped += 1
            log.info("feed %s: %s: %s", self.feed.name, request.url, reason)
            return None, False
        transient = is_transient(failure)
        if transient:
            self.run.transient_failures += 1
        self.run.problem(request.url, reason)
        return reason, transient


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
