"""Commands of distributed mode: ``worker`` (run crawl jobs) and ``workers`` (list them);
also the queue lines ``newsmon status`` prints in distributed mode."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawler.cli.command import Command
from crawler.cli.render import print_json, print_table, short_time
from crawler.config import Settings
from crawler.errors import UsageError

MAX_CONCURRENCY = 64


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number (got {text!r})") from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_CONCURRENCY} (got {value})")
    return value


def add_worker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=_concurrency,
        default=1,
        metavar="N",
        help=f"feed runs at once in this process, each on another host (1-{MAX_CONCURRENCY};"
        " default 1)",
    )


def _require_distributed(settings: Settings, path: Path, command: str) -> None:
    if not settings.cluster.distributed:
        raise UsageError(
            f"{path}: cluster.mode is {settings.cluster.mode!r}: `newsmon {command}` needs"
            ' mode = "distributed" (see README, Scaling out)'
        )


def run_worker(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.cli.service_commands import warn_placeholder_user_agent
    from crawler.cluster.worker import ClusterWorker

    _require_distributed(settings, path, "worker")
    warn_placeholder_user_agent(settings)
    return ClusterWorker(settings, path, args.concurrency).run()


def add_workers_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["table", "json"], default="table")


def list_workers(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.cluster.listing import live_workers

    _require_distributed(settings, path, "workers")
    workers = live_workers(settings.database.url, settings.cluster.stalled_after.total_seconds())
    if args.format == "json":
        print_json(
            [
                {
                    "id": w.worker_id,
                    "host": w.host,
                    "pid": w.pid,
                    "concurrency": w.concurrency,
                    "started_at": w.started_at.isoformat() if w.started_at else None,
                    "last_heartbeat": w.last_heartbeat.isoformat(),
                    "running": list(w.running),
                }
                for w in workers or []
            ]
        )
        return 0
    if workers is None:
        print("no job queue in the database yet: start `newsmon run` or `newsmon worker`")
        return 0
    print_table(
        ["worker", "id", "jobs", "started", "heartbeat", "running"],
        (
            [
                w.name,
                w.worker_id,
                f"{len(w.running)}/{w.concurrency or '?'}",
                short_time(w.started_at, "-"),
                short_time(w.last_heartbeat, "-"),
                ", ".join(w.running),
            ]
            for w in workers
        ),
        [28, 6, 5, 16, 16, 60],
        empty="(no live workers)",
    )
    return 0


def print_queue(settings: Settings) -> None:
    """``newsmon status`` in distributed mode: the queued and running feed runs."""
    from crawler.cluster.listing import queue_jobs

    jobs = queue_jobs(settings.database.url, settings.cluster.queue)
    if jobs is None:
        print("\nqueue: not made yet (no `newsmon run` or `newsmon worker` has started)")
        return
    running = sum(1 for j in jobs if j.status == "running")
    print(f"\nqueue {settings.cluster.queue!r}: {running} running, {len(jobs) - running} queued")
    if jobs:
        print_table(
            ["feed", "job", "state", "since", "worker"],
            ([j.feed, j.job_id, j.status, short_time(j.since, "-"), j.worker or "-"] for j in jobs),
            [24, 8, 8, 16, 40],
            empty="",
        )
    sys.stdout.flush()


CLUSTER_COMMANDS = (
    Command(
        "worker",
        "run crawl jobs of the cluster's queue (distributed mode), until SIGTERM",
        "newsmon worker --concurrency 4 --settings /etc/newsmon/settings.toml",
        run_worker,
        add_worker_options,
    ),
    Command(
        "workers",
        "list the cluster's live workers and the feeds they run now",
        "newsmon workers --settings /etc/newsmon/settings.toml",
        list_workers,
        add_workers_options,
    ),
)
