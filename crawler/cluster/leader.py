"""The scheduler's side of distributed mode: one leader defers feed runs; the rest wait.

Only one ``newsmon run`` per database keeps the timetable: the service lock
(:class:`~crawler.store.lock.ServiceLock`, a PostgreSQL advisory lock that dies with its
holder's connection) is the leader lock. A second ``newsmon run`` is a standby: it tries
the lock every second and takes over as soon as the leader is gone, so a dead scheduler
costs a few seconds of timetable. Jobs already queued are not lost either way: they are
rows in PostgreSQL, and the workers go on running them.

The leader also watches for workers that died in the middle of a job (no heartbeat for
``[cluster] stalled_after``): such a job is marked failed, the run it left open in
``crawl_runs`` is recorded interrupted, and the feed is deferred anew, to run on a living
worker. Re-deferring, not procrastinate's automatic retries, so the queueing lock keeps
each feed to one waiting job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime

from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status

from crawler.cluster.queue import TASK, ensure_schema, feed_lock, make_app, queued_now
from crawler.config import FeedConfig, Settings
from crawler.crawl.outage import log_failure
from crawler.errors import ServiceLockedError, UnknownFeedError
from crawler.store.lock import ServiceLock
from crawler.store.store import Store

log = logging.getLogger("crawler.cluster.leader")

STANDBY_POLL_SECONDS = 1.0
WATCH_SECONDS = 2.0


def wait_for_leadership(lock: ServiceLock, poll: float = STANDBY_POLL_SECONDS) -> None:
    """Take the leader lock, waiting as a standby while another scheduler holds it."""
    waiting_since: float | None = None
    while True:
        try:
            lock.acquire()
        except ServiceLockedError:
            if waiting_since is None:
                waiting_since = time.monotonic()
                log.info(
                    "standby: another newsmon run leads this cluster; taking over when it stops"
                )
            time.sleep(poll)
            continue
        if waiting_since is not None:
            log.info(
                "standby: the leader is gone; leading the cluster now (after %.1f s)",
                time.monotonic() - waiting_since,
            )
        return


class Leader:
    """Defers ``crawl_feed`` jobs and requeues the jobs of dead workers."""

    def __init__(self, settings: Callable[[], Settings], store: Store) -> None:
        self._settings = settings
        self.store = store
        self.app = make_app(settings().database.url)
        self._watcher: asyncio.Task[None] | None = None

    @property
    def settings(self) -> Settings:
        return self._settings()

    async def open(self) -> None:
        if await asyncio.to_thread(ensure_schema, self.settings.database.url):
            log.info("made the job queue's tables")
        await self.app.open_async()
        self._watcher = asyncio.get_running_loop().create_task(self._watch())
        log.info("leading the cluster: feed runs go to queue %r", self.settings.cluster.queue)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.app.close_async()

    async def defer(self, feed: FeedConfig, next_run: datetime | None) -> bool:
        """Queue a run of ``feed``; False when one is waiting already (it will do)."""
        deferrer = self.app.configure_task(
            TASK,
            queue=self.settings.cluster.queue,
            lock=feed_lock(feed.url),
            queueing_lock=feed.name,
        )
        when = next_run.isoformat() if next_run is not None else None
        try:
            job_id = await deferrer.defer_async(
                feed=feed.name, next_run=when, queued_at=queued_now()
            )
        except AlreadyEnqueued:
            log.info("feed %s: a run is queued already; not queueing another", feed.name)
            return False
        log.debug("feed %s: queued as job %d", feed.name, job_id)
        return True

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                await self.requeue_stalled()
            except Exception as exc:  # the database away for a moment: try again next time
                log_failure(log, "checking for stalled jobs failed", exc)

    async def requeue_stalled(self) -> list[str]:
        """Run again elsewhere the feeds whose worker stopped beating; their names."""
        manager = self.app.job_manager
        cluster = self.settings.cluster
        silent = cluster.stalled_after.total_seconds()
        stalled = list(
            await manager.get_stalled_jobs(
                queue=cluster.queue, task_name=TASK, seconds_since_heartbeat=silent
            )
        )
        requeued: list[str] = []
        for job in stalled:
            assert job.id is not None
            feed_name = str(job.task_kwargs.get("feed"))
            await manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
            await asyncio.to_thread(self.store.close_interrupted_runs, [feed_name])
            log.warning(
                "feed %s: its worker (id %s) stopped beating in the middle of job %d:"
                " running the feed again on another worker",
                feed_name,
                job.worker_id,
                job.id,
            )
            try:
                feed = self.settings.feed(feed_name)
            except UnknownFeedError:
                continue  # removed by a reload meanwhile
            if feed.enabled:
                next_run = job.task_kwargs.get("next_run")
                at = datetime.fromisoformat(next_run) if isinstance(next_run, str) else None
                await self.defer(feed, at)
                requeued.append(feed_name)
        await manager.prune_stalled_workers(silent)
        return requeued
