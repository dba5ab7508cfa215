"""Commands that summarise the database: ``status`` (per feed) and ``stats`` (counts)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawler.cli.command import Command, reading
from crawler.cli.options import parse_when, row_limit
from crawler.cli.render import print_json, print_table, short_time
from crawler.config import Settings


def add_status_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["table", "json"], default="table")


def status(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import feed_status

    with reading(settings) as session:
        rows = feed_status(session, [(f.name, f.kind, f.enabled) for f in settings.feeds])
    if args.format == "json":
        print_json([r.as_dict() for r in rows])
        return 0
    headers = ["feed", "kind", "last run", "outcome", "last success", "found", "new", "24h",
               "fails", "next run", "last error"]  # fmt: skip
    print_table(
        headers,
        (
            [
                r.name + ("" if r.enabled else " (off)"),
                r.kind,
                short_time(r.last_run_at, "never"),
                r.last_outcome or "-",
                short_time(r.last_success_at, "never"),
                r.articles_found,
                r.articles_new,
                r.articles_24h,
                r.consecutive_failures,
                short_time(r.next_run_at, "-"),
                r.last_error or "",
            ]
            for r in rows
        ),
        [24, 8, 16, 11, 16, 5, 5, 5, 5, 16, 50],
        empty="(no feeds configured)",
    )
    return 0


def add_stats_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", choices=["day", "tag", "site", "feed"], default="day")
    parser.add_argument("--since", metavar="D", help="date/time (2022-11-01, ISO 8601) or age (7d)")
    parser.add_argument(
        "--limit",
        type=row_limit,
        default=30,
        help="the last N days, or the N largest groups (0: all; default 30)",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")


def stats(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import iso
    from crawler.store.stats import article_counts, render_chart, total_articles

    since = parse_when(args.since, "--since")
    with reading(settings) as session:
        counts = article_counts(session, args.by, since, args.limit or None)
        total = total_articles(session, since)
    if args.format == "json":
        print_json({"by": args.by, "since": iso(since), "total": total,
                    "counts": [{"key": c.key, "count": c.count} for c in counts]})  # fmt: skip
        return 0
    scope = f" since {short_time(since)}" if since else ""
    print(f"{total} articles{scope}, by {args.by}:")
    sys.stdout.write(render_chart(counts))
    return 0


REPORT_COMMANDS = (
    Command(
        "status",
        "per feed: last run, outcome, articles found/new, next run",
        "newsmon status --format json",
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
