"""What the crawl asks the store to save, and what it hears back: plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from crawler.article import Article as ParsedArticle
from crawler.errors import StoreError
from crawler.fingerprint import Fingerprint

SaveOutcome = Literal["new", "version", "unchanged", "duplicate"]


@dataclass(frozen=True)
class SaveResult:
    article_id: int
    outcome: SaveOutcome
    version: int


@dataclass(frozen=True)
class SaveRequest:
    """One parsed article to store and where the crawl found it: what the writer is handed
    (it pickles, so another process can do the writing)."""

    article: ParsedArticle
    fingerprint: Fingerprint
    feed: str
    feed_tags: tuple[str, ...]
    urls: tuple[str, ...]  # the other URLs it was reached at: requested, redirected, listed
    fetched_at: datetime


@dataclass(frozen=True)
class SavedBatch:
    """What :meth:`ArticleSaver.save_articles` did: one result (or error) per request, in order,
    and the paragraphs it counted per site (see :meth:`ArticleSaver.boilerplate_counted`)."""

    results: list[SaveResult | StoreError]
    counted: list[tuple[str, dict[str, bool]]]
