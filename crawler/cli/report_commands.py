"""Commands that summarise the database: ``status`` (per feed) and ``stats`` (counts)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.cli.command import Command, reading
from crawler.cli.options import SINCE_HELP, parse_when, row_limit
from crawler.cli.render import print_json, print_table, short_time
from crawler.config import FeedConfig, Settings

if TYPE_CHECKING:
    from crawler.store.alert_deliveries import FailingTarget
    from crawler.store.feed_status import FeedStatus


def add_status_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "feed",
        nargs="?",
        metavar="FEED",
        help="one feed in detail: its state and its last runs, each error in full",
    )
    parser.add_argument(
        "--runs", type=row_limit, default=10, help="runs shown for FEED (0: all; default 10)"
    )
    parser.add_argument("--format", choices=["table", "json"], default="table")


def status(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.alert_deliveries import failing_targets
    from crawler.store.feed_status import feed_runs, feed_status, host_pauses
    from crawler.store.store import utcnow

    feeds = [settings.feed(args.feed)] if args.feed else settings.feeds
    now = utcnow()
    with reading(settings) as session:
        rows = feed_status(session, [(f.name, f.kind, f.enabled) for f in feeds])
        runs = feed_runs(session, args.feed, args.runs or None) if args.feed else []
        alerts = [a.name for a in settings.alerts]
        failing = failing_targets(session, alerts, now) if alerts else []
        pauses = host_pauses(session, now)
    idle = {r.name: feed_is_idle(r, settings.feed(r.name), now) for r in rows}
    if args.feed:
        show_feed(rows[0], runs, args.format, idle[rows[0].name])
        return 0
    if args.format == "json":
        print_json([{**r.as_dict(), "idle": idle[r.name]} for r in rows])
        return 0
    headers = ["feed", "kind", "last run", "outcome", "last success", "found", "new", "24h",
               "fails", "next run", "why", "last error"]  # fmt: skip
    print_table(
        headers,
        (
            [
                r.name + ("" if r.enabled else " (off)") + (" (idle)" if idle[r.name] else ""),
                r.kind,
                short_time(r.last_run_at, "never"),
                r.last_outcome or "-",
                short_time(r.last_success_at, "never"),
                r.articles_found,
                r.articles_new,
                r.articles_24h,
                r.consecutive_failures,
                short_time(r.next_run_at, "-") if r.enabled else "disabled",
                r.next_run_reason or "",
                # Only an error no success has followed; `status FEED` has them all in full.
                f"{short_time(r.last_error_at)} {r.last_error}" if r.has_current_error else "",
            ]
            for r in rows
        ),
        [24, 8, 16, 11, 16, 5, 5, 5, 5, 16, 44, 70],
        empty="(no feeds configured)",
    )
    for host, until, code in pauses:  # a line per host that asked us to wait (Retry-After)
        print(f"host {host}: paused until {short_time(until)} (answered {code} with Retry-After)")
    for target in failing:  # a line per alert target that fails (`alerts list`: all of them)
        print(failing_line(target))
    if settings.cluster.distributed:
        from crawler.cli.cluster_commands import print_queue

        print_queue(settings)
    return 0


def failing_line(t: FailingTarget) -> str:
    waiting = f"{t.waiting} waiting" + (f", {t.given_up} given up" if t.given_up else "")
    next_try = f"next try {short_time(t.next_attempt_at)}" if t.next_attempt_at else "given up"
    return (
        f"alert {t.alert} → {t.target}: failing ({waiting}); attempt {t.attempts} at"
        f" {short_time(t.last_attempt_at)}: {t.last_error}; {next_try}"
    )


def feed_is_idle(row: FeedStatus, feed: FeedConfig, now: datetime) -> bool:
    """Nothing new for far longer than its usual interval (crawler.polling.is_idle)."""
    from crawler.polling import is_idle

    usual = timedelta(seconds=row.poll_interval) if row.poll_interval else None
    if not feed.schedule.adaptive:
        usual = feed.schedule.every
    if not row.enabled or row.last_success_at is None:
        return False  # never read yet: failing or paused, not idle
    if (row.next_run_reason or "").startswith("Retry-After"):
        return False  # its host asked us to wait
    return is_idle(row.last_new_at, row.first_run_at, usual, now)


def show_feed(row: FeedStatus, runs: list[dict[str, Any]], fmt: str, idle: bool = False) -> None:
    """``status FEED``: the feed's state, then its last runs, newest first."""
    if fmt == "json":
        print_json({**row.as_dict(), "idle": idle, "runs": runs})
        return
    fields = {
        "feed": f"{row.name} ({row.kind}, {'enabled' if row.enabled else 'disabled'})",
        "last run": short_time(row.last_run_at, "never"),
        "outcome": row.last_outcome or "-",
        "last success": short_time(row.last_success_at, "never"),
        "failures in a row": row.consecutive_failures,
        "next run": short_time(row.next_run_at, "-") if row.enabled else "disabled",
        "why": row.next_run_reason or "-",
        "idle": "yes: nothing new for over 10 of its usual intervals" if idle else "no",
        "last error": (
            f"{short_time(row.last_error_at)} {row.last_error}" if row.last_error else "none"
        ),
    }
    for key, value in fields.items():
        print(f"{key:>17}: {value}")
    print()
    headers = ["started (UTC)", "outcome", "pages", "304", "found", "new", "vers", "dups",
               "errs", "error"]  # fmt: skip
    counts = ("pages_fetched", "not_modified", "articles_found", "articles_new", "versions_new",
              "duplicates", "errors")  # fmt: skip
    print_table(
        headers,
        (
            [short_time(r["started_at"]), r["outcome"], *(r[c] for c in counts), r["error"] or ""]
            for r in runs
        ),
        [16, 11, 5, 5, 5, 5, 4, 4, 4, 60],
        empty="(no runs yet)",
    )
    # The table cuts long errors; each is printed whole below it.
    for r in runs:
        if r["error"] and len(r["error"]) > 60:
            print(f"{short_time(r['started_at'])}: {r['error']}")


