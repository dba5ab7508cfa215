"""From any page of a site to the feeds newsmon can monitor there: ``newsmon discover``.

The finder reads the page it is given and the site's home page, then checks, politely and
one request at a time (:class:`~crawler.crawl.fetcher.PoliteFetcher`):

* feeds: those the pages declare or link, the usual paths (/feed, /rss.xml...), the feeds
  the listing pages it checks declare (per-topic feeds are often linked only there);
* sitemaps: the ``Sitemap:`` lines of robots.txt (which may name feeds too) and the usual
  paths; a sitemap index is followed to its news sitemaps;
* listing pages: links to tag, topic, section and category pages, counted with the
  listing spider's own heuristic, with a CSS selector for their article links when one
  finds exactly those;

and fetches an article or two of each to see that it parses. Sources are ranked: working
ones first, those about ``topic`` (when given) before the rest, then by how busy they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

from crawler.article import ParseHints
from crawler.config import CrawlConfig
from crawler.crawl.destinations import destination_of
from crawler.crawl.fetcher import Fetched, PoliteFetcher
from crawler.extract.decoding import decode_html
from crawler.extract.discovery import Candidate
from crawler.extract.feed_links import (
    LISTING_SEGMENTS,
    USUAL_FEED_PATHS,
    USUAL_SITEMAP_PATHS,
    PageLink,
    activity_of,
    feed_links,
    is_about,
    listing_links,
    looks_like_listing_url,
    page_title,
    read_source,
    site_root,
    suggest_article_selector,
    topic_listing_urls,
    usual_urls,
)
from crawler.extract.listings import discover_listing
from crawler.extract.parser import parse_article
from crawler.urls import normalize_url

log = logging.getLogger("crawler.crawl.finder")

MAX_LISTINGS = 8  # listing pages checked per run
MAX_CHILD_SITEMAPS = 3  # children of a sitemap index read, news-looking ones first
MIN_LISTING_ARTICLES = 2  # fewer article links: a page, not a listing
ARTICLES_TRIED = 2  # per source, until one parses


@dataclass(frozen=True)
class Source:
    """One feed newsmon could monitor, as checked."""

    kind: str  # "rss" | "sitemap" | "listing"
    url: str
    detail: str  # "RSS 2.0", "Atom", "news sitemap", "tag page"...
    found_via: str  # "page link", "usual path", "robots.txt", "listing page", "topic guess"
    title: str | None = None
    items: int = 0
    newest_at: datetime | None = None
    per_day: float | None = None
    parses: bool | None = None  # None: no article could be fetched to try
    article_links: str | None = None  # listing: a selector that finds exactly its articles
    about_topic: bool = False
    usable: bool = True  # False: a plain sitemap or an index, shown but not suggested

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind, "url": self.url, "detail": self.detail,
            "found_via": self.found_via, "title": self.title, "items": self.items,
            "newest_at": self.newest_at.isoformat() if self.newest_at else None,
            "per_day": self.per_day, "parses": self.parses,
            "article_links": self.article_links, "about_topic": self.about_topic,
            "usable": self.usable,
        }  # fmt: skip


@dataclass
class _Run:
    fetcher: PoliteFetcher
    topic: str | None
    sources: dict[str, Source] = field(default_factory=dict)
    candidates: dict[str, tuple[Candidate, ...]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # URLs already read as a possible source
    parsed: dict[str, bool] = field(default_factory=dict)  # article URL -> parses

    @property
    def max_bytes(self) -> int:
        return self.fetcher.crawl.max_page_bytes


def find_sources(
    start_url: str,
    crawl: CrawlConfig,
    topic: str | None = None,
    fetcher: PoliteFetcher | None = None,
) -> list[Source]:
    """Every source found from ``start_url``, best first (see the module's docstring)."""
    given = destination_of(urlsplit(start_url))
    trusted = frozenset({given}) if given else frozenset()
    run = _Run(fetcher or PoliteFetcher(crawl, trusted=trusted), topic)
    root = site_root(start_url)
    pages = _read_pages(run, [start_url, root + "/"])
    if pages and looks_like_listing_url(pages[0][0]):  # given a tag page: a candidate too
        _add_listing(run, *pages[0], None, "given")
    for url, via in _feed_leads(run, pages, root):
        _check_feed(run, url, via)
    for link, via in _listing_leads(pages, topic)[:MAX_LISTINGS]:
        _check_listing(run, link, via)
    for url, source in list(run.sources.items()):
        if source.usable and source.items:
            run.sources[url] = replace(source, parses=_articles_parse(run, url))
    return sorted(run.sources.values(), key=_rank)


def is_working(source: Source) -> bool:
    """A source worth monitoring: a feed or news sitemap or listing with entries whose
    articles did not fail to parse."""
    return source.usable and source.items > 0 and source.parses is not False


def _rank(source: Source) -> tuple[int, int, int, float, int]:
    kind_order = 1 if source.kind == "listing" else 0  # a feed is cheaper to poll
    return (
        0 if is_working(source) else 1,
        0 if source.about_topic else 1,
        kind_order,
        -(source.per_day or 0.0),
        -source.items,
    )


def _read_pages(run: _Run, urls: Iterable[str]) -> list[tuple[str, str]]:
    """(URL, HTML) of the given pages that are HTML; a page that is a feed or a sitemap
    itself (``newsmon discover https://site/rss.xml``) becomes a source."""
    pages: list[tuple[str, str]] = []
    for url in dict.fromkeys(normalize_url(u) or u for u in urls):
        if url in run.seen:
            continue
        run.seen.add(url)
        fetched = _get(run, url)
        if fetched is None:
            continue
        if _is_html(fetched):
            pages.append((normalize_url(fetched.url) or fetched.url, _html(fetched)))
        else:
            _add_read(run, fetched, "given")
    return pages


def _feed_leads(run: _Run, pages: list[tuple[str, str]], root: str) -> list[tuple[str, str]]:
    leads: dict[str, str] = {}
    for url, html in pages:
        for link in feed_links(html, url):
            leads.setdefault(link.url, "page link")
    for url in run.fetcher.sitemaps_of(root):
        leads.setdefault(normalize_url(url) or url, "robots.txt")
    for url in usual_urls(root, (*USUAL_FEED_PATHS, *USUAL_SITEMAP_PATHS)):
        leads.setdefault(normalize_url(url) or url, "usual path")
    return list(leads.items())


def _listing_leads(pages: list[tuple[str, str]], topic: str | None) -> list[tuple[PageLink, str]]:
    links: dict[str, PageLink] = {}
    for url, html in pages:
        for link in listing_links(html, url):
            links.setdefault(link.url, link)
    leads = [(link, "page link") for link in links.values()]
    if topic:
        leads.sort(key=lambda lead: not is_about(topic, lead[0].url, lead[0].text))
        if not any(is_about(topic, link.url, link.text) for link, _via in leads) and pages:
            guesses = topic_listing_urls(pages[0][0], topic)
            leads[:0] = [(PageLink(url), "topic guess") for url in guesses]
    return leads


def _check_feed(run: _Run, url: str, via: str) -> None:
    if url in run.seen:
        return
    run.seen.add(url)
    fetched = _get(run, url)
    if fetched is not None:
        _add_read(run, fetched, via)


def _add_read(run: _Run, fetched: Fetched, via: str) -> None:
    read = read_source(fetched.body, fetched.url, fetched.content_type, max_bytes=run.max_bytes)
    url = normalize_url(fetched.url) or fetched.url
    if read is None or url in run.sources:
        return
    discovery = read.discovery
    if read.detail == "sitemap index":
        run.sources[url] = Source(
            "sitemap", url, f"sitemap index of {len(discovery.next_pages)}", via,
            items=len(discovery.next_pages), usable=False,
        )  # fmt: skip
        children = sorted(discovery.next_pages, key=lambda child: "news" not in child.lower())
        for child in children[:MAX_CHILD_SITEMAPS]:
            _check_feed(run, child, "sitemap index")
        return
    activity = activity_of(discovery)
    run.sources[url] = Source(
        read.kind, url, read.detail, via, discovery.title, activity.items, activity.newest_at,
        activity.per_day, usable=read.is_usable,
        about_topic=bool(run.topic) and is_about(run.topic or "", url, discovery.title),
    )  # fmt: skip
    run.candidates[url] = _newest_first(discovery.candidates)


def _check_listing(run: _Run, link: PageLink, via: str) -> None:
    if link.url in run.seen:
        return
    run.seen.add(link.url)
    fetched = _get(run, link.url)
    if fetched is None or not _is_html(fetched):
        return
    _add_listing(run, normalize_url(fetched.url) or fetched.url, _html(fetched), link.text, via)


def _add_listing(run: _Run, url: str, html: str, text: str | None, via: str) -> None:
    found = discover_listing(html, url, None, None).candidates
    if len(found) >= MIN_LISTING_ARTICLES and url not in run.sources:
        title = page_title(html) or text
        run.sources[url] = Source(
            "listing", url, _listing_detail(url), via, title, len(found),
            article_links=suggest_article_selector(html, url),
            about_topic=bool(run.topic) and is_about(run.topic or "", url, text or title),
        )  # fmt: skip
        run.candidates[url] = found
    for feed in feed_links(html, url):  # a topic's own feed is often linked only here
        _check_feed(run, feed.url, "listing page")


def _listing_detail(url: str) -> str:
    for segment in urlsplit(url).path.lower().split("/"):
        if segment in LISTING_SEGMENTS:
            return segment.rstrip("s").replace("categorie", "category") + " page"
    return "listing page"


def _articles_parse(run: _Run, source_url: str) -> bool | None:
    """Whether the source's newest articles parse: True as soon as one does, False when the
    first ARTICLES_TRIED fetched did not, None when none could be fetched."""
    tried = 0
    for candidate in run.candidates.get(source_url, ()):
        if tried >= ARTICLES_TRIED:
            break
        if candidate.url not in run.parsed:
            if run.fetcher.refusal(candidate.url):
                continue
            run.parsed[candidate.url] = _article_parses(run, candidate.url)
        tried += 1
        if run.parsed[candidate.url]:
            return True
    return False if tried else None


def _article_parses(run: _Run, url: str) -> bool:
    fetched = run.fetcher.get(url)
    if not fetched.ok:
        return False
    charset = _charset(fetched.content_type)
    article = parse_article(fetched.body, fetched.url, ParseHints(charset=charset))
    return article is not None and bool(article.title) and bool(article.body.strip())


def _get(run: _Run, url: str) -> Fetched | None:
    refused = run.fetcher.refusal(url)
    if refused:
        log.info("not requested: %s (%s)", url, refused)
        return None
    fetched = run.fetcher.get(url)
    if not fetched.ok:
        log.debug("%s: %s", url, fetched.error or f"HTTP {fetched.status}")
        return None
    return fetched


def _newest_first(candidates: tuple[Candidate, ...]) -> tuple[Candidate, ...]:
    dated = sorted((c for c in candidates if c.published_at), key=lambda c: c.published_at or 0)
    return (*reversed(dated), *(c for c in candidates if not c.published_at))


def _is_html(fetched: Fetched) -> bool:
    kind = (fetched.content_type or "").lower()
    if "html" in kind:
        return True
    return not kind and b"<html" in fetched.body[:4096].lower()


def _html(fetched: Fetched) -> str:
    return decode_html(fetched.body, _charset(fetched.content_type))


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip('"')
    return None
