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
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from crawler.article import ParseHints
from crawler.crawl.outage import OUTAGE_PATIENCE
from crawler.crawl.parsing import Parsed, parse, warm_worker
from crawler.crawl.processes import (
    cpu_count,
    forkserver_context,
    keep_malloc_lean,
    start_worker_process,
)
from crawler.crawl.writer import BatchWriter, open_in_writer_process
from crawler.errors import ParserCrashed
from crawler.store.saves import SaveRequest, SaveResult
from crawler.store.store import Store

log = logging.getLogger("crawler.pipeline")  # the name these messages always had

# Pages a runner parses in threads before it starts its worker processes. Starting them
# costs 1-2 s of CPU, once per runner: the service keeps them for every later run, so only
# a runner that never sees more than a handful of new articles should not pay it. (A cold
# crawl of 2,000 articles gained about 5% going from 100 to 30.)
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
        self._lock = threading.Lock()
        self._closed = False
        self._stopping = False
        # Parses in threads at once: more share the GIL for no gain, and each holds a page
        # and its trees in this process (a 10 MB page costs some 50 MB while parsed).
        self._thread_slots = asyncio.Semaphore(max(1, self.processes))

    @property
    def uses_processes(self) -> bool:
        return self._pool_ready

    async def parse(self, body: bytes, url: str, hints: Callable[[], ParseHints]) -> Parsed | None:
        """Parse a page; ``hints()`` is called in a worker thread (it may read the database)."""
        pool = self._pool if self._pool_ready else None
        if pool is None:
            self._count_thread_parse()
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

    def writer_for(self, store: Store) -> BatchWriter | None:
        return self._batch_writers.get(id(store))

    async def save(self, store: Store, request: SaveRequest) -> SaveResult:
        """Store one article through the store's batch writer (see crawler.crawl.writer)."""
        writer = self._batch_writers.get(id(store))
        if writer is None:
            writer = BatchWriter(store, self._writer, self.outage_patience)
            self._batch_writers[id(store)] = writer
        if self._stopping:
            writer.stop_waiting()  # a writer made after the stop began
        if self._pool_ready and not self._writer_process_started and not self._closed:
            self._start_writer_process(writer)
        return await writer.save(request)

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
                self._pool = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=forkserver_context(),
                    initializer=start_worker_process,
                )
            except (OSError, ValueError, RuntimeError) as exc:
                log.warning("parsing stays in threads: cannot start worker processes: %s", exc)
                self.processes = 1
                return
            pool = self._pool
        # Warm every worker in the background; pages keep going to threads until then.
        warmed = [pool.submit(warm_worker) for _ in range(self.processes)]
        threading.Thread(
            target=self._mark_ready, args=(pool, warmed), name="newsmon-pool-start", daemon=True
        ).start()

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
