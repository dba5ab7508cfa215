"""Finding article URLs on listing pages, RSS/Atom feeds and news sitemaps.

Pure functions over a response body: what the spider should fetch next, with whatever the
listing entry already tells about the article (title, date, keywords), which the parser
later takes as hints.
"""

from __future__ import annotations

import calendar
import gzip
import io
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import feedparser
from lxml import etree
from parsel import Selector

from crawler.dates import parse_date
from crawler.urls import is_same_site, normalize_url


@dataclass(frozen=True)
class Candidate:
    """An article URL found by discovery, with what the entry said about it."""

    url: str
    title: str | None = None
    published_at: datetime | None = None
    published_source: str | None = None
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    image_url: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Discovery:
    candidates: tuple[Candidate, ...]
    next_pages: tuple[str, ...] = ()  # further listing pages or child sitemaps


class DiscoveryError(ValueError):
    """The page is not a usable listing, feed or sitemap (the message says why)."""


# -- listing pages ---------------------------------------------------------------------------

# Path segments of pages that are not articles: navigation, people, media and live shells.
_NON_ARTICLE_SEGMENTS = frozenset(
    {
        "tag",
        "tags",
        "topic",
        "topics",
        "category",
        "categories",
        "section",
        "author",
        "authors",
        "people",
        "profile",
        "video",
        "videos",
        "live",
        "podcast",
        "podcasts",
        "gallery",
        "galleries",
        "search",
        "login",
        "subscribe",
        "newsletter",
        "newsletters",
        "about",
        "contact",
        "privacy",
        "terms",
        "feed",
        "rss",
        "page",
        "account",
        "shop",
        "index",
    }
)
_DATE_IN_PATH = re.compile(r"/(19|20)\d{2}/(0?[1-9]|1[0-2])(/|-)")
_NUMERIC_ID = re.compile(r"\d{5,}")
# Site chrome; a header or footer inside an <article> teaser is part of the teaser.
_CHROME_ANCESTORS = (
    "ancestor::nav or ancestor::aside"
    " or ancestor::header[not(ancestor::article)] or ancestor::footer[not(ancestor::article)]"
)


def discover_listing(
    html: str, page_url: str, article_links: str | None, next_page: str | None
) -> Discovery:
    """Article links of a tag/topic page: by selector when configured, else by URL shape."""
    selector = Selector(text=html)
    if article_links:
        anchors = selector.css(article_links)
        # A selector may point at the <a> or at its container: take hrefs below it too.
        hrefs = anchors.xpath("./@href | .//a/@href").getall()
        titles = {
            h: " ".join(a.xpath("string(.)").get("").split())
            for a in anchors
            for h in a.xpath("./@href | .//a/@href").getall()
        }
    else:
        anchors = selector.xpath(f"//a[@href][not({_CHROME_ANCESTORS})]")
        hrefs = anchors.xpath("./@href").getall()
        titles = {
            a.xpath("./@href").get(""): " ".join(a.xpath("string(.)").get("").split())
            for a in anchors
        }
    candidates: dict[str, Candidate] = {}
    for href in hrefs:
        url = normalize_url(href, page_url)
        if url is None or not is_same_site(url, page_url) or url in candidates:
            continue
        if not article_links and not looks_like_article_url(url):
            continue
        if article_links and _has_non_article_segment(url):
            continue
        candidates[url] = Candidate(url=url, title=titles.get(href) or None)
    pages: list[str] = []
    if next_page:
        for href in selector.css(next_page).xpath("./@href | .//a/@href").getall()[:1]:
            url = normalize_url(href, page_url)
            if url and is_same_site(url, page_url):
                pages.append(url)
    return Discovery(tuple(candidates.values()), tuple(pages))


def looks_like_article_url(url: str) -> bool:
    """Heuristic for listing pages without a selector: article URLs carry a date, a long
    slug or a numeric id; navigation, tag, author, video and live pages do not."""
    path = urlsplit(url).path
    if _has_non_article_segment(url):
        return False
    if _DATE_IN_PATH.search(path) or path.endswith((".html", ".htm", ".shtml")):
        return True
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return last.count("-") >= 3 or bool(_NUMERIC_ID.search(last))


def _has_non_article_segment(url: str) -> bool:
    segments = [s.lower() for s in urlsplit(url).path.split("/") if s]
    return (
        not segments
        or any(s in _NON_ARTICLE_SEGMENTS for s in segments[:-1])
        or (len(segments) == 1 and segments[0] in _NON_ARTICLE_SEGMENTS)
    )


# -- RSS / Atom ---------------------------------------------------------------------------


