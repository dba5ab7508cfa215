"""Which new articles and edits an alert matches, recorded once per notify target.

Every event an alert can report is a row of ``article_versions``: version 1 is a new
article, a later version an edit of its headline or body (the store only writes one when
the content hash changes, see :mod:`crawler.store.history`). Each alert keeps the highest
version id it has looked at (``alerts.last_version_id``); a pass looks at the versions above
it, filters their articles as ``newsmon query`` does (``--search`` by the same engine, tags,
feeds, sites) and writes one ``alert_deliveries`` row per match and target. Rows are
unique per (alert, target, article, version), so nothing is recorded — and so sent — twice,
however often a pass runs or a feed is crawled again.

Ids are handed out before commit, so on PostgreSQL a writer that commits late may leave a
version below the mark: each pass looks again at the last ``RECHECK_VERSIONS`` ids below it
(matches already recorded are skipped), which covers any writer a batch of articles behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from crawler.config_alerts import AlertConfig
from crawler.store.models import (
    AlertDelivery,
    AlertState,
    Article,
    ArticleFeed,
    ArticleTag,
    ArticleVersion,
)
from crawler.store.search import matching_ids, parse_query

RECHECK_VERSIONS = 1_000
SCAN_BATCH = 5_000  # versions looked at per query: a pass after a big crawl takes several


@dataclass(frozen=True)
class Target:
    """A notify URL as the database knows it: by its hash, and as it may be shown."""

    key: str
    shown: str


def digest_due(now: datetime, digest: timedelta) -> datetime:
    """When a match made at ``now`` is sent: at once, or at the end of its digest period
    (periods counted from 00:00 UTC, so an hourly digest goes out on the hour)."""
    if not digest:
        return now
    period = digest.total_seconds()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - start).total_seconds()
    return start + timedelta(seconds=(elapsed // period + 1) * period)


def start_alert(session: Session, name: str, now: datetime) -> None:
    """An alert seen for the first time starts at the newest version: it reports what
    arrives from now on, not the archive."""
    if session.get(AlertState, name) is None:
        newest = session.scalar(select(func.max(ArticleVersion.id))) or 0
        session.add(
            AlertState(name=name, first_version_id=newest, last_version_id=newest, created_at=now)
        )
        session.flush()


def record_matches(
    session: Session, alert: AlertConfig, targets: Sequence[Target], now: datetime
) -> int:
    """Look at the versions written since the alert's last pass; record each match for
    every target as pending. Returns how many matches (not rows) were new."""
    state = session.get(AlertState, alert.name, with_for_update=True)
    newest = session.scalar(select(func.max(ArticleVersion.id))) or 0
    if state is None:
        start_alert(session, alert.name, now)
        return 0
    mark = state.last_version_id
    if newest <= mark:
        return 0  # nothing new; a late commit below the mark is found with the next version
    low = max(mark - RECHECK_VERSIONS, state.first_version_id)
    found = 0
    while low < newest:
        high = min(low + SCAN_BATCH, newest)
        found += _record_range(session, alert, targets, (low, high, mark), now)
        low = high
    state.last_version_id = max(state.last_version_id, newest)
    return found


def _record_range(
    session: Session,
    alert: AlertConfig,
    targets: Sequence[Target],
    scan: tuple[int, int, int],
    now: datetime,
) -> int:
    """Versions ``low < id <= high``; those up to ``mark`` were looked at before, and only
    one no target has a row for is new (not one a target added since then lacks)."""
    low, high, mark = scan
    query = (
        select(ArticleVersion.article_id, ArticleVersion.version, ArticleVersion.id)
        .join(Article, Article.id == ArticleVersion.article_id)
        .where(ArticleVersion.id > low, ArticleVersion.id <= high)
    )
    if "new" not in alert.events:
        query = query.where(ArticleVersion.version > 1)
    if "edited" not in alert.events:
        query = query.where(ArticleVersion.version == 1)
    # The articles' id range bounds the full-text look-up to them (FTS5 walks only that
    # stretch of its index), instead of every article with the word.
    ids = session.execute(
        select(func.min(ArticleVersion.article_id), func.max(ArticleVersion.article_id)).where(
            ArticleVersion.id > low, ArticleVersion.id <= high
        )
    ).one()
    if ids[0] is None or not targets:
        return 0
    query = query.where(*_filters(session, alert, (int(ids[0]), int(ids[1]))))
    matches = list(session.execute(query.order_by(ArticleVersion.id)))
    if not matches:
        return 0
    recorded = {
        (article_id, version, key)
        for article_id, version, key in session.execute(
            select(AlertDelivery.article_id, AlertDelivery.version, AlertDelivery.target_key).where(
                AlertDelivery.alert == alert.name,
                AlertDelivery.article_id.in_({m.article_id for m in matches}),
            )
        )
    }
    seen = {(article_id, version) for article_id, version, _ in recorded}
    due = digest_due(now, alert.digest)
    found = 0
    for article_id, version, version_id in matches:
        if version_id <= mark and (article_id, version) in seen:
            continue
        fresh = [t for t in targets if (article_id, version, t.key) not in recorded]
        found += bool(fresh)
        for target in fresh:
            session.add(
                AlertDelivery(
                    alert=alert.name,
                    target_key=target.key,
                    target=target.shown,
                    article_id=article_id,
                    version=version,
                    event="new" if version == 1 else "edited",
                    status="pending",
                    matched_at=now,
                    next_attempt_at=due,
                    attempts=0,
                )
            )
    session.flush()
    return found


def _filters(
    session: Session, alert: AlertConfig, ids: tuple[int, int]
) -> list[ColumnElement[bool]]:
    """The alert's filters on ``articles``: any of its searches, tags, feeds and sites each
    (a key left out does not filter)."""
    filters: list[ColumnElement[bool]] = []
    if alert.search:
        dialect = session.get_bind().dialect.name
        queries = [parse_query(text) for text in alert.search]
        searches = [
            Article.id.in_(matching_ids(dialect, q, ids)) for q in queries if not q.is_empty
        ]
        filters.append(or_(*searches) if searches else false())
    if alert.tags:
        tagged = select(ArticleTag.article_id).where(ArticleTag.tag.in_(alert.tags))
        filters.append(Article.id.in_(tagged))
    if alert.feeds:
        found_by = select(ArticleFeed.article_id).where(ArticleFeed.feed.in_(alert.feeds))
        filters.append(Article.id.in_(found_by))
    if alert.sites:
        sites = [s.removeprefix("www.") for s in alert.sites]
        filters.append(
            or_(*(or_(Article.site == s, Article.site.endswith("." + s)) for s in sites))
        )
    return [and_(*filters)] if filters else []
