"""Politeness that holds across feeds: one budget per host for the whole process.

Scrapy enforces ``DOWNLOAD_DELAY`` and per-domain concurrency per ``Crawler``; every feed
run is its own crawler, so two feeds of one site running at once would double the load on
it. :class:`HostGuard` lives in the service and is shared by every crawl; the downloader
middleware below asks it for a slot before each request and gives the slot back when the
response (or the failure) arrives. It also applies robots.txt ``Crawl-delay`` and the
back-off that :class:`BackoffRetryMiddleware` puts on retried requests.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

log = logging.getLogger("crawler.crawl.politeness")

_SLOT_KEY = "newsmon_host_slot"
_NOT_BEFORE_KEY = "newsmon_not_before"
# Retries wait base * 2**(attempt-1) seconds (with jitter), capped.
RETRY_BACKOFF_BASE = 1.0
RETRY_BACKOFF_CAP = 60.0


@dataclass
class _Host:
    slots: asyncio.Semaphore
    spacing: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float = float("-inf")
    crawl_delay: float = 0.0


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

    def release(self, token: _Host) -> None:
        token.slots.release()


class HostGuardMiddleware:
    """Downloader middleware placed next to the downloader (highest order number), so a
    request holds its host slot only while it is really on the wire."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        crawler.signals.connect(self._robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGuardMiddleware:
        return cls(crawler)

    @property
    def guard(self) -> HostGuard:
        # The guard is shared by every crawl of the process, so it cannot travel in
        # Scrapy's settings (each crawler deep-copies them): the spider's run carries it.
        guard = getattr(getattr(self.crawler.spider, "run", None), "host_guard", None)
        if not isinstance(guard, HostGuard):
            raise NotConfigured("the spider's run carries no HostGuard")
        return guard

    async def process_request(self, request: Request) -> None:
        not_before = request.meta.get(_NOT_BEFORE_KEY)
        if not_before is not None:
            wait = not_before - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
        request.meta[_SLOT_KEY] = await self.guard.acquire(host_of(request))

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        token = request.meta.pop(_SLOT_KEY, None)
        if token is not None:
            self.guard.release(token)

    def _robots_parsed(self, robotparser: Any, request: Request) -> None:
        # Scrapy's default robots parser wraps Protego, which knows Crawl-delay.
        protego = getattr(robotparser, "rp", None)
        if protego is None or not hasattr(protego, "crawl_delay"):
            return
        agent = self.crawler.settings.get("USER_AGENT") or "*"
        delay = protego.crawl_delay(agent)
        if delay:
            host = host_of(request)
            log.info("%s asks for Crawl-delay %s s; obeying", host, delay)
            self.guard.set_crawl_delay(host, float(delay))


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (5xx, timeouts, connection errors; never other 4xx), spaced out:
    a retried request waits exponentially longer before it asks for a host slot again."""

    def _retry(self, request: Request, reason: str | Exception | type[Exception]) -> Request | None:
        retry = super()._retry(request, reason)
        if retry is not None:
            attempt = int(retry.meta.get("retry_times", 1))
            delay = min(RETRY_BACKOFF_CAP, RETRY_BACKOFF_BASE * 2 ** (attempt - 1))
            delay *= random.uniform(0.8, 1.2)
            retry.meta[_NOT_BEFORE_KEY] = asyncio.get_event_loop().time() + delay
        return retry


def host_of(request: Request) -> str:
    """host:port — one server's budget (the port matters only for non-default ports)."""
    return (urlparse_cached(request).netloc or "").lower()
