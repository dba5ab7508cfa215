"""The bounds of one feed run against runaway or hostile sites: articles per run
(``max_articles_per_run``, newest first) and child sitemaps per run."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from crawler.crawl.feedrun import FeedRun
from crawler.extract.discovery import Candidate, newest_first
from crawler.urls import url_key

log = logging.getLogger("crawler.feed")

MAX_CHILD_SITEMAPS = 20


def child_sitemaps(run: FeedRun, urls: tuple[str, ...], index: str) -> Iterator[str]:
    """Each sitemap once per run (indexes may list themselves or each other), and at
    most MAX_CHILD_SITEMAPS of them in all, however deep the indexes nest."""
    over_limit = 0
    for url in urls:
        if url in run.sitemaps_seen:
            run.skipped_by_limits += 1
            log.warning(
                "feed %s: %s: sitemap already read in this run (listed again by %s), skipped",
                run.feed.name,
                url,
                index,
            )
            continue
        if run.child_sitemaps >= MAX_CHILD_SITEMAPS:
            over_limit += 1
            continue
        run.sitemaps_seen.add(url)
        run.child_sitemaps += 1
        yield url
    if over_limit:
        run.skipped_by_limits += over_limit
        run.child_sitemaps_over_limit += over_limit
        if run.child_sitemaps_over_limit > over_limit:
            return  # said once per run: nested indexes would repeat it for every child
        log.warning(
            "feed %s: %s: %d child sitemaps skipped (at most %d per run)",
            run.feed.name,
            index,
            over_limit,
            MAX_CHILD_SITEMAPS,
        )


def within_limits(
    run: FeedRun, candidates: list[Candidate], *, entries: int, trimmed: bool
) -> list[Candidate]:
    """URLs not yet taken this run, newest first, within max_articles_per_run.

    ``entries`` is how many entries the page had; ``trimmed``: discovery already kept
    only the newest of them.
    """
    seen = set(run.article_keys)
    fresh: list[Candidate] = []
    for candidate in candidates:
        key = url_key(candidate.url)
        if key not in seen:
            seen.add(key)
            fresh.append(candidate)
    left = max(run.settings.crawl.max_articles_per_run - run.articles_considered, 0)
    if len(fresh) > left or trimmed:
        fresh.sort(key=newest_first)  # stable: undated entries keep the feed's order
        run.skipped_by_limits += max(len(fresh) - left, 0) + (entries - len(candidates))
        fresh = fresh[:left]
        which = "newest" if any(c.published_at for c in fresh) else "first"
        log.info(
            "feed %s: %d entries, fetching the %s %d (max_articles_per_run)",
            run.feed.name,
            entries,
            which,
            len(fresh),
        )
    run.articles_considered += len(fresh)
    run.article_keys.update(url_key(c.url) for c in fresh)
    return fresh
