"""``newsmon discover URL``: the feeds, news sitemaps and tag pages of a site, checked and
ranked, as a table, JSON or ready ``[[feeds]]`` blocks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.cli.command import Command
from crawler.cli.render import print_json, print_table, short_time
from crawler.config import Settings
from crawler.config_values import check_http_url
from crawler.errors import DiscoveryError, UsageError

if TYPE_CHECKING:  # imported when used: --help stays fast
    from crawler.crawl.finder import Source


def add_discover_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="the site's home page or any of its pages")
    parser.add_argument("--tag", metavar="TOPIC", help="prefer sources about this topic")
    parser.add_argument("--format", choices=["table", "json", "toml"], default="table")


def checked_url(url: str) -> str:
    try:
        return check_http_url(url)
    except ValueError as exc:
        raise UsageError(f"URL {exc}") from None


def discover_working(settings: Settings, url: str, topic: str | None) -> list[Source]:
    """The working sources found from ``url``, best first; DiscoveryError when none."""
    from crawler.crawl.finder import find_sources, is_working

    sources = [s for s in find_sources(checked_url(url), settings.crawl, topic) if is_working(s)]
    if not sources:
        raise DiscoveryError(f"no feeds, news sitemaps or tag pages found from {url}")
    return sources


def discover(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.cli.feed_entries import describe, feed_entry, feed_name, render_toml

    sources = discover_working(settings, args.url, args.tag)
    if args.format == "json":
        print_json([s.as_dict() for s in sources])
    elif args.format == "toml":
        taken = {feed.name for feed in settings.feeds}
        tags = [args.tag] if args.tag else []
        entries = [(feed_entry(s, feed_name(s, taken), tags), describe(s)) for s in sources]
        sys.stdout.write(render_toml(entries))
    else:
        print_table(
            ["#", "kind", "items", "/day", "newest", "parses", "url", "what"],
            (
                [
                    rank,
                    s.kind,
                    s.items,
                    "-" if s.per_day is None else f"{s.per_day:g}",
                    short_time(s.newest_at, "-"),
                    {True: "yes", False: "no", None: "?"}[s.parses],
                    s.url,
                    ", ".join(filter(None, [s.detail, s.article_links and f"article_links "
                                            f"{s.article_links!r}", s.title])),
                ]
                for rank, s in enumerate(sources, 1)
            ),
            [3, 8, 5, 6, 16, 6, 60, 60],
            empty="",
        )  # fmt: skip
    return 0


DISCOVER_COMMANDS = (
    Command(
        "discover",
        "find and check a site's RSS/Atom feeds, news sitemaps and tag pages, ranked",
        "newsmon discover https://news.example/ --tag ukraine --format toml",
        discover,
        add_discover_options,
    ),
)
