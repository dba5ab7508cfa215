"""Scrapy's HTTP/1.1 download handler, made to drop its downloads when a run stops.

A server that trickles a page a byte at a time would otherwise hold a stopping crawl for
``timeout`` per attempt: the handler races each download against the crawl's
:class:`~crawler.crawl.stopping.RunStop`. It also tells the host guard when a request
really leaves, so the host's spacing counts from there.
"""

from __future__ import annotations

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from crawler.crawl.context import FeedCrawler
from crawler.crawl.middlewares import SLOT_KEY


class CancellableDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, with every download cancelled (its connection closed)
    when the crawl's :class:`RunStop` is set. Crawls without a RunStop (none started by a
    runner) download exactly as with Scrapy's handler."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        context = crawler.context if isinstance(crawler, FeedCrawler) else None
        self.stop = context.stop if context is not None else None
        self.guard = context.host_guard if context is not None else None

    async def download_request(self, request: Request) -> Response:
        token = request.meta.get(SLOT_KEY)
        if self.guard is not None and token is not None:
            self.guard.sent(token)
        if self.stop is None:
            return await super().download_request(request)
        response: Response = await self.stop.race(request, super().download_request(request))
        return response
