"""The read side of the web app: facet counts of a search, articles per day for charts.

The listings themselves are :func:`crawler.store.queries.query_articles` (the engine of
``newsmon query``); this module counts what such a listing matches, grouped the ways the
web pages show it. Plain functions over a session, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from crawler.store.clusters import published_when
from crawler.store.models import Article, ArticleFeed, ArticleTag
from crawler.store.queries import ArticleFilter, matching_ids
from crawler.store.stats import Count, utc_day

Facet = Literal["site", "tag", "feed", "author", "language"]
FACETS: tuple[Facet, ...] = ("site", "tag", "feed", "author", "language")
Series = Literal["tag", "site", "feed"]


def match_count(session: Session, f: ArticleFilter) -> int:
    """How many articles the filter and its search match (before any collapse)."""
    ids = matching_ids(session, f)
    if ids is None:
        return 0
    return int(session.scalar(select(func.count()).select_from(ids.subquery())) or 0)


def facet_counts(session: Session, f: ArticleFilter, facet: Facet, limit: int = 10) -> list[Count]:
    """The ``limit`` commonest values of ``facet`` among the matching articles, with how
    many of them carry each (an article with two tags counts under both)."""
    ids = matching_ids(session, f)
    if ids is None:
        return []
    matched = ids.subquery("matched")
    n = func.count()
    query: Any
    if facet == "site":
        query = select(Article.site, n).join(matched, matched.c.id == Article.id)
        key: Any = Article.site
    elif facet == "language":
        query = select(Article.language, n).join(matched, matched.c.id == Article.id)
        query = query.where(Article.language.is_not(None))
        key = Article.language
    elif facet == "tag":
        query = select(ArticleTag.tag, n).join(matched, matched.c.id == ArticleTag.article_id)
        key = ArticleTag.tag
    elif facet == "feed":
        query = select(ArticleFeed.feed, n).join(matched, matched.c.id == ArticleFeed.article_id)
        key = ArticleFeed.feed
    elif facet == "author":
        name = _author_names(session.get_bind().dialect.name)
        query = (
            select(name.c.value, n)
            .select_from(Article)
            .join(matched, matched.c.id == Article.id)
            .join(name, true())
        )
        if session.get_bind().dialect.name == "sqlite":
            query = query.where(name.c.type == "text")  # names, not stray numbers
        key = name.c.value
    else:
        raise ValueError(f"no facet {facet!r}: use one of {', '.join(FACETS)}")
    query = query.group_by(key).order_by(n.desc(), key).limit(limit)
    return [Count(str(k), int(c)) for k, c in session.execute(query)]


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
    ids = matching_ids(session, f)
    days = days_between(since, until)
    if ids is None:
        return [Count(d, 0) for d in days]
    matched = ids.subquery("matched")
    day = utc_day(session.get_bind().dialect.name, published_when())
    query = (
        select(day, func.count())
        .select_from(Article)
        .join(matched, matched.c.id == Article.id)
        .where(published_when() >= since, published_when() < until)
        .group_by(day)
    )
    found = {str(d): int(c) for d, c in session.execute(query)}
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


def last_collected(session: Session, feeds: list[str]) -> dict[str, datetime]:
    """When each feed last found an article it had not found before."""
    rows = session.execute(
        select(ArticleFeed.feed, func.max(ArticleFeed.first_seen_at))
        .where(ArticleFeed.feed.in_(feeds))
        .group_by(ArticleFeed.feed)
    )
    return {str(feed): when for feed, when in rows if when is not None}
