"""Hosts that asked us to stay away: 429/503 with ``Retry-After`` pauses the whole host.

One :class:`HostPauses` per runner, shared by every crawl (like the host guard): while a
host is paused, no feed or article request goes to it (:class:`HostPaused`, raised by
:class:`~crawler.crawl.middlewares.HostGuardMiddleware`). A pause is bounded by
``[crawl] retry_after_cap``, logged once, saved in ``host_pauses`` so a restart keeps it,
and never counts as a failure of a feed: the feed's next run simply waits for it
(crawler.timetable).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from scrapy.exceptions import IgnoreRequest

from crawler.store.store import utcnow

log = logging.getLogger("crawler.crawl.politeness")


class HostPaused(IgnoreRequest):
    """A request not sent: its host is paused (it answered 429/503 with Retry-After)."""

    def __init__(self, host: str, until: datetime) -> None:
        super().__init__(f"{host} is paused until {until.isoformat(timespec='seconds')}")
        self.host, self.until = host, until


class HostPauses:
    def __init__(self, cap: timedelta) -> None:
        self.cap = cap
        self._until: dict[str, datetime] = {}
        # Called with (host, until, status) when a pause starts or grows: saves it.
        self.on_pause: Callable[[str, datetime, int], None] | None = None

    def load(self, pauses: dict[str, tuple[datetime, int]]) -> None:
        """The pauses a previous process saved."""
        for host, (until, _status) in pauses.items():
            self._until[host] = max(until, self._until.get(host, until))

    def paused_until(self, host: str, now: datetime | None = None) -> datetime | None:
        until = self._until.get(host)
        if until is None:
            return None
        if until <= (now or utcnow()):
            del self._until[host]
            return None
        return until

    def pause(self, host: str, until: datetime, status: int, now: datetime | None = None) -> bool:
        """Pause ``host`` until ``until`` (at most ``cap`` from now); True when this starts
        or lengthens its pause (then it is logged and saved), False when it was paused at
        least that long already."""
        now = now or utcnow()
        until = min(until, now + self.cap)
        if until <= now:
            return False
        current = self.paused_until(host, now)
        if current is not None and current >= until:
            return False
        self._until[host] = until
        log.warning(
            "%s answered %d with Retry-After: no request to it until %s",
            host,
            status,
            until.isoformat(timespec="seconds"),
        )
        if self.on_pause is not None:
            self.on_pause(host, until, status)
        return True
