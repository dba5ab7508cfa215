"""The store: what a process writes to the database, and the one handle on it.

One :class:`Store` per process. It owns the :class:`~crawler.store.database.Database` and the
parts that share it: its own records of feeds, pages, robots.txt and runs (below), the
:class:`~crawler.store.saving.ArticleSaver` and the :class:`~crawler.store.linking.ArticleLinks`.
Every method opens its own short transaction, so the store is safe to call from worker
threads (the pipeline parses and saves off the event loop).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from crawler.errors import StoreError, first_line
from crawler.store.boilerplate import SiteBoilerplate
from crawler.store.database import (
    Database,
    create_db_engine,
    is_missing_sqlite_file,
    make_read_only,
    shown_url,
)
from crawler.store.linking import ArticleLinks
from crawler.store.models import CrawlRun, FeedState, PageState, RobotsTxt
from crawler.store.pacing import PacingRecords
from crawler.store.saves import SaveOutcome
from crawler.store.saving import ArticleSaver
from crawler.store.schema import NOT_CREATED, ensure_schema
from crawler.urls import url_key

if TYPE_CHECKING:  # not imported at run time: the writer process needs no settings models
    from crawler.config import DatabaseConfig

log = logging.getLogger(__name__)


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
    rechecks: int = 0  # conditional re-checks of stored articles sent

    def count_save(self, outcome: SaveOutcome) -> None:
        if outcome == "new":
            self.articles_new += 1
        elif outcome == "version":
            self.versions_new += 1
        elif outcome == "duplicate":
            self.duplicates += 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Saves what the crawl finds. Thread-safe: every call is its own transaction.

    Feeds, pages, robots.txt and runs are its own methods. Sessions, saving articles, URL
    look-ups and the learned-boilerplate cache are its parts' methods, bound to the store
    as attributes (in ``__init__``) with their own signatures.
    """

    def __init__(self, engine: Engine) -> None:
        self.database = Database(engine)
        self.engine = engine
        self.dialect = self.database.dialect
        boilerplate = SiteBoilerplate(self.database.reading)
        saver = ArticleSaver(self.database, boilerplate)
        links = ArticleLinks(self.database)
        # The parts' methods that the crawl and the CLI call on the store.
        self.reading, self.writing = self.database.reading, self.database.writing
        self.save_article, self.save_articles = saver.save_article, saver.save_articles
        self.boilerplate_counted = saver.boilerplate_counted
        self.known_urls, self.link_known = links.known_urls, links.link_known
        self.boilerplate_keys = boilerplate.keys
        pacing = PacingRecords(self.database)
        self.host_pauses, self.save_host_pause = pacing.host_pauses, pacing.save_host_pause
        self.article_checks, self.save_article_checks = (
            pacing.article_checks,
            pacing.save_article_checks,
        )
        self.past_runs, self.save_plan = pacing.past_runs, pacing.save_plan
        self.save_poll_hint = pacing.save_poll_hint

    @classmethod
    def open(
        cls, database: str | DatabaseConfig, *, create: bool = True, read_only: bool = False
    ) -> Store:
        """Open the database (a URL or the ``[database]`` settings), creating its schema if
        it is new and upgrading it if it is behind and auto-upgrade is on; raises
        :class:`~crawler.errors.SchemaOutdatedError` if it is behind and auto-upgrade is off
        (see :mod:`crawler.store.schema`). With ``create=False`` (the read-only commands) a
        database that does not exist yet is an error, not a new empty file: a mistyped path
        must not look like a database with nothing in it. With ``read_only`` (the web app)
        the database itself refuses every write once the schema is checked."""
        url, auto_upgrade = (
            (database, None) if isinstance(database, str) else (database.url, database.auto_upgrade)
        )
        if not create and is_missing_sqlite_file(url):
            raise StoreError(f"database {shown_url(url)} does not exist: {NOT_CREATED}")
        try:
            engine = create_db_engine(url)
            try:
                ensure_schema(engine, auto_upgrade, create=create)
                if read_only:
                    make_read_only(engine)
            except BaseException:
                engine.dispose()
                raise
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"cannot open database {shown_url(url)}: {first_line(exc)}") from exc
        return cls(engine)

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def page_validators(self, feed: str, url: str) -> PageValidators | None:
        """What ``feed`` last got from the page at ``url``, for a conditional GET."""
        with self.reading() as session:
            page = session.get(PageState, (feed, url_key(url)))
            if page is None:
                return None
            return PageValidators(page.etag, page.last_modified, page.body_hash)

    def save_page_validators(self, feed: str, url: str, validators: PageValidators) -> None:
        key = url_key(url)
        with self.writing() as session:
            page = session.get(PageState, (feed, key))
            if page is None:
                page = PageState(feed=feed, url_key=key, fetched_at=utcnow())
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
        retry_after: datetime | None = None,
    ) -> None:
        finished_at = utcnow()
        with self.writing() as session:
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise StoreError(f"crawl run {run_id} vanished from the database")
            run.finished_at, run.outcome, run.error = finished_at, outcome, error
            run.pages_fetched = counts.pages_fetched
            run.not_modified = counts.not_modified
            run.articles_found = counts.articles_found
            run.articles_new = counts.articles_new
            run.versions_new = counts.versions_new
            run.duplicates = counts.duplicates
            run.errors = counts.errors
            run.rechecks, run.retry_after = counts.rechecks, retry_after
            state = session.get(FeedState, run.feed)
            if state is None:
                return
            if counts.articles_new:
                state.last_new_at = finished_at
            state.last_finished_at, state.last_outcome = finished_at, outcome
            if next_run_at is not None:  # a manual crawl leaves the service's timetable alone
                state.next_run_at = next_run_at
            if error:
                state.last_error = error
            if outcome == "failed":
                state.consecutive_failures = (state.consecutive_failures or 0) + 1
            elif outcome not in ("interrupted", "paused"):
                # An interrupted run, or one whose host was paused, is neither: it neither
                # resets a failing feed's back-off nor counts as its last success.
                state.consecutive_failures = 0
                state.last_success_at = finished_at

    def feed_state(self, feed: str) -> FeedState | None:
        with self.reading() as session:
            return session.get(FeedState, feed)

    def set_next_run(self, feed: str, next_run_at: datetime | None) -> None:
        with self.writing() as session:
            state = session.get(FeedState, feed)
            if state is not None:
                state.next_run_at = next_run_at

    def close_interrupted_runs(self, only: Iterable[str] | None = None) -> set[str]:
        """Mark runs left 'running' by a killed process as interrupted (``only`` those of
        these feeds: a dead cluster worker's); returns their feeds."""
        running = CrawlRun.outcome == "running"
        if only is not None:
            running = running & CrawlRun.feed.in_(list(only))
        with self.writing() as session:
            feeds = set(session.scalars(select(CrawlRun.feed).where(running)))
            session.execute(
                update(CrawlRun).where(running).values(outcome="interrupted", finished_at=utcnow())
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
