"""The state of one feed run, and the article pages it hands from spider to pipeline."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from crawler.config import FeedConfig, Settings
from crawler.extract.discovery import Candidate
from crawler.store.store import PageValidators, RunCounts, Store, utcnow

log = logging.getLogger("crawler.feed")


@dataclass
class FeedRun:
    """One run of one feed: what the spider, the item pipeline and the runner that started
    the crawl share (they reach it through :class:`~crawler.crawl.context.CrawlContext`)."""

    feed: FeedConfig
    settings: Settings
    store: Store
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
    """An article response handed to the item pipeline."""

    body: bytes
    url: str  # final URL, after redirects
    requested_url: str
    charset: str | None
    candidate: Candidate
    fetched_at: datetime
