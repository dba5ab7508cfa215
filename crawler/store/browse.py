"""The read side of the web app: facet counts of a search, articles per day for charts.

The listings themselves are :func:`crawler.store.queries.query_articles` (the engine of
``newsmon query``); this module counts what such a listing matches, grouped the ways the
web pages show it. Plain functions over a session, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Integer, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from crawler.store.clusters import published_when
from crawler.store.models import Article, ArticleFeed, ArticleTag
from crawler.store.queries import ArticleFilter, restricted
from crawler.store.stats import Count, utc_day

# Facets count the newest this many matches (by id, which grows as articles are stored),
# so that a page costs about the same however many match: at 100,000 articles a search's
# facets over its 20,000 newest matches took ~180 ms, over 5,000 about a quarter of that.
FACET_WINDOW = 5_000
Facet = Literal["site", "tag", "feed", "author", "language"]
FACETS: tuple[Facet, ...] = ("site", "tag", "feed", "author", "language")
Series = Literal["tag", "site", "feed"]


def match_count(session: Session, f: ArticleFilter) -> int:
    """How many articles the filter and its search match (before any collapse; on SQLite a
    search counts within its rank window, as the listing ranks it)."""
    query = restricted(session, select(func.count()).select_from(Article), f, Article.id)
    return 0 if query is None else int(session.scalar(query) or 0)


def facet_counts(
    session: Session,
    f: ArticleFilter,
    facet: Facet,
    limit: int = 10,
    first_id: int | None = None,
    among: Sequence[int] | None = None,
) -> list[Count]:
    """The ``limit`` commonest values of ``facet`` among the matching articles (with
    ``first_id``, those from that id on), with how many of them carry each (an article with
    two tags counts under both). With ``among``, the articles with those ids instead."""
    n = func.count()
    key: Any
    if facet in ("site", "language"):
        stored = Article.site if facet == "site" else Article.language
        key = func.coalesce(stored, "")  # an expression: see below
        query: Any = select(key, n).select_from(Article).where(stored.is_not(None))
        on: Any = Article.id
    elif facet in ("tag", "feed"):
        column = ArticleTag.tag if facet == "tag" else ArticleFeed.feed
        on = ArticleTag.article_id if facet == "tag" else ArticleFeed.article_id
        # Grouped by an expression, not the bare column: SQLite would otherwise walk the
        # whole index on it to skip a sort, rather than the few article ids asked for
        # (at 100,000 articles: 320 ms instead of 22). Neither is ever NULL.
        key = func.coalesce(column, "")
        query = select(key, n).select_from(column.class_)
    elif facet == "author":
        dialect = session.get_bind().dialect.name
        name = _author_names(dialect)
        key, on = name.c.value, Article.id
        query = select(key, n).select_from(Article).join(name, true())
        if dialect == "sqlite":
            query = query.where(name.c.type == "text")  # names, not stray numbers
    else:
        raise ValueError(f"no facet {facet!r}: use one of {', '.join(FACETS)}")
    if among is not None:
        known = _known_ids(session.get_bind().dialect.name, among)
        query = query.join(known, known.c.value == on)
    else:
        query = restricted(session, query, f, on)
    if query is None:
        return []
    if first_id is not None:
        query = query.where(on >= first_id)
    query = query.group_by(key).order_by(n.desc(), key).limit(limit)
    return [Count(str(k), int(c)) for k, c in session.execute(query)]


def facet_summary(
    session: Session, f: ArticleFilter, limit: int = 10
) -> tuple[int, dict[Facet, list[Count]]]:
    """How many articles match, and :func:`facet_counts` of every facet among the newest
    :data:`FACET_WINDOW` of them (all of them when there are fewer)."""
    if f.search is not None:
        # A search's ids are found once, and every facet counted among them: each facet
        # searching again cost a full-text scan apiece (at 100,000 articles, a word in 40 %
        # of them: 23 ms to find its 20,000 newest matches, ~45 ms per facet so).
        found = restricted(session, select(Article.id), f, Article.id)
        if found is None:
            return 0, {name: [] for name in FACETS}
        newest = list(session.scalars(found.order_by(Article.id.desc()).limit(FACET_WINDOW + 1)))
        total = len(newest) if len(newest) <= FACET_WINDOW else match_count(session, f)
        among = newest[:FACET_WINDOW]
        return total, {name: facet_counts(session, f, name, limit, among=among) if among else []
                       for name in FACETS}  # fmt: skip
    total = match_count(session, f)
    if total == 0:
        return 0, {name: [] for name in FACETS}
    first_id = None
    if total > FACET_WINDOW:
        matching = restricted(session, select(Article.id), f, Article.id)
        assert matching is not None  # it matched
        window_start = matching.order_by(Article.id.desc()).offset(FACET_WINDOW - 1).limit(1)
        first_id = session.scalar(window_start)
    return total, {name: facet_counts(session, f, name, limit, first_id) for name in FACETS}


def _known_ids(dialect: str, ids: Sequence[int]) -> Any:
    """The ids as a table of one column, ``value``, from one bound value however many they
    are: a JSON array read by SQLite's json_each, or a PostgreSQL array unnested."""
    if dialect == "sqlite":
        values: Any = bindparam("known_ids", json.dumps(list(ids)))
        return func.json_each(values).table_valued("value").alias("known")
    array = bindparam("known_ids", list(ids), type_=ARRAY(Integer))
    return func.unnest(array).table_valued("value").render_derived(name="known")


