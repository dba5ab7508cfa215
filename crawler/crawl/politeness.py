"""Politeness that holds across feeds: one budget per host for the whole process.

Scrapy enforces ``DOWNLOAD_DELAY`` and per-domain concurrency per ``Crawler``; every feed
run is its own crawler, so two feeds of one site running at once would double the load on
it. :class:`HostGuard` lives in the runner and is shared by every crawl; a downloader
middleware (:class:`~crawler.crawl.middlewares.HostGuardMiddleware`) asks it for a slot
before each request and gives the slot back when the response (or the failure) arrives.
A host's robots.txt ``Crawl-delay`` widens its spacing. The spacing counts from the later
of when a request reaches the download handler (:meth:`HostGuard.sent`) and when its
response came back (:meth:`HostGuard.release`), not from when it took its slot: on a busy
machine a request can wait in Scrapy's downloader queue, or in the reactor after the
handler, a good part of the delay, and the server would see the next one too soon. Its
response is the one moment known to come after the server saw it.

Re-checks of stored articles for edits may take only a share of a host's requests
(``[crawl] revisit_share``), counted over its last RECENT_REQUESTS requests.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

RECENT_REQUESTS = 50


@dataclass
class _Host:
    slots: asyncio.Semaphore
    spacing: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float = float("-inf")
    crawl_delay: float = 0.0
    # True for each re-check among the host's recent requests, False for other requests.
    recent: deque[bool] = field(default_factory=lambda: deque(maxlen=RECENT_REQUESTS))


class HostGuard:
    """Per-host concurrency limit and minimum spacing between request starts."""

    def __init__(self, concurrency: int, delay: float) -> None:
        self.concurrency = max(1, concurrency)
        self.delay = max(0.0, delay)
        self._hosts: dict[str, _Host] = {}

    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _Host(asyncio.Semaphore(self.concurrency))
        return state

    def set_crawl_delay(self, host: str, seconds: float) -> None:
        self._host(host).crawl_delay = max(0.0, seconds)

    def may_recheck(self, host: str, share: float) -> bool:
        """Whether one more re-check keeps re-checks within ``share`` of the host's recent
        requests (the re-check itself counted)."""
        recent = self._host(host).recent
        return (sum(recent) + 1) / (len(recent) + 1) <= share

    def count(self, host: str, recheck: bool) -> None:
        self._host(host).recent.append(recheck)

    def reconfigure(self, concurrency: int, delay: float) -> None:
        """New limits for requests from now on; requests in flight release their old slot."""
        self.concurrency, self.delay = max(1, concurrency), max(0.0, delay)
        self._hosts = {}

    async def acquire(self, host: str) -> _Host:
        """Wait for a slot of ``host``; give the returned token back to :meth:`release`."""
        state = self._host(host)
        await state.slots.acquire()
        try:
            async with state.spacing:
                loop = asyncio.get_running_loop()
                gap = max(self.delay, state.crawl_delay)
                wait = state.last_start + gap - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                state.last_start = loop.time()
        except BaseException:
            state.slots.release()
            raise
        return state

    def sent(self, token: _Host) -> None:
        """The request holding ``token`` is leaving now: later requests of its host are
        spaced from this moment."""
        token.last_start = max(token.last_start, asyncio.get_running_loop().time())

    def release(self, token: _Host) -> None:
        """The response (or failure) of the request holding ``token`` is in: the next
        request of its host is spaced from now at the earliest."""
        token.last_start = max(token.last_start, asyncio.get_running_loop().time())
        token.slots.release()

    async def settle(self, host: str) -> None:
        """Wait out ``host``'s delay once its requests are done. A cluster worker waits so at
        the end of a run, so that the host's next run, on whichever machine, starts no
        sooner than the delay after this run's last request. The whole delay, from now:
        a request may reach the wire a while after it took its slot (measured: 60 ms on a
        busy machine), but never after its response came back."""
        state = self._hosts.get(host)
        if state is None:
            return
        gap = max(self.delay, state.crawl_delay)
        if gap > 0:
            await asyncio.sleep(gap)
