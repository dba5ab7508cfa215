"""Saving articles: once per site, URL and content, as versions, clustered, in batches.

Identity is per site (``articles.site``, :func:`crawler.urls.site_of` of the page's URL):
a fetch is the stored article of its own site that one of its URLs leads to, else the one
of its own site with the same content hash (the same story under another URL of the
site), else a new article. The same text on another site is that site's own article, in
the cluster of its twins (see :mod:`crawler.store.clusters`); a URL that leads to another
site's article stays with it, and a ``rel=canonical`` pointing at another site is recorded
(``canonical_url``) but never claimed, so the origin's own page is still fetched as its own.

Uniqueness of URLs lives in constraints (``article_urls.url_key``, the composite keys of
feeds and tags), so concurrent writers — another process here, or crawl workers on other
machines against PostgreSQL — stay correct: a lost race is an ``IntegrityError``, and the
save is retried once, when it finds the winner's row. Content has no such constraint (an
edit may make two articles of a site alike): a save that no URL identifies takes the
cluster lock before it looks the content up, so two writers never both create one copy.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from crawler.article import Article as ParsedArticle
from crawler.dedup import content_hash
from crawler.errors import DatabaseUnavailable, StoreError, first_line
from crawler.fingerprint import Fingerprint, fingerprint_of
from crawler.store.boilerplate import SiteBoilerplate, record_paragraphs, without_boilerplate
from crawler.store.clusters import cluster_article, lock_clusters
from crawler.store.database import Database, is_unavailable
from crawler.store.linking import link_article
from crawler.store.models import Article, ArticleUrl, ArticleVersion, plain_insert
from crawler.store.saves import SavedBatch, SaveOutcome, SaveRequest, SaveResult
from crawler.urls import site_of, url_key

log = logging.getLogger(__name__)


class ArticleSaver:
    """Saves parsed articles; keeps the learned-boilerplate cache in step with what it
    counted."""

    def __init__(self, database: Database, boilerplate: SiteBoilerplate) -> None:
        self._database = database
        self._boilerplate = boilerplate

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
        """Store a parsed article once per site, as a new version when its content changed.

        ``urls`` are the other URLs it was reached at (requested, redirected); they and the
        parsed URLs become aliases of the article, except those that lead to another site's
        article already (and a canonical URL on another site, which is only recorded).
        ``fingerprint`` is the article's :func:`~crawler.fingerprint.fingerprint_of`, when
        the caller computed it already (the pipeline does, in the parser process).
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

        A database that is unavailable (see :func:`~crawler.store.database.is_unavailable`)
        fails the whole batch with :class:`~crawler.errors.DatabaseUnavailable`: nothing of
        it is stored, and the same batch may be written again later.
        """
        try:
            with self._database.writing() as session:
                saved = [self._save_in(session, request) for request in requests]
        except SQLAlchemyError as exc:
            _raise_if_unavailable(exc)
            log.debug("a batch of %d failed (%s); one by one", len(requests), first_line(exc))
            return self._save_each(requests)
        counted = [(site, learned) for _, site, learned in saved]
        self.boilerplate_counted(counted)
        return SavedBatch([result for result, _, _ in saved], counted)

    def _save_each(self, requests: Sequence[SaveRequest]) -> SavedBatch:
        results: list[SaveResult | StoreError] = []
        counted: list[tuple[str, dict[str, bool]]] = []
        try:
            with self._database.writing() as session:
                for request in requests:
                    results.append(self._save_nested(session, request, counted))
        except SQLAlchemyError as exc:
            _raise_if_unavailable(exc)
            raise
        self.boilerplate_counted(counted)
        return SavedBatch(results, counted)

    def boilerplate_counted(self, counted: Iterable[tuple[str, Mapping[str, bool]]]) -> None:
        """After a commit: paragraphs counted per site (possibly by another process), so the
        learned-boilerplate cache drops what changed side."""
        for site, learned in counted:
            self._boilerplate.counted(site, learned)

    def _save_alone(self, request: SaveRequest) -> SaveResult:
        with self._database.writing() as session:
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
                _raise_if_unavailable(exc)  # the whole transaction is lost, not this one
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
        site = site_of(parsed.url)
        article, all_urls = _own_article(session, site, parsed, urls)
        digest = fingerprint.content_hash
        tags = sorted({*parsed.tags, *(t.casefold().strip() for t in feed_tags)} - {""})
        learned: dict[str, bool] = {}
        outcome: SaveOutcome
        if article is None:
            # Before the content is looked up: see crawler.store.clusters.
            lock_clusters(session, digest, fingerprint.signature)
            article = session.scalars(
                _same_content_query(), {"site": site, "content_hash": digest}
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
            # Before the first write: see crawler.store.clusters.
            lock_clusters(session, digest, fingerprint.signature)
        link_urls: list[str] = all_urls
        if article is None:
            article = _new_article(parsed, digest, fetched_at)
            session.add(article)
            session.flush()  # the one ORM flush before commit: the rows below need its id
            session.execute(
                plain_insert(ArticleVersion),
                [_version_row(article.id, 1, parsed, digest, fetched_at)],
            )
            # Claim the URLs with a plain INSERT: if a concurrent writer stored one of
            # them first, this raises, the transaction rolls back and the retry merges.
            session.execute(
                plain_insert(ArticleUrl),
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
                plain_insert(ArticleVersion),
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
            link_article(
                session, article.id, feed=feed, tags=tags, urls=link_urls, seen_at=fetched_at
            )
        return SaveResult(article.id, outcome, article.version_count), article.site, learned


def _own_article(
    session: Session, site: str, parsed: ParsedArticle, urls: Sequence[str]
) -> tuple[Article | None, list[str]]:
    """The stored article of ``site`` that one of the fetch's URLs leads to (None: none
    does), and the URLs the fetch may link: the page's own, a canonical URL of its own site
    and those it was reached at, less those that lead to another site's article."""
    canonical = parsed.canonical_url
    own = [parsed.url, *([canonical] if canonical and site_of(canonical) == site else [])]
    candidates = [u for u in (*own, *urls) if u]
    keys = list(dict.fromkeys(url_key(u) for u in candidates))
    owners = session.execute(_url_owners_query(), {"keys": keys}).all()
    mine = [article_id for _, article_id, owner_site in owners if owner_site == site]
    elsewhere = {key for key, _, owner_site in owners if owner_site != site}
    linkable = [u for u in candidates if url_key(u) not in elsewhere]
    return (session.get(Article, min(mine)) if mine else None), linkable


