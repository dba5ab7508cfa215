"""What discovery finds on a listing page, an RSS/Atom feed or a news sitemap.

The pure functions that read each kind live in :mod:`crawler.extract.listings`,
:mod:`crawler.extract.feeds` and :mod:`crawler.extract.sitemaps`; they all return a
:class:`Discovery`: what the spider should fetch next, with whatever each entry already
tells about the article (title, date, keywords), which the parser later takes as hints.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.article import FeedEntry


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


def one_line(value: object) -> str:
    """The first line of an error's message (its type's name when it has none)."""
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__
