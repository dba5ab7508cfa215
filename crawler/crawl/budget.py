"""Response memory: a cap on the bytes of article responses a runner holds at once.

A response body lives from its first byte on the wire until the item pipeline has parsed
and stored it; meanwhile it sits in Scrapy's download buffer, the scraper, the queue of the
parser processes. Downloads on a fast network outrun the parsers, so without a cap a host
serving pages just under ``max_page_bytes`` fills memory with bodies waiting to be parsed.

:class:`ResponseBudget` lives in the runner, shared by every crawl. It counts the bytes of
each article request from the first byte received (Scrapy's ``bytes_received`` signal),
replaces the count with the decompressed body's size once the response is complete, and
forgets them once the page has been handled (stored, skipped or failed). A new article
request goes on the wire only while its host holds less than ``HOST_FACTOR`` ×
``max_page_bytes`` and the runner less than ``PROCESS_FACTOR`` × ``max_page_bytes``;
otherwise it waits, and so does the crawl behind it (back-pressure instead of buffering).

The bound: bytes held stay under the cap plus what the requests already on the wire bring
(each at most ``max_page_bytes``; per host at most ``concurrent_requests_per_host`` of them).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

HOST_FACTOR = 4  # a host's article bodies held at once, in max_page_bytes
PROCESS_FACTOR = 8  # the runner's, in max_page_bytes: two busy hosts, or one and the rest


class BodyBytes:
    """The bytes one article request holds; :meth:`ResponseBudget.release` it once done."""

    __slots__ = ("__weakref__", "budget", "host", "released", "size")

    def __init__(self, host: str, budget: ResponseBudget | None = None) -> None:
        self.budget = budget
        self.host = host
        self.size = 0
        self.released = False


class ResponseBudget:
    """Bytes of article responses held, per host and in all; admission waits under a cap."""

    def __init__(self, max_page_bytes: int) -> None:
        self.host_cap = HOST_FACTOR * max_page_bytes
        self.process_cap = PROCESS_FACTOR * max_page_bytes
        self.held = 0
        self.peak = 0  # the most ever held, for logs and tests
        self._by_host: defaultdict[str, int] = defaultdict(int)
        self._freed = asyncio.Event()  # replaced by a fresh one each time bytes are freed

    def reconfigure(self, max_page_bytes: int) -> None:
        self.host_cap = HOST_FACTOR * max_page_bytes
        self.process_cap = PROCESS_FACTOR * max_page_bytes

    def held_by(self, host: str) -> int:
        return self._by_host.get(host, 0)

    def has_room(self, host: str) -> bool:
        return self.held < self.process_cap and self._by_host.get(host, 0) < self.host_cap

    async def admit(self, host: str) -> BodyBytes:
        """Wait until ``host`` and the runner are under their caps; the returned account
        counts the request's bytes from now on."""
        while not self.has_room(host):
            await self._freed.wait()
        return BodyBytes(host, self)

    def add(self, account: BodyBytes, size: int) -> None:
        self.resize(account, account.size + size)

    def resize(self, account: BodyBytes, size: int) -> None:
        if account.released:
            return
        change = size - account.size
        account.size = size
        self.held += change
        self._by_host[account.host] += change
        self.peak = max(self.peak, self.held)
        if change < 0:
            self._notify()

    def release(self, account: BodyBytes) -> None:
        if account.released:
            return
        self.resize(account, 0)
        account.released = True
        if not self._by_host[account.host]:
            del self._by_host[account.host]

    def _notify(self) -> None:
        freed, self._freed = self._freed, asyncio.Event()
        freed.set()
