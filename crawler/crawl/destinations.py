"""Where the crawler may connect: public addresses, and the host:port pairs feeds name.

Feed items and redirects come from the sites crawled, so without a policy anyone who can
put a link in a feed could make the crawler request (and store) an admin port on the
crawler's own host or its private network. Every request of a crawl — feed pages, article
pages, redirects, robots.txt, child sitemaps — is therefore refused when it would reach a
loopback, private, link-local, multicast, unspecified or reserved address (IPv4 or IPv6,
IPv4-mapped IPv6 judged by its IPv4 address), unless its host:port is one that a configured
feed URL names itself (a monitor of an intranet feed must still reach it).
``[crawl] allow_private_networks = true`` lifts the policy.

Two parts, because Scrapy resolves host names deep inside its download handler:

* :class:`DestinationPolicyMiddleware`, a downloader middleware placed before
  robots.txt handling, so a refused destination costs no robots.txt fetch either. It
  judges IP literals, and resolves a host name through the reactor's (caching) resolver
  to judge its answer. A redirect is a new request and passes it again. It records a
  refusal once per destination per run, in the run's problems and Scrapy's stats
  (``destinations/refused``, ``destinations/refused_requests``), and lets the crawl go on.
* :class:`GuardedNameResolver`, wrapped around the reactor's name resolver, so the address
  actually connected to is checked too: it drops non-public answers for every name that no
  running crawl trusts, so a DNS answer that changes between the middleware's look-up and
  the connection cannot smuggle a request through. The resolver serves the whole process
  and sees names only (no ports), so it trusts the hosts of the running crawls' feed URLs
  (and of the proxies Scrapy takes from the environment); the middleware holds each crawl
  to its own host:port pairs.

A destination is named as written: a feed on ``127.0.0.1:8080`` does not allow
``localhost:8080``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol
from urllib.parse import ParseResult, SplitResult, urlsplit
from urllib.request import getproxies

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from w3lib.url import safe_url_string
from zope.interface import classImplements  # type: ignore[import-untyped]

from crawler.config import Settings
from crawler.crawl.context import context_of
from crawler.crawl.feedrun import FeedRun

log = logging.getLogger("crawler.crawl.destinations")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Destination = tuple[str, int]  # (host as in the URL, lowercase; port, default filled in)

DEFAULT_PORTS = {"http": 80, "https": 443}
HINT = "not a configured feed's own host:port; [crawl] allow_private_networks is off"


def non_public_kind(address: IPAddress) -> str | None:
    """Why ``address`` is no place to fetch from ("loopback", "private", ...); None when
    it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 and 6to4's 2002:7f00:1:: reach the IPv4 address inside them.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return non_public_kind(embedded)
    flags = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
    )
    for kind, flag in flags:
        if flag:
            return kind
    if not address.is_global:  # e.g. the carrier-grade NAT range 100.64.0.0/10
        return "non-global"
    return None


def ip_literal(host: str) -> IPAddress | None:
    """The address a URL's host spells literally; None for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def destination_of(parts: SplitResult | ParseResult) -> Destination | None:
    """(host, port) of an http(s) URL; None for anything else or a malformed port."""
    default = DEFAULT_PORTS.get(parts.scheme)
    try:
        port = parts.port or default
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if default is None or port is None or not host:
        return None
    return host, port


def show_destination(destination: Destination) -> str:
    host, port = destination
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def proxy_hosts() -> frozenset[str]:
    """Hosts of the proxies Scrapy takes from the environment (``http_proxy``...): the
    operator's choice, so the resolver lets them be private."""
    hosts = set()
    for scheme, url in getproxies().items():
        if scheme == "no":
            continue
        host = urlsplit(url if "://" in url else f"//{url}").hostname
        if host:
            hosts.add(host.rstrip("."))
    return frozenset(hosts)


