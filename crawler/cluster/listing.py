"""The read side of the cluster: live workers (``newsmon workers``) and the queue's jobs
(``newsmon status`` in distributed mode). Plain reads of procrastinate's tables and ours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crawler.cluster.queue import TASK, WORKERS_TABLE, conninfo, schema_present
from crawler.errors import StoreError, first_line
from crawler.store.database import shown_url


@dataclass(frozen=True)
class WorkerRow:
    worker_id: int
    host: str
    pid: int | None
    concurrency: int | None
    started_at: datetime | None
    last_heartbeat: datetime
    running: tuple[str, ...]  # the feeds of its jobs now

    @property
    def name(self) -> str:
        return f"{self.host}:{self.pid}" if self.pid is not None else f"worker {self.worker_id}"


@dataclass(frozen=True)
class JobRow:
    job_id: int
    feed: str
    status: str  # queued | running
    worker: str  # host:pid of the worker running it, "" while queued
    since: datetime | None  # queued at, or started at


_WORKERS = f"""
SELECT w.id, c.host, c.pid, c.concurrency, c.started_at, w.last_heartbeat,
       COALESCE(array_agg(j.args->>'feed' ORDER BY j.id)
                FILTER (WHERE j.id IS NOT NULL), '{{}}')
  FROM procrastinate_workers w
  LEFT JOIN {WORKERS_TABLE} c ON c.worker_id = w.id
  LEFT JOIN procrastinate_jobs j ON j.worker_id = w.id AND j.status = 'doing'
 WHERE w.last_heartbeat >= now() - make_interval(secs => %(silent)s)
 GROUP BY w.id, c.host, c.pid, c.concurrency, c.started_at, w.last_heartbeat
 ORDER BY c.host, c.pid, w.id
"""

_JOBS = f"""
SELECT j.id, j.args->>'feed', j.status, c.host, c.pid,
       (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id
           AND e.type::text = CASE WHEN j.status = 'doing' THEN 'started' ELSE 'deferred' END)
  FROM procrastinate_jobs j
  LEFT JOIN {WORKERS_TABLE} c ON c.worker_id = j.worker_id
 WHERE j.queue_name = %(queue)s AND j.task_name = %(task)s AND j.status IN ('todo', 'doing')
 ORDER BY j.status, j.id
"""


def _rows(database_url: str, query: str, params: dict[str, Any]) -> list[tuple[Any, ...]] | None:
    """The rows, or None when the database has no job queue yet."""
    import psycopg

    try:
        with psycopg.connect(conninfo(database_url), connect_timeout=10) as connection:
            if not schema_present(connection):
                return None
            return list(connection.execute(query, params).fetchall())
    except psycopg.Error as exc:
        raise StoreError(
            f"database {shown_url(database_url)}: cannot read the job queue: {first_line(exc)}"
        ) from None


def live_workers(database_url: str, stalled_after: float) -> list[WorkerRow] | None:
    """Workers that beat within ``stalled_after`` seconds (None: no queue in the database)."""
    rows = _rows(database_url, _WORKERS, {"silent": stalled_after})
    if rows is None:
        return None
    return [
        WorkerRow(int(r[0]), r[1] or "?", r[2], r[3], r[4], r[5], tuple(r[6] or ())) for r in rows
    ]


def queue_jobs(database_url: str, queue: str) -> list[JobRow] | None:
    """Queued and running crawl jobs (None: no queue in the database)."""
    rows = _rows(database_url, _JOBS, {"queue": queue, "task": TASK})
    if rows is None:
        return None
    return [
        JobRow(
            job_id=int(r[0]),
            feed=str(r[1]),
            status="running" if r[2] == "doing" else "queued",
            worker=f"{r[3]}:{r[4]}" if r[3] else "",
            since=r[5],
        )
        for r in rows
    ]
