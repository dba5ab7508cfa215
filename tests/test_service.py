"""The service for real: ``python scheduler.py`` with two feeds on one-second schedules."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.store.models import ArticleFeed, CrawlRun
from crawler.store.store import Store
from tests.newssites import FixtureNetwork

ROOT = Path(__file__).resolve().parents[1]
FEEDS = ("gazette-atom", "courier-sitemap")

pytestmark = pytest.mark.slow


def service_settings(tmp_path: Path, network: FixtureNetwork) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path}/news.db"

[crawl]
download_delay = 0
concurrent_requests_per_host = 8
timeout = 10
retries = 0
revisit_window = "1s"

[defaults]
schedule = {{ every = "1s", jitter = "0s" }}
timezone = "UTC"
{network.feeds_toml()}
""",
        encoding="utf-8",
    )
    text = path.read_text(encoding="utf-8")
    # Only the two feeds under test stay enabled.
    blocks = text.split("[[feeds]]")
    kept = [blocks[0]] + [
        b if any(f'name = "{f}"' in b for f in FEEDS) else b.rstrip() + "\nenabled = false\n"
        for b in blocks[1:]
    ]
    path.write_text("[[feeds]]".join(kept), encoding="utf-8")
    return path


def finished_runs(store: Store) -> dict[str, int]:
    with store.reading() as session:
        rows = session.execute(
            select(CrawlRun.feed, func.count())
            .where(CrawlRun.finished_at.is_not(None), CrawlRun.outcome != "running")
            .group_by(CrawlRun.feed)
        )
        return {feed: int(n) for feed, n in rows}


def test_service_runs_feeds_on_schedule_and_stops_cleanly(tmp_path: Path, news_network) -> None:
    settings = service_settings(tmp_path, news_network)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scheduler.py"), "--settings", str(settings)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    store = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if (tmp_path / "news.db").exists():
                store = store or Store.open(f"sqlite:///{tmp_path}/news.db")
                runs = finished_runs(store)
                if all(runs.get(f, 0) >= 2 for f in FEEDS):
                    break
            time.sleep(0.2)
        assert process.poll() is None, process.communicate()[1][-3000:]
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err[-3000:]
    assert "service stopped" in err

    store = store or Store.open(f"sqlite:///{tmp_path}/news.db")
    try:
        with store.reading() as session:
            runs = list(
                session.scalars(select(CrawlRun).order_by(CrawlRun.feed, CrawlRun.started_at))
            )
            assert all(r.outcome != "running" and r.finished_at is not None for r in runs)
            for feed in FEEDS:
                mine = [r for r in runs if r.feed == feed]
                assert len([r for r in mine if r.outcome == "ok"]) >= 2, [
                    (r.outcome, r.error) for r in mine
                ]
                # max_instances=1: a feed's runs never overlap.
                for earlier, later in itertools.pairwise(mine):
                    assert earlier.finished_at is not None
                    assert later.started_at >= earlier.finished_at
                # Everything the feed found is committed.
                expected = {
                    e.path
                    for site in news_network.sites
                    for e in site.expected_articles()
                    if feed in e.feeds
                }
                stored = session.scalar(
                    select(func.count()).select_from(ArticleFeed).where(ArticleFeed.feed == feed)
                )
                assert stored == len(expected), feed
            # One log line per feed run, with its counts.
            assert err.count("run gazette-atom: ok") >= 2
    finally:
        store.close()
