"""``newsmon discover``: from a fixture site's home page to checked, ranked feeds.

Everything runs against the fixture news network on 127.0.0.1; the assertions read the
command's output and exit code, the requests the fixture servers saw, and the database a
real ``newsmon crawl`` of the printed TOML wrote.
"""

from __future__ import annotations

import itertools
import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from protego import Protego
from sqlalchemy import select

from crawler.cli import main
from crawler.config import CrawlConfig
from crawler.crawl.fetcher import PoliteFetcher
from crawler.crawl.finder import find_sources  # noqa: F401  (imports trafilatura at collection)
from crawler.extract.feed_links import listing_links, suggest_article_selector
from crawler.store.models import Article
from crawler.store.store import Store
from tests.loopback import LoopbackServer
from tests.newssites import FixtureNetwork, FixtureSite
from tests.test_end_to_end import CRAWL_DEFAULTS, crawl, write_settings

USER_AGENT = str(CRAWL_DEFAULTS["user_agent"])


def settings_file(tmp_path: Path, feeds_toml: str = "", **crawl: object) -> Path:
    values = {**CRAWL_DEFAULTS, **crawl}
    lines = "\n".join(f"{key} = {json.dumps(value)}" for key, value in values.items())
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n\n[crawl]\n{lines}\n\n'
        f'[defaults]\nschedule = {{ every = "1h", jitter = "0s" }}\n'
        f'timezone = "America/New_York"\n\n{feeds_toml}',
        encoding="utf-8",
    )
    return path


