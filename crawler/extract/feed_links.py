"""Where a site's feeds, sitemaps and tag pages are, read from its pages: pure functions for
``newsmon discover``.

Links are found here; what they lead to is read by the parsers the spider uses
(:func:`~crawler.extract.feeds.discover_feed`, :func:`~crawler.extract.sitemaps.discover_sitemap`,
:func:`~crawler.extract.listings.discover_listing`), so a source that discover vouches for is
read the same way when it is crawled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from parsel import Selector

from crawler.errors import DiscoveryError
from crawler.extract.discovery import Discovery
from crawler.extract.feeds import discover_feed
from crawler.extract.listings import CHROME_ANCESTORS, discover_listing
from crawler.extract.sitemaps import discover_sitemap
from crawler.urls import is_same_site, normalize_url

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        # JSON Feed: read by crawler.extract.json_feed (feedparser reads no JSON)
        "application/feed+json",
        "application/json",
        "application/xml",
        "text/xml",
    }
)
# Where feeds and sitemaps usually are when no page links them.
USUAL_FEED_PATHS = ("/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml",
                    "/feeds/posts/default")  # fmt: skip
USUAL_SITEMAP_PATHS = ("/news-sitemap.xml", "/sitemap_news.xml", "/news_sitemap.xml",
                       "/sitemap.xml", "/sitemap_index.xml")  # fmt: skip
# Path segments that introduce a tag, topic, section or category page: /tag/climate/.
LISTING_SEGMENTS = frozenset(
    {"tag", "tags", "topic", "topics", "section", "sections", "category", "categories",
     "subject", "subjects", "theme", "themes", "keyword", "keywords"}
)  # fmt: skip
_FEED_NAME = re.compile(r"(^|[/._-])(rss|atom|feeds?)([/._-]|$)", re.IGNORECASE)
_FEED_SUFFIXES = (".rss", ".atom", ".rdf")
_CSS_NAME = re.compile(r"-?[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class PageLink:
    """A link found on a page: where it leads and what it is called there."""

    url: str
    text: str | None = None


@dataclass(frozen=True)
class SourceRead:
    """What a fetched feed or sitemap turned out to be."""

    kind: str  # "rss" | "sitemap"
    detail: str  # "RSS 2.0", "Atom", "JSON Feed", "news sitemap", "sitemap index", ...
    discovery: Discovery

    @property
    def is_usable(self) -> bool:
        """A feed newsmon can monitor: any feed, a news sitemap; not a plain sitemap."""
        return self.kind == "rss" or self.detail == "news sitemap"


def page_title(html: str) -> str | None:
    text = " ".join(Selector(text=html).xpath("string(//title)").get("").split())
    return text or None


def feed_links(html: str, page_url: str) -> list[PageLink]:
    """Feeds a page declares (``<link rel="alternate">`` of a feed type), then links
    whose address looks like a feed, in page order, without repeats."""
    selector = Selector(text=html)
    found: dict[str, PageLink] = {}
    for link in selector.xpath("//link[@href]"):
        rel = (link.attrib.get("rel") or "").lower().split()
        kind = (link.attrib.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES:
            _add(found, link.attrib["href"], page_url, link.attrib.get("title"))
    for anchor in selector.xpath("//a[@href]"):
        href = anchor.attrib["href"]
        if looks_like_feed_url(href):
            _add(found, href, page_url, " ".join(anchor.xpath("string(.)").get("").split()))
    return list(found.values())


def looks_like_feed_url(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith(_FEED_SUFFIXES) or bool(_FEED_NAME.search(path))


def listing_links(html: str, page_url: str) -> list[PageLink]:
    """Same-site links to tag, topic, section or category pages, in page order."""
    found: dict[str, PageLink] = {}
    for anchor in Selector(text=html).xpath("//a[@href]"):
        url = normalize_url(anchor.attrib["href"], page_url)
        if url and is_same_site(url, page_url) and looks_like_listing_url(url):
            _add(found, url, page_url, " ".join(anchor.xpath("string(.)").get("").split()))
    return list(found.values())


def looks_like_listing_url(url: str) -> bool:
    """``/tag/climate``, ``/topics/economy/``, ``/section/news``: a listing segment followed by
    a name, and no further pages of the listing (``/tag/climate/page/2``)."""
    segments = [s.lower() for s in urlsplit(url).path.split("/") if s]
    for index, segment in enumerate(segments[:-1]):
        if segment in LISTING_SEGMENTS:
            rest = segments[index + 1 :]
            return "page" not in rest and len(rest) <= 2
    return False


def is_about(topic: str, *texts: str | None) -> bool:
    """Whether a URL or title names the topic (``ukraine`` in ``/tags/ukraine``)."""
    wanted = _words(topic)
    return bool(wanted) and any(wanted <= _words(text or "") for text in texts)


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.casefold()))


def topic_listing_urls(site_url: str, topic: str) -> list[str]:
    """Where a site's page about ``topic`` usually is: /tag/TOPIC, /tags/TOPIC, /topic/TOPIC..."""
    slug = "-".join(re.findall(r"[^\W_]+", topic.casefold()))
    if not slug:
        return []
    return [site_root(site_url) + f"/{segment}/{slug}" for segment in ("tag", "tags", "topic",
            "topics", "category", "section")]  # fmt: skip


