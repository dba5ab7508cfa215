"""The destination policy: no request to loopback, private and other non-public addresses,
except the host:port pairs configured feed URLs name (crawler.crawl.destinations).

End to end, ``newsmon crawl`` runs in a subprocess (as in test_end_to_end.py) against a
feed site on 127.0.0.1:A whose feed and sitemap point at an "internal" server on port B of
127.0.0.1 and 127.0.0.2 under several spellings (IP literals, an IPv4-mapped IPv6 literal,
a decimal address, ``localhost``) and whose articles redirect there. The internal servers
record every request they get: with the policy on they must get none.
"""

from __future__ import annotations

import asyncio
import html
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import signals
from scrapy.exceptions import CannotResolveHostError
from scrapy.http import Request, Response
from scrapy.utils.test import get_reactor_settings
from sqlalchemy import select
from twisted.internet.address import IPv4Address

from crawler.config import Settings, parse_settings
from crawler.crawl.context import CrawlContext, FeedCrawler
from crawler.crawl.destinations import (
    ActivePolicies,
    DestinationPolicy,
    DestinationPolicyMiddleware,
    DestinationRefused,
    GuardedNameResolver,
    non_public_kind,
)
from crawler.crawl.feedrun import FeedRun
from crawler.crawl.politeness import HostGuard
from crawler.crawl.spider import FeedSpider
from crawler.crawl.workers import ArticleWorkers
from crawler.errors import SettingsError
from crawler.store.models import Article, CrawlRun
from crawler.store.store import Store
from crawler.urls import normalize_url
from tests.loopback import LoopbackServer

CRAWL = {
    "user_agent": "newsmon-tests/0.1 (+https://example.invalid/contact)",
    "download_delay": 0,
    "concurrent_requests_per_host": 8,
    "timeout": 5,
    "retries": 1,  # a retried refusal must not be recorded twice
}
SECRET = "internal-admin-token-5f2c"
GOOD = {
    "/articles/harbour": "Harbour wall to be rebuilt after winter storms",
    "/articles/ferry": "Ferry timetable changes for the spring season",
}
PARAGRAPHS = (
    "The regional council approved the plan on Tuesday after a debate that lasted most of "
    "the afternoon, with members from every group speaking for and against the proposal.",
    "Engineers said the work would take two summers and that the harbour would stay open "
    "throughout, although the outer berths will close in turn for a few weeks each.",
    "Fishing crews welcomed the plan but asked for the work to pause during the autumn "
    "herring season, when the harbour is at its busiest and every berth is needed.",
)


def article_html(title: str, extra: str = "") -> bytes:
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in (*PARAGRAPHS, extra) if p)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta property="og:type" content="article">'
        '<meta property="article:published_time" content="2024-03-12T09:00:00+00:00">'
        f"</head>\n<body><main><article><h1>{html.escape(title)}</h1>\n{paragraphs}\n"
        "</article></main></body></html>\n"
    ).encode()


@dataclass
class Recorder:
    """A server that answers every path with a page holding a secret, and records it."""

    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.paths.append(request.path)
        if request.path == "/robots.txt":
            body, content_type = b"User-agent: *\nDisallow:\n", "text/plain"
        else:
            title = f"Internal page {request.path}"
            body, content_type = article_html(title, f"Token {SECRET}."), "text/html"
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def requested(self) -> list[str]:
        with self.lock:
            return list(self.paths)


class FeedSite(Recorder):
    """The configured feed site: an RSS feed and a sitemap index on 127.0.0.1:A."""

    def __init__(self, items: list[str], redirects: dict[str, str], children: list[str]):
        super().__init__()
        self.items, self.redirects, self.children = items, redirects, children

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.paths.append(request.path)
        path = request.path
        if path in self.redirects:
            request.send_response(302)
            request.send_header("Location", self.redirects[path])
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        if path == "/robots.txt":
            body, content_type = b"User-agent: *\nDisallow:\n", "text/plain"
        elif path == "/feed.xml":
            entries = "".join(
                f"<item><title>{html.escape(url)}</title><link>{html.escape(url)}</link>"
                "<pubDate>Tue, 12 Mar 2024 09:00:00 GMT</pubDate></item>"
                for url in self.items
            )
            body = (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>Coast news</title>'
                f"<link>/</link>{entries}</channel></rss>"
            ).encode()
            content_type = "application/rss+xml"
        elif path == "/sitemap.xml":
            children = "".join(
                f"<sitemap><loc>{html.escape(u)}</loc></sitemap>" for u in self.children
            )
            body = (
                '<?xml version="1.0"?><sitemapindex '
                f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}</sitemapindex>'
            ).encode()
            content_type = "application/xml"
        elif path in GOOD:
            body, content_type = article_html(GOOD[path]), "text/html"
        else:
            body, content_type = b"not found", "text/plain"
            request.send_response(404)
            request.send_header("Content-Type", content_type)
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
            return
        request.send_response(200)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@dataclass
