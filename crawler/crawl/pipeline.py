"""Scrapy item pipeline: parse each fetched article off the event loop, then store it.

Parsing costs 5–20 ms of CPU per page. In threads it would share one core with everything
else the process does (the GIL), so a runner that has parsed ``POOL_AFTER_PAGES`` pages
starts a pool of worker processes, one per CPU, and parses there from then on; a short
run (a few new articles) never pays for starting the pool. The parser is pure and its
inputs and result pickle, so a worker needs nothing else; it also computes the article's
fingerprint (content hash, MinHash signature), which depends on the article alone. Saves
go through one batching writer per database (:mod:`crawler.crawl.writer`): in a thread at
first, in a writer process of its own once the parser processes run. The reactor keeps
downloading meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from crawler.article import Article, ParseHints
from crawler.crawl.spider import ArticlePage, FeedRun
from crawler.crawl.writer import BatchWriter, open_in_writer_process
from crawler.errors import ParserCrashed, StoreError, WorkerCrashed
from crawler.extract.parser import parse_article
from crawler.fingerprint import Fingerprint, fingerprint_of
from crawler.store.saves import SaveRequest, SaveResult
from crawler.store.store import Store
from crawler.urls import site_of

log = logging.getLogger("crawler.pipeline")

# Pages a runner parses in threads before it starts its worker processes. Starting them
# costs 1-2 s of CPU, once per runner: the service keeps them for every later run, so only
# a runner that never sees more than a handful of new articles should not pay it. (A cold
# crawl of 2,000 articles gained about 5% going from 100 to 30.)
POOL_AFTER_PAGES = 30


def hints_for(page: ArticlePage) -> ParseHints:
    run: FeedRun = page.run
    candidate = page.candidate
    site = site_of(page.url)
    return ParseHints(
        timezone=run.feed.timezone,
        tags=run.feed.tags,
        title=candidate.title,
        published_at=candidate.published_at,
        published_source=candidate.published_source,
        published_precision=candidate.published_precision,
        keywords=candidate.keywords,
        authors=candidate.authors,
        image_url=candidate.image_url,
        language=candidate.language,
        charset=page.charset,
        fetched_at=page.fetched_at,
        site_rules=run.settings.site_rules(site),
        boilerplate=run.store.boilerplate_keys(site),  # cached: cheap on every page
    )


Parsed = tuple[Article, Fingerprint]


def parse(body: bytes, url: str, hints: ParseHints) -> Parsed | None:
    """The parse and everything derived from the article alone: what a worker returns."""
    article = parse_article(body, url, hints)
    return None if article is None else (article, fingerprint_of(article))


def save_request(page: ArticlePage, parsed: Parsed) -> SaveRequest:
    run = page.run
    article, fingerprint = parsed
    return SaveRequest(
        article,
        fingerprint,
        run.feed.name,
        run.feed.tags,
        (page.url, page.requested_url, page.candidate.url),
        page.fetched_at,
    )


def save(page: ArticlePage, parsed: Parsed) -> SaveResult:
    """Blocking, in the calling thread (the writer batches; this is for one article)."""
    request = save_request(page, parsed)
    return page.run.store.save_article(
        request.article,
        feed=request.feed,
        feed_tags=request.feed_tags,
        urls=request.urls,
        fetched_at=request.fetched_at,
        fingerprint=request.fingerprint,
    )


def _parse_in_thread(page: ArticlePage) -> Parsed | None:
    return parse(page.body, page.url, hints_for(page))


def parse_and_save(page: ArticlePage) -> tuple[Parsed | None, SaveResult | None]:
    """Blocking, all in the calling thread."""
    parsed = _parse_in_thread(page)
    if parsed is None:
        return None, None
    return parsed, save(page, parsed)


def cpu_count() -> int:
    """CPUs this process may run on (a container's share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _warm_worker() -> int:
    """First task of each worker: the modules are imported already (the fork server preloads
    them), so this only makes the pool start its processes."""
    return os.getpid()


def exit_with_owner_process() -> None:
    """Worker start: exit when the process that owns the pool dies, even by SIGKILL —
    an orphaned worker would wait for work forever, and keep the fork server alive."""
    owner = multiprocessing.parent_process()
    if owner is not None:
        threading.Thread(
            target=_exit_with_owner, args=(owner.sentinel,), name="owner-watch", daemon=True
        ).start()


def _exit_with_owner(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


class ArticleWorkers:
    """Where one runner's articles are parsed (threads, then processes) and saved (one
    writer thread). Created once per :class:`~crawler.crawl.runner.FeedRunner`; :meth:`close`
    on stop."""

    def __init__(self, processes: int | None = None, pool_after: int = POOL_AFTER_PAGES) -> None:
        self.processes = cpu_count() if processes is None else processes
        self.pool_after = pool_after
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsmon-writer")
        self._batch_writers: dict[int, BatchWriter] = {}
        self._writer_process_started = False
        self._pool: ProcessPoolExecutor | None = None
        self._pool_ready = False
        self._thread_parses = 0
        self._lock = threading.Lock()
        self._closed = False

    @property
    def uses_processes(self) -> bool:
        return self._pool_ready

    async def parse(self, page: ArticlePage) -> Parsed | None:
        pool = self._pool if self._pool_ready else None
        if pool is None:
            self._count_thread_parse()
            return await asyncio.to_thread(_parse_in_thread, page)
        hints = await asyncio.to_thread(hints_for, page)  # may read the database
        try:
            future = pool.submit(parse, page.body, page.url, hints)
        except BrokenProcessPool as exc:
            self._discard_pool(pool)
            raise ParserCrashed("a parser worker process died") from exc
        except RuntimeError:  # shut down meanwhile (closing)
            return await asyncio.to_thread(parse, page.body, page.url, hints)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            self._discard_pool(pool)
            raise ParserCrashed("a parser worker process died") from exc

    def writer_for(self, store: Store) -> BatchWriter | None:
        return self._batch_writers.get(id(store))

    async def save(self, store: Store, request: SaveRequest) -> SaveResult:
        """Store one article through the store's batch writer (see crawler.crawl.writer)."""
        writer = self._batch_writers.get(id(store))
        if writer is None:
            writer = self._batch_writers[id(store)] = BatchWriter(store, self._writer)
        if self._pool_ready and not self._writer_process_started and not self._closed:
            self._start_writer_process(writer)
        return await writer.save(request)

    def close(self) -> None:
        """Wait for queued writes, stop the worker processes (blocking; idempotent)."""
        with self._lock:
            self._closed = True
            pool, self._pool, self._pool_ready = self._pool, None, False
        for writer in list(self._batch_writers.values()):
            writer.close()
        self._writer.shutdown(wait=True)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _start_writer_process(self, writer: BatchWriter) -> None:
        # One writer process, for the first database that needs it (a runner has one).
        self._writer_process_started = True
        url = writer.shareable_url
        if url is None:
            return
        try:
            process = ProcessPoolExecutor(
                max_workers=1,
                mp_context=self._context(),
                initializer=open_in_writer_process,
                initargs=(url,),
            )
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("writing stays in a thread: cannot start the writer process: %s", exc)
            return
        writer.use_process(process)
        log.info("writing in a writer process")

    # -- the pool ------------------------------------------------------------------------

    def _count_thread_parse(self) -> None:
        with self._lock:
            self._thread_parses += 1
            start = (
                self.processes > 1
                and self._pool is None
                and not self._closed
                and self._thread_parses >= self.pool_after
            )
            if not start:
                return
            try:
                self._pool = self._new_pool()
            except (OSError, ValueError, RuntimeError) as exc:
                log.warning("parsing stays in threads: cannot start worker processes: %s", exc)
                self.processes = 1
                return
            pool = self._pool
        # Warm every worker in the background; pages keep going to threads until then.
        warmed = [pool.submit(_warm_worker) for _ in range(self.processes)]
        threading.Thread(
            target=self._mark_ready, args=(pool, warmed), name="newsmon-pool-start", daemon=True
        ).start()

    def _new_pool(self) -> ProcessPoolExecutor:
        # A fork server (not fork): forking a process that runs the reactor and database
        # threads may copy a held lock. The server imports this module (so the parser) once;
        # each worker forks from it with the imports done.
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=self._context(),
            initializer=exit_with_owner_process,
        )

    @staticmethod
    def _context() -> Any:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crawler.crawl.pipeline"])
        return context

    def _mark_ready(self, pool: ProcessPoolExecutor, warmed: list[Future[int]]) -> None:
        try:
            pids = {future.result(timeout=120) for future in warmed}
        except Exception as exc:  # any failure to start means: keep parsing in threads
            log.warning("parsing stays in threads: worker processes did not start: %s", exc)
            self._discard_pool(pool)
            return
        with self._lock:
            if self._pool is pool:
                self._pool_ready = True
                log.info("parsing in %d worker processes (pids %s)", len(pids), sorted(pids))

    def _discard_pool(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                # Threads again; a new pool starts after another pool_after pages.
                self._pool, self._pool_ready, self._thread_parses = None, False, 0
        pool.shutdown(wait=False, cancel_futures=True)


_fallback_workers: ArticleWorkers | None = None
_fallback_lock = threading.Lock()


def _workers_for(crawler: Crawler) -> ArticleWorkers:
    """The runner's workers (handed to the spider), else one thread-only set per process."""
    workers = getattr(crawler.spider, "article_workers", None)
    if isinstance(workers, ArticleWorkers):
        return workers
    global _fallback_workers
    with _fallback_lock:
        if _fallback_workers is None:
            _fallback_workers = ArticleWorkers(processes=1)
        return _fallback_workers


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
        workers = _workers_for(self.crawler)
        try:
            parsed = await workers.parse(item)
            result = (
                await workers.save(run.store, save_request(item, parsed))
                if parsed is not None
                else None
            )
        except WorkerCrashed as exc:
            # Worth another try next run: keep the feed's validators from hiding the page.
            run.transient_failures += 1
            run.problem(item.url, str(exc))
            raise DropItem(f"not stored: {item.url}") from exc
        except SQLAlchemyError as exc:
            run.problem(item.url, f"database error: {str(exc).splitlines()[0]}")
            raise DropItem(f"not stored: {item.url}") from exc
        except StoreError as exc:
            run.problem(item.url, str(exc))
            raise DropItem(f"not stored: {item.url}") from exc
        stats = self.crawler.stats
        if parsed is None or result is None:
            run.not_articles += 1
            if stats:
                stats.inc_value("newsmon/not_article")
            log.info("feed %s: %s: not an article, skipped", run.feed.name, item.url)
            return item
        run.counts.count_save(result.outcome)
        if stats:
            stats.inc_value(f"newsmon/article_{result.outcome}")
        return item
