"""Downloader middlewares that make every feed crawl use the runner's per-host state.

Each request of every crawl asks the runner's :class:`~crawler.crawl.politeness.HostGuard`
for a slot of its host, after the back-off of a retry; robots.txt comes from the runner's
:class:`~crawler.crawl.robots.RobotsCache` (the modules of those two say why). Retries
themselves are Scrapy's ``RetryMiddleware``, untouched.

Built the way Scrapy builds its own components: ``from_crawler`` takes the settings and the
crawl's :class:`~crawler.crawl.context.CrawlContext` and hands plain values to
``__init__``; the host guard stays out of a crawl without a context (``NotConfigured``).
The robots.txt middleware extends Scrapy's, so Scrapy's constructor reads the
``ROBOTSTXT_*`` settings for its part and raises ``NotConfigured`` without
``ROBOTSTXT_OBEY``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    IgnoreRequest,
    NotConfigured,
)
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.error import DNSLookupError

from crawler.crawl.budget import BodyBytes, ResponseBudget
from crawler.crawl.context import FeedCrawler, context_of
from crawler.crawl.pauses import HostPaused, HostPauses
from crawler.crawl.politeness import HostGuard
from crawler.crawl.robots import RobotsCache
from crawler.crawl.stopping import RunStop
from crawler.extract.poll_hints import retry_after
from crawler.store.store import utcnow

log = logging.getLogger("crawler.crawl.politeness")
robots_log = logging.getLogger("crawler.crawl.robots")
# Failures of the host itself, which its pages then report too (see crawler.crawl.spider).
_HOST_UNREACHABLE = (CannotResolveHostError, DNSLookupError, DownloadConnectionRefusedError)


budget_log = logging.getLogger("crawler.crawl.budget")

SLOT_KEY = "newsmon_host_slot"
_BACKED_OFF_KEY = "newsmon_backed_off"  # the retry attempt whose back-off was waited out
RECHECK_KEY = "newsmon_recheck"  # a conditional re-check of a stored article
_BYTES_KEY = "newsmon_body_bytes"  # the article request's account in the ResponseBudget
# Retries wait base * 2**(attempt-1) seconds (with jitter), capped.
RETRY_BACKOFF_BASE = 1.0
RETRY_BACKOFF_CAP = 60.0


class RecheckDeferred(IgnoreRequest):
    """A re-check not sent: re-checks have their share of the host's requests already."""


class HostGuardMiddleware:
    """Placed next to the downloader (highest order number), so a request holds its host
    slot only while it is really on the wire.

    A request that Scrapy's RetryMiddleware sent again (5xx, timeouts, connection errors;
    never other 4xx) first waits exponentially longer with each attempt.
    """

    def __init__(
        self,
        guard: HostGuard,
        user_agent: str,
        stop: RunStop | None = None,
        pauses: HostPauses | None = None,
        revisit_share: float = 1.0,
    ) -> None:
        self.guard = guard
        self.user_agent = user_agent  # whose Crawl-delay to obey
        self.stop = stop or RunStop()  # a stopped crawl waits for neither back-off nor slot
        self.pauses = pauses
        self.revisit_share = revisit_share

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        context = context_of(crawler)
        user_agent = crawler.settings.get("USER_AGENT") or "*"
        share = context.run.settings.crawl.revisit_share
        middleware = cls(context.host_guard, user_agent, context.stop, context.pauses, share)
        crawler.signals.connect(middleware.robots_parsed, signal=signals.robots_parsed)
        return middleware

    async def process_request(self, request: Request) -> None:
        host = host_of(request)
        self._check_pause(host)
        attempt = int(request.meta.get("retry_times", 0))  # set by Scrapy's retries
        if attempt > request.meta.get(_BACKED_OFF_KEY, 0):
            # Once per attempt: a redirect of the retried request carries its meta along.
            request.meta[_BACKED_OFF_KEY] = attempt
            await self.stop.race(request, asyncio.sleep(retry_backoff(attempt)))
        recheck = bool(request.meta.get(RECHECK_KEY))
        token = await self.stop.race(request, self.guard.acquire(host))
        try:
            self._check_pause(host)  # it may have begun while this request waited
            # Checked and counted with no await between: concurrent re-checks see each other.
            if recheck and not self.guard.may_recheck(host, self.revisit_share):
                raise RecheckDeferred(f"{host}: re-checks at their share of requests")
        except IgnoreRequest:
            self.guard.release(token)
            raise
        self.guard.count(host, recheck)
        request.meta[SLOT_KEY] = token

    def _check_pause(self, host: str) -> None:
        if self.pauses is not None:
            until = self.pauses.paused_until(host)
            if until is not None:
                raise HostPaused(host, until)

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        if response.status in (429, 503) and self.pauses is not None:
            now = utcnow()
            value = response.headers.get(b"Retry-After")
            until = retry_after(value.decode("latin-1") if value else None, now)
            if until is not None and until > now:
                host = host_of(request)
                self.pauses.pause(host, until, response.status, now)
                paused = self.pauses.paused_until(host, now)
                if paused is not None:
                    raise HostPaused(host, paused)  # not retried: the host said when
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        self._release(request)

    def _release(self, request: Request) -> None:
        token = request.meta.pop(SLOT_KEY, None)
        if token is not None:
            self.guard.release(token)

    def robots_parsed(self, robotparser: Any, request: Request) -> None:
        # Scrapy's default robots parser wraps Protego, which knows Crawl-delay.
        protego = getattr(robotparser, "rp", None)
        if protego is None or not hasattr(protego, "crawl_delay"):
            return
        delay = protego.crawl_delay(self.user_agent)
        if delay:
            host = host_of(request)
            log.info("%s asks for Crawl-delay %s s; obeying", host, delay)
            self.guard.set_crawl_delay(host, float(delay))


