"""Article counts by day, tag, site or feed, and a text bar chart to read trends at a glance.

An article is dated by its publication time, else by when we first saw it — the same rule
``newsmon query --since`` uses — and days are UTC days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, String, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from crawler.store.clusters import published_when
from crawler.store.models import Article, ArticleFeed, ArticleTag

Dimension = Literal["day", "tag", "site", "feed"]
DIMENSIONS: tuple[Dimension, ...] = ("day", "tag", "site", "feed")

_EIGHTHS = " ▏▎▍▌▋▊▉"


@dataclass(frozen=True)
class Count:
    key: str
    count: int


def article_counts(
    session: Session,
    by: Dimension,
    since: datetime | None = None,
    limit: int | None = None,
    until: datetime | None = None,
) -> list[Count]:
    """Counts per ``by``: days in order (empty days included), the rest largest first.

    ``limit`` keeps the last days, or the largest groups. An article with several tags or
    feeds counts once in each.
    """
    key, query = _grouped(session, by, since, until)
    n = func.count(func.distinct(Article.id))
    query = query.add_columns(key.label("key"), n.label("n")).group_by(key)
    if by == "day":
        counts = _fill_days({str(k): int(c) for k, c in session.execute(query)})
        return counts[-limit:] if limit else counts
    query = query.order_by(n.desc(), key)
    if limit:
        query = query.limit(limit)
    return [Count(str(k), int(c)) for k, c in session.execute(query)]


def total_articles(session: Session, since: datetime | None = None) -> int:
    query = select(func.count()).select_from(Article)
    if since is not None:
        query = query.where(published_when() >= since)
    return int(session.scalar(query) or 0)


def articles_shown(
    session: Session, by: Dimension, counts: list[Count], since: datetime | None = None
) -> int:
    """How many distinct articles the groups in ``counts`` hold: what their chart shows.

    Fewer than :func:`total_articles` when ``limit`` cut groups off, or articles have no tag;
    not the sum of the counts, since an article with two tags is in both.
    """
    keys = [c.key for c in counts if c.count]
    if not keys:
        return 0
    key, query = _grouped(session, by, since)
    query = query.add_columns(func.count(func.distinct(Article.id))).where(key.in_(keys))
    return int(session.scalar(query) or 0)


def _grouped(
    session: Session, by: Dimension, since: datetime | None, until: datetime | None = None
) -> tuple[ColumnElement[str] | InstrumentedAttribute[str], Any]:
    """The grouping key of ``by`` and a select of articles joined to what it needs."""
    when = published_when()
    key: ColumnElement[str] | InstrumentedAttribute[str]
    if by == "day":
        key = utc_day(session.get_bind().dialect.name, when)
    elif by == "site":
        key = Article.site
    elif by == "tag":
        key = ArticleTag.tag
    elif by == "feed":
        key = ArticleFeed.feed
    else:
        raise ValueError(f"cannot count articles by {by!r}: use one of {', '.join(DIMENSIONS)}")
    query: Any = select().select_from(Article)
    if by == "tag":
        query = query.join(ArticleTag, ArticleTag.article_id == Article.id)
    elif by == "feed":
        query = query.join(ArticleFeed, ArticleFeed.article_id == Article.id)
    if since is not None:
        query = query.where(when >= since)
    if until is not None:
        query = query.where(when < until)
    return key, query


def render_chart(counts: list[Count], width: int = 40) -> str:
    """One line per count: key, a bar scaled to the largest count, the number."""
    if not counts:
        return "(no articles)\n"
    top = max(c.count for c in counts) or 1
    key_width = max(len(c.key) for c in counts)
    number_width = len(str(top))
    lines = []
    for c in counts:
        lines.append(f"{c.key:<{key_width}}  {_bar(c.count / top * width):<{width}}  "
                     f"{c.count:>{number_width}}")  # fmt: skip
    return "\n".join(lines) + "\n"


def _bar(length: float) -> str:
    """A bar of ``length`` character cells, in eighths; any count above zero shows."""
    eighths = max(1, round(length * 8)) if length > 0 else 0
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def utc_day(
    dialect: str, when: ColumnElement[datetime] | InstrumentedAttribute[datetime]
) -> ColumnElement[str]:
    if dialect == "sqlite":  # stored as naive UTC text
        return func.strftime("%Y-%m-%d", when, type_=String)
    return func.to_char(func.timezone("UTC", when), "YYYY-MM-DD", type_=String)


def _fill_days(counts: dict[str, int]) -> list[Count]:
    if not counts:
        return []
    day, last = date.fromisoformat(min(counts)), date.fromisoformat(max(counts))
    filled = []
    while day <= last:
        filled.append(Count(day.isoformat(), counts.get(day.isoformat(), 0)))
        day += timedelta(days=1)
    return filled
