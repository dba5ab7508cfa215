"""How long an adaptive feed waits before its next run, and why: pure interval maths.

The interval follows the feed's observed rate of new articles (as Miniflux does): the
span of its recent runs divided by the new articles they found, within the schedule's
``min`` and ``max``. A run whose entries were all known already stretches the interval
(as Media Cloud does: poll less when the items are known), so a feed that stops
publishing drifts to ``max`` run by run instead of jumping there. What the server asks for
(``<ttl>``, ``sy:updatePeriod``, ``Cache-Control: max-age``, ``Expires``) is a floor the
interval never goes below (as FreshRSS does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from crawler.config_schedule import Schedule
from crawler.config_values import format_duration

# The runs the rate is taken over: those that started within this many ``max`` intervals.
WINDOW_FACTOR = 4
# A run that found nothing new stretches the interval by this factor over the one before.
STRETCH = 1.5
# A server hint is obeyed up to this long (an Expires a year ahead must not stop a feed).
HINT_CAP = timedelta(days=1)
# A feed with nothing new for this many of its usual intervals is shown as idle.
IDLE_FACTOR = 10


@dataclass(frozen=True)
class RunSample:
    """What one past run of a feed found."""

    started_at: datetime
    articles_found: int
    articles_new: int


@dataclass(frozen=True)
class Plan:
    """The next interval of a feed and the reason for it (shown by ``newsmon status``)."""

    interval: timedelta
    reason: str


def _short(duration: timedelta) -> str:
    seconds = duration.total_seconds()
    if seconds < 60:
        return f"{seconds:.3g}s"
    return format_duration(timedelta(seconds=round(seconds)))


def rate_interval(
    samples: Sequence[RunSample],
    now: datetime,
    lowest: timedelta,
    highest: timedelta,
    previous: timedelta | None = None,
) -> Plan:
    """The interval that the recent runs' rate of new articles asks for, within bounds."""
    window = highest * WINDOW_FACTOR
    recent = [s for s in samples if s.started_at >= now - window]
    if not recent:
        return Plan(lowest, "adaptive: no runs yet")
    span = max(now - min(s.started_at for s in recent), lowest)
    new = sum(s.articles_new for s in recent)
    if new == 0:
        interval, reason = highest, f"adaptive: nothing new in {_short(span)}"
    else:
        interval = span / new
        reason = f"adaptive: {new} new in {_short(span)}"
    last = max(recent, key=lambda s: s.started_at)
    if previous is not None and last.articles_new == 0 and interval < previous * STRETCH:
        interval = previous * STRETCH
        reason += ", last run found nothing new"
    interval = min(max(interval, lowest), highest)
    return Plan(interval, f"{reason} → every {_short(interval)}")


def plan_next(
    schedule: Schedule,
    samples: Sequence[RunSample],
    now: datetime,
    previous: timedelta | None = None,
    hint: tuple[timedelta, str] | None = None,
) -> Plan:
    """An adaptive schedule's next interval: the rate's, never below the server's hint."""
    plan = rate_interval(samples, now, schedule.lowest, schedule.highest, previous)
    if hint is not None:
        wait = min(hint[0], HINT_CAP)
        if wait > plan.interval:
            return Plan(wait, f"server hint: {hint[1]} → every {_short(wait)}")
    return plan


def is_idle(
    last_new_at: datetime | None, since: datetime | None, usual: timedelta | None, now: datetime
) -> bool:
    """Nothing new for far longer than the feed's usual interval (IDLE_FACTOR of them),
    counted from its last new article, else from its first run (``since``)."""
    start = last_new_at or since
    if start is None or usual is None or usual <= timedelta(0):
        return False
    return now - start > usual * IDLE_FACTOR
