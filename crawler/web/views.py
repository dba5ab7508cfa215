"""What each page shows, as plain JSON-ready values: the HTML pages render them, ``/api/…``
returns them as they are. Every question goes to the store's read functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from crawler.config import Settings
from crawler.store.browse import (
    FACET_WINDOW,
    Series,
    collected_since,
    daily_counts,
    daily_counts_by,
    facet_summary,
    feed_daily_counts,
    match_count,
)
from crawler.store.feed_status import FeedStatus, feed_runs, feed_status
from crawler.store.history import diff_versions, load_versions, version_infos
from crawler.store.models import Article
from crawler.store.queries import ArticleFilter, article_detail, iso, query_articles
from crawler.store.stats import article_counts
from crawler.web.params import MAX_PAGE, PER_PAGE, BadRequest, Params

FEED_CHART_DAYS = 14
IDLE_AFTER = timedelta(days=7)  # an enabled feed that found nothing new for this long
MAX_TREND_DAYS = 366
HEALTH = ("failing", "erring", "ok", "never run", "disabled")  # worst first


class NotFound(Exception):
    """No such feed or article: HTTP 404 with this message."""


def health(row: FeedStatus) -> str:
    """One word for a feed's state: failing (its last run failed), erring (an error since
    its last success), ok, never run, disabled."""
    if not row.enabled:
        return "disabled"
    if row.last_run_at is None:
        return "never run"
    if row.consecutive_failures or row.last_outcome == "failed":
        return "failing"
    return "erring" if row.has_current_error else "ok"


def _statuses(session: Session, settings: Settings, now: datetime) -> list[FeedStatus]:
    feeds = [(f.name, f.kind, f.enabled) for f in settings.feeds]
    return feed_status(session, feeds, now)


def overview(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = _statuses(session, settings, now)
    by_health: dict[str, list[str]] = {h: [] for h in HEALTH}
    for row in rows:
        by_health[health(row)].append(row.name)
    return {
        "now": iso(now),
        "collected_today": match_count(session, ArticleFilter(seen_since=today)),
        "collected_week": match_count(session, ArticleFilter(seen_since=now - timedelta(7))),
        "published_today": match_count(session, ArticleFilter(since=today)),
        "published_week": match_count(session, ArticleFilter(since=now - timedelta(7))),
        "total": match_count(session, ArticleFilter()),
        "feeds_by_health": by_health,
        "latest": [_brief(r) for r in query_articles(session, ArticleFilter(limit=10))],
    }


def feeds(session: Session, settings: Settings, now: datetime) -> dict[str, Any]:
    rows = _statuses(session, settings, now)
    names = [row.name for row in rows]
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    start = end - timedelta(days=FEED_CHART_DAYS)  # today and the days before it
    per_day = feed_daily_counts(session, names, start, end)
    recent = collected_since(session, names, now - IDLE_AFTER)
    result = []
    for row in rows:
        found = recent.get(row.name, 0)  # new articles in the last IDLE_AFTER
        idle = row.enabled and row.last_run_at is not None and not found
        result.append({
            **row.as_dict(),
            "health": health(row),
            "has_current_error": row.has_current_error,
            "idle": idle,
            "new_in_idle_window": found,
            "per_day": [{"day": c.key, "count": c.count} for c in per_day[row.name]],
        })  # fmt: skip
    return {"now": iso(now), "idle_after_days": IDLE_AFTER.days, "feeds": result}


def feed(session: Session, settings: Settings, name: str, now: datetime) -> dict[str, Any]:
    configured = [f for f in settings.feeds if f.name == name]
    if not configured:
        raise NotFound(f"no feed {name!r} in the settings")
    config = configured[0]
    row = feed_status(session, [(config.name, config.kind, config.enabled)], now)[0]
    return {
        **row.as_dict(),
        "url": str(config.url),
        "tags": list(config.tags),
        "health": health(row),
        "has_current_error": row.has_current_error,
        "runs": feed_runs(session, name, 100),
    }


def articles(session: Session, params: Params) -> dict[str, Any]:
    f = params.article_filter()
    total, counted = facet_summary(session, f)
    rows = query_articles(session, f)
    page = f.offset // PER_PAGE + 1
    pages = min(MAX_PAGE, max(1, -(-total // PER_PAGE)))
    facets = {name: [{"value": c.key, "count": c.count} for c in counts]
              for name, counts in counted.items()}  # fmt: skip
    return {
        "query": params.values,
        "total": total,
        "facet_window": min(total, FACET_WINDOW),
        "page": page,
        "pages": pages,
        "per_page": PER_PAGE,
        "articles": [_brief(r) for r in rows],
        "facets": facets,
    }


def _brief(record: dict[str, Any]) -> dict[str, Any]:
    """A listing's row: the record without its body."""
    brief = {k: v for k, v in record.items() if k != "body"}
    body = record.get("body") or ""
    brief["words"] = len(body.split())
    return brief


