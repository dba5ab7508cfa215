"""The read side of the database: the questions ``newsmon query/show/export`` answer.

(``status`` has its own module, :mod:`crawler.store.feed_status`.)

Plain functions over a SQLAlchemy session, so the CLI stays a thin layer and the same calls
work on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, String, cast, func, nulls_last, select
from sqlalchemy.orm import Session

from crawler.store.clusters import cluster_key, copies_of
from crawler.store.models import Article, ArticleFeed, ArticleTag, ArticleUrl
from crawler.store.search import (
    SearchQuery,
    matched_ids,
    parse_query,
    ranked_matches,
    top_matches,
)
from crawler.urls import normalize_url, url_key

EXPORT_KEYS = (
    "id",
    "url",
    "canonical_url",
    "site",
    "feeds",
    "title",
    "authors",
    "published_at",
    "modified_at",
    "tags",
    "body",
    "summary",
    "lead_image_url",
    "lead_image_caption",
    "lead_image_credit",
    "language",
    "content_hash",
    "first_seen_at",
    "last_seen_at",
    "versions",
    "cluster_id",
)

AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class ArticleFilter:
    tag: str | None = None
    feed: str | None = None
    site: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = 50
    search: str | None = None  # full-text, most relevant first (see crawler.store.search)
    edited: bool = False  # only articles with more than one version
    collapse: bool = False  # one row per cluster of near-copies: the one that sorts first
    seen_since: datetime | None = None  # first collected by us at or after this time
    author: str | None = None  # one of the credited authors, exactly
    language: str | None = None  # as stored (``en``, ``de-DE``...)
    offset: int = 0  # rows skipped before the ``limit`` rows: a page of a listing


def _filtered(query: AnySelect, f: ArticleFilter) -> AnySelect:
    if f.tag:
        query = query.where(
            Article.id.in_(select(ArticleTag.article_id).where(ArticleTag.tag == f.tag.casefold()))
        )
    if f.feed:
        query = query.where(
            Article.id.in_(select(ArticleFeed.article_id).where(ArticleFeed.feed == f.feed))
        )
    if f.site:
        site = f.site.casefold().removeprefix("www.")
        query = query.where((Article.site == site) | Article.site.endswith("." + site))
    # An article without a publication date is dated by when we first saw it.
    when = func.coalesce(Article.published_at, Article.first_seen_at)
    if f.since:
        query = query.where(when >= f.since)
    if f.until:
        query = query.where(when < f.until)
    if f.seen_since:
        query = query.where(Article.first_seen_at >= f.seen_since)
    if f.edited:
        query = query.where(Article.version_count > 1)
    if f.language:
        query = query.where(Article.language == f.language)
    if f.author:
        # authors is a JSON array, stored as json.dumps writes it on both backends: the
        # name's JSON string, quotes included, matches one whole item and nothing else.
        listed = cast(Article.authors, String)
        query = query.where(listed.contains(json.dumps(f.author), autoescape=True))
    return query


def has_filters(f: ArticleFilter) -> bool:
    """Whether the filter narrows the articles at all, search aside."""
    return bool(f.tag or f.feed or f.site or f.since or f.until or f.seen_since or f.edited
                or f.language or f.author)  # fmt: skip


def restricted(session: Session, query: AnySelect, f: ArticleFilter, on: Any) -> AnySelect | None:
    """``query`` narrowed to the articles the filter and its search match (limit, offset and
    collapse aside), ``on`` being its article id column; None when the search matches nothing.
    The filter's conditions are on ``articles``: a query from another table joins it first
    (only when there is a condition, so an unfiltered count reads its own table alone)."""
    if has_filters(f):
        if on is not Article.id:
            query = query.join(Article, Article.id == on)
        query = _filtered(query, f)
    if f.search is not None:
        terms = parse_query(f.search)
        if terms.is_empty:
            return None
        matches = matched_ids(session.get_bind().dialect.name, terms)
        query = query.join(matches, matches.c.article_id == on)
    return query


# -- listings: newest first or most relevant first, optionally one row per cluster ------------
#
# A limited listing first takes a cheap window of candidates — the best ``limit x 10`` search
# matches ranked by the index alone, or the newest rows for --collapse — and filters or
# collapses those. That is exact whenever the window yields ``limit`` rows (whatever lies
# outside it ranks lower); otherwise the exact query over every match runs. Measured at a
# million articles: on SQLite a word in 13,000 of them ranks in ~17 ms from the index alone
# but ~160 ms joined to the rows; a collapsed listing takes 4 ms instead of 2.3 s. PostgreSQL
# reads every matching row to rank it anyway, so its searches go straight to the exact query
# (the window only added round trips there); its collapsed listings use the window.
_WINDOW_PER_ROW, _WINDOW_MIN, _WINDOW_MAX = 10, 200, 5000


def query_articles(session: Session, f: ArticleFilter) -> list[dict[str, Any]]:
    """Matching articles as export records: newest first, or most relevant first when searching.

    With ``search`` each record also has ``score`` (higher is more relevant); with
    ``collapse`` the first row of each cluster stands for it, with ``copies``, the number of
    *other* stored articles in its cluster (0 for a story no other site carries), as ``show``
    lists them under "also published at".
    """
    terms: SearchQuery | None = None
    if f.search is not None:
        terms = parse_query(f.search)
        if terms.is_empty:
            return []
    # A later page: the rows up to its end are picked (ids and scores only), its own kept.
    pick = replace(f, limit=f.limit + f.offset) if f.limit and f.offset else f
    picked: list[tuple[int, float]] | None = None
    windowed = f.collapse if terms is None else session.get_bind().dialect.name == "sqlite"
    if pick.limit and windowed and pick.limit * _WINDOW_PER_ROW <= _WINDOW_MAX:
        window = max(pick.limit * _WINDOW_PER_ROW, _WINDOW_MIN)
        picked = _pick_from_window(session, pick, terms, window)
    if picked is None:
        picked = _pick_exactly(session, pick, terms)
    picked = picked[f.offset :]
    result = records(session, _load(session, [article_id for article_id, _ in picked]))
    if terms is not None:
        for record, (_, score) in zip(result, picked, strict=True):
            record["score"] = float(f"{score:.6g}")
    if f.collapse:
        sizes = _cluster_sizes(session, [r["cluster_id"] for r in result])
        for record in result:
            record["copies"] = sizes.get(record["cluster_id"], 1) - 1
    return result


def _recent_first(columns: Any = Article) -> list[Any]:
    return [
        nulls_last(columns.published_at.desc()),
        columns.first_seen_at.desc(),
        columns.id.desc(),
    ]


def _pick_from_window(
    session: Session, f: ArticleFilter, terms: SearchQuery | None, window: int
) -> list[tuple[int, float]] | None:
    """(id, score) of the listing taken from a window of candidates; None if it falls short."""
    columns = (Article.id, Article.published_at, Article.first_seen_at, cluster_key())
    scores: dict[int, float] = {}
    if terms is not None:
        top = top_matches(session, terms, window)
        scores, complete = dict(top), len(top) < window
        rows = list(session.execute(_filtered(select(*columns), f).where(Article.id.in_(scores))))
        rows.sort(key=lambda r: (-scores[r[0]], *_recency(r[1], r[2], r[0])))
    else:
        query = _filtered(select(*columns), f).order_by(*_recent_first()).limit(window)
        rows = list(session.execute(query))
        complete = len(rows) < window
    if f.collapse:
        first_of_cluster: dict[int, Any] = {}
        for row in rows:
            first_of_cluster.setdefault(row[3], row)
        rows = list(first_of_cluster.values())  # dicts keep insertion order
    rows = rows[: f.limit]
    if len(rows) < (f.limit or 0) and not complete:
        return None
    return [(r[0], scores.get(r[0], 0.0)) for r in rows]


def _recency(
    published_at: datetime | None, first_seen_at: datetime, article_id: int
) -> tuple[bool, float, float, int]:
    """The sort key of :func:`_recent_first`, in Python."""
    published = -published_at.timestamp() if published_at else 0.0
    return (published_at is None, published, -first_seen_at.timestamp(), -article_id)


def _pick_exactly(
    session: Session, f: ArticleFilter, terms: SearchQuery | None
) -> list[tuple[int, float]]:
    """(id, score) of the listing, ranking every match: the slow, always exact way."""
    query = _filtered(select(Article.id, Article.published_at, Article.first_seen_at), f)
    order = _recent_first()
    if terms is not None:
        matches = ranked_matches(session.get_bind().dialect.name, terms)
        query = query.join(matches, matches.c.article_id == Article.id)
        query = query.add_columns(matches.c.score)
        order.insert(0, matches.c.score.desc())
    if f.collapse:
        rank = func.row_number().over(partition_by=cluster_key(), order_by=order)
        inner = query.add_columns(rank.label("cluster_rank")).subquery("clustered")
        query = select(*(c for c in inner.c if c.name != "cluster_rank"))
        query = query.where(inner.c.cluster_rank == 1)
        order = _recent_first(inner.c)
        if terms is not None:
            order.insert(0, inner.c.score.desc())
    query = query.order_by(*order)
    if f.limit:
        query = query.limit(f.limit)
    return [(row[0], float(row[3]) if terms is not None else 0.0) for row in session.execute(query)]


def _load(session: Session, ids: list[int]) -> list[Article]:
    """The articles with these ids, in this order."""
    found: dict[int, Article] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            (a.id, a) for a in session.scalars(select(Article).where(Article.id.in_(chunk)))
        )
    return [found[i] for i in ids]


def _cluster_sizes(session: Session, clusters: list[int]) -> dict[int, int]:
    sizes: dict[int, int] = {}
    for start in range(0, len(clusters), 500):
        chunk = clusters[start : start + 500]
        rows = session.execute(
            select(Article.cluster_id, func.count())
            .where(Article.cluster_id.in_(chunk))
            .group_by(Article.cluster_id)
        )
        sizes.update((int(c), int(n)) for c, n in rows if c is not None)
    return sizes


def iter_export(
    session: Session,
    since: datetime | None = None,
    batch: int = 500,
    seen_since: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Every article in id order, streamed in batches; optionally only those published (when
    undated: first seen) since ``since`` and first seen by us since ``seen_since``."""
    last_id = 0
    while True:
        query = select(Article).where(Article.id > last_id).order_by(Article.id).limit(batch)
        if since:
            query = query.where(func.coalesce(Article.published_at, Article.first_seen_at) >= since)
        if seen_since:
            query = query.where(Article.first_seen_at >= seen_since)
        articles = list(session.scalars(query))
        if not articles:
            return
        yield from records(session, articles)
        last_id = articles[-1].id
        session.expunge_all()