def site_root(url: str) -> str:
    """``scheme://host[:port]`` of a URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def usual_urls(site_url: str, paths: Iterable[str]) -> list[str]:
    root = site_root(site_url)
    return [root + path for path in paths]


def read_source(
    body: bytes, url: str, content_type: str | None, *, max_bytes: int
) -> SourceRead | None:
    """A fetched body read as a sitemap or a feed (the spider's parsers); None when it is
    neither, such as an HTML page served at /feed."""
    head = body[:2048].lstrip().lower()
    if body[:2] == b"\x1f\x8b" or b"<urlset" in head or b"<sitemapindex" in head:
        try:
            discovery = discover_sitemap(body, url, max_bytes=max_bytes)
        except DiscoveryError:
            return None
        return SourceRead("sitemap", _sitemap_detail(discovery), discovery)
    try:
        discovery = discover_feed(body, url, content_type, max_entries=1000)
    except DiscoveryError:
        return None
    return SourceRead("rss", _feed_detail(discovery.format), discovery)


def _sitemap_detail(discovery: Discovery) -> str:
    if discovery.next_pages and not discovery.candidates:
        return "sitemap index"
    news = any(c.title or c.published_at for c in discovery.candidates)
    return "news sitemap" if news else "plain sitemap"


def _feed_detail(version: str | None) -> str:
    version = version or ""
    if version.startswith("atom"):
        return "Atom"
    if version.startswith("json"):
        return "JSON Feed"
    if version.startswith("rss") and version[3:]:
        return f"RSS {version[3]}.{version[4:] or '0'}"
    return "RSS"


@dataclass(frozen=True)
class Activity:
    """How busy a source is, from the dates its entries carry."""

    items: int
    newest_at: datetime | None
    per_day: float | None  # None without two dated entries


def activity_of(discovery: Discovery) -> Activity:
    dated = sorted(c.published_at for c in discovery.candidates if c.published_at)
    items = discovery.total_entries or len(discovery.candidates)
    if not dated:
        return Activity(items, None, None)
    per_day = None
    if len(dated) >= 2:
        days = max((dated[-1] - dated[0]).total_seconds() / 86_400, 1.0)
        per_day = round(len(dated) / days, 2)
    return Activity(items, dated[-1], per_day)


def suggest_article_selector(html: str, page_url: str) -> str | None:
    """A CSS selector for the article links of this listing page: one that finds every link
    the URL-shape heuristic finds, and besides them only links outside the site's chrome
    (articles whose URLs carry no date or long slug, such as ``/news/slow``); the one with
    the fewest such extras, then the shortest. None when no simple selector does."""
    wanted = {c.url for c in discover_listing(html, page_url, None, None).candidates}
    if len(wanted) < 2:
        return None
    chrome = {
        url
        for href in Selector(text=html).xpath(f"//a[@href][{CHROME_ANCESTORS}]/@href").getall()
        if (url := normalize_url(href, page_url))
    }
    best: tuple[int, int, str] | None = None
    for selector in _selector_candidates(html, page_url, wanted):
        try:
            found = {c.url for c in discover_listing(html, page_url, selector, None).candidates}
        except ValueError:  # cssselect refused it
            continue
        extras = found - wanted
        if wanted <= found and not extras & chrome:
            rank = (len(extras), len(selector), selector)
            best = min(best, rank) if best else rank
    return best[2] if best else None


def _selector_candidates(html: str, page_url: str, wanted: set[str]) -> list[str]:
    """Selectors built from the anchors that lead to the wanted articles, shortest first."""
    options: dict[str, None] = {}
    for anchor in Selector(text=html).xpath("//a[@href]"):
        if normalize_url(anchor.attrib["href"], page_url) not in wanted:
            continue
        parent = anchor.xpath("..")
        parent_tag = parent.xpath("name()").get("") if parent else ""
        classes = [c for c in (anchor.attrib.get("class") or "").split() if _CSS_NAME.fullmatch(c)]
        if parent_tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            options[f"{parent_tag} a"] = None
        for name in classes:
            options[f"a.{name}"] = None
        for ancestor in anchor.xpath("ancestor::*[self::article or self::li or self::div][1]"):
            tag = ancestor.xpath("name()").get("")
            options[f"{tag} a"] = None
            for name in (ancestor.attrib.get("class") or "").split()[:2]:
                if _CSS_NAME.fullmatch(name):
                    options[f"{tag}.{name} a"] = None
                    for own in classes:
                        options[f"{tag}.{name} a.{own}"] = None
    return list(options)


def _add(found: dict[str, PageLink], href: str, base: str, text: str | None) -> None:
    url = normalize_url(href, base)
    if url is not None and url not in found:
        found[url] = PageLink(url, (text or "").strip() or None)
