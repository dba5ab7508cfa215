"""SQLAlchemy models: the database schema people query with plain SQL.

Timestamps are stored as UTC through :class:`UTCDateTime` because SQLite silently drops
the offset of ``DateTime(timezone=True)``; naive datetimes are refused on the way in so a
local time can never be stored by mistake.

The database is built from these models by the migrations in ``crawler/store/migrations``
(see :mod:`crawler.store.schema`): a change here needs a new migration, and the tests check
that the migrated schema and the models agree.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    insert,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store naive datetime {value!r}: give it a time zone")
        value = value.astimezone(UTC)
        # SQLite stores text: keep it naive-UTC there so comparisons stay lexicographic.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


@functools.cache
def plain_insert(model: type[Base]) -> Any:
    """A Core INSERT on the model's table, run with parameter rows (built once, so compiled
    once: the saves run these for every article)."""
    return insert(cast(Table, model.__table__))


# The article a row belongs to: deleted with it.
ArticleId = Annotated[int, mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))]


class Article(Base):
    """One news article, however many URLs and feeds it was found at."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)  # normalised; the page's own choice of URL
    canonical_url: Mapped[str | None] = mapped_column(Text)
    site: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    published_source: Mapped[str | None] = mapped_column(String(16))
    published_precision: Mapped[str | None] = mapped_column(String(8))
    modified_at: Mapped[datetime | None]
    body: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    lead_image_url: Mapped[str | None] = mapped_column(Text)
    lead_image_caption: Mapped[str | None] = mapped_column(Text)
    lead_image_credit: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]
    last_fetched_at: Mapped[datetime]
    version_count: Mapped[int] = mapped_column(Integer, default=1)
    # Near-copies of one story share a cluster: the smallest member id (see crawler.store.clusters).
    # NULL only in rows written before clusters existed; readers use coalesce(cluster_id, id).
    cluster_id: Mapped[int | None] = mapped_column(Integer, index=True)

    versions: Mapped[list[ArticleVersion]] = relationship(
        back_populates="article", order_by="ArticleVersion.version", cascade="all, delete-orphan"
    )
    urls: Mapped[list[ArticleUrl]] = relationship(cascade="all, delete-orphan")
    feeds: Mapped[list[ArticleFeed]] = relationship(cascade="all, delete-orphan")
    tags: Mapped[list[ArticleTag]] = relationship(cascade="all, delete-orphan")


class ArticleVersion(Base):
    """A distinct content of an article (title + body), in the order it was seen."""

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[ArticleId]
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    modified_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime]

    article: Mapped[Article] = relationship(back_populates="versions")


