"""Boilerplate learned per site: the paragraphs that many articles of one site carry.

The generic rules of :mod:`crawler.extract.body` drop chrome that reads like chrome anywhere
("Share", "© 2022 …", "Sign up for our newsletter"). What they cannot know is a site's own
furniture: "Follow us on Mastodon", "Read more: the Ledger's election guide", a standard
disclaimer, a line with the site's name. That is learned while the site is crawled. The
store counts, per site, in how many *distinct* articles each body paragraph occurs (by
:func:`crawler.textnorm.paragraph_key`, so spelling variants count together); the keys that
pass the rule below go back to the parser as ``ParseHints.boilerplate``, which leaves those
paragraphs out of the body, and so out of the content hash: a learned line appearing on or
vanishing from a page never makes a new version. The parser reports the keys of every body
paragraph *before* that removal (``Article.paragraph_keys``), so a learned line keeps being
counted on every page that carries it.

The rule: a paragraph is boilerplate for a site when

* it occurred in at least ``MIN_ARTICLES`` (3) distinct articles of the site. Two articles
  quoting the same statement, or a follow-up repeating the lead of the first report, is
  ordinary journalism; a template line is on every page; and
* those are at least ``MIN_SHARE`` (20 %) of the site's articles counted since the paragraph
  first appeared, taken over no fewer than the site's last ``WINDOW`` (50) articles (all of
  them while it has fewer). Chrome is on nearly every page of its template, so it passes
  within ten articles of appearing, however long the site's history; a stock background
  paragraph repeated through a running story ("The war began in February 2022 …") sits in
  a few percent of a busy site's articles and stays. Counting from the first appearance
  also lets a line that left the template fade out as the site grows. On a small site the
  evidence is thin either way; three articles is the floor.

Each article counts once: a new version counts only the keys that none of its earlier
versions' bodies had, so an article edited five times never turns its own paragraphs into
boilerplate. (A learned paragraph is in no stored body and is counted again by a new
version; it is boilerplate already, that only keeps it so a little longer.)

Rows are keyed by the article's site (:func:`crawler.urls.site_of` of its URL); the pipeline
asks with the site of the fetched page, which is the same except when a sibling host
(``amp.``) serves a page whose URL is on the main host: such pages get no learned
boilerplate, never another host's. Paragraphs seen in one article only are pruned after
``PRUNE_AFTER``, checked every ``PRUNE_EVERY`` articles of a site, so the table holds what
may still recur, not every paragraph ever crawled.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crawler.store.models import ArticleVersion, SiteParagraph, SiteParagraphStats
from crawler.textnorm import paragraph_key

__all__ = [
    "MIN_ARTICLES",
    "MIN_SHARE",
    "WINDOW",
    "SiteBoilerplate",
    "is_boilerplate",
    "load_boilerplate",
    "record_paragraphs",
    "without_boilerplate",
]

MIN_ARTICLES = 3
MIN_SHARE = 0.2
WINDOW = 50
CACHE_SECONDS = 60.0  # how stale another process's learning may be seen here
PRUNE_EVERY = 500
PRUNE_AFTER = timedelta(days=30)


def is_boilerplate(article_count: int, first_article_seq: int, site_articles: int) -> bool:
    """The rule above: ``first_article_seq`` is the site's article count when the paragraph
    first occurred, ``site_articles`` its count now."""
    since_first = site_articles - first_article_seq + 1
    base = max(since_first, min(WINDOW, site_articles))
    return article_count >= MIN_ARTICLES and article_count >= MIN_SHARE * base


def load_boilerplate(session: Session, site: str) -> frozenset[str]:
    """The paragraph keys that are boilerplate for ``site`` now."""
    site_articles = session.scalar(
        select(SiteParagraphStats.article_count).where(SiteParagraphStats.site == site)
    )
    if not site_articles:
        return frozenset()
    rows = session.execute(
        select(
            SiteParagraph.paragraph_key,
            SiteParagraph.article_count,
            SiteParagraph.first_article_seq,
        ).where(SiteParagraph.site == site, SiteParagraph.article_count >= MIN_ARTICLES)
    )
    return frozenset(
        key for key, count, first in rows if is_boilerplate(count, first, site_articles)
    )


@functools.cache
def _counters(dialect: str) -> tuple[Any, Any]:
    """The two upserts of :func:`record_paragraphs`, built once: run with parameter rows,
    SQLAlchemy compiles each once and sends many rows per statement."""
    insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    stats = SiteParagraphStats.__table__
    site_counter = insert(stats).values(
        site=bindparam("site"),
        article_count=bindparam("article_count"),
        updated_at=bindparam("updated_at"),
    )
    site_counter = site_counter.on_conflict_do_update(
        index_elements=[stats.c.site],
        set_={
            "article_count": stats.c.article_count + bindparam("increment"),
            "updated_at": site_counter.excluded.updated_at,
        },
    ).returning(stats.c.article_count)
    paragraphs = SiteParagraph.__table__
    paragraph_counter = insert(paragraphs)
    paragraph_counter = paragraph_counter.on_conflict_do_update(
        index_elements=[paragraphs.c.site, paragraphs.c.paragraph_key],
        set_={
            "article_count": paragraphs.c.article_count + 1,
            "last_seen_at": paragraph_counter.excluded.last_seen_at,
        },
    ).returning(
        paragraphs.c.paragraph_key,
        paragraphs.c.article_count,
        paragraphs.c.first_article_seq,
    )
    return site_counter, paragraph_counter


def record_paragraphs(
    session: Session,
    site: str,
    article_id: int,
    version: int,
    paragraph_keys: Iterable[str],
    seen_at: datetime,
) -> dict[str, bool]:
    """Count the paragraphs of a new article (``version`` 1) or of a new version of one.

    Runs in the transaction that saved it. Returns, for every key counted now, whether it is
    boilerplate after this count (the cache uses it to notice what changed).
    """
    keys = set(paragraph_keys)
    is_new = version == 1
    if not is_new and keys:
        earlier = session.scalars(
            select(ArticleVersion.body).where(
                ArticleVersion.article_id == article_id, ArticleVersion.version < version
            )
        )
        keys -= {paragraph_key(p) for body in earlier for p in body.split("\n\n")}
    if not keys and not is_new:
        return {}
    dialect = session.get_bind().dialect.name
    site_counter, paragraph_counter = _counters(dialect)
    site_articles = int(
        session.scalar(
            site_counter,
            {"site": site, "article_count": 1, "updated_at": seen_at, "increment": int(is_new)},
        )
        or 1
    )
    statuses: dict[str, bool] = {}
    rows = [
        {
            "site": site,
            "paragraph_key": key,
            "article_count": 1,
            "first_article_seq": site_articles,
            "first_seen_at": seen_at,
            "last_seen_at": seen_at,
        }
        for key in sorted(keys)  # one lock order for concurrent writers
    ]
    if rows:
        for key, count, first in session.execute(paragraph_counter, rows):
            statuses[key] = is_boilerplate(count, first, site_articles)
    if is_new and site_articles % PRUNE_EVERY == 0:
        session.execute(
            delete(SiteParagraph)
            .where(
                SiteParagraph.site == site,
                SiteParagraph.article_count == 1,
                SiteParagraph.last_seen_at < seen_at - PRUNE_AFTER,
            )
            .execution_options(synchronize_session=False)
        )
    return statuses


class SiteBoilerplate:
    """Each site's learned boilerplate keys, held in memory: asked for on every page.

    A site's keys are loaded once and served for ``ttl`` seconds. A save in this process that
    turns a paragraph into boilerplate (or back) drops the site's entry at once, after its
    commit, so the next page of the site already benefits; learning by other processes shows
    within ``ttl``. Thread-safe: the pipeline asks from worker threads.
    """

    def __init__(
        self,
        reading: Callable[[], AbstractContextManager[Session]],
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reading = reading
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        # Bumped on every invalidation, so a load that raced one is not cached.
        self._generation: dict[str, int] = {}

    def keys(self, site: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(site)
            generation = self._generation.get(site, 0)
        if cached is not None and cached[0] > now:
            return cached[1]
        with self._reading() as session:
            keys = load_boilerplate(session, site)
        with self._lock:
            if self._generation.get(site, 0) == generation:
                self._cache[site] = (now + self._ttl, keys)
        return keys

    def counted(self, site: str, statuses: Mapping[str, bool]) -> None:
        """After a save committed: forget the site's keys if a counted paragraph changed side."""
        if not statuses:
            return
        with self._lock:
            cached = self._cache.get(site)
            if cached is not None and all(
                is_learned == (key in cached[1]) for key, is_learned in statuses.items()
            ):
                return
            self._cache.pop(site, None)
            self._generation[site] = self._generation.get(site, 0) + 1


def without_boilerplate(session: Session, site: str, body: str) -> str:
    """A stored body less the paragraphs learned as ``site``'s chrome since it was stored."""
    keys = load_boilerplate(session, site)
    if not keys:
        return body
    return "\n\n".join(p for p in body.split("\n\n") if paragraph_key(p) not in keys)