def _author_names(dialect: str) -> Any:
    """Each article's credited authors as rows, from its JSON array (a function in FROM
    that reads the article's row: SQLite's json_each, PostgreSQL's implicitly lateral
    json_array_elements_text)."""
    if dialect == "sqlite":
        return func.json_each(Article.authors).table_valued("value", "type", joins_implicitly=True)
    return func.json_array_elements_text(Article.authors).table_valued(
        "value", joins_implicitly=True
    )


def days_between(since: datetime, until: datetime) -> list[str]:
    """Every UTC day from the one of ``since`` to the one before ``until`` (an end, not
    included) as ``YYYY-MM-DD``."""
    first, last = since.date(), (until - timedelta(microseconds=1)).date()
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def daily_counts(
    session: Session, f: ArticleFilter, since: datetime, until: datetime
) -> list[Count]:
    """Matching articles per UTC day from ``since`` to ``until`` (dated as ``query`` dates
    them: published, else first seen), every day listed, empty ones as 0."""
    days = days_between(since, until)
    day = utc_day(session.get_bind().dialect.name, published_when())
    query = restricted(
        session,
        select(day, func.count())
        .select_from(Article)
        .where(published_when() >= since, published_when() < until),
        f,
        Article.id,
    )
    if query is None:
        return [Count(d, 0) for d in days]
    found = {str(d): int(c) for d, c in session.execute(query.group_by(day))}
    return [Count(d, found.get(d, 0)) for d in days]


def daily_counts_by(
    session: Session, by: Series, keys: list[str], since: datetime, until: datetime
) -> dict[str, list[Count]]:
    """Articles per UTC day for each of ``keys`` (tags, sites or feeds), every day listed."""
    days = days_between(since, until)
    if not keys:
        return {}
    day = utc_day(session.get_bind().dialect.name, published_when())
    group: Any
    query: Any = select().select_from(Article)
    if by == "tag":
        group = ArticleTag.tag
        query = query.join(ArticleTag, ArticleTag.article_id == Article.id)
    elif by == "feed":
        group = ArticleFeed.feed
        query = query.join(ArticleFeed, ArticleFeed.article_id == Article.id)
    else:
        group = Article.site
    query = (
        query.add_columns(group, day, func.count(func.distinct(Article.id)))
        .where(group.in_(keys), published_when() >= since, published_when() < until)
        .group_by(group, day)
    )
    found: dict[str, dict[str, int]] = {k: {} for k in keys}
    for key, d, count in session.execute(query):
        found[str(key)][str(d)] = int(count)
    return {k: [Count(d, found[k].get(d, 0)) for d in days] for k in keys}


def feed_daily_counts(
    session: Session, feeds: list[str], since: datetime, until: datetime
) -> dict[str, list[Count]]:
    """Articles each feed collected per UTC day (by when it first found them: the feed's own
    yield, whatever their publication dates)."""
    days = days_between(since, until)
    day = utc_day(session.get_bind().dialect.name, ArticleFeed.first_seen_at)
    query = (
        select(ArticleFeed.feed, day, func.count())
        .where(
            ArticleFeed.feed.in_(feeds),
            ArticleFeed.first_seen_at >= since,
            ArticleFeed.first_seen_at < until,
        )
        .group_by(ArticleFeed.feed, day)
    )
    found: dict[str, dict[str, int]] = {name: {} for name in feeds}
    for feed, d, count in session.execute(query):
        found[str(feed)][str(d)] = int(count)
    return {name: [Count(d, found[name].get(d, 0)) for d in days] for name in feeds}


def collected_since(session: Session, feeds: list[str], since: datetime) -> dict[str, int]:
    """How many articles each feed found for the first time since ``since`` (read from the
    index by time: a window, not the whole table)."""
    rows = session.execute(
        select(ArticleFeed.feed, func.count())
        .where(ArticleFeed.first_seen_at >= since, ArticleFeed.feed.in_(feeds))
        .group_by(ArticleFeed.feed)
    )
    return {str(feed): int(count) for feed, count in rows}
