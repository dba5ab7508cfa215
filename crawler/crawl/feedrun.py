"""The state of one feed run, and the article pages it hands from spider to pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crawler.config import FeedConfig, Settings
from crawler.extract.discovery import Candidate
from crawler.store.pacing import ArticleCheck
from crawler.store.store import PageValidators, RunCounts, Store, utcnow

log = logging.getLogger("crawler.feed")


@dataclass(repr=False)
class FeedRun:
    """One run of one feed: what the spider, the item pipeline and the runner that started
    the crawl share (they reach it through :class:`~crawler.crawl.context.CrawlContext`).

    Its repr names the feed only: the settings hold the database URL and its password.
    """

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
    articles_done: int = 0  # article pages finished, whatever became of them (progress)
    robots_skipped: int = 0
    transient_failures: int = 0  # 5xx, timeouts, failed saves: worth retrying next run
    # Articles fetched but not stored, by reason: each counts as an error of the run, the
    # first of each reason is logged with its URL, the rest only counted.
    unsaved: Counter[str] = field(default_factory=Counter)
    # Bounds against runaway or hostile sites: articles considered (max_articles_per_run),
    # URLs already requested, sitemaps read (an index may list itself) and what was skipped.
    articles_considered: int = 0
    article_keys: set[str] = field(default_factory=set)
    sitemaps_seen: set[str] = field(default_factory=set)
    child_sitemaps: int = 0
    child_sitemaps_over_limit: int = 0
    skipped_by_limits: int = 0
    # Adaptive polling: the server's strongest hint about the feed (<ttl>, Cache-Control...),
    # until when a Retry-After paused its host, the validators of the article pages it
    # fetched or re-checked, and the articles another crawl was downloading (their URL key,
    # the future that tells when it is done, and the URL).
    poll_hint: tuple[timedelta, str] | None = None
    hints_read: bool = False  # the feed's page was read whole: no hint means none
    paused_until: datetime | None = None
    article_checks: dict[str, ArticleCheck] = field(default_factory=dict)
    waits: list[tuple[str, asyncio.Future[tuple[str | None, bool]], str]] = field(
        default_factory=list
    )
    # (feed, "queue" | "parse" | "save", seconds) of each article page, for the service's
    # metrics (crawler.metrics); None when nobody listens.
    timing: Callable[[str, str, float], None] | None = None

    @property
    def may_save_validators(self) -> bool:
        """A 304 next run would skip this run's articles: allow it only when none of them
        failed in a way that a retry could fix (a 404 will not get better; a 500 may)."""
        return self.failure is None and self.transient_failures == 0

    def host_paused(self, until: datetime) -> None:
        """A request was not sent because its host is paused: fetch it next time."""
        self.transient_failures += 1
        if self.paused_until is None or until > self.paused_until:
            self.paused_until = until

    def timed(self, kind: str, seconds: float) -> None:
        if self.timing is not None:
            self.timing(self.feed.name, kind, seconds)

    def problem(self, url: str, reason: str) -> None:
        self.counts.errors += 1
        self.problems.append(f"{url}: {reason}")
        log.warning("feed %s: %s: %s", self.feed.name, url, reason)

    def not_stored(self, url: str, reason: str) -> None:
        """An article was fetched but could not be stored: the feed's validators must not
        hide it from the next run. Logged once per reason (a full disk fails every save the
        same way), counted in :meth:`unsaved_summary`."""
        self.transient_failures += 1
        self.counts.errors += 1
        self.unsaved[reason] += 1
        if self.unsaved[reason] == 1:
            self.problems.append(f"{url}: not stored: {reason}")
            log.warning(
                "feed %s: %s: not stored: %s (fetched again next run; further articles"
                " not stored for this reason are counted, not logged)",
                self.feed.name,
                url,
                reason,
            )

    def unsaved_summary(self) -> str | None:
        """One line for every article not stored, or None when all were."""
        if not self.unsaved:
            return None
        total = self.unsaved.total()
        reasons = "; ".join(f"{reason} ×{n}" for reason, n in self.unsaved.most_common())
        return f"{total} article(s) not stored, fetched again next run: {reasons}"

    @property
    def error(self) -> str | None:
        """The run's error for ``newsmon status``: the feed's own failure, else what was
        not stored, else the first problem."""
        first = self.problems[0] if self.problems else None
        return self.failure or self.unsaved_summary() or first

    def __repr__(self) -> str:
        return f"<FeedRun {self.feed.name}>"


@dataclass(frozen=True, repr=False)
class ArticlePage:
    """An article response handed to the item pipeline. Its repr is its URL: Scrapy puts
    items in log lines, and the body is a whole page."""

    body: bytes
    url: str  # final URL, after redirects
    requested_url: str
    charset: str | None
    candidate: Candidate
    fetched_at: datetime

    def __repr__(self) -> str:
        return f"<ArticlePage {self.url}>"
