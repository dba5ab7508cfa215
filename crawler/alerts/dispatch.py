"""An alert pass: record what the alerts match, send what is due, note every result.

:meth:`AlertDispatcher.run_pass` is blocking (the database, then apprise): ``newsmon
crawl`` calls it once after its feeds are done, the service from :class:`AlertLoop`, in a
thread of its own, after every feed run, at the service's start and whenever a digest or a
retry falls due. Nothing of it can fail a feed run: a pass that fails is logged, and the
next one takes up whatever is still pending.

A target that fails in a pass is tried once, not once per message: its other messages
count the same failed attempt and wait for the same retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from crawler.alerts import messages
from crawler.alerts.targets import SendResult, send, target_of
from crawler.config_alerts import AlertConfig
from crawler.crawl.outage import log_failure
from crawler.store.alert_deliveries import Match, claim_due, mark_failed, mark_sent, next_due
from crawler.store.alert_matches import Target, record_matches, start_alert
from crawler.store.store import Store, utcnow

log = logging.getLogger("crawler.alerts")

IDLE_WAKE = timedelta(seconds=60)  # with nothing due: look for what another process left

Sender = Callable[[str, str, str], SendResult]


@dataclass(frozen=True)
class PassReport:
    matched: int
    sent: int
    failed: int
    next_due: datetime | None


class AlertDispatcher:
    """The alerts of the running settings, and their passes. Thread-safe enough for one
    pass at a time: the service runs them in one thread."""

    def __init__(self, store: Store, alerts: Sequence[AlertConfig], sender: Sender = send) -> None:
        self.store = store
        self.sender = sender
        self._targets: dict[str, dict[str, tuple[str, Target]]] = {}
        self.alerts: tuple[AlertConfig, ...] = ()
        self.update(alerts)

    def update(self, alerts: Sequence[AlertConfig]) -> None:
        """New settings: the next pass uses these alerts (targets are read then, lazily:
        reading an apprise URL loads apprise's plugins)."""
        self.alerts = tuple(alerts)

    def targets(self, alert: AlertConfig) -> dict[str, tuple[str, Target]]:
        """key → (URL, Target) of the alert's notify URLs."""
        known = self._targets.get(alert.name, {})
        if set(url for url, _ in known.values()) != set(alert.notify):
            known = {t.key: (url, t) for url in alert.notify for t in [target_of(url)]}
            self._targets[alert.name] = known
        return known

    def begin(self, now: datetime | None = None) -> None:
        """Mark where alerts never seen before start: what is stored already is not news."""
        now = now or utcnow()
        with self.store.writing() as session:
            for alert in self.alerts:
                start_alert(session, alert.name, now)

    def run_pass(self, now: datetime | None = None) -> PassReport:
        alerts = self.alerts
        if not alerts:
            return PassReport(0, 0, 0, None)
        now = now or utcnow()
        matched = 0
        for alert in alerts:
            targets = [t for _, t in self.targets(alert).values()]
            with self.store.writing() as session:
                matched += record_matches(session, alert, targets, now)
        keys = {alert.name: list(self.targets(alert)) for alert in alerts}
        with self.store.writing() as session:
            due = claim_due(session, now, keys)
        sent = failed = 0
        for (name, key), group in _grouped(due).items():
            alert = next(a for a in alerts if a.name == name)
            url, target = self.targets(alert)[key]
            ok, bad = self._deliver(alert, url, target, group, now)
            sent, failed = sent + ok, failed + bad
        with self.store.reading() as session:
            upcoming = next_due(session, [a.name for a in alerts])
        if matched or sent or failed:
            log.info("alerts: %d new matches, %d messages sent, %d not sent", matched, sent, failed)
        return PassReport(matched, sent, failed, upcoming)

    def _deliver(
        self, alert: AlertConfig, url: str, target: Target, group: list[Match], now: datetime
    ) -> tuple[int, int]:
        """Send one target its due matches: one message each, or one digest. (sent, failed)
        in messages."""
        batches = [group] if alert.digest else [[match] for match in group]
        for index, batch in enumerate(batches):
            title, body = (
                messages.digest(alert.name, batch)
                if alert.digest
                else messages.single(alert.name, batch[0])
            )
            result = self.sender(url, title, body)
            when = now
            if result.ok:
                with self.store.writing() as session:
                    mark_sent(session, [m.id for m in batch], when)
                continue
            left = [m.id for rest in batches[index:] for m in rest]
            with self.store.writing() as session:
                retry_at = mark_failed(session, left, when, result.error or "failed")
            retry = retry_at.isoformat(timespec="seconds") if retry_at else "never (given up)"
            log.warning(
                "alert %s: %s: %d message(s) not sent: %s; next try at %s",
                alert.name,
                target.shown,
                len(batches) - index,
                result.error,
                retry,
            )
            return index, len(batches) - index
        return len(batches), 0


def _grouped(due: list[Match]) -> dict[tuple[str, str], list[Match]]:
    groups: dict[tuple[str, str], list[Match]] = defaultdict(list)
    for match in due:
        groups[(match.alert, match.target_key)].append(match)
    return groups


class AlertLoop:
    """The service's alert passes, off the reactor thread: after each feed run
    (:meth:`poke`), and when a digest or retry falls due."""

    def __init__(self, dispatcher: AlertDispatcher) -> None:
        self.dispatcher = dispatcher
        self._wake = asyncio.Event()
        # One thread of its own: a slow target never holds up the threads the crawl uses.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsmon-alerts")

    def poke(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            wait = IDLE_WAKE
            try:
                report = await loop.run_in_executor(self._executor, self.dispatcher.run_pass)
                if report.next_due is not None:
                    wait = min(max(report.next_due - utcnow(), timedelta(seconds=0.5)), wait)
            except Exception as exc:
                log_failure(log, "alerts: pass failed, pending messages tried again later", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait.total_seconds())

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