@dataclass(frozen=True)
class DestinationPolicy:
    """What one crawl may reach besides public addresses."""

    allow_private_networks: bool = False
    feed_destinations: frozenset[Destination] = frozenset()
    # Names whose non-public answers the resolver passes (it sees no ports).
    trusted_names: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Settings) -> DestinationPolicy:
        # safe_url_string: as Scrapy spells a Request's URL (IDNA host, escaped path).
        named = (destination_of(urlsplit(safe_url_string(feed.url))) for feed in settings.feeds)
        feed_destinations = frozenset(d for d in named if d is not None)
        return cls(
            allow_private_networks=settings.crawl.allow_private_networks,
            feed_destinations=feed_destinations,
            trusted_names=frozenset(host for host, _ in feed_destinations) | proxy_hosts(),
        )

    def trusts_name(self, name: str) -> bool:
        return self.allow_private_networks or name in self.trusted_names


class ActivePolicies:
    """The policies of the crawls running in this process, for the one resolver."""

    def __init__(self) -> None:
        self._policies: Counter[DestinationPolicy] = Counter()

    def add(self, policy: DestinationPolicy) -> None:
        self._policies[policy] += 1

    def remove(self, policy: DestinationPolicy) -> None:
        self._policies[policy] -= 1
        if self._policies[policy] <= 0:
            del self._policies[policy]

    def trust_name(self, name: str) -> bool:
        name = name.lower().rstrip(".")
        return any(policy.trusts_name(name) for policy in self._policies)


ACTIVE_POLICIES = ActivePolicies()


# Twisted's resolver interfaces are zope interfaces, which mypy cannot check an
# implementation against; these protocols say the same for the parts used here.
class _Receiver(Protocol):
    def resolutionBegan(self, resolution: object) -> None: ...
    def addressResolved(self, address: object) -> None: ...
    def resolutionComplete(self) -> None: ...


class _NameResolver(Protocol):
    def resolveHostName(
        self,
        resolutionReceiver: _Receiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[object]] | None = None,
        transportSemantics: str = "TCP",
    ) -> object: ...


def _answer(address: object) -> IPAddress | None:
    host = getattr(address, "host", None)
    return ip_literal(host) if isinstance(host, str) else None


class _PublicAnswers:
    """Passes a resolution on without its non-public addresses."""

    def __init__(self, receiver: _Receiver, name: str) -> None:
        self.receiver = receiver
        self.name = name

    def resolutionBegan(self, resolution: object) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: object) -> None:
        answer = _answer(address)
        kind = non_public_kind(answer) if answer is not None else "unreadable"
        if kind is None:
            self.receiver.addressResolved(address)
        else:
            log.debug("%s resolves to a %s address (%s): not connecting", self.name, kind, answer)

    def resolutionComplete(self) -> None:
        self.receiver.resolutionComplete()


class _Collector:
    """Collects a resolution's addresses into an asyncio future."""

    def __init__(self, done: asyncio.Future[list[IPAddress]]) -> None:
        self.done = done
        self.addresses: list[IPAddress] = []

    def resolutionBegan(self, resolution: object) -> None:
        pass

    def addressResolved(self, address: object) -> None:
        answer = _answer(address)
        if answer is not None:
            self.addresses.append(answer)

    def resolutionComplete(self) -> None:
        if not self.done.done():
            self.done.set_result(self.addresses)


class GuardedNameResolver:
    """The reactor's name resolver, minus non-public answers for names no running crawl
    trusts. Caching stays with the resolver wrapped (Scrapy's, installed by the runner)."""

    def __init__(self, inner: _NameResolver, active: ActivePolicies = ACTIVE_POLICIES) -> None:
        self.inner = inner
        self.active = active

    def resolveHostName(
        self, resolutionReceiver: _Receiver, hostName: str, *rest: Any, **options: Any
    ) -> object:
        # IHostnameResolver's other arguments (port, address types, transport) pass through.
        receiver = resolutionReceiver
        if not self.active.trust_name(hostName):
            receiver = _PublicAnswers(resolutionReceiver, hostName)
        return self.inner.resolveHostName(receiver, hostName, *rest, **options)

    async def addresses(self, name: str) -> list[IPAddress]:
        """Every answer for ``name``, unfiltered, from the same (cached) resolver that the
        connection will ask; empty when the name does not resolve."""
        done: asyncio.Future[list[IPAddress]] = asyncio.get_running_loop().create_future()
        self.inner.resolveHostName(_Collector(done), name)
        return await done


classImplements(_PublicAnswers, IResolutionReceiver)
classImplements(_Collector, IResolutionReceiver)
classImplements(GuardedNameResolver, IHostnameResolver)