def _raise_if_unavailable(exc: SQLAlchemyError) -> None:
    if is_unavailable(exc):
        raise DatabaseUnavailable(f"database unavailable: {first_line(exc)}") from exc


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
        lead_image_caption=parsed.lead_image_caption,
        lead_image_credit=parsed.lead_image_credit,
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


# The queries of every save are built once, with bound parameters: building a statement and
# computing its cache key cost more than running it (some 0.2 ms each, a dozen a save).


@functools.cache
def _url_owners_query() -> Any:
    return (
        select(ArticleUrl.url_key, Article.id, Article.site)
        .join(Article, Article.id == ArticleUrl.article_id)
        .where(ArticleUrl.url_key.in_(bindparam("keys", expanding=True)))
    )


@functools.cache
def _same_content_query() -> Any:
    return (
        select(Article)
        .where(Article.site == bindparam("site"), Article.content_hash == bindparam("content_hash"))
        .order_by(Article.id)
        .limit(1)
    )


def _apply_content(article: Article, parsed: ParsedArticle, digest: str) -> None:
    """A new version replaces the current content; the first publication date stays."""
    article.title, article.body, article.content_hash = parsed.title, parsed.body, digest
    article.summary = parsed.summary or article.summary
    article.modified_at = parsed.modified_at or article.modified_at
    article.authors = list(parsed.authors) or article.authors
    if parsed.lead_image_url:  # a caption and credit belong to their image
        article.lead_image_url = parsed.lead_image_url
        article.lead_image_caption = parsed.lead_image_caption
        article.lead_image_credit = parsed.lead_image_credit
    _fill_missing(article, parsed)


def _fill_missing(article: Article, parsed: ParsedArticle) -> None:
    if article.published_at is None and parsed.published_at is not None:
        article.published_at = parsed.published_at
        article.published_source = parsed.published_source
        article.published_precision = parsed.published_precision
    if article.language is None:
        article.language = parsed.language
    if article.lead_image_url == parsed.lead_image_url:  # stored before they were kept
        article.lead_image_caption = article.lead_image_caption or parsed.lead_image_caption
        article.lead_image_credit = article.lead_image_credit or parsed.lead_image_credit
    if parsed.modified_at and (
        article.modified_at is None or parsed.modified_at > article.modified_at
    ):
        article.modified_at = parsed.modified_at
