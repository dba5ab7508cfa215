"""Which listed articles a feed run downloads, re-checks or only links, and how.

A stored article is linked to the feed without a download, unless it is young enough to
be re-checked for edits: within ``revisit_window`` of its first sighting, once the time
since its last fetch or check exceeds both REVISIT_FRACTION of its age (often while
young, when edits are likely; rarely when old) and ``revisit_min_interval``. A re-check is
a conditional GET with the article's own validators (its last ETag and Last-Modified), so
an unchanged page costs a 304; re-checks take at most ``revisit_share`` of a host's
requests (crawler.crawl.politeness), the rest wait for a later run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from scrapy.http import Response

from crawler.config import CrawlConfig
from crawler.crawl.feedrun import FeedRun
from crawler.extract.discovery import Candidate
from crawler.store.linking import KnownUrl
from crawler.store.pacing import ArticleCheck
from crawler.urls import url_key

# A known article is re-fetched when the time since its last fetch exceeds this fraction
# of its age: often while young (edits are most likely then), rarely when old.
REVISIT_FRACTION = 0.25


@dataclass
class ArticlePlan:
    """What a feed page's candidates come to."""

    links: list[tuple[int, str]] = field(default_factory=list)  # (article id, URL): stored
    new: list[Candidate] = field(default_factory=list)
    rechecks: list[tuple[Candidate, ArticleCheck | None]] = field(default_factory=list)


def plan_articles(
    candidates: Sequence[Candidate],
    known: Mapping[str, KnownUrl],
    checks: Mapping[str, ArticleCheck],
    now: datetime,
    crawl: CrawlConfig,
) -> ArticlePlan:
    plan = ArticlePlan()
    for candidate in candidates:
        key = url_key(candidate.url)
        stored = known.get(key)
        if stored is None:
            plan.new.append(candidate)
            continue
        # Linked in any case: a re-check that is deferred or answered 304 stays found.
        plan.links.append((stored.article_id, candidate.url))
        check = checks.get(key)
        last = max(stored.last_fetched_at, check.checked_at) if check else stored.last_fetched_at
        age, since = now - stored.first_seen_at, now - last
        if (
            age < crawl.revisit_window
            and since >= age * REVISIT_FRACTION
            and since >= crawl.revisit_min_interval
        ):
            plan.rechecks.append((candidate, check))
    return plan


def conditional_headers(check: ArticleCheck | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if check is not None and check.etag:
        headers["If-None-Match"] = check.etag
    if check is not None and check.last_modified:
        headers["If-Modified-Since"] = check.last_modified
    return headers


def record_check(run: FeedRun, candidate: Candidate, response: Response, now: datetime) -> None:
    """Keep the validators an article response came with (saved after the run)."""
    etag, modified = response.headers.get(b"ETag"), response.headers.get(b"Last-Modified")
    run.article_checks[url_key(candidate.url)] = ArticleCheck(
        etag.decode("latin-1") if etag else None,
        modified.decode("latin-1") if modified else None,
        now,
    )