def install_guard() -> GuardedNameResolver:
    """Wrap the reactor's name resolver (once; again if something replaced it)."""
    from twisted.internet import reactor

    installed: Any = reactor
    current = installed.nameResolver
    if isinstance(current, GuardedNameResolver):
        return current
    guard = GuardedNameResolver(current)
    installed.installNameResolver(guard)
    return guard


class DestinationRefused(IgnoreRequest):
    """A request the destination policy refused; the middleware has recorded it."""


class DestinationPolicyMiddleware:
    """Refuses requests to non-public addresses (see the module docstring)."""

    def __init__(
        self, crawler: Crawler, run: FeedRun | None, guard: GuardedNameResolver | None = None
    ) -> None:
        self.crawler = crawler
        self.run = run
        self.guard = guard
        # A crawl that no FeedRunner started gets the strict policy, its refusals only logged.
        self.policy = (
            DestinationPolicy() if run is None else DestinationPolicy.from_settings(run.settings)
        )
        self._opened = False
        self._refused: set[Destination] = set()
        crawler.signals.connect(self._spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DestinationPolicyMiddleware:
        try:
            run: FeedRun | None = context_of(crawler).run
        except NotConfigured:  # never off: a plain crawl is held to the strict policy
            run = None
        return cls(crawler, run)

    def _spider_opened(self, spider: Spider) -> None:
        if self.guard is None:
            self.guard = install_guard()
        self.guard.active.add(self.policy)
        self._opened = True

    def _spider_closed(self, spider: Spider) -> None:
        if self._opened and self.guard is not None:
            self.guard.active.remove(self.policy)
            self._opened = False

    async def process_request(self, request: Request) -> None:
        parts = urlparse_cached(request)
        if parts.scheme not in DEFAULT_PORTS:  # file:, ftp:, s3: ... would not be HTTP at all
            self._refuse(request, None, f"{parts.scheme}: is not an http(s) URL")
        destination = destination_of(parts)
        why = await self._why_refused(destination)
        if why is not None:
            self._refuse(request, destination, why)

    def process_response(self, request: Request, response: Response) -> Response:
        """The address the response came from, in case DNS changed after the check."""
        address = response.ip_address
        if address is None or self.policy.allow_private_networks or request.meta.get("proxy"):
            return response
        destination = destination_of(urlparse_cached(request))
        if destination is None or destination in self.policy.feed_destinations:
            return response
        kind = non_public_kind(address)
        if kind is not None:
            self._refuse(request, destination, f"was answered from a {kind} address ({address})")
        return response

    async def process_exception(self, request: Request, exception: BaseException) -> None:
        # The guard dropping every answer looks like a name that does not resolve; say why.
        if isinstance(exception, (CannotResolveHostError, DNSLookupError)):
            destination = destination_of(urlparse_cached(request))
            why = await self._why_refused(destination)
            if why is not None:
                self._refuse(request, destination, why)

    async def _why_refused(self, destination: Destination | None) -> str | None:
        policy = self.policy
        if (
            destination is None
            or policy.allow_private_networks
            or destination in policy.feed_destinations
        ):
            return None
        host = destination[0]
        literal = ip_literal(host)
        if literal is not None:
            kind = non_public_kind(literal)
            return f"is a {kind} address" if kind else None
        if self.guard is None:
            self.guard = install_guard()
        for address in await self.guard.addresses(host):
            kind = non_public_kind(address)
            if kind is not None:
                return f"resolves to a {kind} address ({address})"
        return None

    def _refuse(self, request: Request, destination: Destination | None, why: str) -> NoReturn:
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value("destinations/refused_requests")
        key = destination or ("", 0)
        where = show_destination(destination) if destination else ""
        if key not in self._refused:
            self._refused.add(key)
            if stats is not None:
                stats.inc_value("destinations/refused")
            reason = f"refused: {where} {why} ({HINT})" if where else f"refused: {why}"
            if self.run is not None:
                self.run.problem(request.url, reason)  # logs it, counts it in the run
            else:
                log.warning("%s: %s", request.url, reason)
        raise DestinationRefused(f"{where} {why}".strip())
