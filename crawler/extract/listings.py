"""Article links on tag/topic listing pages: by CSS selector when configured, else by the
shape of their URLs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from parsel import Selector

from crawler.extract.discovery import Candidate, Discovery, ensure_kind
from crawler.urls import is_same_site, normalize_url

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
CHROME_ANCESTORS = (
    "ancestor::nav or ancestor::aside"
    " or ancestor::header[not(ancestor::article)] or ancestor::footer[not(ancestor::article)]"
)


def discover_listing(
    html: str, page_url: str, article_links: str | None, next_page: str | None
) -> Discovery:
    """Article links of a tag/topic page: by selector when configured, else by URL shape."""
    ensure_kind(html, "listing")
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
        anchors = selector.xpath(f"//a[@href][not({CHROME_ANCESTORS})]")
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
