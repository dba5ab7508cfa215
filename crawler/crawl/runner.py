"""Running feed crawls inside one long-lived Twisted/asyncio process.

Scrapy runs on Twisted's ``AsyncioSelectorReactor``, installed before anything imports
``twisted.internet.reactor``; crawls are started with ``AsyncCrawlerRunner`` and awaited
as asyncio tasks, so APScheduler's ``AsyncIOScheduler`` can share the same loop. The
reactor is started once per process (it cannot be restarted).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crawler.config import FeedConfig, Settings
from crawler.config_values import format_duration
from crawler.crawl.budget import ResponseBudget
from crawler.crawl.in_flight import InFlight, settle_waits
from crawler.crawl.pauses import HostPauses
from crawler.crawl.politeness import HostGuard
from crawler.crawl.progress import Progress, report_progress
from crawler.crawl.reactor import (
    ASYNCIO_REACTOR,
    get_reactor,
    install_asyncio_reactor,
    run_in_reactor,
)
from crawler.crawl.robots import RobotsCache
from crawler.crawl.stopping import RunStop
from crawler.errors import DatabaseUnavailable
from crawler.store.store import RunCounts, Store, utcnow

__all__ = [
    "ASYNCIO_REACTOR", "FeedOutcome", "FeedRunner", "get_reactor", "install_asyncio_reactor",
    "run_in_reactor", "scrapy_settings",
]  # fmt: skip

log = logging.getLogger("crawler.crawl.runner")
# One line per finished run; `newsmon crawl` prints the same line on a terminal and mutes this.
runs_log = logging.getLogger("crawler.crawl.runs")

# How long stop() waits for crawls to wind down once their downloads are cancelled (storing
# what was parsed already, closing spiders) before it leaves them: the service must end well
# within the 30 s a supervisor gives it (deploy/newsmon.service).
STOP_GRACE_SECONDS = 15.0
INTERRUPTED_REASON = "interrupted: the service is stopping"


def scrapy_settings(settings: Settings) -> dict[str, Any]:
    crawl = settings.crawl
    return {
        "TWISTED_REACTOR": ASYNCIO_REACTOR,
        "USER_AGENT": crawl.user_agent,
        "ROBOTSTXT_OBEY": crawl.obey_robots_txt,
        # Delay and per-host concurrency are enforced across crawls by HostGuardMiddleware;
        # Scrapy's own per-crawler limits stay out of its way.
        "DOWNLOAD_DELAY": 0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.concurrent_requests_per_host,
        "CONCURRENT_REQUESTS": 16,
        "DOWNLOAD_TIMEOUT": crawl.timeout,
        "DOWNLOAD_MAXSIZE": crawl.max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        # Scrapy's HTTP/1.1 handler, with downloads cancelled when their crawl is stopped
        # (crawler.crawl.stopping); DOWNLOAD_TIMEOUT covers the whole body of each attempt.
        "DOWNLOAD_HANDLERS": {
            "http": "crawler.crawl.download_handler.CancellableDownloadHandler",
            "https": "crawler.crawl.download_handler.CancellableDownloadHandler",
        },
        "RETRY_ENABLED": crawl.retries > 0,
        "RETRY_TIMES": crawl.retries,
        # The spider's errbacks log each failure once, in our words; Scrapy's "Gave up
        # retrying" ERROR would say it a second time.
        "RETRY_GIVE_UP_LOG_LEVEL": "DEBUG",
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.crawl.destinations.DestinationPolicyMiddleware": 40,  # before robots.txt
            # the per-host budget of every crawl, and the back-off of Scrapy's retries
            "crawler.crawl.middlewares.HostGuardMiddleware": 1000,
            # response memory (crawler.crawl.budget): a request with its host slot waits
            # here until the host and the process hold few enough bodies
            "crawler.crawl.middlewares.ResponseBudgetMiddleware": 1010,
            # robots.txt once per host for every crawl of the process (and across restarts)
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.crawl.middlewares.SharedRobotsTxtMiddleware": 100,
            # meta-refresh redirects without keeping every page's decoded text alive
            "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
            "crawler.crawl.meta_refresh.HeadOnlyMetaRefreshMiddleware": 580,
        },
        "REDIRECT_MAX_TIMES": 10,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_ENABLED": False,
        # Items in Scrapy's log lines by URL only: an article item holds a whole page.
        "LOG_FORMATTER": "crawler.crawl.log_formatter.UrlOnlyLogFormatter",
        "SPIDER_MIDDLEWARES": {"crawler.crawl.middlewares.ResponseBudgetSpiderMiddleware": 10},
        "ITEM_PIPELINES": {"crawler.crawl.pipeline.StorePipeline": 300},
        # An article response yields one item: more in flight per response buys nothing.
        "CONCURRENT_ITEMS": 16,
        "HTTPERROR_ALLOWED_CODES": [],
        "MEMUSAGE_ENABLED": False,
        # Scrapy's check for a callback that is a generator with "return value" reads the
        # callback's source (inspect, tokenize, ast) for each response: its cache is keyed by
        # the bound method, a new object every time. Some 6% of a cold crawl's CPU here, to
        # warn about a mistake our own callbacks do not make.
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        # Runs are recorded in the database (crawl_runs); Scrapy's own per-request stats,
        # which nobody reads with logging off, cost CPU on every request.
        "STATS_CLASS": "scrapy.statscollectors.DummyStatsCollector",
        "EXTENSIONS": {
            "scrapy.extensions.corestats.CoreStats": None,
            "scrapy.extensions.logstats.LogStats": None,
        },
    }


@dataclass(frozen=True)
class FeedOutcome:
    """How one feed run ended, for summaries and logs."""

    feed: str
    outcome: str  # ok | partial | failed | interrupted
    counts: RunCounts
    seconds: float
    error: str | None
    not_articles: int
    robots_skipped: int
    # For the timetable: the server's hint about the feed, and until when its host paused.
    poll_hint: tuple[timedelta, str] | None = None
    hints_read: bool = False  # its feed page was read whole: no poll_hint means none
    paused_until: datetime | None = None

    def summary(self) -> str:
        c = self.counts
        line = (
            f"{self.feed}: {self.outcome} in {self.seconds:.1f}s — pages {c.pages_fetched}"
            f" (304/unchanged {c.not_modified}), found {c.articles_found}, new {c.articles_new},"
            f" versions {c.versions_new}, duplicates {c.duplicates}, errors {c.errors}"
        )
        return line + (f" — {self.error}" if self.error else "")


class FeedRunner:
    """Starts one Scrapy crawl per feed run and records the run in the database."""

    def __init__(self, settings: Settings, store: Store) -> None:
        from scrapy.crawler import AsyncCrawlerRunner

        from crawler.crawl.workers import ArticleWorkers

        self.settings = settings
        self.store = store
        self._runner = AsyncCrawlerRunner(scrapy_settings(settings))
        # Parser processes and the writer thread, shared by every crawl of this runner.
        self.article_workers = ArticleWorkers()
        self.host_guard = HostGuard(
            settings.crawl.concurrent_requests_per_host, settings.crawl.download_delay
        )
        self.robots = RobotsCache(store, settings.crawl.robots_txt_max_age)
        # Bytes of article responses held at once, for every crawl (crawler.crawl.budget).
        self.budget = ResponseBudget(settings.crawl.max_page_bytes)
        # Hosts that sent Retry-After (saved, so a restart keeps them), and the article URLs
        # being downloaded right now: both shared by every crawl.
        self.pauses = HostPauses(settings.crawl.retry_after_cap)
        self.pauses.load(store.host_pauses(utcnow()))
        self.pauses.on_pause = self._save_pause
        self._saving: set[asyncio.Task[None]] = set()
        self.in_flight = InFlight()
        self._running: set[RunStop] = set()
        self.stopping = False
        # Set by `newsmon crawl` on a terminal: a live progress line instead of log lines.
        self.show_progress: Callable[[Progress], None] | None = None
        # Set by the service with metrics on: each article page's timings (FeedRun.timed).
        self.page_timing: Callable[[str, str, float], None] | None = None

    def _save_pause(self, host: str, until: datetime, status: int) -> None:
        task = asyncio.ensure_future(
            asyncio.to_thread(self.store.save_host_pause, host, until, status, utcnow())
        )
        self._saving.add(task)
        task.add_done_callback(self._pause_saved)

    def _pause_saved(self, task: asyncio.Task[None]) -> None:
        self._saving.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("host pause not saved: %s", task.exception())

    def update_settings(self, settings: Settings) -> None:
        """New crawls use the new settings; running ones finish with theirs."""
        from scrapy.crawler import AsyncCrawlerRunner

        self.settings = settings
        self._runner = AsyncCrawlerRunner(scrapy_settings(settings))
        self.host_guard.reconfigure(
            settings.crawl.concurrent_requests_per_host, settings.crawl.download_delay
        )
        self.robots.max_age = settings.crawl.robots_txt_max_age
        self.budget.reconfigure(settings.crawl.max_page_bytes)
        self.pauses.cap = settings.crawl.retry_after_cap

    async def run_feed(
        self,
        feed: FeedConfig,
        next_run_at: Callable[[], datetime | None] | None = None,
    ) -> FeedOutcome:
        from crawler.crawl.context import CrawlContext, FeedCrawler
        from crawler.crawl.feedrun import FeedRun
        from crawler.crawl.outage import call_waiting_out_outages, log_failure, reason_of
        from crawler.crawl.spider import FeedSpider

        run = FeedRun(feed=feed, settings=self.settings, store=self.store, timing=self.page_timing)
        # The crawl's components take their share of the run and of this runner from the
        # crawler (see crawler.crawl.context).
        stop = RunStop()
        context = CrawlContext(
            run,
            self.article_workers,
            self.host_guard,
            self.robots,
            self.budget,
            stop,
            self.pauses,
            self.in_flight,
        )
        started = time.monotonic()

        def stopping() -> bool:
            return self.stopping

        await self.article_workers.prepare_for_first_crawl(self.store, feed.name)
        run_id = await call_waiting_out_outages(
            "recording the run", self.store.start_run, feed.name, run.started_at, stopping=stopping
        )
        crash: str | None = None
        crawler = FeedCrawler(FeedSpider, self._runner.settings, context)
        self._running.add(stop)
        if self.stopping:
            stop.set(INTERRUPTED_REASON)
        every = self.settings.crawl.progress_every.total_seconds()
        progress = asyncio.ensure_future(report_progress(run, started, every, self.show_progress))
        try:
            await self._crawl_within(crawler, stop, self.settings.crawl.max_run_time)
            left = self.settings.crawl.max_run_time.total_seconds() - (time.monotonic() - started)
            await settle_waits(run, left)
        except Exception as exc:  # a crawl that blows up must not take the service with it
            log_failure(log, f"feed {feed.name}: crawl crashed", exc)
            crash = f"crawl crashed: {type(exc).__name__}: {exc}"
        finally:
            progress.cancel()
            self._running.discard(stop)
            self.in_flight.release_all(run)
        if self.stopping:
            outcome = "interrupted"
        elif crash or run.failure:
            outcome = "failed"
        elif run.paused_until is not None and not run.counts.pages_fetched:
            outcome = "paused"  # its host said when to come back: neither failure nor success
        elif run.counts.errors or stop.is_set:
            outcome = "partial"
        else:
            outcome = "ok"
        error = crash or run.failure or stop.reason or run.error
        try:
            await asyncio.to_thread(self.store.save_article_checks, run.article_checks)
        except Exception as exc:  # only a cache of validators: the next re-check fetches whole
            log.warning("feed %s: article validators not saved: %s", feed.name, reason_of(exc))
        try:
            # Not after a stopped run either: a 304 next time would hide what it did not fetch.
            if run.may_save_validators and not self.stopping and not stop.is_set:
                for url, validators in run.pending_validators.items():
                    await call_waiting_out_outages(
                        "saving feed validators",
                        self.store.save_page_validators,
                        feed.name,
                        url,
                        validators,
                        stopping=stopping,
                    )
            await call_waiting_out_outages(
                "recording the run",
                self.store.finish_run,
                run_id,
                run.counts,
                outcome,
                error,
                next_run_at() if next_run_at else None,
                run.paused_until,
                stopping=stopping,
            )
        except DatabaseUnavailable as exc:
            # Unsaved validators only make the next run fetch more; the run left "running"
            # is marked interrupted, and run again, at the next start.
            log.error("feed %s: run not recorded: %s", feed.name, exc)
        result = FeedOutcome(
            feed=feed.name,
            outcome=outcome,
            counts=run.counts,
            seconds=time.monotonic() - started,
            error=error,
            not_articles=run.not_articles,
            robots_skipped=run.robots_skipped,
            poll_hint=run.poll_hint,
            hints_read=run.hints_read,
            paused_until=run.paused_until,
        )
        runs_log.log(
            logging.WARNING if outcome == "failed" else logging.INFO, "run %s", result.summary()
        )
        return result

    async def _crawl_within(self, crawler: Any, stop: RunStop, max_run_time: timedelta) -> None:
        """Run the crawl; past ``max_run_time`` stop it: downloads in flight are cancelled,
        what was stored stays stored."""
        crawl = asyncio.ensure_future(self._runner.crawl(crawler))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait(
                {crawl, stopped},
                timeout=max_run_time.total_seconds(),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            stopped.cancel()
        if not crawl.done():
            if not stop.is_set:
                stop.set(f"stopped after max_run_time {format_duration(max_run_time)}")
                log.warning("feed %s: %s", crawler.context.run.feed.name, stop.reason)
            await _stop_engine(crawler, crawl)
        await crawl

    async def run_feeds(
        self,
        feeds: Iterable[FeedConfig],
        on_done: Callable[[FeedOutcome], None] | None = None,
    ) -> list[FeedOutcome]:
        """Run feeds at once (politeness is per host, across them); ``on_done`` hears of
        each as it finishes. Results come back in the order the feeds were given."""

        async def run_one(feed: FeedConfig) -> FeedOutcome:
            outcome = await self.run_feed(feed)
            if on_done is not None:
                on_done(outcome)
            return outcome

        return list(await asyncio.gather(*(run_one(f) for f in feeds)))

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> bool:
        """Stop running crawls, cancelling their downloads in flight; what they stored so
        far is committed. Waits at most ``grace`` seconds for them to wind down; False when
        some did not (their runs stay open and are recorded interrupted at the next start)."""
        self.stopping = True
        self.article_workers.stop_waiting()  # no save waits out a database outage now
        for stop in list(self._running):
            stop.set(INTERRUPTED_REASON)
        deadline = asyncio.get_running_loop().time() + grace
        await self._runner.stop()
        # A crawl still opening its spider when stop() came misses it (Scrapy only stops
        # crawlers whose engine runs already), then runs and, once done, never closes: the
        # join would wait forever. Stop such engines until every crawl has ended.
        join = asyncio.ensure_future(self._runner.join())
        while not join.done():
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                log.warning(
                    "%d crawls did not stop within %.0f s; leaving them",
                    len(self._runner.crawlers),
                    grace,
                )
                join.cancel()
                return False
            await asyncio.wait({join}, timeout=min(0.5, left))
            for crawler in list(self._runner.crawlers):
                engine = crawler._engine  # None until the crawl starts (Scrapy's own spelling)
                if not crawler.crawling and engine is not None and engine.running:
                    await engine.stop_async()
        await join
        await asyncio.to_thread(self.article_workers.close)
        return True


async def _stop_engine(crawler: Any, crawl: asyncio.Future[Any]) -> None:
    """Stop one crawl's engine; one still opening its spider misses a first stop (see
    FeedRunner.stop), so ask again until the crawl has ended."""
    while not crawl.done():
        engine = crawler._engine  # None until the crawl starts (Scrapy's own spelling)
        if engine is not None and engine.running:
            crawler.crawling = False
            await engine.stop_async()
        else:
            await asyncio.wait({crawl}, timeout=0.2)
