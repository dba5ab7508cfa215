"""A busy database never stalls the reactor: the crawl's database calls wait in threads.

Another connection holds SQLite's write lock for a few seconds while a feed run is under
way (taken when the fixture site serves the feed page, so the spider meets it when it
links the feed's known articles and the pipeline when it saves the new one). An asyncio
task on the crawl's own event loop ticks all along; its gaps show whether the loop, which
serves every crawl of the process, stayed free. Once the lock is released the run stores
everything, as if nothing had happened.

The run happens in a subprocess (``python -m tests.test_busy_database``): a Twisted
reactor starts once per process.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from crawler.store.models import ArticleFeed
from crawler.store.store import Store
from tests.newssites import FixtureNetwork, FixtureSite
from tests.test_end_to_end import crawl, find, write_settings

FEED = "gazette-atom"  # 3 articles in state 1; in state 2 the same 3 and a new one
HOLD = 4.0  # seconds the other connection keeps the write lock
MAX_GAP = 1.0  # the loop may pause this long at most while the lock is held
TICK = 0.02


class WriteLockOnRequest:
    """Takes the SQLite write lock of ``database`` when ``site`` first serves ``path``,
    before it answers, and holds it for ``hold`` seconds from a thread of its own."""

    def __init__(self, database: Path, site: FixtureSite, path: str, hold: float) -> None:
        self.database, self.path, self.hold = database, path, hold
        self.taken_at: float | None = None
        self.released_at: float | None = None
        self._once = threading.Lock()
        self._release_now = threading.Event()
        self._holder: threading.Thread | None = None
        serve = site._dispatch

        def dispatch(raw_path: str) -> Any:
            if urlsplit(raw_path).path == path:
                self._take_once()
            return serve(raw_path)

        site._dispatch = dispatch  # type: ignore[method-assign]

    def _take_once(self) -> None:
        with self._once:
            if self._holder is not None:
                return
            connection = sqlite3.connect(
                self.database, timeout=30, isolation_level=None, check_same_thread=False
            )
            connection.execute("BEGIN IMMEDIATE")  # the write lock, as a writer holds it
            self.taken_at = time.monotonic()
            self._holder = threading.Thread(target=self._hold, args=(connection,), daemon=True)
            self._holder.start()

    def _hold(self, connection: sqlite3.Connection) -> None:
        self._release_now.wait(self.hold)
        connection.execute("ROLLBACK")
        connection.close()
        self.released_at = time.monotonic()

    def close(self) -> None:
        self._release_now.set()
        if self._holder is not None:
            self._holder.join(timeout=10)


def test_a_locked_database_leaves_the_reactor_free_and_loses_nothing(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    # Known articles are linked, not fetched again: the spider has a write to make.
    settings = write_settings(tmp_path, news_network, revisit_window="0s")
    first = crawl(settings, FEED)
    assert first.returncode == 0, first.stderr[-3000:]
    news_network.advance()
    gazette = news_network.gazette
    feed_path = next(spec.path for spec in gazette.feeds() if spec.name == FEED)
    lock = WriteLockOnRequest(tmp_path / "news.db", gazette, feed_path, HOLD)
    second_started_at = datetime.now(UTC)
    try:
        probe = subprocess.run(
            [sys.executable, "-m", "tests.test_busy_database", str(settings), FEED],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        lock.close()
    assert probe.returncode == 0, probe.stderr[-3000:]
    report = json.loads(probe.stdout)
    assert lock.taken_at is not None and lock.released_at is not None
    assert lock.released_at - lock.taken_at >= HOLD - 0.1, "the lock was not held"

    # The run met the lock: it could only finish once the lock was gone.
    assert report["finished_at"] > lock.released_at
    # The loop kept ticking all the while the lock was held.
    ticks = [t for t in report["ticks"] if lock.taken_at <= t <= lock.released_at]
    marks = [lock.taken_at, *ticks, lock.released_at]
    gaps = [b - a for a, b in itertools.pairwise(marks)]
    assert max(gaps) < MAX_GAP, f"the event loop stalled for {max(gaps):.2f} s"

    # ... and lost nothing: the new article stored, the known ones linked again.
    assert report["outcome"] == "ok", report
    counts = report["counts"]
    assert (counts["articles_found"], counts["articles_new"], counts["errors"]) == (4, 1, 0)
    expected = [e for e in gazette.expected_articles() if FEED in e.feeds]
    assert len(expected) == 4
    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    try:
        for exp in expected:
            article = find(store, news_network, exp)
            assert article.last_seen_at.replace(tzinfo=UTC) >= second_started_at, exp.path
            with store.reading() as session:
                feeds = set(
                    session.scalars(
                        select(ArticleFeed.feed).where(ArticleFeed.article_id == article.id)
                    )
                )
            assert FEED in feeds, exp.path
    finally:
        store.close()


# -- the crawl, in its own process ------------------------------------------------------------


def run_one_feed_and_tick(settings_path: str, feed_name: str) -> dict[str, Any]:
    """One run of the feed, as ``newsmon crawl`` does it, with a task on the same event loop
    that notes the time every TICK seconds."""
    import asyncio
    import dataclasses

    from crawler.config import load_settings
    from crawler.crawl.runner import FeedRunner, run_in_reactor

    settings = load_settings(Path(settings_path))
    store = Store.open(settings.database.url)
    store.sync_feeds((f.name, f.kind, f.url) for f in settings.feeds)
    runner = FeedRunner(settings, store)
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(TICK)

    async def main() -> Any:
        ticker = asyncio.ensure_future(tick())
        try:
            return await runner.run_feed(settings.feed(feed_name))
        finally:
            ticker.cancel()
            await runner.stop()

    outcome = run_in_reactor(main)
    finished_at = time.monotonic()
    store.close()
    return {
        "outcome": outcome.outcome,
        "counts": dataclasses.asdict(outcome.counts),
        "ticks": ticks,
        "finished_at": finished_at,
    }


if __name__ == "__main__":
    print(json.dumps(run_one_feed_and_tick(sys.argv[1], sys.argv[2])))