def add_stats_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", choices=["day", "tag", "site", "feed"], default="day")
    parser.add_argument("--since", metavar="D", help=SINCE_HELP)
    parser.add_argument(
        "--limit",
        type=row_limit,
        default=30,
        help="the last N days, or the N largest groups (0: all; default 30)",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")


def stats(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import iso
    from crawler.store.stats import article_counts, articles_shown, render_chart, total_articles

    since = parse_when(args.since, "--since")
    with reading(settings) as session:
        counts = article_counts(session, args.by, since, args.limit or None)
        total = total_articles(session, since)
        shown = articles_shown(session, args.by, counts, since)
    if args.format == "json":
        print_json({"by": args.by, "since": iso(since), "total": total, "shown": shown,
                    "counts": [{"key": c.key, "count": c.count} for c in counts]})  # fmt: skip
        return 0
    scope = f" since {short_time(since)}" if since else ""
    # The headline counts what the chart shows: the groups --limit kept, and no article
    # twice (one with two tags is in two bars).
    of_total = f"{shown} of {total} articles shown" if shown != total else f"{total} articles"
    print(f"{of_total}{scope}, by {args.by}:")
    sys.stdout.write(render_chart(counts))
    return 0


REPORT_COMMANDS = (
    Command(
        "status",
        "per feed: last run, outcome, articles found/new, articles collected in the last 24 h"
        " (by when newsmon stored them, not when they were published), next run",
        "newsmon status --format json   |   newsmon status herald-ukraine --runs 20",
        status,
        add_status_options,
    ),
    Command(
        "stats",
        "article counts by day, tag, site or feed, as a bar chart",
        "newsmon stats --by day --since 30d   |   newsmon stats --by site --limit 10",
        stats,
        add_stats_options,
    ),
)
