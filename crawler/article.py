"""The values that cross module boundaries: what the crawl knows, what the parser returns."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SiteRules:
    """Per-site CSS selectors from ``[[sites]]`` in settings.toml; each one optional."""

    domain: str
    title: str | None = None
    body: str | None = None
    published: str | None = None
    authors: str | None = None
    tags: str | None = None
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class FeedEntry:
    """What a listing, feed or sitemap entry said about an article before it was fetched.

    Discovery finds it (:class:`~crawler.extract.discovery.Candidate`), the parser takes it
    as a hint (:class:`ParseHints`): both are FeedEntry kinds, so the fields are declared
    here once and :func:`entry_fields` carries them from one to the other.
    """

    title: str | None = None  # feed / sitemap entry title
    published_at: datetime | None = None  # feed / sitemap entry date, aware UTC
    published_source: str | None = None  # "feed" or "sitemap"
    published_precision: str | None = None  # of published_at: "day" when the entry had no time
    keywords: tuple[str, ...] = ()  # RSS categories, sitemap news:keywords
    authors: tuple[str, ...] = ()  # feed entry authors
    image_url: str | None = None  # feed media
    language: str | None = None  # sitemap news:language


def entry_fields(entry: FeedEntry) -> dict[str, Any]:
    """The FeedEntry part of ``entry`` (of whatever kind), as keyword arguments for another
    kind: ``ParseHints(**entry_fields(candidate), ...)``."""
    return {f.name: getattr(entry, f.name) for f in fields(FeedEntry)}


@dataclass(frozen=True, kw_only=True)
class ParseHints(FeedEntry):
    """What the crawl knows about a page before parsing it: what its entry said (the
    :class:`FeedEntry` fields) and the following.

    Everything is optional: ``parse_article(html, url)`` works without hints, but the feed's
    time zone, its tags and the feed/sitemap entry make the result better.
    """

    timezone: str = "UTC"  # IANA name, for dates that carry no offset or zone
    tags: tuple[str, ...] = ()  # labels of the feed that found the page
    charset: str | None = None  # from the HTTP Content-Type header
    fetched_at: datetime | None = None  # for relative dates such as "2 hours ago"
    site_rules: SiteRules | None = None
    # paragraph keys learned as the site's chrome: see crawler.store.boilerplate
    boilerplate: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Article:
    """A normalised news article, as the parser returns it. Timestamps are aware UTC."""

    url: str  # normalised: same-site canonical, else og:url / JSON-LD url / response URL
    canonical_url: str | None  # the page's rel=canonical, normalised, if it declares one
    title: str
    authors: tuple[str, ...]
    published_at: datetime | None
    modified_at: datetime | None
    tags: tuple[str, ...]  # casefolded, stripped, de-duplicated, sorted
    body: str  # paragraphs separated by a blank line
    summary: str | None
    lead_image_url: str | None
    language: str | None
    published_source: str | None = None  # json-ld | meta | time | sitemap | feed | text | htmldate
    published_precision: str | None = None  # day | minute | second
    lead_image_caption: str | None = None
    lead_image_credit: str | None = None
    # crawler.textnorm.paragraph_key of every body paragraph before learned boilerplate was
    # removed, in order: what the store counts to learn it (see crawler.store.boilerplate).
    paragraph_keys: tuple[str, ...] = field(default=(), repr=False)
