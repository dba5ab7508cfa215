"""Soak: many scheduled runs in one service process; resident memory must stay flat.

    .venv/bin/python bench/soak.py [--runs 1000] [--sections 5] [--publish-every 2]

The real service (``crawler.service.Service``: APScheduler on the reactor's loop, each job
``Service._run_job`` → ``FeedRunner.run_feed``) runs in a child process against a small
generated site (bench/gensite.py) served by this process: one listing and one RSS feed per
section plus the news sitemap, every feed on ``every = "1s"``. While it runs, the site
publishes a new story every ``--publish-every`` seconds, so runs keep parsing and storing
articles as well as answering 304s. The child counts finished runs, records its resident
memory (VmRSS) after run 10 and after run ``--runs``, then stops the service the way
SIGTERM does. Printed: both figures and the growth (target: under 30 MB), plus the
resident memory of the service's worker processes, if any, and the share of the requests
answered that were re-checks of stored articles (conditional GETs for edits).
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

# Siblings: a script's own folder is on sys.path (newsmon itself is installed in the venv).
from gensite import GeneratedSite
from harness import (
    RESULT_PREFIX,
    descendants,
    machine,
    report,
    rss_mb,
    write_settings,
)

SCRIPT = Path(__file__).resolve()
FIRST_SAMPLE = 10
TARGET_GROWTH_MB = 30.0
STOP_GRACE_SECONDS = 60
TRACE_TOP, TRACE_FRAMES = 12, 6


# -- child: the service ------------------------------------------------------------------------


def child_soak(settings_path: str, runs: int, progress_every: int, trace: bool) -> None:
    import gc
    import logging
    import tracemalloc

    from crawler.config import FeedConfig, load_settings
    from crawler.crawl.runner import FeedOutcome
    from crawler.service import Service

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = load_settings(settings_path)
    service = Service(settings)
    run_feed = service.runner.run_feed
    samples: dict[int, float] = {}
    workers: dict[int, float] = {}
    outcomes: dict[str, int] = {}
    state: dict[str, Any] = {"done": 0, "started": time.monotonic()}
    snapshots: list[tracemalloc.Snapshot] = []
    censuses: list[Counter[str]] = []
    if trace:
        tracemalloc.start(TRACE_FRAMES)

    async def counted_run_feed(feed: FeedConfig, next_run_at: Any = None) -> FeedOutcome:
        outcome = await run_feed(feed, next_run_at=next_run_at)
        state["done"] += 1
        done = state["done"]
        outcomes[outcome.outcome] = outcomes.get(outcome.outcome, 0) + 1
        state["pages"] = state.get("pages", 0) + outcome.counts.pages_fetched
        state["rechecks"] = state.get("rechecks", 0) + outcome.counts.rechecks
        if done in (FIRST_SAMPLE, runs):
            samples[done] = rss_mb()
            if trace:
                gc.collect()
                censuses.append(Counter(type(o).__qualname__ for o in gc.get_objects()))
                snapshots.append(tracemalloc.take_snapshot())
        if done % progress_every == 0 or done in (FIRST_SAMPLE, runs):
            # Parser and writer processes (and their fork server) start once enough pages were
            # parsed: their memory is followed from the first time they are seen.
            children = sum(rss_mb(pid) for pid in descendants())
            if children and not workers:
                workers[done] = children
            if done == runs and workers:
                workers[done] = children
        if done % progress_every == 0 or done == runs:
            elapsed = time.monotonic() - state["started"]
            print(
                f"progress: run {done}/{runs}, {elapsed:.0f}s, RSS {rss_mb():.1f} MiB"
                + (f", worker processes {children:.1f} MiB" if children else ""),
                flush=True,
            )
        if done >= runs and not state.get("stopping"):
            state["stopping"] = True
            service.request_stop("soak finished")
            asyncio.get_running_loop().call_later(STOP_GRACE_SECONDS, dump_stuck_state)
        return outcome

    def dump_stuck_state() -> None:
        """The service did not stop in time: show what it waits for, then give up."""
        print(f"service still running {STOP_GRACE_SECONDS}s after stop:", file=sys.stderr)
        for task in asyncio.all_tasks():
            task.print_stack(file=sys.stderr)
        faulthandler.dump_traceback(file=sys.stderr)
        sys.stderr.flush()
        os._exit(3)

    # The scheduler's jobs call service.runner.run_feed: count them where they finish.
    service.runner.run_feed = counted_run_feed  # type: ignore[method-assign]
    code = service.run()
    if len(snapshots) == 2:
        grown = (censuses[1] - censuses[0]).most_common(TRACE_TOP)
        print(f"objects gained between run {FIRST_SAMPLE} and run {runs}, by type:")
        print("  " + ", ".join(f"{name} {count:+d}" for name, count in grown))
        print(f"python allocations grown between run {FIRST_SAMPLE} and run {runs}:")
        stats = snapshots[1].compare_to(snapshots[0], "traceback")
        for stat in sorted(stats, key=lambda s: -s.size_diff)[:TRACE_TOP]:
            print(f"  {stat.size_diff / 1024:+.1f} KiB in {stat.count_diff:+d} blocks")
            for line in stat.traceback.format(limit=TRACE_FRAMES, most_recent_first=True):
                print(f"    {line}")
    report(
        {
            "exit_code": code,
            "runs": state["done"],
            "seconds": time.monotonic() - state["started"],
            "rss_first": samples.get(FIRST_SAMPLE),
            "rss_last": samples.get(runs),
            "workers": {str(k): v for k, v in sorted(workers.items())},
            "outcomes": outcomes,
            "pages": state.get("pages", 0),
            "rechecks": state.get("rechecks", 0),
        }
    )


# -- parent -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Memory of the service over many runs.")
    parser.add_argument("--runs", type=int, default=1000, help="scheduled runs to wait for")
    parser.add_argument("--sections", type=int, default=5, help="2 feeds per section, +1")
    parser.add_argument("--articles", type=int, default=40, help="stories on the site at start")
    parser.add_argument(
        "--publish-every", type=float, default=2.0, help="seconds between new stories (0: none)"
    )
    parser.add_argument("--revisit-window", default="1s", help="crawl.revisit_window")
    parser.add_argument("--revisit-min-interval", default="10m", help="crawl.revisit_min_interval")
    parser.add_argument("--revisit-share", type=float, default=0.5, help="crawl.revisit_share")
    parser.add_argument("--progress-every", type=int, default=100, help="runs between lines")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also print the objects and allocations gained between the two samples (slow)",
    )
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child = argparse.ArgumentParser()
        child.add_argument("--settings", required=True)
        child.add_argument("--runs", type=int, required=True)
        child.add_argument("--progress-every", type=int, required=True)
        child.add_argument("--tracemalloc", action="store_true")
        options = child.parse_args(args.child)
        child_soak(options.settings, options.runs, options.progress_every, options.tracemalloc)
        return 0
    if args.runs <= FIRST_SAMPLE:
        parser.error(f"--runs must be more than {FIRST_SAMPLE}")

    site = GeneratedSite(
        args.articles, sections=args.sections, per_page=20, feed_items=10, words=(300, 600)
    )
    stop = threading.Event()

    def publisher() -> None:
        while not stop.wait(args.publish_every):
            site.publish(1)

    with tempfile.TemporaryDirectory(prefix="newsmon-soak-") as tmp:
        workdir = Path(tmp)
        feeds = site.feeds_toml(listings=True, rss=True, sitemap=True, max_pages=2)
        settings = write_settings(
            workdir / "settings.toml",
            workdir / "news.db",
            feeds,
            revisit_window=args.revisit_window,
            revisit_min_interval=args.revisit_min_interval,
            revisit_share=args.revisit_share,
        )
        text = settings.read_text(encoding="utf-8").replace('every = "1h"', 'every = "1s"')
        settings.write_text(text, encoding="utf-8")
        feed_count = text.count("[[feeds]]")
        news = (
            f"a new story every {args.publish_every:g}s"
            if args.publish_every > 0
            else "no new stories"
        )
        print(
            f"soak: {args.runs} scheduled runs of {feed_count} feeds (every 1s) in one service"
            f' process; {news}; revisit_window = "{args.revisit_window}", revisit_min_interval'
            f' = "{args.revisit_min_interval}", revisit_share = {args.revisit_share:g};'
            f" {machine()}",
            flush=True,
        )
        thread = threading.Thread(target=publisher, daemon=True)
        if args.publish_every > 0:
            thread.start()
        command = [
            sys.executable,
            str(SCRIPT),
            "--child",
            "--settings",
            str(settings),
            "--runs",
            str(args.runs),
            "--progress-every",
            str(args.progress_every),
        ] + (["--tracemalloc"] if args.tracemalloc else [])
        # The child writes to files, not pipes: a process it might leave behind would hold
        # a pipe open and keep this reader waiting.
        out_path, err_path = workdir / "child.out", workdir / "child.err"
        result: dict[str, Any] | None = None
        with open(out_path, "w") as out, open(err_path, "w") as err:
            process = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=err)
        try:
            with open(out_path) as lines:
                pending = ""
                while True:
                    exited = process.poll() is not None
                    pending += lines.read()
                    *complete, pending = pending.split("\n")
                    for line in complete:
                        if line.startswith(RESULT_PREFIX):
                            result = json.loads(line[len(RESULT_PREFIX) :])
                        else:
                            print(line, flush=True)
                    if exited:
                        break
                    time.sleep(0.2)
        finally:
            if process.poll() is None:  # interrupted: do not leave the service running
                process.terminate()
                process.wait(timeout=90)
            stop.set()
            counters = site.counters()
            site.close()
        if process.returncode != 0 or result is None or result["exit_code"] != 0:
            sys.stderr.write(err_path.read_text(encoding="utf-8")[-6000:])
            print(f"soak failed: exit {process.returncode}, result {result}", file=sys.stderr)
            return 1
    first, last = result["rss_first"], result["rss_last"]
    growth = last - first
    print(f"soak RSS at run {FIRST_SAMPLE}: {first:.1f} MiB")
    print(f"soak RSS at run {args.runs}: {last:.1f} MiB")
    verdict = "met" if growth < TARGET_GROWTH_MB else "MISSED"
    print(
        f"soak RSS growth: {growth:+.1f} MiB over {args.runs - FIRST_SAMPLE} runs "
        f"(target under {TARGET_GROWTH_MB:g} MB: {verdict})"
    )
    if len(result["workers"]) == 2:
        (first_run, first_mb), (last_run, last_mb) = result["workers"].items()
        print(
            "soak worker processes RSS (fork server, parsers and writer; shared pages counted in"
            " each): "
            f"{first_mb:.1f} MiB at run {first_run}, {last_mb:.1f} MiB at run {last_run} "
            f"({last_mb - first_mb:+.1f} MiB)"
        )
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(result["outcomes"].items()))
    print(
        f"soak runs: {result['runs']} in {result['seconds']:.0f}s ({outcomes}); site served "
        f"{counters.requests} requests, {counters.not_modified} of them 304, "
        f"{len(site.stories) - args.articles} stories published during the soak"
    )
    pages, rechecks = result["pages"], result["rechecks"]
    share = rechecks / pages if pages else 0.0
    print(
        f"soak re-checks: {rechecks} of {pages} requests answered ({share:.1%}; at most"
        f" {args.revisit_share:.0%} of a host's recent requests allowed)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
