"""``[cluster]`` of settings.toml: one machine (``single``) or many (``distributed``).

``mode = "single"`` (the default) is newsmon as it always was: ``newsmon run`` crawls
every feed itself, on SQLite or PostgreSQL. ``mode = "distributed"`` makes ``newsmon run``
the scheduler that queues feed runs in PostgreSQL, and ``newsmon worker`` (on any number of
machines, with the same settings.toml) the processes that crawl them (crawler.cluster).
The queue lives in the database, so distributed mode needs PostgreSQL: a SQLite URL is a
problem of the file, named by section and key like every other.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StrictFloat

from crawler.config_values import DurationBetween, NumberBetween, check_slug


class ClusterConfig(BaseModel):
    """``[cluster]``: who crawls, and how the queue between scheduler and workers behaves."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["single", "distributed"] = "single"
    # The procrastinate queue the scheduler defers to and the workers take jobs from: two
    # newsmon deployments can share one PostgreSQL server with queues of their own.
    queue: Annotated[str, AfterValidator(check_slug)] = "newsmon"
    # A worker silent this long (no heartbeat: killed, frozen, cut off) is dead: its jobs
    # are run again elsewhere. Its heartbeat beats four times as often.
    stalled_after: Annotated[timedelta, BeforeValidator(DurationBetween("2s", "1h"))] = timedelta(
        seconds=30
    )
    # How often an idle worker looks for jobs besides the database's notifications (which
    # wake it at once, except behind a pooler such as PgBouncer in transaction mode).
    poll_interval: Annotated[StrictFloat | int, AfterValidator(NumberBetween(0.1, 60))] = 1.0

    @property
    def distributed(self) -> bool:
        return self.mode == "distributed"


def check_cluster_database(data: dict[str, Any], path: str) -> list[str]:
    """Distributed mode on a database other than PostgreSQL (checked on the raw tables,
    so the problem names the key that must change)."""
    cluster = data.get("cluster")
    if not isinstance(cluster, dict) or cluster.get("mode") != "distributed":
        return []
    database = data.get("database")
    url = database.get("url") if isinstance(database, dict) else None
    if isinstance(url, str) and url.split(":", 1)[0].split("+", 1)[0] == "postgresql":
        return []
    return [
        f'{path}: cluster.mode: "distributed" needs a PostgreSQL database: set database.url'
        ' to "postgresql://user:pass@host/db" (the job queue lives there)'
    ]