def article(session: Session, article_id: int, params: Params) -> dict[str, Any]:
    stored = session.get(Article, article_id)
    if stored is None:
        raise NotFound(f"no stored article has id {article_id}")
    detail = article_detail(session, stored)
    versions = load_versions(session, stored)
    infos = version_infos(versions)
    detail["versions_list"] = [
        {"version": i.version, "fetched_at": iso(i.fetched_at), "modified_at": iso(i.modified_at),
         "title": i.title, "words": i.words, "change": i.summary()}
        for i in infos
    ]  # fmt: skip
    detail["diff"] = None
    if len(versions) > 1:
        numbers = [v.version for v in versions]
        old = params.integer("from", numbers[-2], 1, numbers[-1])
        new = params.integer("to", numbers[-1], 1, numbers[-1])
        if old not in numbers or new not in numbers or old == new:
            raise BadRequest(f"'from' and 'to' must be two different versions of {numbers}")
        by_number = {v.version: v for v in versions}
        diff = diff_versions(by_number[old], by_number[new])
        detail["diff"] = {
            **diff.as_dict(),
            "old_fetched_at": iso(diff.old_fetched_at),
            "new_fetched_at": iso(diff.new_fetched_at),
            "hunks": [
                {"at_start": h.at_start, "at_end": h.at_end,
                 "segments": [{"op": s.op, "text": s.text} for s in h.segments]}
                for h in diff.hunks
            ],
        }  # fmt: skip
    return detail


def trends(session: Session, params: Params, now: datetime) -> dict[str, Any]:
    by = params.choice("by", ("tag", "site", "feed"), "tag")
    top = params.integer("top", 6, 1, 20)
    since = params.when("since") or now - timedelta(days=30)
    until = params.when("until") or now
    if since >= until:
        raise BadRequest("parameter 'since' must be before 'until'")
    if until - since > timedelta(days=MAX_TREND_DAYS):
        raise BadRequest(f"a trend spans at most {MAX_TREND_DAYS} days")
    since = since.replace(hour=0, minute=0, second=0, microsecond=0)
    dimension: Series = by  # type: ignore[assignment]  # one of the choices above
    keys = [c.key for c in article_counts(session, dimension, since, top, until)]
    series = daily_counts_by(session, dimension, keys, since, until)
    q = params.text("q")
    search = None
    if q:
        counts = daily_counts(session, ArticleFilter(search=q, limit=None), since, until)
        search = {"q": q, "days": [{"day": c.key, "count": c.count} for c in counts]}
    return {
        "by": by,
        "since": iso(since),
        "until": iso(until),
        "series": [
            {
                "key": key,
                "total": sum(c.count for c in counts),
                "days": [{"day": c.key, "count": c.count} for c in counts],
            }
            for key, counts in series.items()
        ],
        "search": search,
    }


def utc_now() -> datetime:
    return datetime.now(UTC)