class ResponseBudgetMiddleware:
    """Holds each article request back until the runner's :class:`ResponseBudget` has room
    for its host, and counts its bytes from the first one received.

    Placed after :class:`HostGuardMiddleware`: a request waits here holding its host slot,
    so a host has at most ``concurrent_requests_per_host`` requests admitted and not yet
    complete, and each of them brings at most ``max_page_bytes``. A retry or a redirect
    closes the earlier attempt's account and opens its own. An account is closed when the
    download fails, by :class:`ResponseBudgetSpiderMiddleware` once the page has been
    handled, and in any case when the response is freed; whatever a crawl still holds when
    it closes is given back then.
    """

    def __init__(self, budget: ResponseBudget, stop: RunStop) -> None:
        self.budget = budget
        self.stop = stop
        self._accounts: list[BodyBytes] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        context = context_of(crawler)
        if context.budget is None:
            raise NotConfigured("response memory is not capped in this crawl")
        middleware = cls(context.budget, context.stop)
        crawler.signals.connect(middleware.bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    async def process_request(self, request: Request) -> None:
        if "candidate" not in request.meta:  # only article pages: feed pages come one by one
            return
        self.stop.check(request)
        earlier: BodyBytes | None = request.meta.pop(_BYTES_KEY, None)
        if earlier is not None:  # a retry or a redirect: the earlier attempt's bytes are gone
            self.budget.release(earlier)
        account = await self.stop.race(request, self.budget.admit(host_of(request)))
        self._accounts.append(account)
        request.meta[_BYTES_KEY] = account

    def bytes_received(self, data: bytes, request: Request, **kwargs: Any) -> None:
        account = request.meta.get(_BYTES_KEY)
        if account is not None:
            self.budget.add(account, len(data))

    def process_response(self, request: Request, response: Response) -> Response:
        account = request.meta.get(_BYTES_KEY)
        if account is not None:
            self.budget.resize(account, len(response.body))
            # Whatever path the response takes (a middleware may turn it into an error the
            # spider middleware never sees), its bytes are free once it is.
            weakref.finalize(response, self.budget.release, account)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        account = request.meta.get(_BYTES_KEY)
        if account is not None:
            self.budget.release(account)

    def spider_closed(self) -> None:
        open_accounts = [account for account in self._accounts if not account.released]
        if open_accounts:  # a page cut short by a stop; otherwise a path that forgot one
            budget_log.debug(
                "crawl closed with %d response accounts open (%d bytes); released",
                len(open_accounts),
                sum(account.size for account in open_accounts),
            )
        for account in open_accounts:
            self.budget.release(account)
        self._accounts.clear()


def release_response_bytes(request: Request) -> None:
    """Give back what a failed article request held (its errback calls this): a middleware
    that turns a response into an error (a redirect loop, a decompression bomb) ends its
    path where no other component sees it."""
    account: BodyBytes | None = request.meta.get(_BYTES_KEY)
    if account is not None and account.budget is not None:
        account.budget.release(account)


class ResponseBudgetSpiderMiddleware:
    """Counts an article response at the size the spider gets it (decompressed), and
    closes its account in the :class:`ResponseBudget` once the page has been handled: after
    the item pipeline (stored, skipped or dropped), or when the callback or errback yielded
    no item (an empty page, an HTTP error)."""

    def __init__(self, budget: ResponseBudget) -> None:
        self.budget = budget

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        budget = context_of(crawler).budget
        if budget is None:
            raise NotConfigured("response memory is not capped in this crawl")
        middleware = cls(budget)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(middleware.item_done, signal=signal)
        return middleware

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        has_item = False
        try:
            for output in result:
                has_item = has_item or not isinstance(output, Request)
                yield output
        finally:
            if not has_item:
                self._release(response)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        has_item = False
        try:
            async for output in result:
                has_item = has_item or not isinstance(output, Request)
                yield output
        finally:
            if not has_item:
                self._release(response)

    def process_spider_exception(self, response: Response, exception: Exception) -> None:
        self._release(response)

    def item_done(self, response: Response | None = None, **kwargs: Any) -> None:
        if response is not None:
            self._release(response)

    def _release(self, response: Response) -> None:
        if not isinstance(response, Response) or response.request is None:
            return
        account = response.meta.get(_BYTES_KEY)
        if account is not None:
            self.budget.release(account)


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, fed from the runner's :class:`RobotsCache`; with no
    cache in the crawl's context it behaves exactly like Scrapy's."""

    def __init__(self, crawler: Crawler, cache: RobotsCache | None) -> None:
        # Scrapy's part reads the ROBOTSTXT_* settings (NotConfigured without
        # ROBOTSTXT_OBEY): it is built as Scrapy builds it, with the cache added.
        super().__init__(crawler)
        self.cache = cache

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        # Obeyed in any crawl: one that no runner started gets Scrapy's per-crawl fetch.
        return cls(crawler, crawler.context.robots if isinstance(crawler, FeedCrawler) else None)

    async def robot_parser(self, request: Request) -> Any:
        if self.cache is None:
            return await super().robot_parser(request)
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc in self._parsers:  # this crawl parsed it already
            return self._parsers[netloc]
        origin = f"{url.scheme}://{netloc}"
        body = await self.cache.body(origin, lambda: self._download(origin))
        if netloc in self._parsers:  # another request of this crawl got here first
            return self._parsers[netloc]
        if body is None:
            self._parsers[netloc] = None
            return None
        parser = build_from_crawler(self._parserimpl, self.crawler, body)
        self._parsers[netloc] = parser
        await self.crawler.signals.send_catch_log_async(
            signal=signals.robots_parsed, robotparser=parser, request=request
        )
        return parser

    async def _download(self, origin: str) -> bytes | None:
        robots_request = Request(
            f"{origin}/robots.txt",
            priority=self.DOWNLOAD_PRIORITY,
            meta={"dont_obey_robotstxt": True},
            callback=NO_CALLBACK,
        )
        self._stats.inc_value("robotstxt/request_count")
        try:
            assert self.crawler.engine is not None
            response = await self.crawler.engine.download_async(robots_request)
        except IgnoreRequest:
            return None
        except Exception as exc:  # unreachable: crawl on unrestricted, as Scrapy does
            # A host that does not resolve or refuses connections fails its pages the same
            # way, and each page's failure is logged: one warning per failure, not two.
            quiet = isinstance(exc, _HOST_UNREACHABLE)
            robots_log.log(
                logging.DEBUG if quiet else logging.WARNING,
                "%s/robots.txt: %s; crawling without its rules",
                origin,
                exc,
            )
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
            return None
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        if 400 <= response.status < 500:
            return b""  # no robots.txt: no restrictions (RFC 9309)
        if response.status >= 500:
            robots_log.warning(
                "%s/robots.txt answered %d; crawling without its rules this run",
                origin,
                response.status,
            )
            return None
        return bytes(response.body)


def retry_backoff(attempt: int) -> float:
    """Seconds retry ``attempt`` (1, 2, …) waits: base * 2**(attempt-1), capped, ±20 %."""
    delay: float = min(RETRY_BACKOFF_CAP, RETRY_BACKOFF_BASE * 2 ** (attempt - 1))
    return delay * random.uniform(0.8, 1.2)


def host_of(request: Request) -> str:
    """host:port — one server's budget (the port matters only for non-default ports)."""
    return (urlparse_cached(request).netloc or "").lower()
