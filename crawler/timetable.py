"""Each feed's next run, and why: the part of the service that re-plans APScheduler jobs.

A fixed schedule (``every``, ``cron``) keeps its trigger. An adaptive one gets a new
interval after every run (crawler.polling: the observed rate of new articles within the
bounds, never below the server's hint). A host that answered Retry-After holds every feed
on it until the pause ends (:meth:`Timetable.wait_for_host`), and a failing feed backs off.
The next run time and its reason are saved for ``newsmon status``.

In distributed mode the leader only queues runs and workers make them: the workers save
each run, its server hint and any host pause in the database, and the leader re-plans from
there when it queues the next run (:meth:`Timetable.after_defer`), one run behind.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from crawler.config import FeedConfig
from crawler.config_values import format_duration
from crawler.crawl.outage import reason_of, unavailable_reason
from crawler.crawl.pauses import HostPauses
from crawler.crawl.runner import FeedOutcome
from crawler.polling import WINDOW_FACTOR, Plan, RunSample, plan_next
from crawler.store.store import Store, utcnow

log = logging.getLogger("crawler.service")

# A failing feed waits at most this many of its intervals between attempts.
MAX_BACKOFF_FACTOR = 32


def feed_host(feed: FeedConfig) -> str:
    """host:port of the feed's URL, as the host guard and the pauses key it."""
    return (urlsplit(feed.url).netloc or "").lower()


def fixed_reason(feed: FeedConfig) -> str:
    schedule = feed.schedule
    if schedule.every is not None:
        return f"every {format_duration(schedule.every)}"
    if schedule.cron is not None:
        return f"cron {schedule.cron}"
    return "adaptive: first run"


