"""When a feed runs: a fixed interval, a cron line, or an adaptive interval.

``every = "15m"`` and ``cron = "*/20 6-23 * * *"`` are fixed timetables. ``adaptive = true``
(with ``min`` and ``max``, default ``"5m"`` and ``"6h"``) lets the interval follow the
feed's observed rate of new articles within those bounds, never below what the server
asks for (crawler.polling computes it; crawler.timetable re-plans the job after each run).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    model_validator,
)

from crawler.config_values import DurationBetween, check_cron


def _duration_in(low: str, high: str) -> Any:
    return BeforeValidator(DurationBetween(low, high))


Interval = Annotated[timedelta, _duration_in("1s", "366d")]
Jitter = Annotated[timedelta, _duration_in("0s", "1d")]

DEFAULT_ADAPTIVE_MIN = timedelta(minutes=5)
DEFAULT_ADAPTIVE_MAX = timedelta(hours=6)


class Schedule(BaseModel):
    """``every``, ``cron`` or ``adaptive = true`` (exactly one), plus ``jitter``; ``min`` and
    ``max`` bound an adaptive interval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Interval | None = None
    cron: Annotated[str, AfterValidator(check_cron)] | None = None
    adaptive: StrictBool = False
    min: Interval | None = None
    max: Interval | None = None
    jitter: Jitter = timedelta(0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Schedule:
        chosen = (self.every is not None) + (self.cron is not None) + self.adaptive
        if chosen != 1:
            raise ValueError("set exactly one of 'every', 'cron' or 'adaptive = true'")
        if not self.adaptive and (self.min is not None or self.max is not None):
            raise ValueError("'min' and 'max' bound an adaptive schedule: set 'adaptive = true'")
        if self.adaptive and self.lowest > self.highest:
            raise ValueError("'min' is longer than 'max'")
        return self

    @property
    def lowest(self) -> timedelta:
        """An adaptive schedule's shortest interval (``min``)."""
        return self.min if self.min is not None else DEFAULT_ADAPTIVE_MIN

    @property
    def highest(self) -> timedelta:
        """An adaptive schedule's longest interval (``max``)."""
        return self.max if self.max is not None else DEFAULT_ADAPTIVE_MAX

    @property
    def base_interval(self) -> timedelta | None:
        """The fixed interval, or an adaptive schedule's first guess (its ``min``); None for
        cron."""
        if self.every is not None:
            return self.every
        return self.lowest if self.adaptive else None

    def trigger(
        self, timezone: str, interval: timedelta | None = None
    ) -> IntervalTrigger | CronTrigger:
        """The APScheduler trigger for this schedule, in ``timezone`` (an IANA name); an
        adaptive one runs every ``interval`` (its current one) until re-planned."""
        jitter = int(self.jitter.total_seconds()) or None
        tz = ZoneInfo(timezone)
        every = self.every if self.every is not None else (interval or self.base_interval)
        if every is not None:
            return IntervalTrigger(seconds=every.total_seconds(), timezone=tz, jitter=jitter)
        minute, hour, day, month, day_of_week = str(self.cron).split()
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week,
            timezone=tz, jitter=jitter,
        )  # fmt: skip
