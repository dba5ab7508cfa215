"""``newsmon worker``: a process that runs the cluster's ``crawl_feed`` jobs.

One long-lived Twisted ``AsyncioSelectorReactor`` per process, as in ``newsmon run``, and
procrastinate's worker on the same asyncio loop: each job is an ``async def`` that awaits
the same :class:`~crawler.crawl.runner.FeedRunner` single mode uses (spiders, parser
processes, writer, robots.txt cache, run records). ``--concurrency N`` runs up to N jobs at
once; their hosts differ (a job's lock is its host), and the runner's host guard keeps the
per-host budget inside the process as usual.

Politeness across machines: a job holds its host's lock until it returns, and returns only
once the host's ``download_delay`` (or robots.txt ``Crawl-delay``) has passed after its last
response, so the host's next run (on any worker) keeps the spacing.

Stopping (SIGTERM/SIGINT): no new jobs; running ones get :data:`FINISH_GRACE_SECONDS` to
finish; then their crawls are stopped (what they stored stays) and each feed is handed
back, deferred anew for another worker. A second signal stops the crawls at once. A worker
killed outright stops beating; the leader runs its feeds again (crawler.cluster.leader).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from datetime import UTC, datetime
from pathlib import Path

from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.worker import Worker

from crawler.cluster.queue import (
    TASK,
    WORKERS_TABLE,
    ensure_schema,
    feed_lock,
    make_app,
    queued_now,
)
from crawler.config import Settings, load_settings
from crawler.crawl.outage import log_failure
from crawler.crawl.reactor import get_reactor, install_asyncio_reactor, start_reactor
from crawler.crawl.runner import FeedRunner
from crawler.errors import SettingsError, UnknownFeedError
from crawler.store.store import Store, utcnow
from crawler.timetable import hint_of

log = logging.getLogger("crawler.cluster.worker")

# How long running jobs may go on after SIGTERM before their crawls are stopped; with the
# runner's own stop grace this stays within the 30 s a supervisor gives a process.
FINISH_GRACE_SECONDS = 10.0


class ClusterWorker:
    def __init__(self, settings: Settings, settings_path: Path | None, concurrency: int) -> None:
        self.settings = settings
        self.settings_path = settings_path
        self.concurrency = concurrency
        self.store = Store.open(settings.database)
        self.runner = FeedRunner(settings, self.store)
        self.app = make_app(settings.database.url, self.run_job)
        self.worker: Worker | None = None
        self._stamp = _stamp(settings_path)
        self._stopping = False
        self._jobs_running = 0
        self._crawls_stopped: asyncio.Task[bool] | None = None
        self._beating: asyncio.Task[None] | None = None
        self._grace: asyncio.Task[None] | None = None
        self.exit_code = 0

    def run(self) -> int:
        """Run jobs until SIGTERM/SIGINT; returns the exit code."""
        if ensure_schema(self.settings.database.url):
            log.info("made the job queue's tables")
        try:
            loop = install_asyncio_reactor()
            reactor = get_reactor()
            reactor.callWhenRunning(lambda: loop.create_task(self._main(loop)))
            start_reactor(reactor)
        finally:
            self.store.close()
        return self.exit_code

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        cluster = self.settings.cluster
        stalled = cluster.stalled_after.total_seconds()
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop, sig.name)
            loop.add_signal_handler(signal.SIGHUP, self.reload)
            async with self.app.open_async():
                self.worker = Worker(
                    self.app,
                    queues=[cluster.queue],
                    name="newsmon",
                    concurrency=self.concurrency,
                    fetch_job_polling_interval=float(cluster.poll_interval),
                    install_signal_handlers=False,
                    update_heartbeat_interval=stalled / 4,
                    stalled_worker_timeout=stalled,
                    delete_jobs="successful",
                )
                if not self._stopping:  # no signal came while the queue was being opened
                    await self._work(self.worker)
            if not self._stopping:  # procrastinate stopped by itself: its database is gone
                log.error("the job queue stopped answering: stopping (a supervisor restarts us)")
                self.exit_code = 1
            if not await self._stop_crawls():
                log.warning("crawls left unfinished: the leader runs their feeds again")
            log.info("worker stopped")
        except Exception as exc:
            log_failure(log, "worker failed", exc)
            self.exit_code = 1
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            get_reactor().stop()

    async def _work(self, worker: Worker) -> None:
        loop = asyncio.get_running_loop()
        running = loop.create_task(worker.run())  # type: ignore[no-untyped-call]
        registered = loop.create_task(self._register(worker))
        try:
            await running
        finally:
            for task in (registered, self._beating, self._grace):
                if task is not None:
                    task.cancel()

    async def _register(self, worker: Worker) -> None:
        """Say which machine and process this worker is, once procrastinate registered it."""
        while worker.worker_id is None:
            await asyncio.sleep(0.05)
        await self.app.connector.execute_query_async(
            f"INSERT INTO {WORKERS_TABLE} (worker_id, host, pid, concurrency)"
            " VALUES (%(id)s, %(host)s, %(pid)s, %(concurrency)s)",
            id=worker.worker_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            concurrency=self.concurrency,
        )
        log.info(
            "worker %d on %s (pid %d) takes jobs of queue %r, %d at a time",
            worker.worker_id,
            socket.gethostname(),
            os.getpid(),
            self.settings.cluster.queue,
            self.concurrency,
        )

    def request_stop(self, why: str) -> None:
        if self.worker is None:  # still starting: it will not take a job
            self._stopping = True
            return
        if self._stopping:
            log.info("%s again: stopping running crawls now", why)
            self._stop_crawls()
            return
        self._stopping = True
        log.info(
            "%s: taking no new jobs; running ones have %.0f s to finish, then go back to the queue",
            why,
            FINISH_GRACE_SECONDS,
        )
        self.worker.stop()  # type: ignore[no-untyped-call]
        loop = asyncio.get_running_loop()
        self._grace = loop.create_task(self._stop_crawls_after_grace())
        self._beating = loop.create_task(self._beat_while_stopping(self.worker))

    async def _beat_while_stopping(self, worker: Worker) -> None:
        """procrastinate stops its heartbeat as soon as its worker is asked to stop, while
        its jobs may still run for the grace period: beat on meanwhile, or the leader would
        take this worker for dead and run its feeds a second time at once."""
        while worker.worker_id is not None:
            try:
                await self.app.job_manager.update_heartbeat(worker.worker_id)
            except Exception:
                log.warning("heartbeat while stopping failed", exc_info=True)
            await asyncio.sleep(worker.update_heartbeat_interval)

    async def _stop_crawls_after_grace(self) -> None:
        await asyncio.sleep(FINISH_GRACE_SECONDS)
        if self._jobs_running:
            log.info("running jobs did not finish in time: stopping their crawls")
            await self._stop_crawls()

    def _stop_crawls(self) -> asyncio.Task[bool]:
        """Stop the runner's crawls (once, however many ask); its task says whether they
        all ended in time."""
        if self._crawls_stopped is None:
            self._crawls_stopped = asyncio.get_running_loop().create_task(self.runner.stop())
        return self._crawls_stopped

    def reload(self) -> None:
        """Re-read settings.toml (SIGHUP, or a change seen before a job); keeps the old
        settings when the new file is invalid. The database and [cluster] need a restart."""
        if self.settings_path is None:
            return
        self._stamp = _stamp(self.settings_path)
        try:
            new = load_settings(self.settings_path)
        except SettingsError as exc:
            for problem in exc.problems:
                log.error("reload rejected, keeping the running settings: %s", problem)
            return
        kept = {"database": self.settings.database, "cluster": self.settings.cluster}
        self.settings = new.model_copy(update=kept)
        self.runner.update_settings(self.settings)
        log.info("reloaded settings")

    async def run_job(self, feed_name: str, next_run: str | None, queued_at: str | None) -> None:
        if queued_at:
            waited = datetime.now(UTC) - datetime.fromisoformat(queued_at)
            log.info(
                "feed %s: started after %.2f s in the queue", feed_name, waited.total_seconds()
            )
        if self.settings_path is not None and _stamp(self.settings_path) != self._stamp:
            self.reload()
        try:
            feed = self.settings.feed(feed_name)
        except UnknownFeedError:
            log.info("feed %s: no longer in the settings; job dropped", feed_name)
            return
        if not feed.enabled:
            log.info("feed %s: disabled since it was queued; job dropped", feed_name)
            return
        at = datetime.fromisoformat(next_run) if next_run else None
        if not self.runner.stopping:
            self._jobs_running += 1
            try:
                # Pauses other workers met (Retry-After) hold this one too.
                pauses = await asyncio.to_thread(self.store.host_pauses, utcnow())
                self.runner.pauses.load(pauses)
                outcome = await self.runner.run_feed(feed, next_run_at=lambda: at)
                hint = hint_of(outcome)
                if hint is not None:  # for the leader's next plan of an adaptive feed
                    await asyncio.to_thread(self.store.save_poll_hint, feed.name, hint)
                # Keep the host's lock until its next request may start, wherever it runs.
                await self.runner.host_guard.settle(feed_lock(feed.url))
            finally:
                self._jobs_running -= 1
            if outcome.outcome != "interrupted":
                return
        await self._hand_back(feed_name, feed.url, next_run)

    async def _hand_back(self, feed_name: str, feed_url: str, next_run: str | None) -> None:
        """Queue the feed again for another worker (this one is stopping)."""
        deferrer = self.app.configure_task(
            TASK,
            queue=self.settings.cluster.queue,
            lock=feed_lock(feed_url),
            queueing_lock=feed_name,
        )
        # AlreadyEnqueued: the leader queued its next run meanwhile; that one will do.
        with contextlib.suppress(AlreadyEnqueued):
            await deferrer.defer_async(feed=feed_name, next_run=next_run, queued_at=queued_now())
        log.info("feed %s: handed back to the queue (this worker is stopping)", feed_name)


def _stamp(path: Path | None) -> tuple[float, int] | None:
    if path is None:
        return None
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime, info.st_size