class Network:
    site: FeedSite
    feed_url: str  # http://127.0.0.1:A
    port_b: int
    internal: Recorder  # 127.0.0.1:B
    internal_2: Recorder  # 127.0.0.2:B
    refused: set[str]  # the destinations the feed site points at, as the log names them


@pytest.fixture
def network() -> Iterator[Network]:
    internal = Recorder()
    internal_server = LoopbackServer(internal, "internal")
    port_b = int(internal_server.base_url.rsplit(":", 1)[1])
    internal_2 = Recorder()
    internal_2_server = LoopbackServer(internal_2, "internal-2", host="127.0.0.2", port=port_b)
    b = port_b
    items = [
        "/articles/harbour",
        "/articles/ferry",
        "/redirect/admin",  # 302 to 127.0.0.1:B
        "/redirect/named",  # 302 to localhost:B
        f"http://127.0.0.1:{b}/b/one",
        f"http://127.0.0.1:{b}/b/two",
        f"http://127.0.0.2:{b}/c/one",
        f"http://localhost:{b}/d/one",
        f"http://[::ffff:127.0.0.1]:{b}/e/one",
        f"http://2130706433:{b}/f/one",  # 127.0.0.1 written as one decimal number
    ]
    redirects = {
        "/redirect/admin": f"http://127.0.0.1:{b}/admin/token",
        "/redirect/named": f"http://localhost:{b}/internal",
    }
    site = FeedSite(items, redirects, children=[f"http://127.0.0.1:{b}/child-sitemap.xml"])
    site_server = LoopbackServer(site, "feed-site")
    # Each destination as the log names it: after URL normalisation, which spells the mapped
    # address [::ffff:7f00:1] and, with w3lib 2.6 and later, the decimal one 127.0.0.1 (so
    # it is then the same destination as 127.0.0.1:B, and refused under that name).
    refused = {
        urlsplit(normalize_url(url) or url).netloc for url in items if url.startswith("http")
    }
    assert f"127.0.0.1:{b}" in refused and f"[::ffff:7f00:1]:{b}" in refused
    try:
        yield Network(site, site_server.base_url, b, internal, internal_2, refused)
    finally:
        for server in (site_server, internal_server, internal_2_server):
            server.close()


def write_settings(tmp_path: Path, feeds: dict[str, tuple[str, str]], **crawl: object) -> Path:
    table = "\n".join(f"{k} = {json.dumps(v)}" for k, v in {**CRAWL, **crawl}.items())
    blocks = "\n".join(
        f'[[feeds]]\nname = "{name}"\nkind = "{kind}"\nurl = "{url}"\n'
        for name, (kind, url) in feeds.items()
    )
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n\n[crawl]\n{table}\n\n'
        f'[defaults]\nschedule = {{ every = "1h" }}\n\n{blocks}',
        encoding="utf-8",
    )
    return path


