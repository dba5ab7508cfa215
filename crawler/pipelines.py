"""Scrapy item pipeline: parse each fetched article off the event loop, then store it.

Parsing costs 10–20 ms of CPU per page and the SQL write blocks, so both run in worker
threads; the reactor keeps downloading meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from crawler.article import Article, ParseHints
from crawler.parser import parse_article
from crawler.spiders.feed import ArticlePage, FeedRun
from crawler.store import SaveResult
from crawler.urls import site_of

log = logging.getLogger("crawler.pipeline")


def hints_for(page: ArticlePage) -> ParseHints:
    run: FeedRun = page.run
    candidate = page.candidate
    return ParseHints(
        timezone=run.feed.timezone,
        tags=run.feed.tags,
        title=candidate.title,
        published_at=candidate.published_at,
        published_source=candidate.published_source,
        keywords=candidate.keywords,
        authors=candidate.authors,
        image_url=candidate.image_url,
        language=candidate.language,
        charset=page.charset,
        fetched_at=page.fetched_at,
        site_rules=run.settings.site_rules(site_of(page.url)),
    )


def parse_and_save(page: ArticlePage) -> tuple[Article | None, SaveResult | None]:
    """Blocking: runs in a worker thread."""
    article = parse_article(page.body, page.url, hints_for(page))
    if article is None:
        return None, None
    run = page.run
    result = run.store.save_article(
        article,
        feed=run.feed.name,
        feed_tags=run.feed.tags,
        urls=[page.url, page.requested_url, page.candidate.url],
        fetched_at=page.fetched_at,
    )
    return article, result


class StorePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, ArticlePage):
            return item
        run = item.run
        try:
            article, result = await asyncio.to_thread(parse_and_save, item)
        except SQLAlchemyError as exc:
            run.problem(item.url, f"database error: {str(exc).splitlines()[0]}")
            raise DropItem(f"not stored: {item.url}") from exc
        stats = self.crawler.stats
        if article is None or result is None:
            run.not_articles += 1
            if stats:
                stats.inc_value("newsmon/not_article")
            log.info("feed %s: %s: not an article, skipped", run.feed.name, item.url)
            return item
        run.counts.count_save(result.outcome)
        if stats:
            stats.inc_value(f"newsmon/article_{result.outcome}")
        return item
