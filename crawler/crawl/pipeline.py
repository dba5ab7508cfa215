"""Scrapy item pipeline: parse each fetched article off the event loop, then store it.

The parsing and the saving happen in the runner's :class:`~crawler.crawl.workers.ArticleWorkers`
(threads, then worker processes; one batching writer); this module says what goes in
(the parse hints, the save request) and counts what came out in the feed run.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector
from sqlalchemy.exc import SQLAlchemyError
from twisted.python.failure import Failure

from crawler.article import ParseHints, entry_fields
from crawler.crawl.context import context_of
from crawler.crawl.feedrun import ArticlePage, FeedRun
from crawler.crawl.in_flight import NOT_ARTICLE, STORED, InFlight
from crawler.crawl.outage import reason_of
from crawler.crawl.parsing import Parsed
from crawler.crawl.workers import ArticleWorkers
from crawler.errors import StoreError, WorkerCrashed
from crawler.store.saves import SaveRequest
from crawler.store.store import utcnow
from crawler.urls import site_of, url_key

log = logging.getLogger("crawler.pipeline")


def hints_for(run: FeedRun, page: ArticlePage) -> ParseHints:
    """Blocking: the site's learned boilerplate may come from the database (it is cached)."""
    site = site_of(page.url)
    return ParseHints(
        **entry_fields(page.candidate),
        timezone=run.feed.timezone,
        tags=run.feed.tags,
        charset=page.charset,
        fetched_at=page.fetched_at,
        site_rules=run.settings.site_rules(site),
        boilerplate=run.store.boilerplate_keys(site),
    )


def save_request(run: FeedRun, page: ArticlePage, parsed: Parsed) -> SaveRequest:
    article, fingerprint = parsed
    return SaveRequest(
        article,
        fingerprint,
        run.feed.name,
        run.feed.tags,
        (page.url, page.requested_url, page.candidate.url),
        page.fetched_at,
    )


class StorePipeline:
    """Stores the articles of one feed run through the runner's workers."""

    def __init__(
        self,
        run: FeedRun,
        workers: ArticleWorkers,
        stats: StatsCollector,
        in_flight: InFlight | None = None,
    ) -> None:
        self.run = run
        self.workers = workers
        self.stats = stats
        self.in_flight = in_flight or InFlight()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        context = context_of(crawler)
        pipeline = cls(context.run, context.workers, crawler.stats, context.in_flight)
        crawler.signals.connect(pipeline.item_failed, signal=signals.item_error)
        return pipeline

    def item_failed(self, item: Any, failure: Failure) -> None:
        """An error nobody expected (Scrapy has logged it): the article is not stored, and
        the next run must fetch it again."""
        if isinstance(item, ArticlePage):
            self.run.not_stored(item.url, reason_of(failure.value or RuntimeError()))

    def close_spider(self) -> None:
        summary = self.run.unsaved_summary()
        if summary is not None:
            log.warning("feed %s: %s", self.run.feed.name, summary)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticlePage):
            return item
        self.run.timed("queue", (utcnow() - item.fetched_at).total_seconds())
        ending: tuple[str | None, bool] = (None, True)  # unless stored or not an article
        try:
            result = await self._store(item)
            ending = (NOT_ARTICLE, False) if result is None else STORED
            return item
        except DropItem as exc:
            ending = (f"not stored: {reason_of(exc.__cause__ or exc)}", True)
            raise
        finally:
            self.run.articles_done += 1
            # Stored (or not): a crawl waiting for this URL may look it up now.
            self.in_flight.release(url_key(item.candidate.url), self.run, ending)

    async def _store(self, item: ArticlePage) -> Any:
        """The save's result, or None for a page that is no article."""
        run = self.run
        try:
            started = time.monotonic()
            parsed = await self.workers.parse(item.body, item.url, partial(hints_for, run, item))
            parsed_at = time.monotonic()
            run.timed("parse", parsed_at - started)
            result = None
            if parsed is not None:
                result = await self.workers.save(run.store, save_request(run, item, parsed))
                run.timed("save", time.monotonic() - parsed_at)
        except (WorkerCrashed, StoreError, SQLAlchemyError) as exc:
            # Whatever kept it from the database, the next run fetches it again: the
            # feed's validators are not saved after this run.
            run.not_stored(item.url, reason_of(exc))
            raise DropItem(f"not stored: {item.url}") from exc
        if parsed is None or result is None:
            run.not_articles += 1
            self.stats.inc_value("newsmon/not_article")
            log.info("feed %s: %s: not an article, skipped", run.feed.name, item.url)
            return None
        run.counts.count_save(result.outcome)
        self.stats.inc_value(f"newsmon/article_{result.outcome}")
        return result