def newsmon(settings: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args, "--settings", str(settings)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def refusal_lines(stderr: str) -> list[str]:
    """The problems logged (the run summaries repeat the first one)."""
    return [ln for ln in stderr.splitlines() if " crawler.feed: " in ln and ": refused: " in ln]


def last_runs(tmp_path: Path) -> dict[str, CrawlRun]:
    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    try:
        with store.reading() as session:
            return {run.feed: run for run in session.scalars(select(CrawlRun))}
    finally:
        store.close()


def stored(tmp_path: Path) -> dict[str, str]:
    """URL → body of every stored article."""
    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    try:
        with store.reading() as session:
            return {a.url: a.body for a in session.scalars(select(Article))}
    finally:
        store.close()


def feeds_of(network: Network) -> dict[str, tuple[str, str]]:
    return {
        "coast-rss": ("rss", f"{network.feed_url}/feed.xml"),
        "coast-sitemap": ("sitemap", f"{network.feed_url}/sitemap.xml"),
    }


# -- end to end ---------------------------------------------------------------------------


def test_internal_destinations_are_refused_once_each_and_never_requested(
    tmp_path: Path, network: Network
) -> None:
    settings = write_settings(tmp_path, feeds_of(network))
    result = newsmon(settings, "crawl")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr

    # Not one request reached port B, robots.txt included, under any spelling.
    assert network.internal.requested() == []
    assert network.internal_2.requested() == []
    # The feed site was crawled, robots.txt and all, and its redirects were asked for.
    asked = network.site.requested()
    assert {"/robots.txt", "/feed.xml", "/sitemap.xml", *GOOD} <= set(asked)
    assert {"/redirect/admin", "/redirect/named"} <= set(asked)

    bodies = stored(tmp_path)
    assert sorted(bodies) == sorted(f"{network.feed_url}{path}" for path in GOOD)
    assert not any(SECRET in body for body in bodies.values())

    # One log line per refused destination, whatever the number of requests to it
    # (127.0.0.1:B: two feed items and a redirect; localhost:B: an item and a redirect).
    rss_lines = [line for line in refusal_lines(result.stderr) if "feed coast-rss:" in line]
    named = {next(d for d in network.refused if f" {d} " in line) for line in rss_lines}
    assert len(rss_lines) == len(network.refused), rss_lines
    assert named == network.refused
    assert any("resolves to a loopback address (127.0.0.1)" in ln for ln in rss_lines)
    sitemap_lines = [ln for ln in refusal_lines(result.stderr) if "feed coast-sitemap:" in ln]
    assert len(sitemap_lines) == 1 and "child-sitemap.xml" in sitemap_lines[0]

    # Counted in the runs, which end "partial", never "failed".
    runs = last_runs(tmp_path)
    assert runs["coast-rss"].errors == len(network.refused)
    assert runs["coast-rss"].articles_new == len(GOOD)
    assert runs["coast-sitemap"].errors == 1
    assert {run.outcome for run in runs.values()} == {"partial"}
    assert all("refused: " in (run.error or "") for run in runs.values())
    # ... and shown by `newsmon status`, with no failure counted against the feeds.
    status = json.loads(newsmon(settings, "status", "--format", "json").stdout)
    assert {row["name"]: row["consecutive_failures"] for row in status} == {
        "coast-rss": 0,
        "coast-sitemap": 0,
    }
    assert all("refused: " in row["last_error"] for row in status)


def test_allow_private_networks_lifts_the_policy(tmp_path: Path, network: Network) -> None:
    settings = write_settings(tmp_path, feeds_of(network), allow_private_networks=True)
    result = newsmon(settings, "crawl")
    assert result.returncode == 0, result.stderr[-3000:]
    assert refusal_lines(result.stderr) == []
    assert {
        "/robots.txt",
        "/b/one",
        "/b/two",
        "/admin/token",  # the redirect from the feed site
        "/internal",  # the redirect to localhost:B
        "/d/one",
        "/f/one",
        "/child-sitemap.xml",
    } <= set(network.internal.requested())
    assert {"/robots.txt", "/c/one"} <= set(network.internal_2.requested())
    assert any(SECRET in body for body in stored(tmp_path).values())


def test_a_feed_host_name_allows_its_own_port_only(tmp_path: Path, network: Network) -> None:
    """The resolver must trust ``localhost`` (a feed names it), so the middleware alone
    holds the line at other ports of that name."""
    port_a = network.feed_url.rsplit(":", 1)[1]
    network.site.items = [
        f"http://localhost:{port_a}/articles/harbour",
        f"http://localhost:{network.port_b}/d/one",
    ]
    settings = write_settings(
        tmp_path, {"local-rss": ("rss", f"http://localhost:{port_a}/feed.xml")}
    )
    result = newsmon(settings, "crawl")
    assert result.returncode == 0, result.stderr[-3000:]
    assert network.internal.requested() == []
    assert list(stored(tmp_path)) == [f"http://localhost:{port_a}/articles/harbour"]
    lines = refusal_lines(result.stderr)
    assert len(lines) == 1 and f"localhost:{network.port_b} resolves to a loopback" in lines[0]


# -- units: addresses, policy, resolver, middleware ---------------------------------------


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata services
        ("224.0.0.1", "multicast"),
        ("239.1.1.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("::127.0.0.1", "reserved"),  # IPv4-compatible, deprecated
        ("2606:4700::1111", None),
        ("2a00:1450:4001::200e", None),
    ],
)
def test_address_classification(address: str, kind: str | None) -> None:
    assert non_public_kind(ip_address(address)) == kind


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:0.0.0.0", "unspecified"),
        ("::ffff:8.8.8.8", None),  # mapped public: public, though ::/8 is "reserved"
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("2002:808:808::", None),  # 6to4 around 8.8.8.8
    ],
)
def test_ipv4_inside_ipv6_is_judged_by_the_ipv4_address(address: str, kind: str | None) -> None:
    assert non_public_kind(ip_address(address)) == kind


