"""Where parsed articles are written: one writer per database, in batches.

Saving a new article costs about 10 ms of CPU, most of it SQLAlchemy in Python. In the
process that runs the crawl that competes for the GIL with Scrapy, so once the runner has
started its parser processes the writing moves to a writer process of its own. One writer,
not one per parser: SQLite takes one writer at a time, and processes queueing on its lock
sleep in steps of up to 100 ms; PostgreSQL would serialise them on the clustering lock.

While the writer stores one batch, the next one gathers (a small one waits up to
``LINGER`` for company); it is stored in one transaction
(:meth:`~crawler.store.saving.ArticleSaver.save_articles`, which falls back to a savepoint per
article only when one of them fails), so under load one commit serves many articles.

A batch that fails because the database is unavailable (locked, full, restarting) is not
dropped: the writer waits and writes the same batch again, with back-off, for the length
of one outage's patience (:mod:`crawler.crawl.outage`); the saves that queue up meanwhile
wait with it, and so does the crawl that awaits them.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from crawler.crawl.outage import OUTAGE_PATIENCE, Outage, unavailable_reason
from crawler.crawl.processes import start_worker_process
from crawler.errors import DatabaseUnavailable, StoreError, WriterCrashed
from crawler.store.database import create_db_engine
from crawler.store.saves import SavedBatch, SaveRequest, SaveResult
from crawler.store.store import Store

log = logging.getLogger("crawler.crawl.writer")

MAX_BATCH = 64  # articles per transaction: bounds what a failed commit has to report
# A batch smaller than this waits up to LINGER seconds for company: a save costs about a
# fifth less CPU in a batch of 16 than alone (measured: 9.6 ms alone, 7.9 ms in batches of
# 32), and articles arrive a few milliseconds apart when a crawl is busy.
MIN_BATCH = 16
LINGER = 0.05


def _shareable_url(store: Store) -> str | None:
    """The database URL another process can open, or None (an in-memory SQLite database
    lives in this process only)."""
    url = store.engine.url
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
    ):
        return None
    return url.render_as_string(hide_password=False)


# -- the writer process ------------------------------------------------------------------

_process_store: Store | None = None


def open_in_writer_process(url: str) -> None:
    start_worker_process()
    global _process_store
    _process_store = Store(create_db_engine(url))


def _write_in_writer_process(requests: list[SaveRequest]) -> SavedBatch:
    if _process_store is None:
        raise StoreError("the writer process has no database")
    try:
        return _process_store.save_articles(requests)
    except DatabaseUnavailable as exc:
        raise DatabaseUnavailable(str(exc)) from None  # without the driver's traceback
    except SQLAlchemyError as exc:
        # SQLAlchemy's exceptions do not always survive pickling: send the message.
        lines = str(exc).strip().splitlines()
        raise StoreError(f"database error: {lines[0] if lines else type(exc).__name__}") from None


# -- batching ----------------------------------------------------------------------------


class BatchWriter:
    """Saves one store's articles in batches, in a thread or in a writer process.

    Lives on the event loop: :meth:`save` is awaited by the item pipeline, batches are
    started and finished by callbacks on the loop, so no lock is needed.
    """

    def __init__(self, store: Store, thread: Executor, patience: float = OUTAGE_PATIENCE) -> None:
        self.store = store
        self.patience = patience
        self._thread = thread
        self._process: ProcessPoolExecutor | None = None
        self._pending: list[tuple[SaveRequest, asyncio.Future[SaveResult]]] = []
        self._busy = False
        self._lingering: asyncio.TimerHandle | None = None
        self._outage: Outage | None = None  # the database refuses writes since then
        self._retry: asyncio.TimerHandle | None = None  # a batch waits out the outage
        self._stopping = False
        # For logs and tests: batches written in the writer process, and the largest batch.
        self.process_batches = 0
        self.largest_batch = 0

    @property
    def shareable_url(self) -> str | None:
        return _shareable_url(self.store)

    def use_process(self, process: ProcessPoolExecutor) -> None:
        self._process = process

    def stop_waiting(self) -> None:
        """On the loop, when the runner stops: what waits on an outage counts as not stored
        now (the run is interrupted; its feeds are fetched again), and no batch waits from
        now on."""
        self._stopping = True
        retry, self._retry = self._retry, None
        if retry is None:
            return
        retry.cancel()
        waiting, self._pending = self._pending, []
        self._busy = False
        reason = self._outage.failures.most_common(1)[0][0] if self._outage else "stopping"
        error = DatabaseUnavailable(f"database unavailable: {reason}")  # the same reason
        for _, done in waiting:
            if not done.done():
                done.set_exception(error)

    def close(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.shutdown(wait=True)

    async def save(self, request: SaveRequest) -> SaveResult:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[SaveResult] = loop.create_future()
        self._pending.append((request, done))
        if not self._busy:
            self._write_next(loop)
        elif self._lingering is not None and len(self._pending) >= MIN_BATCH:
            self._lingering.cancel()
            self._write_next(loop, linger=False)
        return await done

    def _write_next(self, loop: asyncio.AbstractEventLoop, *, linger: bool = True) -> None:
        self._lingering = None
        if not self._pending:
            self._busy = False
            return
        self._busy = True
        if linger and len(self._pending) < MIN_BATCH:
            self._lingering = loop.call_later(LINGER, lambda: self._write_next(loop, linger=False))
            return
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        self.largest_batch = max(self.largest_batch, len(batch))
        requests = [request for request, _ in batch]
        process = self._process
        future: asyncio.Future[SavedBatch]
        try:
            if process is not None:
                future = loop.run_in_executor(process, _write_in_writer_process, requests)
            else:
                future = loop.run_in_executor(self._thread, self.store.save_articles, requests)
        except (BrokenProcessPool, RuntimeError):  # the process died, or closing meanwhile
            if process is not None:
                self._drop_process(process)
            future = loop.run_in_executor(None, self.store.save_articles, requests)
            process = None
        future.add_done_callback(lambda f: self._finish(loop, batch, f, process))

    def _finish(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[SaveRequest, asyncio.Future[SaveResult]]],
        future: asyncio.Future[SavedBatch],
        process: ProcessPoolExecutor | None,
    ) -> None:
        error: BaseException | None = None
        saved: SavedBatch | None = None
        try:
            saved = future.result()
        except BrokenProcessPool:
            if process is not None:
                self._drop_process(process)
            error = WriterCrashed("the writer process died")
        except Exception as exc:
            error = exc
        if saved is None and self._wait_out_outage(loop, batch, error):
            return
        if saved is not None and self._outage is not None:
            self._outage.ended()
            self._outage = None
        if saved is not None and process is not None:
            self.process_batches += 1
            self.store.boilerplate_counted(saved.counted)  # learned in the other process
        for index, (_, done) in enumerate(batch):
            if done.done():
                continue
            if saved is None:
                done.set_exception(error or StoreError("not stored"))
                continue
            result: Any = saved.results[index]
            if isinstance(result, BaseException):
                done.set_exception(result)
            else:
                done.set_result(result)
        self._write_next(loop)

    def _wait_out_outage(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[SaveRequest, asyncio.Future[SaveResult]]],
        error: BaseException | None,
    ) -> bool:
        """The batch failed: when the database is unavailable and the outage's patience
        lasts, put the batch back first in line and write it again after a back-off."""
        reason = unavailable_reason(error) if error is not None else None
        if reason is None:
            return False
        if self._outage is None:
            self._outage = Outage("saving articles", self.patience)
        delay = self._outage.failed(reason, len(batch) + len(self._pending))
        if delay is None or self._stopping:
            return False
        self._pending[:0] = batch

        def retry() -> None:
            self._retry = None
            self._write_next(loop, linger=False)

        self._retry = loop.call_later(delay, retry)
        return True

    def _drop_process(self, process: ProcessPoolExecutor) -> None:
        if self._process is process:
            log.warning("the writer process died; writing in a thread from now on")
            self._process = None
        process.shutdown(wait=False, cancel_futures=True)