def records(session: Session, articles: Sequence[Article]) -> list[dict[str, Any]]:
    """Export records (keys: :data:`EXPORT_KEYS`), with feeds and tags fetched in two queries."""
    ids = [a.id for a in articles]
    feeds: dict[int, list[str]] = defaultdict(list)
    tags: dict[int, list[str]] = defaultdict(list)
    if ids:
        for article_id, feed in session.execute(
            select(ArticleFeed.article_id, ArticleFeed.feed)
            .where(ArticleFeed.article_id.in_(ids))
            .order_by(ArticleFeed.feed)
        ):
            feeds[article_id].append(feed)
        for article_id, tag in session.execute(
            select(ArticleTag.article_id, ArticleTag.tag)
            .where(ArticleTag.article_id.in_(ids))
            .order_by(ArticleTag.tag)
        ):
            tags[article_id].append(tag)
    return [
        {
            "id": a.id,
            "url": a.url,
            "canonical_url": a.canonical_url,
            "site": a.site,
            "feeds": feeds[a.id],
            "title": a.title,
            "authors": list(a.authors or []),
            "published_at": iso(a.published_at),
            "modified_at": iso(a.modified_at),
            "tags": tags[a.id],
            "body": a.body,
            "summary": a.summary,
            "lead_image_url": a.lead_image_url,
            "lead_image_caption": a.lead_image_caption,
            "lead_image_credit": a.lead_image_credit,
            "language": a.language,
            "content_hash": a.content_hash,
            "first_seen_at": iso(a.first_seen_at),
            "last_seen_at": iso(a.last_seen_at),
            "versions": a.version_count,
            "cluster_id": a.cluster_id if a.cluster_id is not None else a.id,
        }
        for a in articles
    ]


