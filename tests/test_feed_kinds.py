"""A feed page of another kind than the feed's ``kind`` is an error that says which to set.

An RSS feed read as a sitemap has no ``<url>`` elements: before, such a feed was "ok, found
0" on every run. Each reader now checks the page's root element first.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.errors import WrongKindError
from crawler.extract.discovery import Discovery, sniff_kind
from crawler.extract.feeds import discover_feed
from crawler.extract.listings import discover_listing
from crawler.extract.sitemaps import discover_sitemap
from crawler.store.models import CrawlRun
from crawler.store.store import Store
from tests.newssites import FixtureNetwork

URL = "http://127.0.0.1:1/page"
RSS = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>T</title></channel></rss>'
ATOM = b'\xef\xbb\xbf<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"></feed>'
SITEMAP = (
    b'<?xml version="1.0"?>\n<!-- generated -->\n'
    b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>/a</loc></url></urlset>'
)
INDEX = b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></sitemapindex>'
HTML = b'<!DOCTYPE html>\n<html lang="en"><body><h2><a href="/2026/11/a.html">A</a></h2></body>'


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (RSS, "rss"),
        (ATOM, "rss"),
        (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', "rss"),
        (SITEMAP, "sitemap"),
        (INDEX, "sitemap"),
        (HTML, "listing"),
        (b"  <html><head><title>x</title></head></html>", "listing"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN"'
            b' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html>',
            "listing",
        ),
        # A feed that quotes an HTML page is still a feed.
        (b"<rss><channel><item><description><![CDATA[<!DOCTYPE html>", "rss"),
        (gzip.compress(SITEMAP), None),  # the sitemap reader unzips it first
        (b'{"items": []}', None),
        (b'<?xml version="1.0"?><note>hello</note>', None),
        (b"", None),
    ],
)
def test_sniff_kind_reads_the_root_element(body: bytes, kind: str | None) -> None:
    assert sniff_kind(body) == kind


def read_as(kind: str, body: bytes) -> Discovery:
    if kind == "rss":
        return discover_feed(body, URL, "application/xml")
    if kind == "sitemap":
        return discover_sitemap(body, URL, max_bytes=1 << 20)
    return discover_listing(body.decode("utf-8-sig"), URL, None, None)


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        ("sitemap", RSS, 'looks like an RSS feed, not a sitemap: set kind = "rss"'),
        ("sitemap", ATOM, 'looks like an Atom feed, not a sitemap: set kind = "rss"'),
        ("sitemap", HTML, 'looks like an HTML page, not a sitemap: set kind = "listing"'),
        ("rss", SITEMAP, 'looks like a sitemap, not an RSS/Atom feed: set kind = "sitemap"'),
        (
            "rss",
            INDEX,
            'looks like a sitemap index, not an RSS/Atom feed: set kind = "sitemap"',
        ),
        ("rss", HTML, 'looks like an HTML page, not an RSS/Atom feed: set kind = "listing"'),
        ("listing", RSS, 'looks like an RSS feed, not a listing page: set kind = "rss"'),
        ("listing", SITEMAP, 'looks like a sitemap, not a listing page: set kind = "sitemap"'),
    ],
)
def test_a_page_of_the_wrong_kind_says_which_kind_to_set(
    kind: str, body: bytes, message: str
) -> None:
    with pytest.raises(WrongKindError) as raised:
        read_as(kind, body)
    assert str(raised.value) == message
    assert raised.value.looks_like == message.rpartition('"')[0].rpartition('"')[2]


def test_a_page_of_the_right_kind_is_read() -> None:
    assert read_as("rss", RSS).candidates == ()
    found = discover_sitemap(gzip.compress(SITEMAP), URL, max_bytes=1 << 20)
    assert [c.url for c in found.candidates] == ["http://127.0.0.1:1/a"]
    listing = read_as("listing", HTML)
    assert [c.url for c in listing.candidates] == ["http://127.0.0.1:1/2026/11/a.html"]


# -- a crawl of the fixture network with every wrong pairing --------------------------------

# (name, kind set, site, path, what the page is, what that kind reads, the kind to set)
WRONG = [
    ("rss-as-sitemap", "sitemap", "herald", "/rss/world.xml", "an RSS feed", "a sitemap", "rss"),
    ("atom-as-listing", "listing", "gazette", "/feed.atom", "an Atom feed", "a listing page",
     "rss"),
    ("sitemap-as-rss", "rss", "courier", "/sitemap-news.xml", "a sitemap", "an RSS/Atom feed",
     "sitemap"),
    ("sitemap-as-listing", "listing", "courier", "/sitemap-news.xml", "a sitemap",
     "a listing page", "sitemap"),
    ("listing-as-rss", "rss", "herald", "/tags/ukraine", "an HTML page", "an RSS/Atom feed",
     "listing"),
    ("listing-as-sitemap", "sitemap", "herald", "/tags/ukraine", "an HTML page", "a sitemap",
     "listing"),
]  # fmt: skip


def test_a_crawl_of_wrong_kinds_fails_those_feeds_and_status_says_why(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    feeds = [
        (name, kind, getattr(news_network, site).url(path)) for name, kind, site, path, *_ in WRONG
    ]
    feeds.append(("herald-rss", "rss", news_network.herald.url("/rss/world.xml")))
    settings = tmp_path / "settings.toml"
    settings.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n\n'
        '[crawl]\nuser_agent = "newsmon-tests/0.1 (+https://example.invalid/contact)"\n'
        "download_delay = 0\ntimeout = 10\nretries = 0\n"
        + "".join(
            f'\n[[feeds]]\nname = "{name}"\nkind = "{kind}"\nurl = "{url}"\n'
            for name, kind, url in feeds
        ),
        encoding="utf-8",
    )
    crawled = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert crawled.returncode == 1, crawled.stderr[-3000:]  # some feeds failed
    assert "Traceback" not in crawled.stderr
    expected = {
        name: f"feeds[{index}] (name={name!r}): {feeds[index][2]} looks like {is_}, not {read}:"
        f' set kind = "{right}"'
        for index, (name, _kind, _site, _path, is_, read, right) in enumerate(WRONG)
    }

    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    try:
        with store.reading() as session:
            runs = {r.feed: (r.outcome, r.error) for r in session.scalars(select(CrawlRun))}
    finally:
        store.close()
    assert runs == {
        **{name: ("failed", message) for name, message in expected.items()},
        "herald-rss": ("ok", None),
    }
    status = subprocess.run(
        [sys.executable, "-m", "crawler", "status", "--settings", str(settings), "--format",
         "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    shown = {
        row["name"]: (row["last_outcome"], row["last_error"]) for row in json.loads(status.stdout)
    }
    assert shown == runs
    summary = crawled.stdout.splitlines()
    for name, message in expected.items():  # the crawl's summary says it too
        assert [line for line in summary if f"] {name}: failed" in line and line.endswith(message)]