def settings_with(*feed_urls: str, allow: bool = False) -> Settings:
    feeds = "\n".join(
        f'[[feeds]]\nname = "f{i}"\nkind = "rss"\nurl = "{url}"\n'
        for i, url in enumerate(feed_urls)
    )
    return parse_settings(f"[crawl]\nallow_private_networks = {str(allow).lower()}\n{feeds}")


def test_policy_names_the_feeds_host_port_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "http://proxy.corp.example:3128")
    policy = DestinationPolicy.from_settings(
        settings_with(
            "http://10.0.0.5/feed",
            "https://Intranet.Example/news.xml",
            "http://127.0.0.1:8123/feed.xml",
            "http://bücher.example:8080/rss",
        )
    )
    assert not policy.allow_private_networks
    assert policy.feed_destinations == {
        ("10.0.0.5", 80),
        ("intranet.example", 443),
        ("127.0.0.1", 8123),
        ("xn--bcher-kva.example", 8080),  # as Scrapy spells the request's host
    }
    assert policy.trusted_names == {
        "10.0.0.5",
        "intranet.example",
        "127.0.0.1",
        "xn--bcher-kva.example",
        "proxy.corp.example",
    }
    assert DestinationPolicy.from_settings(settings_with(allow=True)).allow_private_networks


