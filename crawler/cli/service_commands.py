"""Commands that crawl or check the settings: ``run``, ``crawl``, ``check-config``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from crawler.cli.command import Command
from crawler.config import PLACEHOLDER_USER_AGENT_WARNING, Settings


def run_service(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.service import Service

    return Service(settings, settings_path=path).run()


def add_crawl_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "feeds", nargs="*", metavar="FEED", help="feed names (default: all enabled)"
    )


def crawl_once(settings: Settings, args: argparse.Namespace, path: Path) -> int:
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
    if sys.stdout.isatty() and sys.stderr.isatty():
        # Each result is printed below; its log line would show it a second time.
        logging.getLogger("crawler.crawl.runs").setLevel(logging.ERROR)
    store = Store.open(settings.database)
    warn_placeholder_user_agent(settings)  # once the crawl can start, not before a refusal
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


def warn_placeholder_user_agent(settings: Settings) -> None:
    if settings.has_placeholder_user_agent:
        logging.getLogger("crawler.cli").warning(PLACEHOLDER_USER_AGENT_WARNING)


def check_config(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    # The settings were loaded (and every problem reported) before this runs.
    feeds = settings.feeds
    enabled = sum(1 for f in feeds if f.enabled)
    print(
        f"{path}: ok — {len(feeds)} feeds ({enabled} enabled), {len(settings.sites)} site rules,"
        f" database {shown_database_url(settings.database.url)}"
    )
    return 0


def shown_database_url(url: str) -> str:
    """The URL without its password: also none given as a ``?password=`` parameter."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    secret = [key for key in parsed.query if "password" in key.lower()]
    if secret:
        parsed = parsed.update_query_dict(dict.fromkeys(secret, "***"))
    return parsed.render_as_string(hide_password=True)


SERVICE_COMMANDS = (
    Command(
        "run",
        "run the service: every enabled feed on its schedule, until SIGTERM",
        "newsmon run --settings settings.toml",
        run_service,
    ),
    Command(
        "crawl",
        "run feeds once now, wait for them, print a summary",
        "newsmon crawl herald-ukraine herald-rss",
        crawl_once,
        add_crawl_options,
    ),
    Command(
        "check-config",
        "validate the settings file and list every problem",
        "newsmon check-config --settings /etc/newsmon/settings.toml",
        check_config,
    ),
)
