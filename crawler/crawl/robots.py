"""robots.txt fetched once per host, and reused by every feed, run and restart for a while.

Scrapy's ``RobotsTxtMiddleware`` keeps what it fetched for one crawl; every feed run is its
own crawl, so a monitor polling a site's feeds every few minutes would fetch its robots.txt
on every run, more often than the feeds themselves. :class:`RobotsCache` lives as long as
the runner, shares one download between crawls running at once, and keeps the body in the
database (``robots_txt``), so ``newsmon crawl`` from cron and a restarted service reuse it
too, until ``robots_txt_max_age`` has passed (RFC 9309 asks crawlers not to keep it much
longer than a day).

What is cached is the body as the rules read it: a 2xx body, or nothing at all for a 4xx
(no robots.txt means no restrictions, RFC 9309). A 5xx or a network error is not cached:
Scrapy's behaviour for it (crawl on, unrestricted) holds for that run and the next run asks
again. Each crawl parses the cached body once per host and signals ``robots_parsed``
(:class:`~crawler.crawl.middlewares.SharedRobotsTxtMiddleware`), so ``Crawl-delay`` reaches
the host guard exactly as with Scrapy's own middleware.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from crawler.store.store import Store


class RobotsCache:
    """robots.txt bodies by origin (``scheme://host:port``), in memory and in the store."""

    def __init__(self, store: Store, max_age: timedelta) -> None:
        self.store = store
        self.max_age = max_age
        self._memory: dict[str, tuple[datetime, bytes]] = {}
        self._fetching: dict[str, asyncio.Future[bytes | None]] = {}

    async def body(self, origin: str, fetch: Callable[[], Awaitable[bytes | None]]) -> bytes | None:
        """The origin's robots.txt: cached while fresh, else ``fetch()``-ed (once, however
        many crawls ask at the same time). None when it could not be had (not cached)."""
        fresh = self._fresh(origin)
        if fresh is not None:
            return fresh
        running = self._fetching.get(origin)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._fetching[origin] = future
        body: bytes | None = None
        try:
            body = await self._from_store_or_fetch(origin, fetch)
        finally:
            del self._fetching[origin]
            future.set_result(body)
        return body

    def _fresh(self, origin: str) -> bytes | None:
        held = self._memory.get(origin)
        if held is not None and _now() - held[0] < self.max_age:
            return held[1]
        return None

    async def _from_store_or_fetch(
        self, origin: str, fetch: Callable[[], Awaitable[bytes | None]]
    ) -> bytes | None:
        if self.max_age > timedelta(0):
            stored = await asyncio.to_thread(self.store.robots_txt, origin)
            if stored is not None and _now() - stored[1] < self.max_age:
                self._memory[origin] = (stored[1], stored[0])
                return stored[0]
        body = await fetch()
        if body is not None:
            fetched_at = _now()
            self._memory[origin] = (fetched_at, body)
            if self.max_age > timedelta(0):
                await asyncio.to_thread(self.store.save_robots_txt, origin, body, fetched_at)
        return body


def _now() -> datetime:
    return datetime.now(UTC)
