"""The job queue between the scheduler and the workers: procrastinate on our PostgreSQL.

One kind of job, ``crawl_feed``: "run feed F now". Each is deferred with
``queueing_lock = F`` (at most one waiting job per feed, so a slow cluster never piles up
runs of one feed) and ``lock = host of F`` (at most one running job per host across every
worker, so per-host politeness holds in the cluster as it does in one process). Jobs are
never scheduled for later (a job waiting under a lock would block its host) and never
retried by procrastinate (lock + queueing lock + automatic retries can leave duplicates):
back-off stays in our own tables, and a job is run again by deferring it anew.

procrastinate's tables live beside ours in the same database; they are made by
:func:`ensure_schema` (``newsmon db upgrade``, and the first ``run``/``worker`` on a
database without them), together with ``newsmon_cluster_workers``: which machine and process
each live worker is, for ``newsmon workers`` and ``newsmon status``.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from procrastinate import App, PsycopgConnector
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import make_url

from crawler.errors import StoreError, first_line
from crawler.store.database import shown_url

TASK = "crawl_feed"
WORKERS_TABLE = "newsmon_cluster_workers"
_WORKERS_DDL = f"""
CREATE TABLE IF NOT EXISTS {WORKERS_TABLE} (
    worker_id bigint PRIMARY KEY REFERENCES procrastinate_workers(id) ON DELETE CASCADE,
    host text NOT NULL,
    pid integer NOT NULL,
    concurrency integer NOT NULL,
    started_at timestamp with time zone NOT NULL DEFAULT now()
)
"""
_SCHEMA_LOCK = zlib.crc32(b"newsmon-cluster-schema") & 0x7FFFFFFF

# What runs a job: (feed name, next scheduled run, when it was queued: ISO text or None).
JobHandler = Callable[[str, str | None, str | None], Awaitable[None]]


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (driver name dropped)."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def feed_lock(feed_url: str) -> str:
    """The lock of a feed's jobs: its host (with a non-default port), as politeness counts
    hosts."""
    return (urlsplit(feed_url).netloc or feed_url).lower()


def make_app(database_url: str, handler: JobHandler | None = None) -> App:
    """A procrastinate app on the database; with ``handler``, one that can run jobs."""
    connector = PsycopgConnector(
        conninfo=conninfo(database_url),
        kwargs={"application_name": "newsmon cluster"},
        min_size=1,
        max_size=4,
    )
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # A line per job deferred, started and ended: our own run lines say it once.
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    app = App(connector=connector)
    if handler is not None:

        async def crawl_feed(
            feed: str, next_run: str | None = None, queued_at: str | None = None
        ) -> None:
            await handler(feed, next_run, queued_at)

        app.task(name=TASK, pass_context=False)(crawl_feed)
    return app


def queued_now() -> str:
    """The ``queued_at`` a job is deferred with: workers log how long it waited."""
    return datetime.now(UTC).isoformat()


def schema_present(connection: Any) -> bool:
    row = connection.execute(
        "SELECT to_regclass('procrastinate_jobs') IS NOT NULL"
        f" AND to_regclass('{WORKERS_TABLE}') IS NOT NULL"
    ).fetchone()
    return bool(row and row[0])


def ensure_schema(database_url: str) -> bool:
    """Create procrastinate's schema and the worker registry when they are missing (under a
    lock, so workers starting together make it once). True when it made them."""
    import psycopg

    try:
        return _ensure_schema(database_url)
    except psycopg.Error as exc:
        raise StoreError(
            f"database {shown_url(database_url)}: cannot make the job queue's tables:"
            f" {first_line(exc)}"
        ) from None


def _ensure_schema(database_url: str) -> bool:
    import psycopg

    with psycopg.connect(conninfo(database_url), connect_timeout=10) as connection:
        with connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if schema_present(connection):
                return False
            exists = connection.execute(
                "SELECT to_regclass('procrastinate_jobs') IS NOT NULL"
            ).fetchone()
            if not (exists and exists[0]):
                connection.execute(SchemaManager.get_schema())
            connection.execute(_WORKERS_DDL)
        return True