def find_article(session: Session, id_or_url: str) -> Article | None:
    """By numeric id, or by any URL it was found at (tracking parameters don't matter)."""
    if id_or_url.isdigit():
        return session.get(Article, int(id_or_url))
    url = normalize_url(id_or_url)
    if url is None:
        return None
    return session.scalars(
        select(Article).join(ArticleUrl).where(ArticleUrl.url_key == url_key(url))
    ).first()


def article_detail(session: Session, article: Article) -> dict[str, Any]:
    """Everything about one article: its record plus provenance and versions."""
    record = records(session, [article])[0]
    record["published_source"] = article.published_source
    record["published_precision"] = article.published_precision
    record["urls"] = list(
        session.scalars(
            select(ArticleUrl.url)
            .where(ArticleUrl.article_id == article.id)
            .order_by(ArticleUrl.first_seen_at, ArticleUrl.url)
        )
    )
    record["version_history"] = [
        {
            "version": v.version,
            "fetched_at": iso(v.fetched_at),
            "title": v.title,
            "content_hash": v.content_hash,
        }
        for v in article.versions
    ]
    record["also_published_at"] = [
        {"id": c.article_id, "site": c.site, "url": c.url, "title": c.title,
         "published_at": iso(c.published_at), "first_seen_at": iso(c.first_seen_at)}
        for c in copies_of(session, article)
    ]  # fmt: skip
    return record


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
