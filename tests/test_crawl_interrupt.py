"""Ctrl-C during ``newsmon crawl`` stops it as SIGINT stops the service: cleanly, at once.

A real ``newsmon crawl`` process, stuck on a fixture page that answers after a minute,
gets a real SIGINT: it records its run as interrupted and exits 130 within seconds,
without a traceback; a second SIGINT while it stops ends it at once.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.exc import OperationalError

from crawler.store.models import CrawlRun
from tests.newssites import FixtureNetwork
from tests.test_end_to_end import write_settings

# Well under the slow page's delay: a clean stop must not wait for the page.
STOP_WITHIN_SECONDS = 20.0
SLOW_PAGE_SECONDS = 120.0


def run_outcomes(tmp_path: Path) -> list[str]:
    engine = create_engine(f"sqlite:///file:{tmp_path}/news.db?mode=ro&uri=true")
    try:
        with engine.connect() as conn:
            query = select(CrawlRun.outcome).where(CrawlRun.feed == "herald-russia")
            return list(conn.scalars(query))
    except OperationalError:  # not created yet
        return []
    finally:
        engine.dispose()


def wait_until(what: str, check: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not check():
        if process.poll() is not None:
            raise AssertionError(f"newsmon crawl ended before {what}: {process.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def start_crawl(tmp_path: Path, network: FixtureNetwork) -> subprocess.Popen[str]:
    network.herald.slow_delay = SLOW_PAGE_SECONDS  # herald-russia links /news/slow
    settings = write_settings(tmp_path, network, timeout=SLOW_PAGE_SECONDS * 2)
    process = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings), "herald-russia"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def stuck_on_the_slow_page() -> bool:
        in_flight = network.herald.in_flight() > 0
        return in_flight and "/tags/russia" in network.herald.paths_requested()

    wait_until("the crawl reached the slow page", stuck_on_the_slow_page, process)
    wait_until("the run was recorded", lambda: run_outcomes(tmp_path) == ["running"], process)
    return process


def stop_with(process: subprocess.Popen[str], signals: int) -> tuple[int, str, str, float]:
    started = time.monotonic()
    for _ in range(signals):
        os.kill(process.pid, signal.SIGINT)
    try:
        out, err = process.communicate(timeout=STOP_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f"newsmon crawl did not stop on SIGINT: {err[-3000:]}") from None
    return process.returncode, out, err, time.monotonic() - started


def test_sigint_stops_a_crawl_cleanly_and_records_the_run_as_interrupted(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    process = start_crawl(tmp_path, news_network)
    code, out, err, seconds = stop_with(process, signals=1)
    assert code == 130, (out, err)
    assert seconds < STOP_WITHIN_SECONDS
    assert "Traceback" not in err, err
    assert (
        "newsmon: interrupted: stopping the crawls, keeping what they stored"
        " (again to quit at once)"
    ) in err.splitlines(), err
    assert run_outcomes(tmp_path) == ["interrupted"]
    assert "herald-russia: interrupted" in out, out


def test_a_second_sigint_ends_the_crawl_at_once(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    process = start_crawl(tmp_path, news_network)
    # The database held by another writer: the clean stop waits to record the run.
    blocker = sqlite3.connect(tmp_path / "news.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        os.kill(process.pid, signal.SIGINT)
        assert process.stderr is not None
        first: list[str] = []
        while not any("stopping the crawls" in line for line in first):
            line = process.stderr.readline()
            assert line, f"newsmon crawl ended before it said it was stopping: {first}"
            first.append(line)
        code, out, err, seconds = stop_with(process, signals=1)
        assert run_outcomes_while_locked(blocker) == ["running"]  # the clean stop did not get far
    finally:
        blocker.rollback()
        blocker.close()
    assert code == 130, (out, err)
    assert seconds < 5  # the busy timeout it was waiting in is 15 s
    assert "newsmon: stopped at once" in err.splitlines(), err
    assert "Traceback" not in "".join(first) + err, err
    assert run_outcomes(tmp_path) == ["running"]  # closed as interrupted by the next service


def run_outcomes_while_locked(conn: sqlite3.Connection) -> list[str]:
    query = "SELECT outcome FROM crawl_runs WHERE feed = 'herald-russia'"
    return [row[0] for row in conn.execute(query)]
