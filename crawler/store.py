"""The write side of the database: engine set-up, saving articles, feed state and runs.

One :class:`Store` per process. Every method opens its own short transaction, so the store
is safe to call from worker threads (the pipeline parses and saves off the event loop).
Uniqueness lives in constraints (``article_urls.url_key``, the composite keys of feeds and
tags), so concurrent writers — threads here, or crawl workers on other machines against
PostgreSQL — stay correct: a lost race is an ``IntegrityError``, and the save is retried
once, when it finds the winner's row.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import Engine, Table, create_engine, event, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from crawler.article import Article as ParsedArticle
from crawler.boilerplate import SiteBoilerplate, record_paragraphs, without_boilerplate
from crawler.dedup import content_hash
from crawler.errors import StoreError
from crawler.fingerprint import Fingerprint, fingerprint_of
from crawler.models import (
    Article,
    ArticleFeed,
    ArticleTag,
    ArticleUrl,
    ArticleVersion,
    Base,
    CrawlRun,
    FeedState,
    PageState,
    RobotsTxt,
)
from crawler.search import install_search
from crawler.syndication import cluster_article, install_clusters, lock_clusters
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


@dataclass(frozen=True)
class PageValidators:
    etag: str | None
    last_modified: str | None
    body_hash: str | None


@dataclass
class RunCounts:
    """What one feed run did; the spider fills it, the store records it."""

    pages_fetched: int = 0
    not_modified: int = 0
    articles_found: int = 0
    articles_new: int = 0
    versions_new: int = 0
    duplicates: int = 0
    errors: int = 0

    def count_save(self, outcome: SaveOutcome) -> None:
        if outcome == "new":
            self.articles_new += 1
        elif outcome == "version":
            self.versions_new += 1
        elif outcome == "duplicate":
            self.duplicates += 1


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_db_engine(url: str) -> Engine:
    """An engine with the settings each backend needs for a long-running writer."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    # WAL lets the CLI read while the service writes; busy_timeout absorbs short write
    # contention. pysqlite's own transaction handling is switched off so that write
    # transactions can start with BEGIN IMMEDIATE (SQLAlchemy's documented recipe): a
    # deferred read-then-write transaction would otherwise fail with "database is locked".
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """Saves what the crawl finds. Thread-safe: every call is its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        write_engine = (
            engine.execution_options(sqlite_immediate=True) if self.dialect == "sqlite" else engine
        )
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)
        self._boilerplate = SiteBoilerplate(self.reading)

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (and create, if needed) the database at ``url``."""
        try:
            engine = create_db_engine(url)
            _create_schema(engine)
            install_clusters(engine)
            install_search(engine)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open database {_safe_url(url)}: {_first_line(exc)}") from exc
        store = cls(engine)
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        with self._write.begin() as session:
            yield session

    # -- articles -------------------------------------------------------------------------

    def boilerplate_keys(self, site: str) -> frozenset[str]:
        """The paragraph keys learned as ``site``'s chrome (see :mod:`crawler.boilerplate`)."""
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
            fetched_at or utcnow(),
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
        self._boilerplate.counted(site, learned)  # committed: the cache may reload
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
                    return StoreError(f"database error: {_first_line(exc)}")
                log.debug("save of %s raced another writer; retrying", request.article.url)
                continue
            except SQLAlchemyError as exc:
                return StoreError(f"database error: {_first_line(exc)}")
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
            lock_clusters(session)  # before the first write; see crawler.syndication
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

    # -- feeds, pages and runs ----------------------------------------------------------

    def sync_feeds(self, feeds: Iterable[tuple[str, str, str]]) -> None:
        """Make sure each configured (name, kind, url) has a state row."""
        with self.writing() as session:
            for name, kind, url in feeds:
                state = session.get(FeedState, name)
                if state is None:
                    session.add(FeedState(name=name, kind=kind, url=url, consecutive_failures=0))
                else:
                    state.kind, state.url = kind, url

    def page_validators(self, url: str) -> PageValidators | None:
        with self.reading() as session:
            page = session.get(PageState, url_key(url))
            if page is None:
                return None
            return PageValidators(page.etag, page.last_modified, page.body_hash)

    def save_page_validators(self, url: str, validators: PageValidators) -> None:
        key = url_key(url)
        with self.writing() as session:
            page = session.get(PageState, key)
            if page is None:
                page = PageState(url_key=key, fetched_at=utcnow())
                session.add(page)
            page.etag, page.last_modified = validators.etag, validators.last_modified
            page.body_hash, page.fetched_at = validators.body_hash, utcnow()

    def robots_txt(self, origin: str) -> tuple[bytes, datetime] | None:
        """The robots.txt last fetched from ``origin`` and when, if any."""
        with self.reading() as session:
            row = session.get(RobotsTxt, origin)
            return None if row is None else (row.body, row.fetched_at)

    def save_robots_txt(self, origin: str, body: bytes, fetched_at: datetime) -> None:
        with self.writing() as session:
            row = session.get(RobotsTxt, origin)
            if row is None:
                session.add(RobotsTxt(origin=origin, body=body, fetched_at=fetched_at))
            else:
                row.body, row.fetched_at = body, fetched_at

    def start_run(self, feed: str, started_at: datetime | None = None) -> int:
        started_at = started_at or utcnow()
        with self.writing() as session:
            run = CrawlRun(feed=feed, started_at=started_at, outcome="running")
            session.add(run)
            state = session.get(FeedState, feed)
            if state is not None:
                state.last_run_at = started_at
            session.flush()
            return run.id

    def finish_run(
        self,
        run_id: int,
        counts: RunCounts,
        outcome: str,
        error: str | None = None,
        next_run_at: datetime | None = None,
    ) -> None:
        finished_at = utcnow()
        with self.writing() as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise StoreError(f"crawl run {run_id} vanished from the database")
            run.finished_at, run.outcome, run.error = finished_at, outcome, error
            for name, value in vars(counts).items():
                setattr(run, name, value)
            state = session.get(FeedState, run.feed)
            if state is None:
                return
            state.last_finished_at, state.last_outcome = finished_at, outcome
            state.next_run_at = next_run_at
            if outcome == "failed":
                state.consecutive_failures = (state.consecutive_failures or 0) + 1
                state.last_error = error
            else:
                state.consecutive_failures = 0
                state.last_success_at = finished_at
                if error:
                    state.last_error = error

    def feed_state(self, feed: str) -> FeedState | None:
        with self.reading() as session:
            return session.get(FeedState, feed)

    def set_next_run(self, feed: str, next_run_at: datetime | None) -> None:
        with self.writing() as session:
            state = session.get(FeedState, feed)
            if state is not None:
                state.next_run_at = next_run_at

    def close_interrupted_runs(self) -> set[str]:
        """Mark runs left 'running' by a killed process as interrupted; returns their feeds."""
        with self.writing() as session:
            feeds = set(session.scalars(select(CrawlRun.feed).where(CrawlRun.outcome == "running")))
            session.execute(
                update(CrawlRun)
                .where(CrawlRun.outcome == "running")
                .values(outcome="interrupted", finished_at=utcnow())
            )
            return feeds

    def last_finished(self) -> dict[str, datetime]:
        """Each feed's last finished run, to schedule the first run after a restart."""
        with self.reading() as session:
            # An interrupted run did not finish its work: the feed is due again at once.
            rows = session.execute(
                select(CrawlRun.feed, func.max(CrawlRun.finished_at))
                .where(CrawlRun.outcome != "interrupted")
                .group_by(CrawlRun.feed)
            )
            return {feed: at for feed, at in rows if at is not None}


def _create_schema(engine: Engine) -> None:
    """Create missing tables in one write transaction, so that two processes opening a new
    database at once (the service and a CLI command) take turns instead of failing: SQLite
    needs BEGIN IMMEDIATE for that, PostgreSQL a transaction-scoped advisory lock."""
    if engine.dialect.name == "sqlite":
        with engine.execution_options(sqlite_immediate=True).begin() as conn:
            Base.metadata.create_all(conn)
        return
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
        Base.metadata.create_all(conn)


# An arbitrary constant: the advisory lock id that serialises schema creation.
_SCHEMA_LOCK_KEY = 0x6E65_7773


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


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported as given, it holds no password we know of
        return url


def is_transient(exc: BaseException) -> bool:
    """A locked or busy database, a dropped connection: worth retrying later."""
    return isinstance(exc, OperationalError)
