"""What ``newsmon status`` answers: each feed's health, and one feed's last runs.

Plain functions over a SQLAlchemy session, like :mod:`crawler.store.queries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawler.store.models import ArticleFeed, CrawlRun, FeedState, HostPause
from crawler.store.queries import iso


@dataclass(frozen=True)
class FeedStatus:
    name: str
    kind: str
    enabled: bool
    last_run_at: datetime | None
    last_outcome: str | None
    last_success_at: datetime | None  # the end of its last ok or partial run
    last_error: str | None  # in full: the latest run that recorded one
    last_error_at: datetime | None  # when that run ended
    consecutive_failures: int
    next_run_at: datetime | None  # None for a disabled feed
    articles_found: int  # by its last run
    articles_new: int  # by its last run
    articles_24h: int  # first collected via this feed in the last 24 hours (not published)
    next_run_reason: str | None = None  # why the next run is then (crawler.timetable)
    poll_interval: float | None = None  # an adaptive feed's current interval, seconds
    last_new_at: datetime | None = None  # the end of its last run that found something new
    first_run_at: datetime | None = None

    @property
    def has_current_error(self) -> bool:
        """The last error still applies: no successful run has ended since."""
        if self.last_error_at is None:
            return False
        return self.last_success_at is None or self.last_error_at >= self.last_success_at

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "enabled": self.enabled,
            "last_run_at": iso(self.last_run_at),
            "last_outcome": self.last_outcome,
            "last_success_at": iso(self.last_success_at),
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "consecutive_failures": self.consecutive_failures,
            "next_run_at": iso(self.next_run_at),
            "articles_found": self.articles_found,
            "articles_new": self.articles_new,
            "articles_24h": self.articles_24h,
            "next_run_reason": self.next_run_reason,
            "poll_interval": self.poll_interval,
            "last_new_at": iso(self.last_new_at),
        }


def feed_status(
    session: Session, feeds: Sequence[tuple[str, str, bool]], now: datetime | None = None
) -> list[FeedStatus]:
    """Health per configured (name, kind, enabled) feed, whether or not it has run yet."""
    now = now or datetime.now(UTC)
    states = {s.name: s for s in session.scalars(select(FeedState))}
    latest_ids = select(func.max(CrawlRun.id)).group_by(CrawlRun.feed).scalar_subquery()
    last_runs = {
        r.feed: r for r in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(latest_ids)))
    }
    error_ids = (
        select(func.max(CrawlRun.id))
        .where(CrawlRun.error.is_not(None))
        .group_by(CrawlRun.feed)
        .scalar_subquery()
    )
    last_errors = {
        r.feed: r for r in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(error_ids)))
    }
    recent: dict[str, int] = {
        feed: int(n)
        for feed, n in session.execute(
            select(ArticleFeed.feed, func.count())
            .where(ArticleFeed.first_seen_at >= now - timedelta(hours=24))
            .group_by(ArticleFeed.feed)
        )
    }
    first_runs: dict[str, datetime] = {
        feed: at
        for feed, at in session.execute(
            select(CrawlRun.feed, func.min(CrawlRun.started_at)).group_by(CrawlRun.feed)
        )
    }
    result = []
    for name, kind, enabled in feeds:
        state = states.get(name)
        run = last_runs.get(name)
        error_run = last_errors.get(name)
        result.append(
            FeedStatus(
                name=name,
                kind=kind,
                enabled=enabled,
                last_run_at=run.started_at if run else None,
                last_outcome=run.outcome if run else None,
                last_success_at=state.last_success_at if state else None,
                last_error=error_run.error if error_run else None,
                last_error_at=_ended_at(error_run) if error_run else None,
                consecutive_failures=state.consecutive_failures if state else 0,
                next_run_at=state.next_run_at if state and enabled else None,
                articles_found=run.articles_found if run else 0,
                articles_new=run.articles_new if run else 0,
                articles_24h=int(recent.get(name, 0)),
                next_run_reason=state.next_run_reason if state and enabled else None,
                poll_interval=state.poll_interval if state else None,
                last_new_at=state.last_new_at if state else None,
                first_run_at=first_runs.get(name),
            )
        )
    return result


def feed_runs(session: Session, feed: str, limit: int | None = 10) -> list[dict[str, Any]]:
    """A feed's last ``limit`` (None: all) runs, newest first, with outcome, counts and the
    error in full."""
    runs = session.scalars(
        select(CrawlRun).where(CrawlRun.feed == feed).order_by(CrawlRun.id.desc()).limit(limit)
    )
    return [
        {
            "started_at": iso(r.started_at),
            "finished_at": iso(r.finished_at),
            "outcome": r.outcome,
            "pages_fetched": r.pages_fetched,
            "not_modified": r.not_modified,
            "articles_found": r.articles_found,
            "articles_new": r.articles_new,
            "versions_new": r.versions_new,
            "duplicates": r.duplicates,
            "errors": r.errors,
            "rechecks": r.rechecks,
            "retry_after": iso(r.retry_after),
            "error": r.error,
        }
        for r in runs
    ]


def _ended_at(run: CrawlRun) -> datetime:
    return run.finished_at or run.started_at


def host_pauses(session: Session, now: datetime) -> list[tuple[str, datetime, int]]:
    """Hosts paused by a Retry-After past ``now``: (host, until, status), soonest first."""
    rows = session.scalars(select(HostPause).where(HostPause.until > now).order_by(HostPause.until))
    return [(p.host, p.until, p.status) for p in rows]
