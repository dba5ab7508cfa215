"""What discovery finds on a listing page, an RSS/Atom feed or a news sitemap.

The pure functions that read each kind live in :mod:`crawler.extract.listings`,
:mod:`crawler.extract.feeds` and :mod:`crawler.extract.sitemaps`; they all return a
:class:`Discovery`: what the spider should fetch next, with whatever each entry already
tells about the article (title, date, keywords), which the parser later takes as hints.
Each first checks that the page is of its kind (:func:`ensure_kind`): an RSS feed read as a
sitemap has no ``<url>`` elements and would be "ok, found 0" on every run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.article import FeedEntry
from crawler.errors import WrongKindError


@dataclass(frozen=True, kw_only=True)
class Candidate(FeedEntry):
    """An article URL found by discovery, with what its entry said about it."""

    url: str


@dataclass(frozen=True)
class Discovery:
    candidates: tuple[Candidate, ...]
    next_pages: tuple[str, ...] = ()  # further listing pages or child sitemaps
    total_entries: int | None = None  # set when only the newest entries were kept
    title: str | None = None  # the feed's own title (feeds only)
    format: str | None = None  # feedparser's version of a feed: "rss20", "atom10", "json11"...


# The start of a page is enough to tell its kind: past the BOM, white space, the XML
# declaration, processing instructions, comments and a DOCTYPE comes the root element.
_HEAD_CHARS = 4096
_PROLOG = re.compile(r"(?:\ufeff|\s+|<\?.*?\?>|<!--.*?-->|<!doctype[^>\[]*>)*", re.I | re.S)
_HTML_DOCTYPE = re.compile(r"<!doctype\s+html", re.I)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
# Root element (local name, lowercased) -> the kind of feed that reads it, and what it is.
_ROOTS = {
    "rss": ("rss", "an RSS feed"),
    "rdf": ("rss", "an RSS feed"),  # RSS 1.0: <rdf:RDF>
    "feed": ("rss", "an Atom feed"),
    "urlset": ("sitemap", "a sitemap"),
    "sitemapindex": ("sitemap", "a sitemap index"),
    "html": ("listing", "an HTML page"),
    "head": ("listing", "an HTML page"),
    "body": ("listing", "an HTML page"),
}
_KIND_READS = {"rss": "an RSS/Atom feed", "sitemap": "a sitemap", "listing": "a listing page"}


def _looks_like(body: bytes | str) -> tuple[str, str] | None:
    head = body[:_HEAD_CHARS]
    text = head.decode("latin-1") if isinstance(head, bytes) else head
    text = text.removeprefix("\xef\xbb\xbf")  # a UTF-8 BOM read as latin-1
    prolog = _PROLOG.match(text)
    start = prolog.end() if prolog else 0
    if _HTML_DOCTYPE.search(text, 0, start):
        return _ROOTS["html"]
    root = _ROOT.match(text, start)
    if root is None:
        return None
    return _ROOTS.get(root[1].rpartition(":")[2].lower())


def sniff_kind(body: bytes | str) -> str | None:
    """The feed ``kind`` that reads a page like ``body``, by its root element: "rss" (RSS
    or Atom), "sitemap" (a urlset or sitemap index) or "listing" (HTML); None when the
    start of the page does not tell (gzip, JSON, an unknown XML document, an HTML
    fragment)."""
    look = _looks_like(body)
    return look[0] if look else None


def ensure_kind(body: bytes | str, kind: str) -> None:
    """Raise :class:`WrongKindError` when ``body`` is plainly of another kind than
    ``kind``, saying which kind to set."""
    look = _looks_like(body)
    if look is None or look[0] == kind:
        return
    looks_like, what = look
    raise WrongKindError(
        f'looks like {what}, not {_KIND_READS[kind]}: set kind = "{looks_like}"', looks_like
    )


def newest_first(candidate: Candidate) -> tuple[bool, float]:
    """Sort key: dated entries newest first, then the undated ones (a stable sort keeps
    their feed order)."""
    published = candidate.published_at
    return (published is None, -published.timestamp() if published else 0.0)
