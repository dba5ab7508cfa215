"""Self-tests of the fixture news network (tests/newssites.py), with urllib only on the wire."""

from __future__ import annotations

import calendar
import email.utils
import re
import threading
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import parsel
import pytest
from lxml import etree

from tests.newssites import (  # noqa: F401  (news_network is used through getfixturevalue)
    HERALD_STORIES,
    ExpectedArticle,
    FeedSpec,
    FixtureNetwork,
    FixtureSite,
    news_network,
)

SLOW = 0.2


@dataclass
class Fetched:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def fetch(url: str, headers: dict[str, str] | None = None) -> Fetched:
    request = urllib.request.Request(
        url, headers={"User-Agent": "newsmon-selftest", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Fetched(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Fetched(error.code, dict(error.headers.items()), error.read())


def visible_text(page: str) -> str:
    selector = parsel.Selector(text=page)
    nodes = selector.xpath("//body//text()[not(ancestor::script) and not(ancestor::style)]")
    return re.sub(r"\s+", " ", "".join(nodes.getall()))


def without_comment_count(page: str) -> str:
    return re.sub(r'<div class="meta-comments">\d+</div>', "", page)


def path_of(url: str, site: FixtureSite) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == site.base_url, url
    return parts.path


@pytest.fixture
def net() -> Iterator[FixtureNetwork]:
    with FixtureNetwork(slow_delay=SLOW) as network:
        yield network


# --------------------------------------------------------------------------------------------


def test_three_origins_with_their_own_robots(net: FixtureNetwork) -> None:
    assert [s.name for s in net.sites] == ["herald", "courier", "gazette"]
    assert len({s.base_url for s in net.sites}) == 3
    for site in net.sites:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", site.base_url)
        robots = fetch(site.url("/robots.txt"))
        assert robots.status == 200
        assert robots.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert robots.text.startswith("User-agent: *")
    assert "Disallow: /private/" in fetch(net.herald.url("/robots.txt")).text
    assert (
        f"Sitemap: {net.courier.url('/sitemap-news.xml')}"
        in fetch(net.courier.url("/robots.txt")).text
    )


def test_content_types(net: FixtureNetwork) -> None:
    expected = {
        "listing": "text/html; charset=utf-8",
        "/rss/world.xml": "application/rss+xml; charset=utf-8",
        "/feed.atom": "application/atom+xml; charset=utf-8",
        "/sitemap-news.xml": "application/xml; charset=utf-8",
    }
    for site, spec in net.feed_specs():
        response = fetch(site.url(spec.path))
        assert response.status == 200, spec.name
        key = "listing" if spec.kind == "listing" else spec.path
        assert response.headers["Content-Type"] == expected[key], spec.name
        assert int(response.headers["Content-Length"]) == len(response.body)
    for article in net.expected_articles():
        response = fetch(net.site(article.site).url(article.path))
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"


def test_conditional_get_on_listings_and_feeds(net: FixtureNetwork) -> None:
    first: dict[str, Fetched] = {}
    for site, spec in net.feed_specs():
        url = site.url(spec.path)
        response = fetch(url)
        first[spec.name] = response
        etag, last_modified = response.headers["ETag"], response.headers["Last-Modified"]
        assert fetch(url).headers["ETag"] == etag  # stable content, stable ETag
        not_modified = fetch(url, {"If-None-Match": etag})
        assert (not_modified.status, not_modified.body) == (304, b""), spec.name
        assert not_modified.headers["ETag"] == etag
        assert fetch(url, {"If-None-Match": f'"other", {etag}'}).status == 304
        assert fetch(url, {"If-None-Match": '"other"'}).status == 200
        assert fetch(url, {"If-Modified-Since": last_modified}).status == 304
        earlier = email.utils.format_datetime(datetime(2022, 1, 1, tzinfo=UTC), usegmt=True)
        assert fetch(url, {"If-Modified-Since": earlier}).status == 200
        # If-None-Match wins over If-Modified-Since
        mixed = {"If-None-Match": '"other"', "If-Modified-Since": last_modified}
        assert fetch(url, mixed).status == 200

    net.advance()
    for site, spec in net.feed_specs():
        url = site.url(spec.path)
        old = first[spec.name].headers
        again = fetch(url, {"If-None-Match": old["ETag"]})
        assert again.status == 200, f"{spec.name} did not change in state 2"
        assert again.headers["ETag"] != old["ETag"]
        assert fetch(url, {"If-Modified-Since": old["Last-Modified"]}).status == 200
        assert fetch(url, {"If-Modified-Since": again.headers["Last-Modified"]}).status == 304


def test_herald_comment_count_changes_on_every_request(net: FixtureNetwork) -> None:
    url = net.herald.url(HERALD_STORIES[0].path)
    one, two = fetch(url), fetch(url)
    assert one.status == two.status == 200
    assert one.body != two.body
    assert one.headers["ETag"] != two.headers["ETag"]
    assert fetch(url, {"If-None-Match": two.headers["ETag"]}).status == 200
    assert without_comment_count(one.text) == without_comment_count(two.text)
    counts = [
        int(re.search(r'<div class="meta-comments">(\d+)</div>', r.text).group(1))  # type: ignore[union-attr]
        for r in (one, two)
    ]
    assert counts[0] != counts[1]
    assert "Last-Modified" not in one.headers


def test_stable_article_pages_answer_304(net: FixtureNetwork) -> None:
    for site in (net.courier, net.gazette):
        url = site.url(site.expected_articles()[0].path)
        response = fetch(url)
        assert fetch(url).body == response.body
        assert fetch(url, {"If-None-Match": response.headers["ETag"]}).status == 304


@pytest.mark.parametrize("state", [1, 2])
def test_expected_articles_are_served(net: FixtureNetwork, state: int) -> None:
    if state == 2:
        net.advance()
    articles = net.expected_articles()
    assert {a.site for a in articles} == {"herald", "courier", "gazette"}
    for article in articles:
        site = net.site(article.site)
        assert article.path.startswith("/")
        if article.is_short_wire_copy:
            assert len(" ".join(article.body_paragraphs)) < 700, article.path
        else:
            assert 4 <= len(article.body_paragraphs) <= 8
            assert len(" ".join(article.body_paragraphs).split()) >= 150, article.path
        assert datetime.fromisoformat(article.published_at).utcoffset() is not None
        assert article.published_at.endswith("+00:00")
        assert article.page_tags == tuple(t.casefold() for t in article.page_tags)
        assert {name for name, _ in article.feed_tags} == set(article.feeds)
        for path in (article.path, *article.alternate_paths):
            response = fetch(site.url(path))
            assert response.status == 200, path
            text = visible_text(response.text)
            assert article.title in text
            for paragraph in article.body_paragraphs:
                assert paragraph in text, (path, paragraph[:40])
            assert text.index(article.body_paragraphs[0]) < text.index(article.body_paragraphs[-1])
            for chrome in article.chrome:
                assert chrome in text, (path, chrome)
                assert all(chrome not in p for p in article.body_paragraphs), chrome
        assert fetch(site.url(article.path + "?utm_source=x&utm_medium=y")).status == 200


def test_article_metadata_in_each_shape(net: FixtureNetwork) -> None:
    by_path = {a.path: a for a in net.expected_articles()}

    kherson = by_path["/news/world/crowds-greet-ukrainian-soldiers-in-kherson"]
    assert kherson.published_at == "2022-11-12T00:29:00+00:00"
    assert kherson.authors == ()
    assert kherson.page_tags == ("ukraine", "russia", "kherson")
    assert set(kherson.feeds) == {"herald-ukraine", "herald-russia", "herald-rss"}
    page = fetch(net.herald.url(kherson.path)).text
    text = visible_text(page)
    assert "Friday, 11 November 2022 07:29 PM EST" in text
    assert "2022-29-11" in text
    assert "Tags: ukraine | russia | kherson" in text
    for absent in ("application/ld+json", "published_time", "<time", "datePublished"):
        assert absent not in page
    zones = {a.published_at[:10]: a for a in by_path.values() if a.site == "herald"}
    assert "2022-08-01" in zones  # a summer (EDT) date too

    factory = by_path["/economy/eurozone-factory-orders-fall-third-month-48211"]
    assert factory.authors == ("Claire Whitmore", "Matthias Berger")
    assert factory.published_at == "2022-10-04T07:30:00+00:00"
    page = fetch(net.courier.url(factory.path)).text
    assert '"datePublished": "2022-10-04T09:30:00+02:00"' in page
    assert '<html lang="en-GB">' in page
    assert f'<link rel="canonical" href="{net.courier.url(factory.path)}">' in page

    mortgages = by_path["/economy/mortgage-approvals-slide-as-borrowing-costs-climb-48377"]
    page = fetch(net.courier.url(mortgages.path)).text
    assert '"datePublished": "0001-01-01T00:00:00Z"' in page
    assert 'article:published_time" content="2022-10-27T06:30:00+02:00"' in page
    assert mortgages.published_at == "2022-10-27T04:30:00+00:00"

    seawalls = by_path["/2022/11/10/coastal-towns-weigh-cost-of-higher-sea-walls.html"]
    page = fetch(net.gazette.url(seawalls.path)).text
    assert '<meta name="author" content="Jane Doe and John Roe">' in page
    assert 'article:published_time" content="2022-11-10T08:15:00Z"' in page
    assert page.count('property="article:tag"') == 3
    assert "application/ld+json" not in page
    assert seawalls.authors == ("Jane Doe", "John Roe")


def _listing_paths(site: FixtureSite, spec: FeedSpec) -> list[str]:
    """What a selector-driven (or, without selector, a URL-shape) link finder gets."""
    variants = {p: a.path for a in site.expected_articles() for p in a.alternate_paths}
    found: list[str] = []
    url: str | None = site.url(spec.path)
    pages = 0
    while url and pages < (spec.max_pages or 1):
        pages += 1
        response = fetch(url)
        assert response.status == 200
        selector = parsel.Selector(text=response.text)
        query = f"{spec.article_links}::attr(href)" if spec.article_links else "a::attr(href)"
        for href in selector.css(query).getall():
            path = path_of(urljoin(url, href), site)
            if spec.article_links is None and not re.fullmatch(
                r"/\d{4}/\d\d/\d\d/[^/]+\.html", path
            ):
                continue
            if any(d in path for d in spec.deny) or path.startswith("/private/"):
                continue
            path = variants.get(path, path)
            if path not in found:
                found.append(path)
        following = selector.css(f"{spec.next_page}::attr(href)").get() if spec.next_page else None
        url = urljoin(url, following) if following else None
    return found


def _feed_paths(
    site: FixtureSite, spec: FeedSpec, expected: dict[str, ExpectedArticle]
) -> set[str]:
    url = site.url(spec.path)
    response = fetch(url)
    if spec.kind == "sitemap":
        root = etree.fromstring(response.body)
        ns = {
            "s": "http://www.sitemaps.org/schemas/sitemap/0.9",
            "n": "http://www.google.com/schemas/sitemap-news/0.9",
        }
        paths = set()
        for entry in root.findall("s:url", ns):
            path = path_of(entry.findtext("s:loc", namespaces=ns) or "", site)
            when = datetime.fromisoformat(
                entry.findtext(".//n:publication_date", namespaces=ns) or ""
            )
            assert when.utcoffset() is not None
            assert when.astimezone(UTC).isoformat() == expected[path].published_at
            assert entry.findtext(".//n:title", namespaces=ns) == expected[path].title
            paths.add(path)
        return paths
    parsed = feedparser.parse(
        response.body,
        response_headers={
            "content-location": url,
            "content-type": response.headers["Content-Type"],
        },
    )
    assert not parsed.bozo, parsed.get("bozo_exception")
    paths = set()
    for entry in parsed.entries:
        path = path_of(entry.link, site)
        article = expected[path]
        assert calendar.timegm(entry.published_parsed) == int(
            datetime.fromisoformat(article.published_at).timestamp()
        )
        assert entry.title == article.title
        terms = [t.term for t in entry.get("tags", [])]
        feed_tags = dict(article.feed_tags)[spec.name]
        for term in terms:
            for part in term.split(","):
                assert part.strip().casefold() in feed_tags
        paths.add(path)
    return paths


@pytest.mark.parametrize("state", [1, 2])
def test_feeds_find_exactly_the_expected_articles(net: FixtureNetwork, state: int) -> None:
    if state == 2:
        net.advance()
    for site in net.sites:
        expected = {a.path: a for a in site.expected_articles()}
        for spec in site.feeds():
            wanted = {p for p, a in expected.items() if spec.name in a.feeds}
            assert wanted, spec.name
            if spec.kind == "listing":
                got = set(_listing_paths(site, spec))
                if site.name == "herald":  # the 404/500 traps are linked as articles too
                    got -= {"/news/missing", "/news/broken"}
                if site.name == "courier":  # a non-article index linked like an article
                    got -= {"/topic/economy/markets"}
            else:
                got = _feed_paths(site, spec, expected)
            assert got == wanted, (state, spec.name)


def test_rss_links_carry_tracking_parameters(net: FixtureNetwork) -> None:
    rss = fetch(net.herald.url("/rss/world.xml")).text
    assert rss.count("?utm_source=rss&amp;utm_medium=feed</link>") == 4
    assert "<category>Ukraine, Russia</category>" in rss
    assert "<pubDate>Fri, 11 Nov 2022 19:29:00 -0500</pubDate>" in rss
    ukraine = fetch(net.herald.url("/tags/ukraine")).text
    assert "?utm_campaign=x#comments" in ukraine
    assert 'href="/private/' in ukraine
    assert '<a class="next" href="/tags/ukraine?page=2">' in ukraine
    topic = fetch(net.courier.url("/topic/economy")).text
    assert 'href="/story/48211?utm_source=topic-economy&amp;utm_medium=web"' in topic
    atom = fetch(net.gazette.url("/feed.atom")).text
    assert 'href="/2022/' in atom and 'href="2022/' in atom and 'href="./2022/' in atom


def test_two_sites_run_one_wire_story_word_for_word(net: FixtureNetwork) -> None:
    copies = [a for a in net.expected_articles() if a.syndication == "danube-wire"]
    assert sorted(a.site for a in copies) == ["courier", "herald"]
    herald, courier = sorted(copies, key=lambda a: a.site != "herald")
    assert herald.body_paragraphs == courier.body_paragraphs
    assert herald.title != courier.title and herald.authors != courier.authors
    assert herald.published_at != courier.published_at
    assert herald.feeds == ("herald-rss",) and courier.feeds == ("courier-sitemap",)
    page = fetch(net.courier.url(courier.path)).text
    assert f'<link rel="canonical" href="{net.herald.url(herald.path)}">' in page
    assert f'<meta property="og:url" content="{net.courier.url(courier.path)}">' in page


def test_advance_adds_articles_and_edits_one(net: FixtureNetwork) -> None:
    before = {(a.site, a.path): a for a in net.expected_articles()}
    pages = {key: fetch(net.site(key[0]).url(key[1])).text for key in before}
    net.advance()
    assert all(site.state == 2 for site in net.sites)
    after = {(a.site, a.path): a for a in net.expected_articles()}
    assert set(before) < set(after)
    added = set(after) - set(before)
    per_site = {
        name: sum(1 for s, _ in added if s == name) for name in ("herald", "courier", "gazette")
    }
    assert per_site == {"herald": 2, "courier": 1, "gazette": 1}

    edited = [a for a in after.values() if a.edited_in_state2]
    assert len(edited) == 1 and edited[0].site == "herald"
    key = (edited[0].site, edited[0].path)
    old, new = before[key], after[key]
    assert old.edited_in_state2
    assert old.title != new.title
    changed = [
        i
        for i, (a, b) in enumerate(zip(old.body_paragraphs, new.body_paragraphs, strict=True))
        if a != b
    ]
    assert len(changed) == 1 and len(old.body_paragraphs) == len(new.body_paragraphs)
    assert old.published_at == new.published_at

    for (site_name, path), page in pages.items():
        now = fetch(net.site(site_name).url(path)).text
        if (site_name, path) == key:
            assert new.title in now and old.title not in now
            assert new.body_paragraphs[changed[0]] in visible_text(now)
        else:
            assert without_comment_count(now) == without_comment_count(page), path
            assert (
                before[(site_name, path)].body_paragraphs
                == after[(site_name, path)].body_paragraphs
            )
    for site_name, path in added:
        assert fetch(net.site(site_name).url(path)).status == 200


def test_feeds_of_an_article_only_grow_from_state_1_to_2(net: FixtureNetwork) -> None:
    # A crawl in each state stores the union of both states' feeds: it must equal state 2's.
    first = {(a.site, a.path): a for a in net.expected_articles()}
    net.advance()
    second = {(a.site, a.path): a for a in net.expected_articles()}
    for key, article in first.items():
        assert set(article.feeds) <= set(second[key].feeds), key
        assert article.page_tags == second[key].page_tags
        assert article.published_at == second[key].published_at


def test_new_articles_do_not_exist_in_state_1(net: FixtureNetwork) -> None:
    for site in net.sites:
        current = {a.path for a in site.expected_articles()}
        site.state = 2
        later = {a.path for a in site.expected_articles()}
        site.state = 1
        for path in later - current:
            assert fetch(site.url(path)).status == 404


def test_error_and_slow_routes(net: FixtureNetwork) -> None:
    herald = net.herald
    missing = fetch(herald.url("/news/missing"))
    assert missing.status == 404 and "Page not found" in missing.text
    assert missing.headers["Content-Type"] == "text/html; charset=utf-8"
    broken = fetch(herald.url("/news/broken"))
    assert broken.status == 500 and "Internal Server Error" in broken.text
    for site in net.sites:
        unknown = fetch(site.url("/no/such/page"))
        assert unknown.status == 404 and "Page not found" in unknown.text
    assert fetch(herald.url("/tags/ukraine?page=9")).status == 404
    assert fetch(herald.url("/tags/ukraine?page=3")).status == 200  # exists; beyond max_pages

    started = time.monotonic()
    slow = fetch(herald.url("/news/slow"))
    elapsed = time.monotonic() - started
    assert slow.status == 200 and elapsed >= SLOW
    assert "Russian Wheat Exports Climb Despite Payment Hurdles" in slow.text
    record = next(r for r in herald.requests if r.path == "/news/slow")
    assert record.finished_at - record.started_at >= SLOW


def test_traps(net: FixtureNetwork) -> None:
    herald, courier = net.herald, net.courier
    trap_pages = (*herald.never_requested(), *herald.non_article_paths())
    for path in trap_pages:
        assert fetch(herald.url(path)).status in (200, 404, 500), path
    assert any(p.startswith("/private/") for p in herald.never_requested())
    markets = fetch(courier.url("/topic/economy/markets")).text
    assert '"@type": "CollectionPage"' in markets and 'og:type" content="website"' in markets
    expected_paths = {a.path for a in net.expected_articles()}
    for site in net.sites:
        assert not expected_paths & set(site.never_requested())
        assert not expected_paths & set(site.non_article_paths())


def test_requests_are_recorded_and_concurrency_measured(net: FixtureNetwork) -> None:
    herald = net.herald
    fetch(herald.url("/tags/russia"))
    fetch(herald.url("/robots.txt"))
    assert herald.paths_requested() == ["/tags/russia", "/robots.txt"]
    assert herald.max_in_flight() == 1
    record = herald.requests[0]
    assert (record.method, record.status) == ("GET", 200)
    assert record.headers["User-Agent"] == "newsmon-selftest"
    assert record.bytes_sent > 1000
    assert record.started_at <= record.finished_at
    fetch(herald.url("/tags/ukraine"), {"If-None-Match": "*"})
    assert herald.requests[-1].status == 304 and herald.requests[-1].bytes_sent == 0

    threads = [threading.Thread(target=fetch, args=(herald.url("/news/slow"),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert herald.max_in_flight() == 3
    assert herald.paths_requested().count("/news/slow") == 3
    assert net.courier.paths_requested() == []


def test_feeds_toml(net: FixtureNetwork) -> None:
    feeds = tomllib.loads(net.feeds_toml())["feeds"]
    assert [f["name"] for f in feeds] == [
        "herald-ukraine",
        "herald-russia",
        "herald-rss",
        "courier-sitemap",
        "courier-economy",
        "gazette-atom",
        "gazette-climate",
    ]
    by_name = {f["name"]: f for f in feeds}
    assert by_name["herald-ukraine"] == {
        "name": "herald-ukraine",
        "kind": "listing",
        "url": net.herald.url("/tags/ukraine"),
        "tags": ["ukraine"],
        "article_links": "h2 a",
        "next_page": "a.next",
        "max_pages": 2,
        "deny": ["/video/", "/live/"],
    }
    assert by_name["herald-rss"]["kind"] == "rss"
    assert by_name["courier-sitemap"]["kind"] == "sitemap"
    assert by_name["courier-economy"]["article_links"] == "article a.headline"
    assert by_name["gazette-atom"]["kind"] == "rss"
    assert "article_links" not in by_name["gazette-climate"]
    assert by_name["gazette-climate"]["tags"] == ["climate"]
    for feed in feeds:
        assert not {"every", "cron", "schedule"} & set(feed)
        assert fetch(feed["url"]).status == 200


def test_herald_zone_abbreviations_match_new_york() -> None:
    new_york = ZoneInfo("America/New_York")
    for story in HERALD_STORIES:
        local = story.published.astimezone(new_york)
        assert local.tzname() == story.zone
        assert local.replace(tzinfo=None) == story.published.replace(tzinfo=None)
    assert {s.zone for s in HERALD_STORIES} == {"EST", "EDT"}


def test_close_is_clean_and_idempotent() -> None:
    network = FixtureNetwork(slow_delay=30.0)
    url = network.herald.url("/robots.txt")
    assert fetch(url).status == 200
    results: list[int] = []
    slow = threading.Thread(
        target=lambda: results.append(fetch(network.herald.url("/news/slow")).status)
    )
    slow.start()
    while network.herald.in_flight() == 0:
        time.sleep(0.01)
    started = time.monotonic()
    network.close()  # wakes the slow page instead of waiting 30 s
    slow.join(timeout=5)
    assert time.monotonic() - started < 5
    assert results == [200]
    network.close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)


def test_news_network_fixture(request: pytest.FixtureRequest) -> None:
    network = request.getfixturevalue("news_network")
    assert isinstance(network, FixtureNetwork)
    assert network.state == 1
    assert network.herald.slow_delay == 3.0
    assert fetch(network.gazette.url("/tag/climate")).status == 200
