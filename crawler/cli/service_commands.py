"""Commands that crawl or check the settings: ``run``, ``crawl``, ``check-config``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from crawler.cli.command import Command
from crawler.config import PLACEHOLDER_USER_AGENT_WARNING, FeedConfig, Settings

if TYPE_CHECKING:
    from crawler.alerts.dispatch import AlertDispatcher
    from crawler.crawl.progress import Progress
    from crawler.crawl.runner import FeedOutcome, FeedRunner


def run_service(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.alerts.targets import check_targets
    from crawler.service import Service

    check_targets(settings, str(path))
    return Service(settings, settings_path=path).run()


def add_crawl_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "feeds", nargs="*", metavar="FEED", help="feed names (default: all enabled)"
    )


def crawl_once(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    from crawler.alerts.dispatch import AlertDispatcher
    from crawler.alerts.targets import check_targets
    from crawler.crawl.runner import FeedRunner, run_in_reactor
    from crawler.store.store import Store

    check_targets(settings, str(path))

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
        alerts = AlertDispatcher(store, settings.alerts)
        alerts.begin()  # an alert new to this database reports what this crawl finds
        runner = FeedRunner(settings, store)
        done: list[str] = []
        live = LiveLine(sys.stderr) if sys.stderr.isatty() else None
        if live is not None:
            runner.show_progress = live.show
            for handler in logging.getLogger().handlers:
                handler.addFilter(live.erase)  # a log line never lands on the live line

        def report(outcome: FeedOutcome) -> None:
            # One line per feed as it finishes, so a long crawl shows its progress.
            done.append(outcome.feed)
            if live is not None:
                live.finished(outcome.feed)
            print(f"[{len(done)}/{len(feeds)}] {outcome.summary()}", flush=True)

        if sys.stdout.isatty():
            print(f"crawling {len(feeds)} feeds: {', '.join(f.name for f in feeds)}", flush=True)
        outcomes, stopped_by = run_in_reactor(lambda: _crawl_until_signal(runner, feeds, report))
        if stopped_by is None:
            send_alerts(alerts)
    finally:
        store.close()
    failed = [o.feed for o in outcomes if o.outcome == "failed"]
    if failed:
        print(
            f"newsmon: {len(failed)} of {len(feeds)} feeds failed: {', '.join(failed)}",
            file=sys.stderr,
        )
    if stopped_by is not None:
        return 128 + int(stopped_by)  # as a shell reports a process the signal ended: 130 for ^C
    return 1 if failed else 0


def send_alerts(alerts: AlertDispatcher) -> None:
    """What the crawl's articles matched, sent once; a failure is logged and retried by
    the next crawl or the service, and never changes the crawl's exit code."""
    try:
        alerts.run_pass()
    except Exception:
        logging.getLogger("crawler.alerts").exception(
            "alerts: pass failed; pending messages are tried again later"
        )


def warn_placeholder_user_agent(settings: Settings) -> None:
    if settings.has_placeholder_user_agent:
        logging.getLogger("crawler.cli").warning(PLACEHOLDER_USER_AGENT_WARNING)


_STOP_SIGNALS: dict[int, str] = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


async def _crawl_until_signal(
    runner: FeedRunner, feeds: list[FeedConfig], report: Callable[[FeedOutcome], None]
) -> tuple[list[FeedOutcome], int | None]:
    """Run the feeds; the signal that stopped them, if one did.

    The first SIGINT or SIGTERM stops the crawls as the service stops them: what they
    stored is kept and their runs are recorded as interrupted. A second one ends the
    process at once; its runs stay ``running`` until a service starts and closes them.
    """
    loop = asyncio.get_running_loop()
    stopping: list[tuple[int, asyncio.Task[None]]] = []

    def on_signal(signum: int) -> None:
        if stopping:
            print("newsmon: stopped at once", file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(128 + signum)
        print(
            f"newsmon: {_STOP_SIGNALS[signum]}: stopping the crawls, keeping what they stored"
            " (again to quit at once)",
            file=sys.stderr,
            flush=True,
        )
        stopping.append((signum, loop.create_task(_stop_without_waiting(runner))))

    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        outcomes = await runner.run_feeds(feeds, report)
        if stopping:
            await stopping[0][1]  # the parser and writer workers are closed too
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)
    return outcomes, stopping[0][0] if stopping else None


async def _stop_without_waiting(runner: FeedRunner) -> None:
    """Stop the crawls, ending their downloads meanwhile: Scrapy's graceful stop waits for
    every request in flight or queued for a host (up to the download timeout each), and at
    a Ctrl-C the pages not yet received are not worth that wait."""
    stop = asyncio.ensure_future(runner.stop())
    while not stop.done():
        _abort_downloads()  # again and again: a queued request may connect meanwhile
        await asyncio.wait({stop}, timeout=0.2)
    await stop


def _abort_downloads() -> None:
    # The crawl's own connections are the reactor's only outgoing TCP ones.
    from twisted.internet import tcp

    from crawler.crawl.runner import get_reactor

    reactor = get_reactor()
    for connection in {*reactor.getReaders(), *reactor.getWriters()}:
        if isinstance(connection, tcp.Client):
            connection.abortConnection()  # type: ignore[no-untyped-call]


class LiveLine:
    """One line on a terminal, rewritten in place: the progress of every running feed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.running: dict[str, Progress] = {}
        self.drawn = False  # a line is on screen and must be erased before the next result

    def show(self, progress: Progress) -> None:
        self.running[progress.feed] = progress
        width = shutil.get_terminal_size((100, 20)).columns - 1
        text = " | ".join(p.line() for p in self.running.values())
        self.stream.write("\r\x1b[K" + text[:width])
        self.stream.flush()
        self.drawn = True

    def finished(self, feed: str) -> None:
        self.running.pop(feed, None)
        self.erase()  # the result line takes its place

    def erase(self, _record: object = None) -> bool:
        """Clear the line (a log record or a result is about to be written); as a logging
        filter it lets every record through."""
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False
        return True


def check_config(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    # The settings were loaded (and every problem reported) before this runs.
    from crawler.alerts.targets import check_targets
    from crawler.store.database import shown_url  # imported when used: --help stays fast

    check_targets(settings, str(path))  # apprise reads each notify URL
    feeds = settings.feeds
    enabled = sum(1 for f in feeds if f.enabled)
    print(
        f"{path}: ok — {len(feeds)} feeds ({enabled} enabled), {len(settings.sites)} site rules,"
        f" {len(settings.alerts)} alerts, database {shown_url(settings.database.url)}"
        + (f", metrics at {settings.service.metrics}" if settings.service.metrics else "")
        + (
            f", distributed (queue {settings.cluster.queue!r})"
            if settings.cluster.distributed
            else ""
        )
    )
    return 0


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
