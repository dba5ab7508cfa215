"""Operating the service: crash safety, one service per database, reload, failing feeds."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.store.models import Article, ArticleUrl, CrawlRun, FeedState
from crawler.store.store import Store
from tests.newssites import FixtureNetwork
from tests.service_process import (
    ROOT,
    ServiceProcess,
    only_feeds_enabled,
    runs_by_feed,
    wait_for,
)
from tests.test_end_to_end import write_settings

pytestmark = pytest.mark.slow


def open_store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/news.db")


def test_kill_9_mid_crawl_loses_nothing_and_the_feed_runs_again(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    herald = news_network.herald
    herald.slow_delay = 60.0  # the crawl of herald-russia hangs on /news/slow …
    settings = write_settings(tmp_path, news_network, every="1h", timeout=120)
    only_feeds_enabled(settings, ("herald-russia", "gazette-atom"))
    service = ServiceProcess(settings)
    store = None
    try:

        def killed_mid_crawl() -> bool:
            # … while the articles fetched before it are already committed.
            if not (tmp_path / "news.db").exists() or herald.in_flight() == 0:
                return False
            with open_store(tmp_path) as probe:
                return (
                    runs_by_feed(probe).get("gazette-atom", 0) >= 1 and _article_count(probe) >= 5
                )

        wait_for("a crawl stuck on the slow page", killed_mid_crawl, service=service)
        assert service.kill() == -9
        store = open_store(tmp_path)
        before = _article_ids(store)
        with store.reading() as session:
            running = session.scalars(select(CrawlRun.feed).where(CrawlRun.outcome == "running"))
            assert list(running) == ["herald-russia"]
        _assert_integrity(tmp_path)

        herald.slow_delay = 0.1
        restarted_at = datetime.now(UTC)
        service = ServiceProcess(settings, log_name="service-2.log")

        def reran() -> bool:
            with store.reading() as session:
                return bool(
                    session.scalar(
                        select(func.count())
                        .select_from(CrawlRun)
                        .where(
                            CrawlRun.feed == "herald-russia",
                            CrawlRun.started_at >= restarted_at,
                            CrawlRun.outcome.in_(["ok", "partial"]),
                        )
                    )
                )

        wait_for("the interrupted feed to run again", reran, service=service)
        assert service.terminate() == 0, service.log[-3000:]
        _assert_integrity(tmp_path)
        after = _article_ids(store)
        assert before <= after  # nothing committed was lost
        with store.reading() as session:
            outcomes = list(
                session.scalars(select(CrawlRun.outcome).where(CrawlRun.feed == "herald-russia"))
            )
            assert "interrupted" in outcomes
            # Stored once: as many articles as distinct URLs the feeds found, no duplicates.
            expected = {
                e.path
                for site in news_network.sites
                for e in site.expected_articles()
                if {"herald-russia", "gazette-atom"} & set(e.feeds)
            }
            assert len(after) == len(expected)
            urls = session.scalar(select(func.count(func.distinct(ArticleUrl.article_id))))
            assert urls == len(after)
        # The gazette feed, which had finished, was not re-run at start: it waits its hour.
        assert runs_by_feed(store).get("gazette-atom") == 1
    finally:
        service.close()
        if store is not None:
            store.close()


def test_second_service_on_one_database_refuses_and_lock_dies_with_the_holder(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    settings = write_settings(tmp_path, news_network, every="1h")
    only_feeds_enabled(settings, ("gazette-atom",))
    first = ServiceProcess(settings)
    try:
        wait_for(
            "the first service to start", lambda: "service started" in first.log, service=first
        )
        second = subprocess.run(
            [sys.executable, str(ROOT / "scheduler.py"), "--settings", str(settings)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        message = second.stderr.strip().splitlines()[-1]
        assert message.startswith("newsmon: another newsmon service (pid ")
        assert "is already running against sqlite:///" in message
        # A crash must not leave the lock behind.
        first.kill()
        third = ServiceProcess(settings, log_name="third.log")
        try:
            wait_for(
                "a new service after the crash",
                lambda: "service started" in third.log,
                service=third,
            )
            assert third.terminate() == 0
        finally:
            third.close()
    finally:
        first.close()


def test_reload_applies_feed_changes_and_rejects_a_broken_file(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    settings = write_settings(tmp_path, news_network, every="1s", revisit_window="1s")
    only_feeds_enabled(settings, ("gazette-atom",))
    service = ServiceProcess(settings)
    store = None
    try:
        wait_for(
            "the first feed to run",
            lambda: feed_runs(tmp_path, "gazette-atom") >= 1,
            service=service,
        )
        store = open_store(tmp_path)
        # Swap the enabled feed by editing the file under the running service.
        only_feeds_enabled(settings, ("courier-sitemap",))
        wait_for(
            "the edit to be noticed",
            lambda: "reloaded settings: 1 added, 1 removed" in service.log,
            service=service,
        )
        switched_at = datetime.now(UTC)
        wait_for(
            "the added feed to run twice",
            lambda: runs_by_feed(store).get("courier-sitemap", 0) >= 2,
            service=service,
        )
        with store.reading() as session:
            late = session.scalar(
                select(func.count())
                .select_from(CrawlRun)
                .where(CrawlRun.feed == "gazette-atom", CrawlRun.started_at > switched_at)
            )
        assert late == 0
        # A broken file is rejected, with its error logged, and the service keeps going.
        good = settings.read_text(encoding="utf-8")
        settings.write_text(good.replace('kind = "sitemap"', 'kind = "sitemapp"'), encoding="utf-8")
        service.hangup()
        wait_for(
            "the rejection",
            lambda: "reload rejected, keeping the running settings" in service.log,
            service=service,
        )
        assert "unknown kind 'sitemapp'" in service.log
        runs = runs_by_feed(store)["courier-sitemap"]
        wait_for(
            "more runs on the old settings",
            lambda: runs_by_feed(store)["courier-sitemap"] > runs,
            service=service,
        )
        assert service.terminate() == 0
    finally:
        service.close()
        if store is not None:
            store.close()


def test_a_failing_feed_backs_off_and_stays_scheduled(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    settings = write_settings(tmp_path, news_network, every="1s")
    only_feeds_enabled(settings, ("herald-rss",))
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("/rss/world.xml", "/news/broken"), encoding="utf-8")
    service = ServiceProcess(settings)
    store = None
    try:
        wait_for("the database", lambda: (tmp_path / "news.db").exists(), service=service)
        store = open_store(tmp_path)

        def failures() -> int:
            state = store.feed_state("herald-rss")
            return state.consecutive_failures if state else 0

        wait_for("four failures in a row", lambda: failures() >= 4, service=service, timeout=90)
        assert service.terminate() == 0
        with store.reading() as session:
            runs = list(
                session.scalars(
                    select(CrawlRun)
                    .where(CrawlRun.feed == "herald-rss")
                    .order_by(CrawlRun.started_at)
                )
            )
            state = session.get(FeedState, "herald-rss")
        assert state is not None and state.last_error and "HTTP 500" in state.last_error
        failed = [r for r in runs if r.outcome == "failed"]
        # Waits of 1, 2 and 4 one-second intervals: the gaps between attempts grow.
        gaps = [
            (b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(failed)
        ]
        # (A timer tick may land a hair early or late, so the check is "clearly longer".)
        assert gaps[2] >= 3.0 and gaps[2] >= gaps[0] + 1.5, gaps
        assert "backing off after repeated failures" in service.log
    finally:
        service.close()
        if store is not None:
            store.close()


def feed_runs(tmp_path: Path, feed: str) -> int:
    if not (tmp_path / "news.db").exists():
        return 0
    with open_store(tmp_path) as store:
        return runs_by_feed(store).get(feed, 0)


def _article_count(store: Store) -> int:
    with store.reading() as session:
        return int(session.scalar(select(func.count()).select_from(Article)) or 0)


def _article_ids(store: Store) -> set[int]:
    with store.reading() as session:
        return set(session.scalars(select(Article.id)))


def _assert_integrity(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "news.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
