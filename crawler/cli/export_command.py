"""``newsmon export``: every article, one JSON line or CSV row each, to stdout or a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawler.cli.command import Command, reading
from crawler.cli.options import SEEN_SINCE_HELP, SINCE_HELP, parse_when
from crawler.cli.output_file import STDOUT, output_to
from crawler.cli.render import write_csv, write_jsonl
from crawler.config import Settings


def add_export_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    parser.add_argument("--since", metavar="D", help=SINCE_HELP)
    parser.add_argument("--seen-since", metavar="D", help=SEEN_SINCE_HELP)
    parser.add_argument(
        "--output",
        metavar="FILE",
        help="a regular file (replaced once the export is complete) or a new path;"
        f" default and '{STDOUT}': standard output",
    )


def export(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.store.queries import EXPORT_KEYS, iter_export

    since = parse_when(args.since, "--since")
    seen_since = parse_when(args.seen_since, "--seen-since")
    with output_to(args.output) as out, reading(settings) as session:
        records = iter_export(session, since, seen_since=seen_since)
        if args.format == "csv":
            count = write_csv(records, out, EXPORT_KEYS)
        else:
            count = write_jsonl(records, out)
    if args.output not in (None, STDOUT):
        print(f"exported {count} articles to {args.output}", file=sys.stderr)
    return 0


EXPORT_COMMAND = Command(
    "export",
    "every article, one record per line (jsonl) or row (csv)",
    "newsmon export --format jsonl --since 2022-11-01 --output articles.jsonl",
    export,
    add_export_options,
)
