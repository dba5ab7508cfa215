"""``newsmon feeds add|list|enable|disable|remove|import|export``: the ``[[feeds]]`` of
settings.toml, changed in place with its comments and layout kept
(:mod:`crawler.settings_file`); OPML lists in and out (:mod:`crawler.cli.opml_commands`).

A running service picks a change up through its reload on a change of the file (or SIGHUP).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.cli.command import Command
from crawler.cli.opml_commands import add_opml_options, run_opml
from crawler.cli.render import print_json, print_table
from crawler.config import Settings
from crawler.config_values import parse_duration
from crawler.errors import UsageError
from crawler.urls import normalize_url

KINDS = ("listing", "rss", "sitemap")
ACTION_EXAMPLES = {  # each action's --help ends with one
    "add": "newsmon feeds add https://news.example/ --tags ukraine --every 10m",
    "list": "newsmon feeds list --format json",
    "enable": "newsmon feeds enable herald-ukraine",
    "disable": "newsmon feeds disable herald-ukraine",
    "remove": "newsmon feeds remove herald-ukraine",
    "import": "newsmon feeds import subscriptions.opml",
    "export": "newsmon feeds export --output feeds.opml",
}


def add_feeds_options(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="discover the best source at URL (or take --kind), add it")
    add.add_argument("url", metavar="URL")
    add.add_argument("--name", help="the feed's name (default: from its site and path)")
    add.add_argument("--kind", choices=KINDS, help="take URL as this kind, without discovery")
    add.add_argument("--tags", type=tag_list, default=[], help="comma-separated labels")
    add.add_argument("--every", type=interval, help="how often it runs, e.g. 10m")
    listing = actions.add_parser("list", help="the configured feeds")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    for action, text in (("enable", "crawl the feed again"), ("disable", "stop crawling the feed"),
                         ("remove", "delete the feed from the file")):  # fmt: skip
        actions.add_parser(action, help=text).add_argument("name", metavar="NAME")
    add_opml_options(actions)
    for name, action_parser in actions.choices.items():
        accept_common_options(action_parser)
        action_parser.epilog = f"example: {ACTION_EXAMPLES[name]}"


def accept_common_options(parser: argparse.ArgumentParser) -> None:
    """``newsmon feeds add URL --settings PATH`` as well as ``newsmon feeds --settings PATH
    add URL``: SUPPRESS keeps an option given before the action when it is not repeated."""
    parser.add_argument(
        "--settings",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="settings file (default: $NEWSMON_SETTINGS, else ./settings.toml)",
    )
    parser.add_argument(
        "--log-level", default=argparse.SUPPRESS, choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument("--log-format", default=argparse.SUPPRESS, choices=["text", "json"])


def tag_list(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


def interval(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def feeds(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler import settings_file

    if args.action == "add":
        return add_feed(settings, args, path)
    if args.action == "list":
        return list_feeds(settings, args.format)
    if args.action in ("import", "export"):
        return run_opml(settings, args, path)
    settings.feed(args.name)  # UnknownFeedError names the feeds there are
    if args.action == "remove":
        settings_file.remove_feed(path, args.name)
        print(f"removed feed {args.name!r} from {path}")
    else:
        enabled = args.action == "enable"
        settings_file.set_enabled(path, args.name, enabled)
        print(f"{'enabled' if enabled else 'disabled'} feed {args.name!r} in {path}")
    return 0


def add_feed(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.cli.discover_commands import checked_url, discover_working
    from crawler.cli.feed_entries import describe, feed_entry, feed_name
    from crawler.crawl.finder import Source
    from crawler.settings_file import add_feeds

    url = checked_url(args.url)
    if args.kind:
        source = Source(args.kind, url, args.kind, "given")
        note = f"{args.kind}, as given"
    else:
        sources = discover_working(settings, url, args.tags[0] if args.tags else None)
        given = normalize_url(url)
        source = next((s for s in sources if s.url == given), sources[0])
        note = describe(source)
    taken = {feed.name for feed in settings.feeds}
    if args.name and args.name in taken:
        raise UsageError(f"{path}: a feed named {args.name!r} exists already")
    name = args.name or feed_name(source, taken)
    add_feeds(path, [feed_entry(source, name, args.tags, args.every)])
    print(f"added feed {name!r} ({source.kind} {source.url}; {note}) to {path}")
    return 0


def list_feeds(settings: Settings, output: str) -> int:
    if output == "json":
        print_json(
            [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "enabled": f.enabled,
                    "url": f.url,
                    "tags": list(f.tags),
                }
                for f in settings.feeds
            ]
        )
        return 0
    print_table(
        ["name", "kind", "enabled", "url", "tags"],
        ([f.name, f.kind, "yes" if f.enabled else "no", f.url, ",".join(f.tags)]
         for f in settings.feeds),
        [24, 8, 7, 70, 30],
        empty="(no feeds configured)",
    )  # fmt: skip
    return 0


FEEDS_COMMANDS = (
    Command(
        "feeds",
        "list, add (with discovery), enable, disable, remove, import and export (OPML) feeds",
        "newsmon feeds add https://news.example/ --tags ukraine --every 10m"
        "   |   newsmon feeds disable herald-ukraine"
        "   |   newsmon feeds export --output feeds.opml",
        feeds,
        add_feeds_options,
    ),
)