def discover(
    capsys: pytest.CaptureFixture[str], settings: Path, url: str, *extra: str
) -> tuple[int, str, str]:
    code = main(["discover", "--settings", str(settings), url, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def discovered(
    capsys: pytest.CaptureFixture[str], settings: Path, site: FixtureSite, *extra: str
) -> list[dict[str, Any]]:
    code, out, err = discover(capsys, settings, site.url("/"), "--format", "json", *extra)
    assert code == 0, err
    found: list[dict[str, Any]] = json.loads(out)
    return found


def by_path(site: FixtureSite, sources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["url"].removeprefix(site.base_url): s for s in sources}


def test_herald_home_page_leads_to_its_feed_and_tag_pages(
    tmp_path: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    site = news_network.herald
    sources = discovered(capsys, settings_file(tmp_path), site)
    found = by_path(site, sources)
    assert set(found) == {"/rss/world.xml", "/tags/ukraine", "/tags/russia"}
    rss = found["/rss/world.xml"]
    assert (rss["kind"], rss["detail"], rss["found_via"]) == ("rss", "RSS 2.0", "page link")
    assert rss["items"] == 4 and rss["parses"] is True
    assert rss["newest_at"] == "2022-11-13T14:40:00+00:00"  # the Danube wire story
    ukraine = found["/tags/ukraine"]
    assert (ukraine["kind"], ukraine["article_links"]) == ("listing", "h2 a")
    assert ukraine["parses"] is True
    # power, kherson and the robots-disallowed /private/ story: video and live are no articles
    assert ukraine["items"] == 3
    # /news/slow has no article-shaped URL, but sits in the same h2 as the others
    assert found["/tags/russia"]["article_links"] == "h2 a"
    assert sources[0]["kind"] == "rss"  # a feed ranks above listing pages


def test_courier_news_sitemap_named_only_in_robots_txt_is_found(
    tmp_path: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    site = news_network.courier
    found = by_path(site, discovered(capsys, settings_file(tmp_path), site))
    assert set(found) == {"/sitemap-news.xml", "/topic/economy", "/topic/economy/rss.xml"}
    sitemap = found["/sitemap-news.xml"]
    assert (sitemap["kind"], sitemap["detail"], sitemap["found_via"]) == (
        "sitemap",
        "news sitemap",
        "robots.txt",
    )
    assert sitemap["items"] == 4 and sitemap["parses"] is True
    # the topic page's links carry tracking parameters and a variant URL: one selector
    # finds exactly the two articles, not the Markets hub next to them
    topic = found["/topic/economy"]
    assert (topic["items"], topic["article_links"]) == (2, "article a")
    # the topic's own feed is linked only from the topic page
    feed = found["/topic/economy/rss.xml"]
    assert (feed["kind"], feed["found_via"], feed["title"]) == (
        "rss",
        "listing page",
        "Courier: Economy",
    )
    assert feed["items"] == 2 and feed["parses"] is True
    # the usual sitemap paths were asked for, and no other guess came back as a source
    assert "/sitemap.xml" in site.paths_requested()


def test_gazette_atom_feed_and_tag_page(
    tmp_path: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    site = news_network.gazette
    found = by_path(site, discovered(capsys, settings_file(tmp_path), site))
    assert found["/feed.atom"]["detail"] == "Atom"
    assert found["/feed.atom"]["title"] == "The Gazette"
    assert found["/tag/climate/"]["article_links"] == "h2 a"
    assert found["/tag/climate/"]["items"] == 2
    assert "/tag/climate/page/2/" not in found  # a further page of a listing is no source


def test_tag_ranks_the_topics_page_first(
    tmp_path: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    site = news_network.herald
    sources = discovered(capsys, settings_file(tmp_path), site, "--tag", "Russia")
    assert sources[0]["url"] == site.url("/tags/russia")
    assert sources[0]["about_topic"] is True
    assert [s["about_topic"] for s in sources[1:]] == [False, False]


def test_a_topic_no_page_links_is_looked_for_where_tag_pages_usually_are(
    tmp_path: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    site = news_network.herald
    sources = discovered(capsys, settings_file(tmp_path), site, "--tag", "Kherson")
    top = sources[0]
    assert (top["url"], top["found_via"], top["about_topic"]) == (
        site.url("/tags/kherson"), "topic guess", True,
    )  # fmt: skip
    assert "/tag/kherson" in site.paths_requested()  # the first guess: a 404 on this site


def test_printed_toml_passes_check_config_and_crawls_the_same_articles(
    tmp_path: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    news_network.herald.slow_delay = 0.2
    (tmp_path / "probe").mkdir()
    probe = settings_file(tmp_path / "probe")
    blocks = []
    for site in news_network.sites:
        code, out, err = discover(capsys, probe, site.url("/"), "--format", "toml", "--tag", "news")
        assert code == 0, err
        blocks.append(out)
    toml = "\n".join(blocks)
    assert toml.count("[[feeds]]") == 3 + 3 + 5
    assert 'tags = ["news"]' in toml
    (tmp_path / "found").mkdir()
    found_settings = settings_file(tmp_path / "found", toml)
    assert main(["check-config", "--settings", str(found_settings)]) == 0

    (tmp_path / "hand").mkdir()
    hand_settings = write_settings(tmp_path / "hand", news_network)
    hand, found = crawl(hand_settings), crawl(found_settings)
    assert hand.returncode == 0, hand.stderr[-2000:]
    assert found.returncode == 0, found.stderr[-2000:]
    assert stored_urls(tmp_path / "found") == stored_urls(tmp_path / "hand")
    assert len(stored_urls(tmp_path / "hand")) == len(news_network.expected_articles())


def stored_urls(directory: Path) -> set[str]:
    with Store.open(f"sqlite:///{directory}/news.db") as store, store.reading() as session:
        return set(session.scalars(select(Article.url)))


class BareSite:
    """A site with pages and nothing to monitor: no feed, no sitemap, no tag page."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.server = LoopbackServer(self, "bare")

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        self.paths.append(request.path)
        if request.path == "/":
            body = b"<html><head><title>Bare</title></head><body><a href='/about'>About</a></body>"
            request.send_response(200)
            request.send_header("Content-Type", "text/html")
        else:
            body = b"not here"
            request.send_response(404)
            request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


def test_a_site_with_nothing_to_monitor_says_so_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = BareSite()
    try:
        code, out, err = discover(capsys, settings_file(tmp_path), site.server.base_url + "/")
    finally:
        site.server.close()
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        f"newsmon: no feeds, news sitemaps or tag pages found from {site.server.base_url}/"
    ]
    assert "/robots.txt" in site.paths and "/rss.xml" in site.paths


class RedirectingSite(BareSite):
    """Its home page declares a feed that redirects into a path robots.txt disallows."""

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        self.paths.append(request.path)
        if request.path == "/robots.txt":
            self._send(request, 200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        elif request.path == "/":
            page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/feed">'
            self._send(request, 200, page + b"</head><body></body></html>", "text/html")
        elif request.path == "/feed":
            request.send_response(301)
            request.send_header("Location", "/private/rss.xml")
            request.send_header("Content-Length", "0")
            request.end_headers()
        else:
            self._send(request, 404, b"not here", "text/plain")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: bytes, kind: str) -> None:
        request.send_response(status)
        request.send_header("Content-Type", kind)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


def test_a_redirect_into_a_disallowed_path_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = RedirectingSite()
    try:
        code, _out, _err = discover(capsys, settings_file(tmp_path), site.server.base_url + "/")
    finally:
        site.server.close()
    assert code == 1
    assert "/feed" in site.paths
    assert not [path for path in site.paths if path.startswith("/private/")]


def test_other_loopback_hosts_are_refused_unless_private_networks_are_allowed(
    news_network: FixtureNetwork,
) -> None:
    herald, courier = news_network.herald, news_network.courier
    trusted = frozenset({("127.0.0.1", int(herald.base_url.rsplit(":", 1)[1]))})
    fetcher = PoliteFetcher(CrawlConfig(download_delay=0.0), trusted=trusted)
    assert fetcher.refusal(herald.url("/rss/world.xml")) is None
    assert fetcher.refusal(courier.url("/sitemap-news.xml")) == (
        "loopback address ([crawl] allow_private_networks is off)"
    )
    assert courier.paths_requested() == []  # not even its robots.txt
    open_fetcher = PoliteFetcher(CrawlConfig(download_delay=0.0, allow_private_networks=True))
    assert open_fetcher.get(courier.url("/sitemap-news.xml")).ok


def test_robots_txt_is_obeyed_with_the_configured_agent_and_delay(
    tmp_path: Path, news_network: FixtureNetwork, capsys: pytest.CaptureFixture[str]
) -> None:
    site = news_network.herald
    site.extra_robots = "Disallow: /tags/russia\nDisallow: /rss/\nDisallow: /feed\n"
    sources = discovered(capsys, settings_file(tmp_path, download_delay=0.3), site)
    assert set(by_path(site, sources)) == {"/tags/ukraine"}
    rules = Protego.parse(site._robots() + site.extra_robots)
    records = list(site.requests)
    assert records[0].path == "/robots.txt"
    refused = [r.path for r in records if not rules.can_fetch(site.url(r.path), USER_AGENT)]
    assert refused == []
    assert "/private/grid-operator-prepares-emergency-winter-plan" not in site.paths_requested()
    assert {r.headers.get("User-Agent") for r in records} == {USER_AGENT}
    starts = sorted(r.started_at for r in records)
    # The fetcher spaces its request starts by 0.3 s; the server sees them with the jitter
    # of delivery on a busy machine (tens of ms). Without the delay they would be ms apart.
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.2


def test_a_bad_url_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = discover(capsys, settings_file(tmp_path), "ftp://example.invalid/")
    assert code == 2
    assert err.startswith("newsmon: URL must be an absolute http:// or https:// URL")


# -- the pure link finding ------------------------------------------------------------------

LISTING = """<html><body>
<nav><a href="/about">About</a> <a href="/news/2022/11/nav-pick-of-the-day-story">Pick</a></nav>
<main>
<article><h2><a href="/news/2022/11/first-long-story-slug-here">First</a></h2></article>
<article><h2><a href="/news/2022/11/second-long-story-slug-here">Second</a></h2></article>
<article><h2><a href="/news/short">Short</a></h2></article>
<p><a href="/tag/energy">Energy</a> <a href="/tag/energy/page/2">Older</a></p>
</main></body></html>"""


def test_a_selector_is_suggested_when_it_finds_every_article_and_no_chrome() -> None:
    page = "https://site.example/tag/climate"
    # the nav pick is chrome: "a" or "div a" would take it, "h2 a" takes the short-URL story
    assert suggest_article_selector(LISTING, page) == "h2 a"
    assert [link.url for link in listing_links(LISTING, page)] == [
        "https://site.example/tag/energy"
    ]
    scattered = LISTING.replace("<h2><a", "<a").replace("</a></h2>", "</a>")
    # without the h2s, "article a" still finds exactly the article links
    assert suggest_article_selector(scattered, page) == "article a"
    no_structure = (
        "<html><body>"
        + "".join(f'<p><a href="/news/2022/11/a-long-story-number-{n}">s</a></p>' for n in range(3))
        + '<footer><p><a href="/news/2022/11/a-long-story-in-the-footer">f</a></p></footer>'
        + "</body></html>"
    )
    assert suggest_article_selector(no_structure, page) is None  # "p a" takes the footer too
