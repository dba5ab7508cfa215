"""Which stored articles URLs lead to, and linking an article to its URLs, feeds and tags.

Links are rows keyed by what they link (``article_urls.url_key``, the composite keys of
feeds and tags) and written with ``INSERT … ON CONFLICT DO NOTHING``: linking again what
is linked already, here or by a concurrent writer, changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from crawler.store.database import Database
from crawler.store.models import Article, ArticleFeed, ArticleTag, ArticleUrl, Base
from crawler.urls import url_key


@dataclass(frozen=True)
class KnownUrl:
    article_id: int
    first_seen_at: datetime
    last_fetched_at: datetime


class ArticleLinks:
    """Finds stored articles by URL and records the crawl finding them again."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def known_urls(self, keys: Iterable[str]) -> dict[str, KnownUrl]:
        """The stored articles behind these URL keys (see :func:`crawler.urls.url_key`)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, KnownUrl] = {}
        with self._database.reading() as session:
            for chunk_start in range(0, len(wanted), 500):
                chunk = wanted[chunk_start : chunk_start + 500]
                rows = session.execute(
                    select(
                        ArticleUrl.url_key,
                        Article.id,
                        Article.first_seen_at,
                        Article.last_fetched_at,
                    )
                    .join(Article, Article.id == ArticleUrl.article_id)
                    .where(ArticleUrl.url_key.in_(chunk))
                )
                for key, article_id, first_seen_at, last_fetched_at in rows:
                    found[key] = KnownUrl(article_id, first_seen_at, last_fetched_at)
        return found

    def link_known(
        self,
        links: Sequence[tuple[int, str]],
        *,
        feed: str,
        tags: Sequence[str],
        seen_at: datetime,
    ) -> None:
        """Record that ``feed`` found stored articles again, as (article_id, url) pairs, in
        one transaction: no download, and a cost per run that does not grow with history."""
        if not links:
            return
        with self._database.writing() as session:
            for article_id, url in links:
                link_article(session, article_id, feed=feed, tags=tags, urls=[url], seen_at=seen_at)
            session.execute(
                update(Article)
                .where(Article.id.in_({a for a, _ in links}), Article.last_seen_at < seen_at)
                .values(last_seen_at=seen_at)
            )


def link_article(
    session: Session,
    article_id: int,
    *,
    feed: str,
    tags: Iterable[str],
    urls: Iterable[str],
    seen_at: datetime,
) -> None:
    """Link a stored article to these URLs, ``feed`` and tags, in the caller's transaction."""
    dialect = session.get_bind().dialect.name
    url_rows = {
        url_key(u): {
            "url_key": url_key(u),
            "url": u,
            "article_id": article_id,
            "first_seen_at": seen_at,
        }
        for u in urls
    }
    _insert_ignore(session, dialect, ArticleUrl, list(url_rows.values()))
    _insert_ignore(
        session,
        dialect,
        ArticleFeed,
        [{"article_id": article_id, "feed": feed, "first_seen_at": seen_at}],
    )
    _insert_ignore(
        session,
        dialect,
        ArticleTag,
        [{"article_id": article_id, "tag": t} for t in sorted(set(tags)) if t],
    )


def _insert_ignore(
    session: Session, dialect: str, model: type[Base], rows: list[dict[str, Any]]
) -> None:
    if rows:
        session.execute(_insert_ignoring(dialect, model), rows)


@functools.cache
def _insert_ignoring(dialect: str, model: type[Base]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING on the model's table, built once and run with
    parameter rows: a Core statement, compiled once, not an ORM bulk insert per call."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(cast(Table, model.__table__)).on_conflict_do_nothing()