def _at(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def hint_of(outcome: FeedOutcome) -> tuple[float | None, str | None] | None:
    """The server's polling hint of a run, to save: None when the run did not read its feed
    whole (keep the old one), ``(None, None)`` when it did and found none (forget it)."""
    if outcome.poll_hint is not None:
        return outcome.poll_hint[0].total_seconds(), outcome.poll_hint[1]
    return (None, None) if outcome.hints_read else None


class Timetable:
    def __init__(self, store: Store, pauses: HostPauses, shared: bool = False) -> None:
        self.store = store
        self.pauses = pauses
        # Distributed mode: pauses are found by workers, so read them from the database.
        self.shared = shared
        self.scheduler: AsyncIOScheduler | None = None

    def interval_of(self, feed: FeedConfig) -> timedelta | None:
        """The fixed interval, else an adaptive feed's current one (as last planned)."""
        if not feed.schedule.adaptive:
            return feed.schedule.every
        state = self.store.feed_state(feed.name)
        if state is not None and state.poll_interval:
            return timedelta(seconds=state.poll_interval)
        return feed.schedule.lowest

    def _replan(self, feed: FeedConfig, at: datetime) -> None:
        job = self.scheduler.get_job(feed.name) if self.scheduler else None
        if job is not None:
            job.modify(next_run_time=at)

    async def wait_for_host(self, feed: FeedConfig) -> bool:
        """True when the feed's host is paused (Retry-After): its run is moved to the end of
        the pause, and this due run is not made."""
        if self.shared:
            self.pauses.load(await asyncio.to_thread(self.store.host_pauses, utcnow()))
        until = self.pauses.paused_until(feed_host(feed))
        if until is None:
            return False
        reason = f"Retry-After: {feed_host(feed)} paused until {_at(until)}"
        self._replan(feed, until)
        await asyncio.to_thread(self.store.save_plan, feed.name, until, reason)
        log.info("feed %s: %s; run moved there", feed.name, reason)
        return True

    def backoff_until(self, feed: FeedConfig) -> datetime | None:
        """While a feed keeps failing, wait 1, 2, 4 … (at most 32) of its intervals between
        attempts; the timetable itself stays, and the first success resets the count."""
        state = self.store.feed_state(feed.name)
        if state is None or not state.consecutive_failures or state.last_finished_at is None:
            return None
        interval = self.interval_of(feed) or timedelta(minutes=15)
        factor = min(2 ** (state.consecutive_failures - 1), MAX_BACKOFF_FACTOR)
        # The timetable fires about one interval after the last run: half an interval of
        # slack keeps a run from being skipped only because the last one took a while.
        retry_at: datetime = state.last_finished_at + interval * factor - interval / 2
        if retry_at <= utcnow():
            return None
        reason = f"back-off after {state.consecutive_failures} failures in a row"
        self.store.save_plan(feed.name, retry_at, reason)
        return retry_at

    def plan(self, feed: FeedConfig, outcome: FeedOutcome | None, now: datetime) -> Plan:
        """An adaptive feed's next interval, from its recent runs and the server's hint."""
        schedule = feed.schedule
        state = self.store.feed_state(feed.name)
        since = now - schedule.highest * WINDOW_FACTOR
        samples = [
            RunSample(r.started_at, r.articles_found, r.articles_new)
            for r in self.store.past_runs(feed.name, since)
        ]
        previous = timedelta(seconds=state.poll_interval) if state and state.poll_interval else None
        hint = outcome.poll_hint if outcome is not None else None
        read = outcome is not None and outcome.hints_read
        if hint is None and not read and state and state.poll_hint and state.poll_hint_reason:
            hint = (timedelta(seconds=state.poll_hint), state.poll_hint_reason)
        return plan_next(schedule, samples, now, previous, hint)

    def start_reason(self, feed: FeedConfig) -> str:
        """Why a feed runs when it does at start (before its first run here)."""
        state = self.store.feed_state(feed.name)
        if state is not None and state.consecutive_failures:
            return f"back-off after {state.consecutive_failures} failures in a row"
        if feed.schedule.adaptive:
            interval = self.interval_of(feed) or feed.schedule.lowest
            return f"adaptive: every {format_duration(interval)} as last planned"
        return fixed_reason(feed)

    async def after_run(self, feed: FeedConfig, outcome: FeedOutcome) -> None:
        """Re-plan the feed's job after a run and save why it runs when it does."""
        assert self.scheduler is not None
        job = self.scheduler.get_job(feed.name)
        if job is None:
            return  # removed by a reload meanwhile
        now = utcnow()
        hint = hint_of(outcome)
        interval: float | None = None
        if feed.schedule.adaptive:
            plan = await asyncio.to_thread(self.plan, feed, outcome, now)
            interval, reason = plan.interval.total_seconds(), plan.reason
            job = self.scheduler.reschedule_job(
                feed.name, trigger=feed.schedule.trigger(feed.timezone, plan.interval)
            )
        else:
            reason = fixed_reason(feed)
        at: datetime | None = job.next_run_time
        paused = outcome.paused_until
        if paused is not None and paused > now and (at is None or paused > at):
            reason = f"Retry-After: {feed_host(feed)} paused until {_at(paused)}"
            job.modify(next_run_time=paused)
            at = paused
        try:
            await asyncio.to_thread(self.store.save_plan, feed.name, at, reason, interval, hint)
        except Exception as exc:
            # The run is over and its job re-planned in memory: a database that is away
            # (a full disk) costs only ``status`` its reason until the next run saves one.
            if unavailable_reason(exc) is None:
                raise
            log.warning("feed %s: next run's plan not saved: %s", feed.name, reason_of(exc))
        if feed.schedule.adaptive:
            log.info("feed %s: next run at %s (%s)", feed.name, _at(at) if at else "none", reason)

    async def after_defer(self, feed: FeedConfig) -> None:
        """Distributed mode: re-plan an adaptive feed from the runs and the hint its workers
        saved, now that its next run is queued."""
        job = self.scheduler.get_job(feed.name) if self.scheduler else None
        if job is None or not feed.schedule.adaptive or self.scheduler is None:
            return
        plan = await asyncio.to_thread(self.plan, feed, None, utcnow())
        job = self.scheduler.reschedule_job(
            feed.name, trigger=feed.schedule.trigger(feed.timezone, plan.interval)
        )
        await asyncio.to_thread(
            self.store.save_plan,
            feed.name,
            job.next_run_time,
            plan.reason,
            plan.interval.total_seconds(),
        )
