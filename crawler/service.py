"""The long-running service: APScheduler jobs that run feed crawls on their timetables.

One process, one reactor: APScheduler's ``AsyncIOScheduler`` runs on the reactor's asyncio
loop and each job is an ``async def`` that awaits a Scrapy crawl. Jobs live in memory and
are rebuilt from settings.toml at start and on reload; the per-feed state that must survive
a restart (last run, validators, failures) lives in the database.

Stopping follows the only order that neither hangs nor loses work: pause the scheduler,
stop the running crawls (their downloads in flight are cancelled; what they stored is
committed), wait for them (a bounded wait, see FeedRunner.stop), shut the scheduler down,
stop the reactor.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from crawler.alerts.dispatch import AlertDispatcher, AlertLoop
from crawler.alerts.targets import check_targets
from crawler.cluster.leader import Leader, wait_for_leadership
from crawler.config import PLACEHOLDER_USER_AGENT_WARNING, FeedConfig, Settings, load_settings
from crawler.crawl.outage import log_failure
from crawler.crawl.reactor import get_reactor, install_asyncio_reactor, start_reactor
from crawler.crawl.runner import FeedRunner
from crawler.errors import SettingsError, StoreError, UnknownFeedError
from crawler.metrics import ServiceMetrics
from crawler.store.database import shown_url
from crawler.store.lock import ServiceLock
from crawler.store.store import Store, utcnow
from crawler.timetable import Timetable, feed_host

log = logging.getLogger("crawler.service")

# APScheduler 3.x drops a run that starts more than 1 s late by default; a busy loop is
# late often, and a skipped run is worse than a late one.
MISFIRE_GRACE_SECONDS = 300
# Feeds due at start are spread over this many seconds, so a restart does not stampede.
START_SPREAD_SECONDS = 5.0
SETTINGS_POLL_SECONDS = 2.0
# How soon a lost PostgreSQL session lock (database restart) is noticed and taken again.
LOCK_CHECK_SECONDS = 3.0


class Service:
    def __init__(self, settings: Settings, settings_path: Path | None = None) -> None:
        self.settings = settings
        self.settings_path = settings_path
        self.store = Store.open(settings.database)
        self.runner = FeedRunner(settings, self.store)
        # Next runs and why (adaptive intervals, Retry-After, back-off): crawler.timetable.
        self.scheduler: AsyncIOScheduler | None = None
        self._stopping: asyncio.Future[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._lock: ServiceLock | None = None
        self._lock_watcher: asyncio.Task[None] | None = None
        self._lock_lost: StoreError | None = None
        self._interrupted: set[str] = set()  # feeds whose last run a crash cut short
        # Alerts: a pass after every feed run, off the reactor thread (crawler.alerts).
        self.alerts = AlertDispatcher(self.store, settings.alerts)
        self.alert_loop = AlertLoop(self.alerts)
        self._alert_task: asyncio.Task[None] | None = None
        self.metrics: ServiceMetrics | None = None  # with [service] metrics set
        # Distributed mode: feed runs are deferred to the cluster's workers (crawler.cluster).
        distributed = settings.cluster.distributed
        self.leader = Leader(lambda: self.settings, self.store) if distributed else None
        # Next runs and why (adaptive intervals, Retry-After, back-off): crawler.timetable.
        self.timetable = Timetable(self.store, self.runner.pauses, shared=distributed)
        self.exit_code = 0

    # -- lifecycle ----------------------------------------------------------------------

    def run(self) -> int:
        """Block until SIGTERM/SIGINT; returns the process exit code.

        Raises :class:`~crawler.errors.ServiceLockedError` when another service already
        runs against the same database, and a :class:`~crawler.errors.StoreError` after
        stopping when the lock was lost for good (see :meth:`_watch_lock`).
        """
        lock = ServiceLock(self.settings.database.url)
        wait_for_leadership(lock) if self.leader else lock.acquire()  # standby: waits
        self._lock = lock
        try:
            if self.settings.service.metrics is not None:
                self.metrics = ServiceMetrics()
                self.metrics.serve(self.settings.service.metrics)
                self.runner.page_timing = self.metrics.page_timing
                log.info("serving metrics at http://%s/metrics", self.settings.service.metrics)
            loop = install_asyncio_reactor()
            reactor = get_reactor()
            reactor.callWhenRunning(lambda: loop.create_task(self._main(loop)))
            start_reactor(reactor)
        finally:
            self.alert_loop.close()
            if self.metrics is not None:
                self.metrics.close()
            self.store.close()
            lock.release()
        if self._lock_lost is not None:
            raise self._lock_lost
        return self.exit_code

    async def _main(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            self._stopping = loop.create_future()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop, sig.name)
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)
            if self.leader:  # the runs left open are workers' (or dead workers': see Leader)
                await self.leader.open()
            else:
                self._interrupted = await asyncio.to_thread(self.store.close_interrupted_runs)
            await asyncio.to_thread(self.alerts.begin)  # new alerts start from here
            if self.settings.has_placeholder_user_agent:
                log.warning(PLACEHOLDER_USER_AGENT_WARNING)
            enabled = self.settings.enabled_feeds()
            if not enabled:
                log.warning(
                    "no enabled feeds in %s: nothing will be crawled until a reload adds one",
                    self.settings_path or "the settings",
                )
            self.scheduler = AsyncIOScheduler(event_loop=loop, timezone="UTC")
            self.timetable.scheduler = self.scheduler
            await self._install_jobs(enabled, first_start=True)
            self.scheduler.start()
            await self._record_next_runs(enabled)
            # A disabled feed has no next run, whatever an earlier service had planned.
            disabled: dict[str, datetime | None] = {
                f.name: None for f in self.settings.feeds if not f.enabled
            }
            await asyncio.to_thread(self._save_next_runs, disabled)
            if self.settings_path is not None:
                self._watcher = loop.create_task(self._watch_settings_file())
            self._alert_task = loop.create_task(self.alert_loop.run())
            if self._lock is not None and self._lock.is_watched:
                self._lock_watcher = loop.create_task(self._watch_lock(self._lock))
            log.info(
                "service started: %d feeds scheduled, database %s",
                len(enabled),
                shown_url(self.settings.database.url),
            )
            await self._stopping
            await self._shutdown()
        except Exception as exc:
            log_failure(log, "service failed", exc)
            self.exit_code = 1
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            get_reactor().stop()

    def request_stop(self, why: str = "stop requested") -> None:
        if self._stopping is not None and not self._stopping.done():
            log.info("%s: stopping (running crawls are stopped, their articles are kept)", why)
            self._stopping.set_result(None)

    async def _shutdown(self) -> None:
        for watcher in (self._watcher, self._lock_watcher, self._alert_task):
            if watcher is not None:
                watcher.cancel()
        if self.scheduler is not None:
            self.scheduler.pause()
        if not await self.runner.stop():
            log.warning("crawls left unfinished: their runs are marked interrupted at next start")
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.leader:
            await self.leader.close()
        log.info("service stopped")

    # -- jobs ---------------------------------------------------------------------------

    async def _install_jobs(self, feeds: tuple[FeedConfig, ...], first_start: bool) -> None:
        scheduler = self.scheduler
        assert scheduler is not None
        await asyncio.to_thread(
            self.store.sync_feeds, [(f.name, f.kind, f.url) for f in self.settings.feeds]
        )
        last_finished = await asyncio.to_thread(self.store.last_finished) if first_start else {}
        now = utcnow()
        for index, feed in enumerate(feeds):
            interval = await asyncio.to_thread(self.timetable.interval_of, feed)
            trigger = feed.schedule.trigger(feed.timezone, interval)
            options: dict[str, Any] = {}
            last = last_finished.get(feed.name)
            first = self._first_run(feed, interval, last, now, index, len(feeds))
            if first_start:
                # A feed backing off after failures waits for its next attempt, even when a
                # crash cut its last run short.
                retry_at = await asyncio.to_thread(self.timetable.backoff_until, feed)
                if retry_at is not None:
                    first = retry_at
                if feed.name in self._interrupted:
                    self._log_interrupted(feed.name, retry_at)
            paused = self.runner.pauses.paused_until(feed_host(feed))
            if paused is not None and (first is None or first < paused):
                first = paused  # its host said when to come back (Retry-After)
            if first is not None:
                options["next_run_time"] = first
            scheduler.add_job(
                self._run_job,
                trigger=trigger,
                args=[feed.name],
                id=feed.name,
                name=feed.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE_SECONDS,
                replace_existing=True,
                **options,
            )

    def _log_interrupted(self, feed: str, retry_at: datetime | None) -> None:
        if retry_at is None:
            log.warning(
                "feed %s: a previous process cut its last run short: running it again now", feed
            )
            return
        log.warning(
            "feed %s: a previous process cut its last run short, but it is backing off after"
            " repeated failures: next attempt at %s",
            feed,
            retry_at.isoformat(timespec="seconds"),
        )

    async def _record_next_runs(self, feeds: tuple[FeedConfig, ...]) -> None:
        """Store (for ``newsmon status``) and log when each feed runs next."""
        assert self.scheduler is not None
        next_runs: dict[str, datetime | None] = {}
        for feed in feeds:
            job = self.scheduler.get_job(feed.name)
            next_runs[feed.name] = at = job.next_run_time if job is not None else None
            reason = await asyncio.to_thread(self.timetable.start_reason, feed)
            paused = self.runner.pauses.paused_until(feed_host(feed))
            if paused is not None and at is not None and at >= paused:
                reason = f"Retry-After: {feed_host(feed)} paused until {paused:%Y-%m-%d %H:%M:%S}"
            await asyncio.to_thread(self.store.save_plan, feed.name, at, reason)
        for name, at in next_runs.items():
            shown = at.isoformat(timespec="seconds") if at is not None else "none"
            log.info("feed %s: next run at %s", name, shown)

    def _save_next_runs(self, next_runs: dict[str, datetime | None]) -> None:
        for name, at in next_runs.items():
            self.store.set_next_run(name, at)

    def _first_run(
        self,
        feed: FeedConfig,
        every: timedelta | None,
        last_finished: datetime | None,
        now: datetime,
        index: int,
        total: int,
    ) -> datetime | None:
        """Resume the timetable: a feed that ran recently waits out its interval; an overdue
        one, a new one and one whose run a crash cut short run soon (spread out). Other cron
        feeds keep their own times (None: the trigger decides)."""
        spread = timedelta(seconds=START_SPREAD_SECONDS * index / max(total, 1))
        if feed.name in self._interrupted:
            return now + spread
        if every is None:
            return None
        if last_finished is None:
            return now + spread
        return max(now + spread, last_finished + every)

    async def _run_job(self, feed_name: str) -> None:
        try:
            feed = self.settings.feed(feed_name)
        except UnknownFeedError:
            return  # removed by a reload while queued
        job = self.scheduler.get_job(feed_name) if self.scheduler else None

        def next_run() -> datetime | None:
            return job.next_run_time if job is not None else None

        try:
            retry_at = await asyncio.to_thread(self.timetable.backoff_until, feed)
            if retry_at is not None:
                log.info(
                    "feed %s: backing off after repeated failures; next attempt after %s",
                    feed_name,
                    retry_at.isoformat(timespec="seconds"),
                )
                return
            if await self.timetable.wait_for_host(feed):
                return
            if self.leader:  # a worker runs it; this run's articles are the last one's
                await self.leader.defer(feed, next_run())
                await self.timetable.after_defer(feed)
                self.alert_loop.poke()
                return
            outcome = await self.runner.run_feed(feed, next_run_at=next_run)
            await self.timetable.after_run(feed, outcome)
            if self.metrics is not None:
                self.metrics.record_run(outcome)
            self.alert_loop.poke()  # its articles are committed: match and send them
        except Exception as exc:
            # Anything that escapes the runner (the database gone away) must not stop the
            # timetable: the feed runs again at its next time.
            log_failure(log, f"feed {feed_name}: run failed", exc)

    async def _watch_settings_file(self) -> None:
        """Reload when settings.toml changes on disk (checked every few seconds)."""
        assert self.settings_path is not None
        path = self.settings_path

        def stamp() -> tuple[float, int] | None:
            try:
                info = path.stat()
            except OSError:
                return None
            return info.st_mtime, info.st_size

        last = stamp()
        while True:
            await asyncio.sleep(SETTINGS_POLL_SECONDS)
            current = stamp()
            if current is not None and current != last:
                last = current
                log.info("%s changed on disk: reloading", path)
                await self.reload()

    async def _watch_lock(self, lock: ServiceLock) -> None:
        """A PostgreSQL session lock dies with its connection while the service lives on:
        check it every few seconds, off the loop, and stop when it cannot be held again."""
        while True:
            await asyncio.sleep(LOCK_CHECK_SECONDS)
            try:
                await asyncio.to_thread(lock.verify)
            except StoreError as exc:
                self._lock_lost = exc
                self.request_stop("service lock lost")
                return
            except Exception as exc:
                # Unchecked, the lock could be gone unnoticed: stopping is the safe side.
                log_failure(log, "service lock check failed", exc)
                self.exit_code = 1
                self.request_stop("service lock check failed")
                return

    # -- reload -------------------------------------------------------------------------

    def request_reload(self) -> None:
        asyncio.get_event_loop().create_task(self.reload())

    async def reload(self) -> bool:
        """Re-read settings.toml; apply added/removed/changed feeds. Keeps the old settings
        (and says why) when the new file is invalid."""
        if self.settings_path is None:
            return False
        try:
            new = await asyncio.to_thread(load_settings, self.settings_path)
            await asyncio.to_thread(check_targets, new, str(self.settings_path))
        except SettingsError as exc:
            for problem in exc.problems:  # one line each, as check-config prints them
                log.error("reload rejected, keeping the running settings: %s", problem)
            return False
        if new.database.url != self.settings.database.url:
            log.warning("reload: database.url changed; restart the service to switch databases")
        if new.service != self.settings.service or new.cluster != self.settings.cluster:
            log.warning("reload: [service] or [cluster] changed; restart the service to apply it")
        old_feeds = {f.name: f for f in self.settings.enabled_feeds()}
        new_feeds = {f.name: f for f in new.enabled_feeds()}
        kept = {k: getattr(self.settings, k) for k in ("database", "service", "cluster")}
        self.settings = new.model_copy(update=kept)
        self.runner.update_settings(self.settings)
        self.alerts.update(self.settings.alerts)
        await asyncio.to_thread(self.alerts.begin)
        self.alert_loop.poke()
        assert self.scheduler is not None
        gone = old_feeds.keys() - new_feeds.keys()
        for name in gone:
            self.scheduler.remove_job(name)
        await asyncio.to_thread(self._save_next_runs, dict.fromkeys(gone))
        changed = tuple(f for name, f in new_feeds.items() if old_feeds.get(name) != f)
        await self._install_jobs(changed, first_start=False)
        await self._record_next_runs(changed)
        log.info(
            "reloaded settings: %d added, %d removed, %d changed",
            len(new_feeds.keys() - old_feeds.keys()),
            len(old_feeds.keys() - new_feeds.keys()),
            len([n for n in new_feeds.keys() & old_feeds.keys() if old_feeds[n] != new_feeds[n]]),
        )
        return True