class FakeDns:
    """Answers from a table, as the reactor's resolver does: synchronously when cached."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def resolveHostName(
        self, receiver: Any, hostName: str, portNumber: int = 0, *args: Any, **kwargs: Any
    ) -> object:
        self.asked.append(hostName)
        receiver.resolutionBegan(None)
        for host in self.answers.get(hostName, []):
            receiver.addressResolved(IPv4Address("TCP", host, portNumber))
        receiver.resolutionComplete()
        return None


class Received:
    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.complete = False

    def resolutionBegan(self, resolution: object) -> None:
        pass

    def addressResolved(self, address: IPv4Address) -> None:
        self.hosts.append(address.host)

    def resolutionComplete(self) -> None:
        self.complete = True


def resolved(resolver: GuardedNameResolver, name: str) -> list[str]:
    received = Received()
    resolver.resolveHostName(received, name, 80)
    assert received.complete
    return received.hosts


def test_resolver_drops_private_answers_of_names_no_running_crawl_trusts() -> None:
    dns = FakeDns(
        {
            "news.example": ["93.184.216.34"],
            "rebound.example": ["10.0.0.7"],
            "mixed.example": ["127.0.0.1", "93.184.216.35"],
            "intranet.example": ["10.0.0.5"],
        }
    )
    active = ActivePolicies()
    resolver = GuardedNameResolver(dns, active)
    assert resolved(resolver, "news.example") == ["93.184.216.34"]
    assert resolved(resolver, "rebound.example") == []
    assert resolved(resolver, "mixed.example") == ["93.184.216.35"]
    assert resolved(resolver, "intranet.example") == []

    policy = DestinationPolicy.from_settings(settings_with("http://intranet.example/feed"))
    active.add(policy)
    assert resolved(resolver, "intranet.example") == ["10.0.0.5"]  # a crawl trusts it
    assert active.trust_name("INTRANET.example.")
    assert resolved(resolver, "rebound.example") == []
    open_policy = DestinationPolicy.from_settings(settings_with(allow=True))
    active.add(open_policy)
    assert resolved(resolver, "rebound.example") == ["10.0.0.7"]
    active.remove(open_policy)
    active.remove(policy)
    assert resolved(resolver, "intranet.example") == []
    # The middleware's look-up sees every answer, from the same resolver.
    assert asyncio.run(resolver.addresses("rebound.example")) == [ip_address("10.0.0.7")]


@pytest.fixture
def middleware(tmp_path: Path) -> Iterator[tuple[DestinationPolicyMiddleware, FeedRun, Any]]:
    settings = settings_with("http://127.0.0.1:8123/feed.xml", "http://intranet.example:8080/x")
    store = Store.open(f"sqlite:///{tmp_path}/units.db")
    run = FeedRun(feed=settings.feeds[0], settings=settings, store=store)
    context = CrawlContext(run, ArticleWorkers(processes=1), HostGuard(1, 0))
    scrapy_settings = {
        "TELNETCONSOLE_ENABLED": False,
        **get_reactor_settings(),
        "STATS_CLASS": "scrapy.statscollectors.MemoryStatsCollector",
    }
    crawler = FeedCrawler(FeedSpider, scrapy_settings, context)
    crawler._apply_settings()
    spider = FeedSpider.from_crawler(crawler)
    crawler.spider = spider
    dns = FakeDns(
        {
            "intranet.example": ["10.0.0.5"],
            "news.example": ["93.184.216.34"],
            "rebound.example": ["10.0.0.7"],
        }
    )
    mw = DestinationPolicyMiddleware(crawler, run, GuardedNameResolver(dns, ActivePolicies()))
    crawler.signals.send_catch_log(signal=signals.spider_opened, spider=spider)
    yield mw, run, crawler
    crawler.signals.send_catch_log(signal=signals.spider_closed, spider=spider, reason="done")
    store.close()


def outcome(mw: DestinationPolicyMiddleware, url: str) -> str:
    try:
        asyncio.run(mw.process_request(Request(url)))
    except DestinationRefused:
        return "refused"
    return "allowed"


def test_middleware_refuses_and_counts_once_per_destination(middleware: Any) -> None:
    mw, run, crawler = middleware
    assert outcome(mw, "http://127.0.0.1:8123/a") == "allowed"  # the feed's own pair
    assert outcome(mw, "http://intranet.example:8080/a") == "allowed"
    assert outcome(mw, "http://news.example/a") == "allowed"
    assert outcome(mw, "https://93.184.216.34/a") == "allowed"
    assert outcome(mw, "http://127.0.0.1:6379/a") == "refused"
    assert outcome(mw, "http://127.0.0.1:6379/b") == "refused"
    assert outcome(mw, "http://127.0.0.1/a") == "refused"  # port 80 is not 8123
    assert outcome(mw, "http://intranet.example:6379/") == "refused"  # trusted name, other port
    assert outcome(mw, "http://[::1]:8123/a") == "refused"  # the same host, other spelling
    assert outcome(mw, "http://[::ffff:a9fe:a9fe]/latest/meta-data/") == "refused"
    assert outcome(mw, "file:///etc/passwd") == "refused"
    assert run.counts.errors == 6
    assert [p.split(": refused: ")[1].split(" (")[0] for p in run.problems] == [
        "127.0.0.1:6379 is a loopback address",
        "127.0.0.1:80 is a loopback address",
        "intranet.example:6379 resolves to a private address",
        "[::1]:8123 is a loopback address",
        "[::ffff:a9fe:a9fe]:80 is a link-local address",
        "file: is not an http(s) URL",
    ]
    assert crawler.stats.get_value("destinations/refused") == 6
    assert crawler.stats.get_value("destinations/refused_requests") == 7


def test_middleware_checks_the_address_a_response_came_from(middleware: Any) -> None:
    mw, run, _crawler = middleware
    public = Request("http://news.example/a")
    answered = Response(public.url, request=public, ip_address=ip_address("10.9.8.7"))
    with pytest.raises(DestinationRefused):
        mw.process_response(public, answered)
    assert run.problems and "answered from a private address (10.9.8.7)" in run.problems[0]
    own = Request("http://127.0.0.1:8123/a")
    from_own = Response(own.url, request=own, ip_address=ip_address("127.0.0.1"))
    assert mw.process_response(own, from_own) is from_own


def test_a_connection_the_resolver_stopped_is_reported_as_refused(middleware: Any) -> None:
    """Had DNS changed between the middleware's look-up and the connection, the resolver
    drops the answer and the download fails as a name not found: the middleware says why."""
    mw, run, _crawler = middleware
    lost = CannotResolveHostError("DNS lookup failed: no results for hostname lookup")
    with pytest.raises(DestinationRefused):
        asyncio.run(mw.process_exception(Request("http://rebound.example/a"), lost))
    assert run.problems and "rebound.example:80 resolves to a private address" in run.problems[0]
    # A name that really does not resolve stays that (the spider reports it).
    assert asyncio.run(mw.process_exception(Request("http://nowhere.example/"), lost)) is None
    assert len(run.problems) == 1


def test_allow_private_networks_must_be_a_boolean() -> None:
    assert not parse_settings("").crawl.allow_private_networks
    with pytest.raises(SettingsError) as caught:
        parse_settings('[crawl]\nallow_private_networks = "yes"\n')
    assert caught.value.problems == [
        "settings.toml: crawl.allow_private_networks: expected true or false (got 'yes')"
    ]
