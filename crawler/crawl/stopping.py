"""Stopping one feed crawl early: at its ``max_run_time``, or when the service stops.

A Scrapy engine that is asked to stop waits for every request in flight, and a hostile
server can keep one in flight for ``timeout`` seconds per attempt (a page trickled a byte at
a time), times the retries. So a crawl is stopped in two steps: its :class:`RunStop` is set,
which cancels the downloads in flight (the download handler of
:mod:`crawler.crawl.download_handler` drops the connection) and makes every request still
waiting for a host slot, a back-off or response memory give up at once
(:class:`RunStopped`); then the engine is stopped and only has
finished requests left to wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request


class RunStopped(IgnoreRequest):
    """A request given up because its crawl was stopped (not a failure of the page)."""


class RunStop:
    """Set once per crawl, with the reason; waits race against it."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._event = asyncio.Event()

    @property
    def is_set(self) -> bool:
        return self.reason is not None

    def set(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            self._event.set()

    def check(self, request: Request) -> None:
        """Raise :class:`RunStopped` once the crawl is stopping."""
        if self.reason is not None:
            raise RunStopped(f"{request.url}: {self.reason}")

    async def wait(self) -> None:
        await self._event.wait()

    async def race(self, request: Request, waiting: Any) -> Any:
        """Await ``waiting`` (a coroutine or future) unless the crawl stops first; then
        cancel it and raise :class:`RunStopped`."""
        self.check(request)
        task = asyncio.ensure_future(waiting)
        stopped = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not task.done():  # stopped, or this wait itself was cancelled
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if task.cancelled():
            self.check(request)
        return task.result()
