"""``newsmon``: the command line, a thin layer over the library.

Errors we expect (bad settings, an unknown feed, an unreachable database) become one line
on stderr and an exit code — 2 for usage and settings problems, 1 for the rest — never a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from crawler.config import Settings, load_settings, parse_duration, resolve_settings_path
from crawler.errors import NewsmonError, SettingsError, UsageError
from crawler.logs import configure_logging

EXAMPLES = {
    "run": "newsmon run --settings settings.toml",
    "crawl": "newsmon crawl herald-ukraine herald-rss",
    "check-config": "newsmon check-config --settings /etc/newsmon/settings.toml",
    "query": "newsmon query --tag ukraine --since 7d --format table"
    "   |   newsmon query --search '\"central bank\" rates' --collapse",
    "show": "newsmon show 42   |   newsmon show https://news.example/2022/11/11/story.html",
    "export": "newsmon export --format jsonl --since 2022-11-01 --output articles.jsonl",
    "status": "newsmon status --format json",
    "history": "newsmon history 42   |   newsmon history 42 --diff 1 3 --format json",
    "stats": "newsmon stats --by day --since 30d   |   newsmon stats --by site --limit 10",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsmon",
        description="Scheduled news monitoring: tag pages, feeds and sitemaps into a database.",
    )
    parser.add_argument("--version", action="version", version=_version())
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--settings",
        metavar="PATH",
        help="settings file (default: $NEWSMON_SETTINGS, else ./settings.toml)",
    )
    common.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    common.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="json: one JSON object per line, for log shippers",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            parents=[common],
            help=help_text,
            description=help_text,
            epilog=f"example: {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    command("run", "run the service: every enabled feed on its schedule, until SIGTERM")
    crawl = command("crawl", "run feeds once now, wait for them, print a summary")
    crawl.add_argument("feeds", nargs="*", metavar="FEED", help="feed names (default: all enabled)")
    command("check-config", "validate the settings file and list every problem")

    query = command("query", "list stored articles, newest first")
    query.add_argument("--tag")
    query.add_argument("--feed")
    query.add_argument("--site", metavar="DOMAIN")
    query.add_argument(
        "--since", metavar="D", help="date/time (2022-11-01, ISO 8601) or age (24h, 7d)"
    )
    query.add_argument("--until", metavar="D")
    query.add_argument("--limit", type=int, default=50)
    query.add_argument("--format", choices=["table", "json", "csv"], default="table")
    query.add_argument(
        "--search",
        metavar="TEXT",
        help='full-text search in titles and bodies, most relevant first; "quoted words" match '
        "as a phrase",
    )
    query.add_argument(
        "--edited",
        action="store_true",
        help="only articles whose title or body changed after we first saw them",
    )
    query.add_argument(
        "--collapse",
        action="store_true",
        help="one row per story: its near-copies on other sites are counted, not listed",
    )

    show = command("show", "one article with all its fields")
    show.add_argument("article", metavar="ID|URL")
    show.add_argument("--format", choices=["text", "json"], default="text")

    export = command("export", "every article, one record per line (jsonl) or row (csv)")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--since", metavar="D")
    export.add_argument("--output", metavar="FILE", help="default: standard output")

    status = command("status", "per feed: last run, outcome, articles found/new, next run")
    status.add_argument("--format", choices=["table", "json"], default="table")

    history = command("history", "an article's versions, and a word-level diff between two")
    history.add_argument("article", metavar="ID|URL")
    history.add_argument(
        "--diff",
        nargs=2,
        type=int,
        metavar=("A", "B"),
        help="compare versions A and B (default: the first and the latest)",
    )
    history.add_argument("--format", choices=["text", "json"], default="text")

    stats = command("stats", "article counts by day, tag, site or feed, as a bar chart")
    stats.add_argument("--by", choices=["day", "tag", "site", "feed"], default="day")
    stats.add_argument("--since", metavar="D", help="date/time (2022-11-01, ISO 8601) or age (7d)")
    stats.add_argument(
        "--limit",
        type=int,
        default=30,
        help="the last N days, or the N largest groups (0: all; default 30)",
    )
    stats.add_argument("--format", choices=["text", "json"], default="text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, args.log_format)
    path = resolve_settings_path(args.settings)
    try:
        if args.command == "check-config":
            return cmd_check_config(path)
        settings = load_settings(path)
        handler = {
            "run": cmd_run,
            "crawl": cmd_crawl,
            "query": cmd_query,
            "show": cmd_show,
            "export": cmd_export,
            "status": cmd_status,
            "history": cmd_history,
            "stats": cmd_stats,
        }[args.command]
        return handler(settings, args, path)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"newsmon: {problem}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"newsmon: {exc}", file=sys.stderr)
        return 2
    except NewsmonError as exc:
        print(f"newsmon: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `newsmon export | head` is fine
        return 0


def cmd_check_config(path: Path) -> int:
    settings = load_settings(path)
    feeds = settings.feeds
    enabled = sum(1 for f in feeds if f.enabled)
    print(
        f"{path}: ok — {len(feeds)} feeds ({enabled} enabled), {len(settings.sites)} site rules,"
        f" database {settings.database.url}"
    )
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.service import Service

    return Service(settings, settings_path=path).run()


def cmd_crawl(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.crawl.runner import FeedOutcome, FeedRunner, run_in_reactor
    from crawler.store.store import Store

    feeds = (
        [settings.feed(name) for name in args.feeds]
        if args.feeds
        else list(settings.enabled_feeds())
    )
    if not feeds:
        print("newsmon: no enabled feeds in settings; nothing to crawl", file=sys.stderr)
        return 0
    store = Store.open(settings.database.url)
    try:
        store.sync_feeds((f.name, f.kind, f.url) for f in settings.feeds)
        runner = FeedRunner(settings, store)
        done: list[str] = []

        def report(outcome: FeedOutcome) -> None:
            # One line per feed as it finishes, so a long crawl shows its progress.
            done.append(outcome.feed)
            print(f"[{len(done)}/{len(feeds)}] {outcome.summary()}", flush=True)

        if sys.stdout.isatty():
            print(f"crawling {len(feeds)} feeds: {', '.join(f.name for f in feeds)}", flush=True)
        outcomes: list[FeedOutcome] = run_in_reactor(lambda: runner.run_feeds(feeds, report))
    finally:
        store.close()
    failed = [o.feed for o in outcomes if o.outcome == "failed"]
    if failed:
        print(
            f"newsmon: {len(failed)} of {len(feeds)} feeds failed: {', '.join(failed)}",
            file=sys.stderr,
        )
    return 1 if failed else 0


def cmd_query(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import ArticleFilter, query_articles
    from crawler.store.store import Store

    filters = ArticleFilter(
        tag=args.tag,
        feed=args.feed,
        site=args.site,
        since=parse_when(args.since, "--since"),
        until=parse_when(args.until, "--until"),
        limit=args.limit if args.limit > 0 else None,
        search=args.search,
        edited=args.edited,
        collapse=args.collapse,
    )
    with Store.open(settings.database.url) as store, store.reading() as session:
        rows = query_articles(session, filters)
    if args.format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        print()
    elif args.format == "csv":
        write_csv(rows, sys.stdout)
    elif args.collapse:
        print_table(
            ["id", "published (UTC)", "site", "copies", "title", "tags"],
            [
                [
                    r["id"],
                    (r["published_at"] or "")[:16].replace("T", " "),
                    r["site"],
                    r["copies"],
                    r["title"],
                    ",".join(r["tags"]),
                ]
                for r in rows
            ],
            widths=[6, 16, 22, 6, 60, 30],
        )
    else:
        print_table(
            ["id", "published (UTC)", "site", "title", "tags"],
            [
                [
                    r["id"],
                    (r["published_at"] or "")[:16].replace("T", " "),
                    r["site"],
                    r["title"],
                    ",".join(r["tags"]),
                ]
                for r in rows
            ],
            widths=[6, 16, 22, 60, 30],
        )
    return 0


def cmd_show(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import article_detail, find_article
    from crawler.store.store import Store

    with Store.open(settings.database.url) as store, store.reading() as session:
        article = find_article(session, args.article)
        if article is None:
            return _no_such_article(args.article)
        detail = article_detail(session, article)
    if args.format == "json":
        json.dump(detail, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    for key, value in detail.items():
        if key in ("body", "version_history", "also_published_at"):
            continue
        shown = ", ".join(value) if isinstance(value, list) else ("" if value is None else value)
        print(f"{key:>20}: {shown}")
    for version in detail["version_history"]:
        print(
            f"{'version':>20}: {version['version']} fetched {version['fetched_at']}"
            f" — {version['title']}"
        )
    for copy in detail["also_published_at"]:
        when = (copy["published_at"] or copy["first_seen_at"] or "")[:16].replace("T", " ")
        print(f"{'also published at':>20}: {copy['site']} {when} — {copy['url']} (id {copy['id']})")
    print()
    print(detail["body"])
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import EXPORT_KEYS, iter_export
    from crawler.store.store import Store

    since = parse_when(args.since, "--since")
    store = Store.open(settings.database.url)
    count = 0
    # A file is written beside its target and renamed at the end, so an interrupted
    # export never leaves a truncated file where a complete one was expected.
    partial = Path(f"{args.output}.partial") if args.output else None
    try:
        with contextlib.ExitStack() as stack:
            out: TextIO = (
                stack.enter_context(open(partial, "w", encoding="utf-8", newline=""))
                if partial
                else sys.stdout
            )
            session = stack.enter_context(store.reading())
            records = iter_export(session, since)
            if args.format == "csv":
                writer = csv.DictWriter(out, fieldnames=list(EXPORT_KEYS))
                writer.writeheader()
                for record in records:
                    writer.writerow(_csv_row(record))
                    count += 1
            else:
                for record in records:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    count += 1
        if partial:
            os.replace(partial, args.output)
    finally:
        store.close()
        if partial and partial.exists():
            partial.unlink()
    if args.output:
        print(f"exported {count} articles to {args.output}", file=sys.stderr)
    return 0


def cmd_status(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import feed_status, iso
    from crawler.store.store import Store

    with Store.open(settings.database.url) as store, store.reading() as session:
        rows = feed_status(session, [(f.name, f.kind, f.enabled) for f in settings.feeds])
    if args.format == "json":
        json.dump([r.as_dict() for r in rows], sys.stdout, indent=2)
        print()
        return 0

    def short(value: datetime | None) -> str:
        return (iso(value) or "never")[:16].replace("T", " ")

    print_table(
        [
            "feed",
            "kind",
            "last run",
            "outcome",
            "last success",
            "found",
            "new",
            "24h",
            "fails",
            "next run",
            "last error",
        ],
        [
            [
                r.name + ("" if r.enabled else " (off)"),
                r.kind,
                short(r.last_run_at),
                r.last_outcome or "-",
                short(r.last_success_at),
                r.articles_found,
                r.articles_new,
                r.articles_24h,
                r.consecutive_failures,
                short(r.next_run_at) if r.next_run_at else "-",
                r.last_error or "",
            ]
            for r in rows
        ],
        widths=[24, 8, 16, 11, 16, 5, 5, 5, 5, 16, 50],
    )
    return 0


def cmd_history(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.history import diff_versions, load_versions, render_diff, version_infos
    from crawler.store.queries import find_article, iso
    from crawler.store.store import Store

    with Store.open(settings.database.url) as store, store.reading() as session:
        article = find_article(session, args.article)
        if article is None:
            return _no_such_article(args.article)
        versions = load_versions(session, article)
        article_id, title, site = article.id, article.title, article.site
    by_number = {v.version: v for v in versions}
    first, latest = versions[0].version, versions[-1].version
    old, new = args.diff or (first, latest)
    for number in (old, new):
        if number not in by_number:
            raise UsageError(
                f"article {article_id} has versions {first} to {latest}, not {number}:"
                " pick two of them for --diff"
            )
    infos = version_infos(versions)
    diff = diff_versions(by_number[old], by_number[new]) if old != new else None
    if args.format == "json":
        versions_out = [
            {
                "version": i.version,
                "fetched_at": iso(i.fetched_at),
                "modified_at": iso(i.modified_at),
                "title": i.title,
                "words": i.words,
                "change": i.summary(),
            }
            for i in infos
        ]
        out = {"id": article_id, "title": title, "site": site, "versions": versions_out,
               "diff": diff.as_dict() if diff else None}  # fmt: skip
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    plural = "" if len(infos) == 1 else "s"
    print(f"article {article_id}: {title} ({site}), {len(infos)} version{plural}")
    print_table(
        ["v", "fetched (UTC)", "words", "change", "headline"],
        [
            [
                i.version,
                (iso(i.fetched_at) or "")[:16].replace("T", " "),
                i.words,
                i.summary(),
                i.title,
            ]
            for i in infos
        ],
        widths=[3, 16, 6, 28, 60],
    )
    if diff is not None:
        print()
        sys.stdout.write(render_diff(diff))
    return 0


def cmd_stats(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import iso
    from crawler.store.stats import article_counts, render_chart, total_articles
    from crawler.store.store import Store

    since = parse_when(args.since, "--since")
    limit = args.limit if args.limit > 0 else None
    with Store.open(settings.database.url) as store, store.reading() as session:
        counts = article_counts(session, args.by, since, limit)
        total = total_articles(session, since)
    if args.format == "json":
        out = {"by": args.by, "since": iso(since), "total": total,
               "counts": [{"key": c.key, "count": c.count} for c in counts]}  # fmt: skip
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    scope = f" since {(iso(since) or '')[:16].replace('T', ' ')}" if since else ""
    print(f"{total} articles{scope}, by {args.by}:")
    sys.stdout.write(render_chart(counts))
    return 0


# -- output helpers -------------------------------------------------------------------------


def _no_such_article(wanted: str) -> int:
    print(f"newsmon: no stored article matches {wanted!r}", file=sys.stderr)
    return 1


def parse_when(value: str | None, option: str) -> datetime | None:
    """'2022-11-01', an ISO 8601 time (UTC unless it says otherwise) or an age like '24h'."""
    if not value:
        return None
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option} {value!r}: expected a date (2022-11-01), an ISO 8601 time"
            " or an age (24h, 7d)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO) -> None:
    rows = list(rows)
    if not rows:
        return
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow(_csv_row(row))


def _csv_row(record: dict[str, Any]) -> dict[str, Any]:
    # Lists travel as JSON arrays, so a tag containing a comma survives the round trip.
    return {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
        for k, v in record.items()
    }


def print_table(headers: list[str], rows: list[list[Any]], widths: list[int]) -> None:
    def cell(value: Any, width: int) -> str:
        text = " ".join(str(value).split())
        return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)

    buffer = io.StringIO()
    buffer.write(
        "  ".join(cell(h, w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n"
    )
    for row in rows:
        buffer.write(
            "  ".join(cell(v, w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )
    sys.stdout.write(buffer.getvalue())
    if not rows:
        print("(no articles match)" if "title" in headers else "(no feeds configured)")


def _version() -> str:
    from crawler import __version__

    return f"newsmon {__version__}"


if __name__ == "__main__":  # pragma: no cover
    logging.captureWarnings(True)
    sys.exit(main())