def discover_feed(body: bytes, feed_url: str, content_type: str | None = None) -> Discovery:
    """Entries of an RSS or Atom feed (relative links resolve against the feed URL)."""
    headers = {"content-location": feed_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers)
    if not parsed.entries and (parsed.bozo or not parsed.feed):
        reason = getattr(parsed, "bozo_exception", None) or "no entries"
        raise DiscoveryError(f"not an RSS/Atom feed: {_one_line(reason)}")
    candidates: dict[str, Candidate] = {}
    for entry in parsed.entries:
        url = normalize_url(entry.get("link") or entry.get("id") or "", feed_url)
        if url is None or url in candidates:
            continue
        published, source = None, None
        for key in ("published_parsed", "updated_parsed"):
            stamp = entry.get(key)
            if stamp:
                published = _from_struct(stamp)
                source = "feed"
                break
        keywords = tuple(
            part.strip()
            for tag in entry.get("tags") or []
            for part in (tag.get("term") or "").split(",")
            if part.strip()
        )
        authors = tuple(
            a.get("name", "").strip()
            for a in entry.get("authors") or []
            if a.get("name", "").strip()
        )
        candidates[url] = Candidate(
            url=url,
            title=(entry.get("title") or "").strip() or None,
            published_at=published,
            published_source=source,
            keywords=keywords,
            authors=authors,
            image_url=_entry_image(entry, feed_url),
        )
    return Discovery(tuple(candidates.values()))


def _from_struct(stamp: time.struct_time) -> datetime | None:
    # feedparser normalises to UTC struct_time; timegm (not mktime) keeps it UTC.
    try:
        return datetime.fromtimestamp(calendar.timegm(stamp), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _entry_image(entry: feedparser.FeedParserDict, base: str) -> str | None:
    for key in ("media_content", "media_thumbnail"):
        for media in entry.get(key) or []:
            if media.get("url") and (media.get("medium") in (None, "image")):
                return normalize_url(media["url"], base)
    for link in entry.get("enclosures") or []:
        if str(link.get("type", "")).startswith("image/") and link.get("href"):
            return normalize_url(link["href"], base)
    return None


# -- news sitemaps ------------------------------------------------------------------------

_SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def discover_sitemap(
    body: bytes,
    sitemap_url: str,
    *,
    max_bytes: int,
    default_tz: str = "UTC",
    max_age_cutoff: datetime | None = None,
) -> Discovery:
    """A urlset (with Google News extensions) or a sitemap index, gzip or plain.

    Scrapy's SitemapSpider flattens entries and loses news:publication_date, news:title and
    news:keywords, so the XML is read here with a streaming parser and a size limit.
    """
    data = _gunzip(body, max_bytes) if body[:2] == b"\x1f\x8b" else body
    candidates: dict[str, Candidate] = {}
    children: list[str] = []
    try:
        for _event, element in etree.iterparse(
            io.BytesIO(data),
            events=("end",),
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
        ):
            tag = element.tag if isinstance(element.tag, str) else ""
            if tag == f"{_SM}sitemap":
                loc = normalize_url(element.findtext(f"{_SM}loc") or "", sitemap_url)
                if loc:
                    children.append(loc)
                element.clear()
            elif tag == f"{_SM}url":
                candidate = _sitemap_entry(element, sitemap_url, default_tz)
                element.clear()
                if candidate is None or candidate.url in candidates:
                    continue
                if (
                    max_age_cutoff
                    and candidate.published_at
                    and candidate.published_at < max_age_cutoff
                ):
                    continue
                candidates[candidate.url] = candidate
    except etree.XMLSyntaxError as exc:
        if not candidates and not children:
            raise DiscoveryError(f"not a sitemap: {_one_line(exc)}") from exc
    return Discovery(tuple(candidates.values()), tuple(children))


def _sitemap_entry(element: etree._Element, base: str, default_tz: str) -> Candidate | None:
    url = normalize_url(element.findtext(f"{_SM}loc") or "", base)
    if url is None:
        return None
    news = element.find(f"{_NEWS}news")
    published = None
    source = None
    title = None
    keywords: tuple[str, ...] = ()
    language = None
    if news is not None:
        raw_date = news.findtext(f"{_NEWS}publication_date")
        parsed = parse_date(raw_date, default_tz) if raw_date else None
        if parsed is not None:
            published, source = parsed.at, "sitemap"
        title = (news.findtext(f"{_NEWS}title") or "").strip() or None
        keywords = tuple(
            k.strip() for k in (news.findtext(f"{_NEWS}keywords") or "").split(",") if k.strip()
        )
        language = (news.findtext(f"{_NEWS}publication/{_NEWS}language") or "").strip() or None
    return Candidate(
        url=url,
        title=title,
        published_at=published,
        published_source=source,
        keywords=keywords,
        language=language,
    )


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    # Read at most max_bytes + 1 so a gzip bomb is refused instead of filling memory.
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
        try:
            data = stream.read(max_bytes + 1)
        except (OSError, EOFError) as exc:
            raise DiscoveryError(f"broken gzip: {_one_line(exc)}") from exc
    if len(data) > max_bytes:
        raise DiscoveryError(f"sitemap larger than max_page_bytes ({max_bytes}) once unzipped")
    return data


def _one_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__
