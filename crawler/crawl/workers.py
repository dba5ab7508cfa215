"""Where one runner's articles are parsed (threads, then processes) and saved (one writer).

Parsing costs 5–20 ms of CPU per page. In threads it would share one core with everything
else the process does (the GIL), so a runner that has parsed ``POOL_AFTER_PAGES`` pages
starts a pool of worker processes, one per CPU, and parses there from then on
(:mod:`crawler.crawl.parsing`); a short run (a few new articles) never pays for starting
the pool. Saves go through one batching writer per database (:mod:`crawler.crawl.writer`):
in a thread at first, in a writer process of its own once the parser processes run. The
reactor keeps downloading meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sqlalchemy.exc import SQLAlchemyError

from crawler.article import ParseHints
from crawler.crawl.outage import OUTAGE_PATIENCE
from crawler.crawl.parsing import Parsed, parse, warm_worker
from crawler.crawl.processes import (
    cpu_count,
    forkserver_context,
    keep_malloc_lean,
    start_fork_server,
    start_worker_process,
)
from crawler.crawl.writer import BatchWriter, open_in_writer_process
from crawler.errors import ParserCrashed, StoreError
from crawler.store.saves import SaveRequest, SaveResult
from crawler.store.store import Store

log = logging.getLogger("crawler.pipeline")  # the name these messages always had

# Pages a runner parses in threads, or is told it will download (ArticleWorkers.expect),
# before it starts its worker processes. Starting them costs 1-2 s of CPU, once per runner:
# the service keeps them for every later run, so only a runner that never sees more than a
# handful of new articles should not pay it. (A cold crawl of 2,000 articles gained about 5%
# going from 100 to 30.)
POOL_AFTER_PAGES = 30


def _parse_with(body: bytes, url: str, hints: Callable[[], ParseHints]) -> Parsed | None:
    return parse(body, url, hints())


class ArticleWorkers:
    """Where one runner's articles are parsed (threads, then processes) and saved (one
    writer thread). Created once per :class:`~crawler.crawl.runner.FeedRunner`; :meth:`close`
    on stop."""

    def __init__(
        self,
        processes: int | None = None,
        pool_after: int = POOL_AFTER_PAGES,
        outage_patience: float = OUTAGE_PATIENCE,
    ) -> None:
        keep_malloc_lean()  # this process parses in threads too (see processes.py)
        self.processes = cpu_count() if processes is None else processes
        self.pool_after = pool_after
        self.outage_patience = outage_patience  # see crawler.crawl.outage
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsmon-writer")
        self._batch_writers: dict[int, BatchWriter] = {}
        self._writer_process_started = False
        self._pool: ProcessPoolExecutor | None = None
        self._pool_ready = False
        self._thread_parses = 0
        self._expected = 0  # pages announced by expect() and not parsed yet
        self._lock = threading.Lock()
        self._closed = False
        self._stopping = False
        # Parses in threads at once: more share the GIL for no gain, and each holds a page
        # and its trees in this process (a 10 MB page costs some 50 MB while parsed).
        self._thread_slots = asyncio.Semaphore(max(1, self.processes))

    @property
    def uses_processes(self) -> bool:
        return self._pool_ready

    @property
    def pool_started(self) -> bool:
        """The worker processes were started (they may still be starting)."""
        return self._pool is not None

    async def parse(self, body: bytes, url: str, hints: Callable[[], ParseHints]) -> Parsed | None:
        """Parse a page; ``hints()`` is called in a worker thread (it may read the database)."""
        pool = self._pool if self._pool_ready else None
        if pool is None:
            self._start_pool_when_due()
            async with self._thread_slots:
                return await asyncio.to_thread(_parse_with, body, url, hints)
        ready_hints = await asyncio.to_thread(hints)
        try:
            future = pool.submit(parse, body, url, ready_hints)
        except BrokenProcessPool as exc:
            self._discard_pool(pool)
            raise ParserCrashed("a parser worker process died") from exc
        except RuntimeError:  # shut down meanwhile (closing)
            return await asyncio.to_thread(parse, body, url, ready_hints)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool as exc:
            self._discard_pool(pool)
            raise ParserCrashed("a parser worker process died") from exc

    def expect(self, pages: int, store: Store) -> None:
        """A feed run is about to download ``pages`` new articles into ``store``. If they and
        the pages parsed so far reach ``pool_after``, the worker processes and the store's
        writer process start now, while the pages download, instead of after ``pool_after``
        of them were parsed in threads (which share one core with the downloads) and at the
        first save after that (its imports then compete with the parsers). A cold crawl of
        411 real pages left one core idle for some 1.5 s that way."""
        with self._lock:
            self._expected += pages
        if self._start_pool_when_due(parsed=0) and not self._writer_process_started:
            self._start_writer_process(self._writer_of(store))

    async def prepare_for_first_crawl(self, store: Store, feed: str) -> None:
        """Before a feed's run: if the feed never finished a run, start the fork server now.

        A first crawl lists the feed's backlog, as a rule more pages than ``pool_after``;
        started now, the server's imports overlap the robots.txt and feed downloads instead
        of delaying the worker processes by a second once the pages are announced. Later
        runs of a feed find a few new articles each: no process starts for them until their
        pages call for it."""
        if self.processes < 2 or self._pool is not None or self._closed:
            return
        try:
            state = await asyncio.to_thread(store.feed_state, feed)
        except (SQLAlchemyError, StoreError):
            return  # the run itself will report the database
        if state is None or state.last_finished_at is None:
            start_fork_server()

    def writer_for(self, store: Store) -> BatchWriter | None:
        return self._batch_writers.get(id(store))

    async def save(self, store: Store, request: SaveRequest) -> SaveResult:
        """Store one article through the store's batch writer (see crawler.crawl.writer)."""
        writer = self._writer_of(store)
        if self._pool_ready and not self._writer_process_started and not self._closed:
            self._start_writer_process(writer)
        return await writer.save(request)

    def _writer_of(self, store: Store) -> BatchWriter:
        writer = self._batch_writers.get(id(store))
        if writer is None:
            writer = BatchWriter(store, self._writer, self.outage_patience)
            self._batch_writers[id(store)] = writer
            if self._stopping:
                writer.stop_waiting()  # a writer made after the stop began
        return writer

    @property
    def stopping(self) -> bool:
        """The runner stops: nothing waits for an unavailable database any more."""
        return self._stopping

    def stop_waiting(self) -> None:
        """On the loop, when the runner stops: saves that wait for an unavailable database
        fail now (see :meth:`BatchWriter.stop_waiting`) instead of holding the stop up."""
        self._stopping = True
        for writer in list(self._batch_writers.values()):
            writer.stop_waiting()

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
                mp_context=forkserver_context(),
                initializer=open_in_writer_process,
                initargs=(url,),
            )
        except (OSError, ValueError, RuntimeError) as exc:
            log.warning("writing stays in a thread: cannot start the writer process: %s", exc)
            return
        # Its start (the database modules' imports, the store opened) runs now, in the
        # background, not in the first batch's time.
        process.submit(os.getpid)
        writer.use_process(process)
        log.info("writing in a writer process")

    # -- the pool ------------------------------------------------------------------------

    def _start_pool_when_due(self, parsed: int = 1) -> bool:
        """Count ``parsed`` pages parsed in threads; start the pool if they and those announced
        reach ``pool_after`` (True: started now)."""
        with self._lock:
            self._thread_parses += parsed
            # A parsed page is, most likely, one of those announced.
            self._expected = max(0, self._expected - parsed)
            start = (
                self.processes > 1
                and self._pool is None
                and not self._closed
                and self._thread_parses + self._expected >= self.pool_after
            )
            if not start:
                return False
            try:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=forkserver_context(),
                    initializer=start_worker_process,
                )
            except (OSError, ValueError, RuntimeError) as exc:
                log.warning("parsing stays in threads: cannot start worker processes: %s", exc)
                self.processes = 1
                return False
            pool = self._pool
        # Warm every worker in the background; pages keep going to threads until then.
        warmed = [pool.submit(warm_worker) for _ in range(self.processes)]
        threading.Thread(
            target=self._mark_ready, args=(pool, warmed), name="newsmon-pool-start", daemon=True
        ).start()
        return True

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
                self._pool, self._pool_ready = None, False
                self._thread_parses = self._expected = 0
        pool.shutdown(wait=False, cancel_futures=True)
