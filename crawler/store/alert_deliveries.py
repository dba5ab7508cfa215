"""Sending what alerts matched: due messages claimed, results recorded, failing targets.

A pending row is due when its ``next_attempt_at`` has come: at once, at the end of its
digest period, or after a failure's back-off. A pass *claims* what is due by moving
``next_attempt_at`` a lease ahead in the same transaction that reads it, so two processes
(the service and a ``newsmon crawl``) never send one row both; a process that dies while
sending leaves rows that fall due again when the lease ends. A failure counts an attempt
and sets the next after a back-off (30 s, doubling, at most an hour); a match still unsent
a day after it was made is given up (``failed``) and shown by ``newsmon status`` with the
failing target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from crawler.store.models import AlertDelivery, Article, ArticleVersion

LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Match:
    """One claimed delivery with what its message says."""

    id: int
    alert: str
    target_key: str
    event: str
    article_id: int
    version: int
    title: str
    url: str
    site: str
    published_at: datetime | None
    summary: str | None
    previous_title: str | None  # an edit's headline before it, when the headline changed


@dataclass(frozen=True)
class FailingTarget:
    alert: str
    target: str
    waiting: int  # matches not sent yet
    given_up: int  # matches given up on
    attempts: int  # of the oldest waiting match
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.__dataclass_fields__}


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt: 30 s, 1 min, 2 min … at most an hour."""
    delay: timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20)
    return min(delay, MAX_RETRY)


def claim_due(session: Session, now: datetime, targets: Mapping[str, Sequence[str]]) -> list[Match]:
    """The due pending rows of these alerts' targets (alert → target keys), claimed for one
    lease. A target taken out of the settings gets nothing more."""
    if not targets:
        return []
    configured = or_(
        *(
            (AlertDelivery.alert == alert) & AlertDelivery.target_key.in_(keys)
            for alert, keys in targets.items()
        )
    )
    rows = list(
        session.scalars(
            select(AlertDelivery)
            .where(
                AlertDelivery.status == "pending",
                AlertDelivery.next_attempt_at <= now,
                configured,
            )
            .order_by(AlertDelivery.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not rows:
        return []
    session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.id.in_([r.id for r in rows]))
        .values(next_attempt_at=now + LEASE)
    )
    ids = {r.article_id for r in rows}
    articles = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(ids)))}
    previous = _previous_titles(session, [r for r in rows if r.version > 1])
    matches = []
    for row in rows:
        article = articles[row.article_id]
        title = _title_of(session, row) or article.title
        old = previous.get((row.article_id, row.version))
        matches.append(
            Match(
                id=row.id,
                alert=row.alert,
                target_key=row.target_key,
                event=row.event,
                article_id=row.article_id,
                version=row.version,
                title=title,
                url=article.canonical_url or article.url,
                site=article.site,
                published_at=article.published_at,
                summary=article.summary,
                previous_title=old if old is not None and old != title else None,
            )
        )
    return matches


def _title_of(session: Session, row: AlertDelivery) -> str | None:
    return session.scalar(
        select(ArticleVersion.title).where(
            ArticleVersion.article_id == row.article_id, ArticleVersion.version == row.version
        )
    )


def _previous_titles(session: Session, rows: list[AlertDelivery]) -> dict[tuple[int, int], str]:
    found: dict[tuple[int, int], str] = {}
    for row in rows:
        title = session.scalar(
            select(ArticleVersion.title).where(
                ArticleVersion.article_id == row.article_id,
                ArticleVersion.version == row.version - 1,
            )
        )
        if title is not None:
            found[(row.article_id, row.version)] = title
    return found


def mark_sent(session: Session, ids: Sequence[int], now: datetime) -> None:
    session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.id.in_(ids))
        .values(
            status="sent",
            sent_at=now,
            last_attempt_at=now,
            attempts=AlertDelivery.attempts + 1,
            next_attempt_at=None,
        )
    )


def mark_failed(session: Session, ids: Sequence[int], now: datetime, error: str) -> datetime | None:
    """Count a failed attempt; the next one after the back-off, or none once a match is a
    day old. Returns when the next attempt is (None: given up)."""
    rows = list(session.scalars(select(AlertDelivery).where(AlertDelivery.id.in_(ids))))
    next_at: datetime | None = None
    for row in rows:
        row.attempts = (row.attempts or 0) + 1
        row.last_attempt_at, row.last_error = now, error
        if now - row.matched_at >= GIVE_UP_AFTER:
            row.status, row.next_attempt_at = "failed", None
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)
            next_at = row.next_attempt_at if next_at is None else min(next_at, row.next_attempt_at)
    return next_at


def next_due(session: Session, alerts: Sequence[str]) -> datetime | None:
    """When the earliest pending row of these alerts falls due."""
    return session.scalar(
        select(func.min(AlertDelivery.next_attempt_at)).where(
            AlertDelivery.status == "pending", AlertDelivery.alert.in_(alerts)
        )
    )


def failing_targets(session: Session, alerts: Sequence[str], now: datetime) -> list[FailingTarget]:
    """Each (alert, target) with a match that failed and is still waiting, or was given up
    in the last day: how many wait, how many were given up, and when it is tried next."""
    failing = (
        AlertDelivery.alert.in_(alerts)
        & AlertDelivery.last_error.is_not(None)
        & (
            (AlertDelivery.status == "pending")
            | (
                (AlertDelivery.status == "failed")
                & (AlertDelivery.last_attempt_at >= now - GIVE_UP_AFTER)
            )
        )
    )
    result: list[FailingTarget] = []
    pairs = session.execute(
        select(AlertDelivery.alert, AlertDelivery.target_key, func.max(AlertDelivery.id))
        .where(failing)
        .group_by(AlertDelivery.alert, AlertDelivery.target_key)
        .order_by(AlertDelivery.alert)
    )
    for alert, key, latest_id in pairs:
        latest = session.get(AlertDelivery, latest_id)  # the newest failing match
        assert latest is not None
        counts = dict(
            session.execute(
                select(AlertDelivery.status, func.count())
                .where(AlertDelivery.alert == alert, AlertDelivery.target_key == key)
                .group_by(AlertDelivery.status)
            ).all()
        )
        result.append(
            FailingTarget(
                alert=alert,
                target=latest.target,
                waiting=int(counts.get("pending", 0)),
                given_up=int(counts.get("failed", 0)),
                attempts=latest.attempts,
                last_error=latest.last_error,
                last_attempt_at=latest.last_attempt_at,
                next_attempt_at=latest.next_attempt_at if latest.status == "pending" else None,
            )
        )
    return result


def target_counts(
    session: Session, alerts: Sequence[str]
) -> dict[tuple[str, str], tuple[int, int, int, datetime | None]]:
    """(alert, target key) → (sent, waiting, given up, last sent at)."""
    status = AlertDelivery.status
    rows = session.execute(
        select(
            AlertDelivery.alert,
            AlertDelivery.target_key,
            func.count().filter(status == "sent"),
            func.count().filter(status == "pending"),
            func.count().filter(status == "failed"),
            func.max(AlertDelivery.sent_at),
        )
        .where(AlertDelivery.alert.in_(alerts))
        .group_by(AlertDelivery.alert, AlertDelivery.target_key)
    )
    return {(a, k): (int(s), int(w), int(f), last) for a, k, s, w, f, last in rows}
