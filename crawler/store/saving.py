"""Saving articles: once per URL and content, as versions, clustered, in batches.

:class:`ArticleSaving` is the article half of :class:`~crawler.store.store.Store` (a mixin: it
uses the store's sessions). Uniqueness lives in constraints (``article_urls.url_key``, the
composite keys of feeds and tags), so concurrent writers — another process here, or crawl
workers on other machines against PostgreSQL — stay correct: a lost race is an
``IntegrityError``, and the save is retried once, when it finds the winner's row.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.article import Article as ParsedArticle
from crawler.dedup import content_hash
from crawler.errors import StoreError
from crawler.fingerprint import Fingerprint, fingerprint_of
from crawler.store.boilerplate import SiteBoilerplate, record_paragraphs, without_boilerplate
from crawler.store.clusters import cluster_article, lock_clusters
from crawler.store.models import Article, ArticleFeed, ArticleTag, ArticleUrl, ArticleVersion, Base
from crawler.urls import site_of, url_key

log = logging.getLogger(__name__)

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
    """What :meth:`Store.save_articles` did: one result (or error) per request, in order,
    and the paragraphs it counted per site (see :meth:`Store.boilerplate_counted`)."""

    results: list[SaveResult | StoreError]
    counted: list[tuple[str, dict[str, bool]]]


@dataclass(frozen=True)
class KnownUrl:
    article_id: int
    first_seen_at: datetime
    last_fetched_at: datetime


class ArticleSaving:
    """Saving and linking articles; needs the store's sessions, dialect and boilerplate
    cache (see :class:`~crawler.store.store.Store`)."""

    dialect: str
    _boilerplate: SiteBoilerplate

    def reading(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def writing(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def boilerplate_keys(self, site: str) -> frozenset[str]:
        """The paragraph keys learned as ``site``'s chrome (:mod:`crawler.store.boilerplate`)."""
        return self._boilerplate.keys(site)

    def known_urls(self, keys: Iterable[str]) -> dict[str, KnownUrl]:
        """The stored articles behind these URL keys (see :func:`crawler.urls.url_key`)."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, KnownUrl] = {}
        with self.reading() as session:
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
        with self.writing() as session:
            for article_id, url in links:
                self._link(session, article_id, feed=feed, tags=tags, urls=[url], seen_at=seen_at)
            session.execute(
                update(Article)
                .where(Article.id.in_({a for a, _ in links}), Article.last_seen_at < seen_at)
                .values(last_seen_at=seen_at)
            )

    def save_article(
        self,
        parsed: ParsedArticle,
        *,
        feed: str,
        feed_tags: Sequence[str] = (),
        urls: Sequence[str] = (),
        fetched_at: datetime | None = None,
        fingerprint: Fingerprint | None = None,
    ) -> SaveResult:
        """Store a parsed article once, as a new version when its content changed.

        ``urls`` are the other URLs it was reached at (requested, redirected); all of them
        and the parsed URLs become aliases of the one article. ``fingerprint`` is the
        article's :func:`~crawler.fingerprint.fingerprint_of`, when the caller computed it
        already (the pipeline does, in the parser process).
        """
        request = SaveRequest(
            parsed,
            fingerprint or fingerprint_of(parsed),
            feed,
            tuple(feed_tags),
            tuple(urls),
            fetched_at or datetime.now(UTC),
        )
        try:
            return self._save_alone(request)
        except IntegrityError:
            # Another writer stored the same URL or content between our read and our write:
            # the second attempt finds its row and merges into it.
            log.debug("save of %s raced another writer; retrying", parsed.url)
            return self._save_alone(request)

    def save_articles(self, requests: Sequence[SaveRequest]) -> SavedBatch:
        """Store several articles in one transaction.

        The pipeline's writer hands over whatever queued up while it wrote the last batch:
        one commit (and one search-index flush) then serves many articles. The batch is
        first written plainly; if any article fails, it is written again with a savepoint
        per article, so the failed one is reported in its slot and the others are stored.
        (Savepoints cost about a tenth of a save; failures are rare.) If the commit itself
        fails, this raises and none of them is stored.
        """
        try:
            with self.writing() as session:
                saved = [self._save_in(session, request) for request in requests]
        except SQLAlchemyError as exc:
            log.debug("a batch of %d failed (%s); saving one by one", len(requests), exc)
            return self._save_each(requests)
        counted = [(site, learned) for _, site, learned in saved]
        self.boilerplate_counted(counted)
        return SavedBatch([result for result, _, _ in saved], counted)

    def _save_each(self, requests: Sequence[SaveRequest]) -> SavedBatch:
        results: list[SaveResult | StoreError] = []
        counted: list[tuple[str, dict[str, bool]]] = []
        with self.writing() as session:
            for request in requests:
                results.append(self._save_nested(session, request, counted))
        self.boilerplate_counted(counted)
        return SavedBatch(results, counted)

    def boilerplate_counted(self, counted: Iterable[tuple[str, Mapping[str, bool]]]) -> None:
        """After a commit: paragraphs counted per site (possibly by another process), so the
        learned-boilerplate cache drops what changed side."""
        for site, learned in counted:
            self._boilerplate.counted(site, learned)

    def _save_alone(self, request: SaveRequest) -> SaveResult:
        with self.writing() as session:
            result, site, learned = self._save_in(session, request)
        self.boilerplate_counted([(site, learned)])  # committed: the cache may reload
        return result

    def _save_nested(
        self,
        session: Session,
        request: SaveRequest,
        counted: list[tuple[str, dict[str, bool]]],
    ) -> SaveResult | StoreError:
        for attempt in (1, 2):
            try:
                with session.begin_nested():
                    result, site, learned = self._save_in(session, request)
            except IntegrityError as exc:
                if attempt == 2:
                    return StoreError(f"database error: {first_line(exc)}")
                log.debug("save of %s raced another writer; retrying", request.article.url)
                continue
            except SQLAlchemyError as exc:
                return StoreError(f"database error: {first_line(exc)}")
            counted.append((site, learned))
            return result
        raise AssertionError("unreachable")

    def _save_in(
        self, session: Session, request: SaveRequest
    ) -> tuple[SaveResult, str, dict[str, bool]]:
        """The save itself, in the caller's transaction: the result, the article's site and
        the boilerplate statuses of the paragraphs it counted."""
        parsed, fingerprint, feed = request.article, request.fingerprint, request.feed
        urls, fetched_at = request.urls, request.fetched_at
        feed_tags = request.feed_tags
        all_urls = [u for u in (parsed.url, parsed.canonical_url, *urls) if u]
        keys = list(dict.fromkeys(url_key(u) for u in all_urls))
        digest = fingerprint.content_hash
        tags = sorted({*parsed.tags, *(t.casefold().strip() for t in feed_tags)} - {""})
        learned: dict[str, bool] = {}
        article = session.scalars(
            select(Article)
            .join(ArticleUrl, ArticleUrl.article_id == Article.id)
            .where(ArticleUrl.url_key.in_(keys))
            .order_by(Article.id)
            .limit(1)
        ).first()
        outcome: SaveOutcome
        if article is None:
            article = session.scalars(
                select(Article).where(Article.content_hash == digest).order_by(Article.id)
            ).first()
            outcome = "duplicate" if article is not None else "new"
        elif article.content_hash != digest:
            # A hash stored by an older normalisation of the same text is no new version.
            same = content_hash(article.title, article.body) == digest
            # Nor is a body stored before some of its paragraphs were learned as chrome.
            same = same or digest == content_hash(
                article.title, without_boilerplate(session, article.site, article.body)
            )
            outcome = "unchanged" if same else "version"
        else:
            outcome = "unchanged"

        if outcome in ("new", "version"):
            lock_clusters(session)  # before the first write; see crawler.store.clusters
        link_urls: list[str] = all_urls
        if article is None:
            article = _new_article(parsed, digest, fetched_at)
            session.add(article)
            session.flush()  # the one ORM flush before commit: the rows below need its id
            session.execute(
                _plain_insert(ArticleVersion),
                [_version_row(article.id, 1, parsed, digest, fetched_at)],
            )
            # Claim the URLs with a plain INSERT: if a concurrent writer stored one of
            # them first, this raises, the transaction rolls back and the retry merges.
            session.execute(
                _plain_insert(ArticleUrl),
                [
                    {"url_key": key, "url": url, "article_id": article.id,
                     "first_seen_at": fetched_at}
                    for key, url in {url_key(u): u for u in all_urls}.items()
                ],
            )  # fmt: skip
            link_urls = []
        elif outcome == "version":
            article.version_count += 1
            session.execute(
                _plain_insert(ArticleVersion),
                [_version_row(article.id, article.version_count, parsed, digest, fetched_at)],
            )
            _apply_content(article, parsed, digest)
        else:
            article.content_hash = digest
            _fill_missing(article, parsed)
        # The article's own changes are written once, at commit: nothing below reads them
        # back from the database (the clustering queries look at other articles).
        with session.no_autoflush:
            if outcome in ("new", "version"):
                cluster_article(session, article, fingerprint.signature)
                learned = record_paragraphs(
                    session,
                    article.site,
                    article.id,
                    article.version_count,
                    parsed.paragraph_keys,
                    fetched_at,
                )
            article.last_seen_at = max(article.last_seen_at, fetched_at)
            article.last_fetched_at = max(article.last_fetched_at, fetched_at)
            self._link(
                session, article.id, feed=feed, tags=tags, urls=link_urls, seen_at=fetched_at
            )
        return SaveResult(article.id, outcome, article.version_count), article.site, learned

    def _link(
        self,
        session: Session,
        article_id: int,
        *,
        feed: str,
        tags: Iterable[str],
        urls: Iterable[str],
        seen_at: datetime,
    ) -> None:
        url_rows = {
            url_key(u): {
                "url_key": url_key(u),
                "url": u,
                "article_id": article_id,
                "first_seen_at": seen_at,
            }
            for u in urls
        }
        self._insert_ignore(session, ArticleUrl, list(url_rows.values()))
        self._insert_ignore(
            session,
            ArticleFeed,
            [{"article_id": article_id, "feed": feed, "first_seen_at": seen_at}],
        )
        self._insert_ignore(
            session,
            ArticleTag,
            [{"article_id": article_id, "tag": t} for t in sorted(set(tags)) if t],
        )

    def _insert_ignore(
        self, session: Session, model: type[Base], rows: list[dict[str, Any]]
    ) -> None:
        if rows:
            session.execute(_insert_ignoring(self.dialect, model), rows)


@functools.cache
def _insert_ignoring(dialect: str, model: type[Base]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING on the model's table, built once and run with
    parameter rows: a Core statement, compiled once, not an ORM bulk insert per call."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(cast(Table, model.__table__)).on_conflict_do_nothing()


def _new_article(parsed: ParsedArticle, digest: str, fetched_at: datetime) -> Article:
    return Article(
        url=parsed.url,
        canonical_url=parsed.canonical_url,
        site=site_of(parsed.url),
        title=parsed.title,
        authors=list(parsed.authors),
        published_at=parsed.published_at,
        published_source=parsed.published_source,
        published_precision=parsed.published_precision,
        modified_at=parsed.modified_at,
        body=parsed.body,
        summary=parsed.summary,
        lead_image_url=parsed.lead_image_url,
        language=parsed.language,
        content_hash=digest,
        first_seen_at=fetched_at,
        last_seen_at=fetched_at,
        last_fetched_at=fetched_at,
        version_count=1,
    )


def _version_row(
    article_id: int, number: int, parsed: ParsedArticle, digest: str, fetched_at: datetime
) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "version": number,
        "content_hash": digest,
        "title": parsed.title,
        "body": parsed.body,
        "modified_at": parsed.modified_at,
        "fetched_at": fetched_at,
    }


@functools.cache
def _plain_insert(model: type[Base]) -> Any:
    """A Core INSERT on the model's table, run with parameter rows (compiled once)."""
    return insert(cast(Table, model.__table__))


def _apply_content(article: Article, parsed: ParsedArticle, digest: str) -> None:
    """A new version replaces the current content; the first publication date stays."""
    article.title, article.body, article.content_hash = parsed.title, parsed.body, digest
    article.summary = parsed.summary or article.summary
    article.modified_at = parsed.modified_at or article.modified_at
    article.authors = list(parsed.authors) or article.authors
    article.lead_image_url = parsed.lead_image_url or article.lead_image_url
    _fill_missing(article, parsed)


def _fill_missing(article: Article, parsed: ParsedArticle) -> None:
    if article.published_at is None and parsed.published_at is not None:
        article.published_at = parsed.published_at
        article.published_source = parsed.published_source
        article.published_precision = parsed.published_precision
    if article.language is None:
        article.language = parsed.language
    if parsed.modified_at and (
        article.modified_at is None or parsed.modified_at > article.modified_at
    ):
        article.modified_at = parsed.modified_at


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (a driver's, when it wraps one)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
