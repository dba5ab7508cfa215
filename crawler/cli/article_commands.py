"""Commands that read stored articles: ``query``, ``show``, ``history``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crawler.cli.command import Command, reading, stored_article
from crawler.cli.options import (
    SEEN_SINCE_HELP,
    SINCE_HELP,
    UNTIL_HELP,
    article_ref,
    parse_when,
    row_limit,
)
from crawler.cli.render import print_json, print_table, short_time, write_csv
from crawler.config import Settings
from crawler.errors import UsageError

NO_ARTICLES = "(no articles match)"


def add_query_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tag")
    parser.add_argument("--feed")
    parser.add_argument("--site", metavar="DOMAIN")
    parser.add_argument("--since", metavar="D", help=SINCE_HELP)
    parser.add_argument("--until", metavar="D", help=UNTIL_HELP)
    parser.add_argument("--seen-since", metavar="D", help=SEEN_SINCE_HELP)
    parser.add_argument("--limit", type=row_limit, default=50, help="0: all (default 50)")
    parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
    parser.add_argument(
        "--search",
        metavar="TEXT",
        help='full-text search in titles and bodies, most relevant first; "quoted words" match '
        "as a phrase",
    )
    parser.add_argument(
        "--edited",
        action="store_true",
        help="only articles whose title or body changed after we first saw them",
    )
    parser.add_argument(
        "--collapse",
        action="store_true",
        help="one row per story: its near-copies on other sites are counted, not listed"
        " (copies: how many other stored articles carry it; 0 when none does)",
    )


def query(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import ArticleFilter, query_articles

    filters = ArticleFilter(
        tag=args.tag,
        feed=args.feed,
        site=args.site,
        since=parse_when(args.since, "--since"),
        until=parse_when(args.until, "--until"),
        seen_since=parse_when(args.seen_since, "--seen-since"),
        limit=args.limit or None,
        search=args.search,
        edited=args.edited,
        collapse=args.collapse,
    )
    with reading(settings) as session:
        rows = query_articles(session, filters)
    if args.format == "json":
        print_json(rows)
    elif args.format == "csv":
        if rows:
            write_csv(rows, sys.stdout, list(rows[0]))
    else:
        # --collapse adds how many other articles carry each story (itself not counted).
        columns: list[tuple[str, int, Any]] = [
            ("id", 6, lambda r: r["id"]),
            ("published (UTC)", 16, lambda r: short_time(r["published_at"])),
            ("site", 22, lambda r: r["site"]),
            *([("copies", 6, lambda r: r["copies"])] if args.collapse else []),
            ("title", 60, lambda r: r["title"]),
            ("tags", 30, lambda r: ",".join(r["tags"])),
        ]
        print_table(
            [name for name, _, _ in columns],
            ([value(r) for _, _, value in columns] for r in rows),
            [width for _, width, _ in columns],
            empty=NO_ARTICLES,
        )
    return 0


def add_show_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("article", metavar="ID|URL", type=article_ref)
    parser.add_argument("--format", choices=["text", "json"], default="text")


def show(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import article_detail

    with reading(settings) as session:
        detail = article_detail(session, stored_article(session, args.article))
    if args.format == "json":
        print_json(detail)
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
        when = short_time(copy["published_at"] or copy["first_seen_at"])
        print(f"{'also published at':>20}: {copy['site']} {when} — {copy['url']} (id {copy['id']})")
    print()
    print(detail["body"])
    return 0


def add_history_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("article", metavar="ID|URL", type=article_ref)
    parser.add_argument(
        "--diff",
        nargs=2,
        type=int,
        metavar=("A", "B"),
        help="compare versions A and B (default: the first and the latest)",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")


def history(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.history import diff_versions, load_versions, render_diff, version_infos
    from crawler.store.queries import iso

    with reading(settings) as session:
        article = stored_article(session, args.article)
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
        print_json({"id": article_id, "title": title, "site": site, "versions": versions_out,
                    "diff": diff.as_dict() if diff else None})  # fmt: skip
        return 0
    plural = "" if len(infos) == 1 else "s"
    print(f"article {article_id}: {title} ({site}), {len(infos)} version{plural}")
    print_table(
        ["v", "fetched (UTC)", "words", "change", "headline"],
        ([i.version, short_time(i.fetched_at), i.words, i.summary(), i.title] for i in infos),
        [3, 16, 6, 28, 60],
        empty="(no versions)",
    )
    if diff is not None:
        print()
        sys.stdout.write(render_diff(diff))
    return 0


ARTICLE_COMMANDS = (
    Command(
        "query",
        "list stored articles, newest first",
        "newsmon query --tag ukraine --since 7d --format table"
        "   |   newsmon query --search '\"central bank\" rates' --collapse",
        query,
        add_query_options,
    ),
    Command(
        "show",
        "one article with all its fields",
        "newsmon show 42   |   newsmon show https://news.example/2022/11/11/story.html",
        show,
        add_show_options,
    ),
    Command(
        "history",
        "an article's versions, and a word-level diff between two",
        "newsmon history 42   |   newsmon history 42 --diff 1 3 --format json",
        history,
        add_history_options,
    ),
)