class ArticleSignature(Base):
    """The MinHash of an article's body (128 little-endian uint32), for near-copy confirmation."""

    __tablename__ = "article_signatures"

    article_id: Mapped[ArticleId] = mapped_column(primary_key=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    shingle_count: Mapped[int] = mapped_column(Integer)  # distinct word 3-shingles


class LshBand(Base):
    """One LSH band of a signature: articles sharing (band, bucket) are near-copy candidates."""

    __tablename__ = "lsh_bands"

    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[ArticleId] = mapped_column(primary_key=True, index=True)


class ArticleUrl(Base):
    """Every URL an article was found at; ``url_key`` is unique, so a URL maps to one article."""

    __tablename__ = "article_urls"

    url_key: Mapped[str] = mapped_column(String(2048), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    article_id: Mapped[ArticleId] = mapped_column(index=True)
    first_seen_at: Mapped[datetime]


class ArticleFeed(Base):
    """Which feeds found an article, and when each first did."""

    __tablename__ = "article_feeds"
    # By when: collected per day and in the last 24 h (status, the web app's /feeds).
    __table_args__ = (Index("ix_article_feeds_first_seen_at_feed", "first_seen_at", "feed"),)

    article_id: Mapped[ArticleId] = mapped_column(primary_key=True)
    feed: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    first_seen_at: Mapped[datetime]


class ArticleTag(Base):
    """One casefolded tag of an article, from the page, its feeds or the crawl settings."""

    __tablename__ = "article_tags"

    article_id: Mapped[ArticleId] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class SiteParagraph(Base):
    """In how many articles of a site a body paragraph occurred: chrome recurs (see
    crawler.store.boilerplate). ``first_article_seq`` is the site's article count when it
    first did."""

    __tablename__ = "site_paragraphs"
    __table_args__ = (Index("ix_site_paragraphs_site_count", "site", "article_count"),)

    site: Mapped[str] = mapped_column(String(255), primary_key=True)
    paragraph_key: Mapped[str] = mapped_column(String(40), primary_key=True)  # textnorm sha1
    article_count: Mapped[int] = mapped_column(Integer)
    first_article_seq: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class SiteParagraphStats(Base):
    """How many articles of a site have had their paragraphs counted in ``site_paragraphs``."""

    __tablename__ = "site_paragraph_stats"

    site: Mapped[str] = mapped_column(String(255), primary_key=True)
    article_count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class FeedState(Base):
    """Per-feed state: health and schedule bookkeeping (each page's validators for conditional
    GET are in ``page_states``)."""

    __tablename__ = "feeds"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    last_run_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None]
    # Adaptive polling (crawler.timetable): the current interval and the server's last hint
    # in seconds, why the next run is when it is, and when a run last found something new.
    poll_interval: Mapped[float | None] = mapped_column(Float)
    poll_hint: Mapped[float | None] = mapped_column(Float)
    poll_hint_reason: Mapped[str | None] = mapped_column(Text)
    next_run_reason: Mapped[str | None] = mapped_column(Text)
    last_new_at: Mapped[datetime | None]


class PageState(Base):
    """Validators and body hash of each listing/feed/sitemap page (a feed may paginate), per
    feed: two feeds of one URL each fetch it for themselves, so a 304 to one never hides the
    page's articles from the other (which has its own tags to give them)."""

    __tablename__ = "page_states"

    feed: Mapped[str] = mapped_column(String(64), primary_key=True)
    url_key: Mapped[str] = mapped_column(String(2048), primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime]


class RobotsTxt(Base):
    """The last robots.txt fetched from each origin (scheme://host:port), reused by later
    crawls and by the next process until ``robots_txt_max_age`` has passed."""

    __tablename__ = "robots_txt"

    origin: Mapped[str] = mapped_column(String(512), primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime]


class CrawlRun(Base):
    """One run of one feed, with what it did."""

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_feed_started", "feed", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16), default="running")  # ok|partial|failed|...
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    not_modified: Mapped[int] = mapped_column(Integer, default=0)
    articles_found: Mapped[int] = mapped_column(Integer, default=0)
    articles_new: Mapped[int] = mapped_column(Integer, default=0)
    versions_new: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[datetime | None]  # its host paused until then (429/503 Retry-After)
    rechecks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class HostPause(Base):
    """A host that answered 429 or 503 with Retry-After: no request to it until ``until``."""

    __tablename__ = "host_pauses"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    until: Mapped[datetime]
    status: Mapped[int] = mapped_column(Integer)
    paused_at: Mapped[datetime]


class ArticleValidator(Base):
    """The ETag/Last-Modified of a stored article URL and when it was last checked: a
    re-check for edits is a conditional GET."""

    __tablename__ = "article_validators"

    url_key: Mapped[str] = mapped_column(String(2048), primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime]


class AlertState(Base):
    """How far an ``[[alerts]]`` entry has looked: the ``article_versions`` it has matched
    up to (see crawler.alerts.matching). A new alert starts at the newest version, so it
    reports what arrives from then on, not the whole archive."""

    __tablename__ = "alerts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_version_id: Mapped[int] = mapped_column(Integer)  # the newest when it started
    last_version_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class AlertDelivery(Base):
    """One match of an alert (a new article or a new version of one) for one notify target:
    sent once, retried with back-off while the target fails. ``target_key`` is the SHA-256
    of the notify URL (which may hold a password); ``target`` is the URL as it may be shown."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert", "target_key", "article_id", "version"),
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert: Mapped[str] = mapped_column(String(64))
    target_key: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    article_id: Mapped[ArticleId] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(8))  # new | edited
    status: Mapped[str] = mapped_column(String(8))  # pending | sent | failed (given up)
    matched_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
