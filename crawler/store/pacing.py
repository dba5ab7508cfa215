"""What adaptive polling keeps in the database: host pauses, article validators, the
runs an interval is computed from, and each feed's plan (see crawler.timetable)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from crawler.store.database import Database
from crawler.store.models import ArticleFeed, ArticleValidator, CrawlRun, FeedState, HostPause


@dataclass(frozen=True)
class ArticleCheck:
    """A stored article URL's validators and when it was last fetched or checked."""

    etag: str | None
    last_modified: str | None
    checked_at: datetime


@dataclass(frozen=True)
class PastRun:
    started_at: datetime
    articles_found: int
    articles_new: int


class PacingRecords:
    def __init__(self, database: Database) -> None:
        self._database = database

    def host_pauses(self, now: datetime) -> dict[str, tuple[datetime, int]]:
        """Hosts paused past ``now`` (until, status); pauses that have ended are dropped."""
        with self._database.writing() as session:
            session.execute(delete(HostPause).where(HostPause.until <= now))
            return {p.host: (p.until, p.status) for p in session.scalars(select(HostPause))}

    def save_host_pause(self, host: str, until: datetime, status: int, now: datetime) -> None:
        with self._database.writing() as session:
            row = session.get(HostPause, host)
            if row is None:
                session.add(HostPause(host=host, until=until, status=status, paused_at=now))
            elif until > row.until:
                row.until, row.status, row.paused_at = until, status, now

    def article_checks(self, keys: Iterable[str]) -> dict[str, ArticleCheck]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, ArticleCheck] = {}
        with self._database.reading() as session:
            for start in range(0, len(wanted), 500):
                rows = session.scalars(
                    select(ArticleValidator).where(
                        ArticleValidator.url_key.in_(wanted[start : start + 500])
                    )
                )
                for row in rows:
                    found[row.url_key] = ArticleCheck(row.etag, row.last_modified, row.checked_at)
        return found

    def save_article_checks(self, checks: dict[str, ArticleCheck]) -> None:
        if not checks:
            return
        with self._database.writing() as session:
            for key, check in checks.items():
                row = session.get(ArticleValidator, key)
                if row is None:
                    row = ArticleValidator(url_key=key, checked_at=check.checked_at)
                    session.add(row)
                # A 304 carries no new validators: keep what the last 200 gave.
                row.etag = check.etag or row.etag
                row.last_modified = check.last_modified or row.last_modified
                row.checked_at = max(row.checked_at, check.checked_at)

    def past_runs(self, feed: str, since: datetime) -> list[PastRun]:
        """The feed's finished runs that started since ``since`` (not interrupted ones),
        each with the articles that were new *to this feed* while it was the latest run:
        an article another feed stored first still counts, as the feed's own rate."""
        with self._database.reading() as session:
            rows = session.execute(
                select(CrawlRun.started_at, CrawlRun.articles_found)
                .where(
                    CrawlRun.feed == feed,
                    CrawlRun.started_at >= since,
                    CrawlRun.outcome.in_(("ok", "partial", "failed")),
                )
                .order_by(CrawlRun.started_at)
            ).all()
            firsts = list(
                session.scalars(
                    select(ArticleFeed.first_seen_at)
                    .where(ArticleFeed.feed == feed, ArticleFeed.first_seen_at >= since)
                    .order_by(ArticleFeed.first_seen_at)
                )
            )
        starts = [at for at, _ in rows]
        runs: list[PastRun] = []
        for index, (at, found) in enumerate(rows):
            low = bisect_left(firsts, at)
            high = bisect_left(firsts, starts[index + 1]) if index + 1 < len(rows) else len(firsts)
            runs.append(PastRun(at, found or 0, high - low))
        return runs

    def save_plan(
        self,
        feed: str,
        next_run_at: datetime | None,
        reason: str,
        interval: float | None = None,
        hint: tuple[float | None, str | None] | None = None,
    ) -> None:
        """A feed's next run and why; an adaptive one's interval and the server's hint
        (``(None, None)``: the server gave none this time)."""
        with self._database.writing() as session:
            state = session.get(FeedState, feed)
            if state is None:
                return
            state.next_run_at, state.next_run_reason = next_run_at, reason
            if interval is not None:
                state.poll_interval = interval
            if hint is not None:
                state.poll_hint, state.poll_hint_reason = hint

    def save_poll_hint(self, feed: str, hint: tuple[float | None, str | None]) -> None:
        """The server's polling hint a run read (``(None, None)``: it gave none), saved by
        the cluster worker that ran it for the leader's next plan."""
        with self._database.writing() as session:
            state = session.get(FeedState, feed)
            if state is not None:
                state.poll_hint, state.poll_hint_reason = hint
