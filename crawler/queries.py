"""The read side of the database: the questions ``newsmon query/show/export/status`` answer.

Plain functions over a SQLAlchemy session, so the CLI stays a thin layer and the same calls
work on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, nulls_last, select
from sqlalchemy.orm import Session

from crawler.models import Article, ArticleFeed, ArticleTag, ArticleUrl, CrawlRun, FeedState
from crawler.urls import normalize_url, url_key

EXPORT_KEYS = (
    "id", "url", "canonical_url", "site", "feeds", "title", "authors", "published_at",
    "modified_at", "tags", "body", "summary", "lead_image_url", "language", "content_hash",
    "first_seen_at", "last_seen_at", "versions",
)


@dataclass(frozen=True)
class ArticleFilter:
    tag: str | None = None
    feed: str | None = None
    site: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = 50


def _filtered(query: Select[Any], f: ArticleFilter) -> Select[Any]:
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
    return query


def query_articles(session: Session, f: ArticleFilter) -> list[dict[str, Any]]:
    """Matching articles, newest first, as export records."""
    query = _filtered(select(Article), f).order_by(
        nulls_last(Article.published_at.desc()), Article.first_seen_at.desc(), Article.id.desc()
    )
    if f.limit:
        query = query.limit(f.limit)
    articles = list(session.scalars(query))
    return records(session, articles)


def iter_export(
    session: Session, since: datetime | None = None, batch: int = 500
) -> Iterator[dict[str, Any]]:
    """Every article (optionally first seen since a time) in id order, streamed in batches."""
    last_id = 0
    while True:
        query = select(Article).where(Article.id > last_id).order_by(Article.id).limit(batch)
        if since:
            query = query.where(func.coalesce(Article.published_at, Article.first_seen_at) >= since)
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
            .where(ArticleFeed.article_id.in_(ids)).order_by(ArticleFeed.feed)
        ):
            feeds[article_id].append(feed)
        for article_id, tag in session.execute(
            select(ArticleTag.article_id, ArticleTag.tag)
            .where(ArticleTag.article_id.in_(ids)).order_by(ArticleTag.tag)
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
            "language": a.language,
            "content_hash": a.content_hash,
            "first_seen_at": iso(a.first_seen_at),
            "last_seen_at": iso(a.last_seen_at),
            "versions": a.version_count,
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
        session.scalars(select(ArticleUrl.url).where(ArticleUrl.article_id == article.id)
                        .order_by(ArticleUrl.first_seen_at, ArticleUrl.url))
    )
    record["version_history"] = [
        {"version": v.version, "fetched_at": iso(v.fetched_at), "title": v.title,
         "content_hash": v.content_hash}
        for v in article.versions
    ]
    return record


@dataclass(frozen=True)
class FeedStatus:
    name: str
    kind: str
    enabled: bool
    last_run_at: datetime | None
    last_outcome: str | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_run_at: datetime | None
    articles_found: int  # by its last run
    articles_new: int  # by its last run
    articles_24h: int  # first seen via this feed in the last 24 hours

    def as_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = iso(value)
        return data


def feed_status(
    session: Session, feeds: Sequence[tuple[str, str, bool]], now: datetime | None = None
) -> list[FeedStatus]:
    """Health per configured (name, kind, enabled) feed, whether or not it has run yet."""
    now = now or datetime.now(UTC)
    states = {s.name: s for s in session.scalars(select(FeedState))}
    latest_ids = select(func.max(CrawlRun.id)).group_by(CrawlRun.feed).scalar_subquery()
    last_runs = {r.feed: r for r in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(latest_ids)))}
    recent: dict[str, int] = {
        feed: int(n)
        for feed, n in session.execute(
            select(ArticleFeed.feed, func.count())
            .where(ArticleFeed.first_seen_at >= now - timedelta(hours=24))
            .group_by(ArticleFeed.feed)
        )
    }
    result = []
    for name, kind, enabled in feeds:
        state = states.get(name)
        run = last_runs.get(name)
        result.append(
            FeedStatus(
                name=name,
                kind=kind,
                enabled=enabled,
                last_run_at=run.started_at if run else None,
                last_outcome=run.outcome if run else None,
                last_success_at=state.last_success_at if state else None,
                last_error=state.last_error if state else None,
                consecutive_failures=state.consecutive_failures if state else 0,
                next_run_at=state.next_run_at if state else None,
                articles_found=run.articles_found if run else 0,
                articles_new=run.articles_new if run else 0,
                articles_24h=int(recent.get(name, 0)),
            )
        )
    return result


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
