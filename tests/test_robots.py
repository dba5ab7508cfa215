"""robots.txt is fetched once per host and reused by every feed, run and restart while it
is fresh (``robots_txt_max_age``), with its rules and Crawl-delay applied from the copy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crawler.crawl.robots import RobotsCache
from crawler.store.store import Store
from tests.test_end_to_end import crawl, write_settings
from tests.test_politeness import CLOCK_SLACK, start_gaps

HERALD_FEEDS = ("herald-ukraine", "herald-russia", "herald-rss")


def robots_requests(paths: list[str]) -> int:
    return sum(1 for p in paths if p == "/robots.txt")


def test_one_robots_txt_for_all_feeds_runs_and_restarts(tmp_path: Path, news_network) -> None:
    herald = news_network.herald
    settings = write_settings(tmp_path, news_network)
    first = crawl(settings, *HERALD_FEEDS)
    assert first.returncode == 0, first.stderr[-2000:]
    # Three feeds of one host crawled at once: one robots.txt between them.
    assert robots_requests(herald.paths_requested()) == 1
    herald.reset_requests()
    second = crawl(settings, *HERALD_FEEDS)  # a new process: the copy comes from the database
    assert second.returncode == 0, second.stderr[-2000:]
    paths = herald.paths_requested()
    assert paths, "the second crawl requested nothing"
    assert robots_requests(paths) == 0
    # ... and its rules still hold: the listings link a page under /private/.
    assert not [p for p in paths if p.startswith("/private/")]


def test_max_age_zero_fetches_robots_txt_on_every_run(tmp_path: Path, news_network) -> None:
    herald = news_network.herald
    settings = write_settings(tmp_path, news_network, robots_txt_max_age="0s")
    crawl(settings, "herald-rss")
    herald.reset_requests()
    result = crawl(settings, "herald-rss")
    assert result.returncode == 0, result.stderr[-2000:]
    assert robots_requests(herald.paths_requested()) == 1


def test_crawl_delay_of_a_stored_robots_txt_is_obeyed(tmp_path: Path, news_network) -> None:
    gazette = news_network.gazette
    gazette.crawl_delay = 0.3
    settings = write_settings(tmp_path, news_network)
    crawl(settings, "gazette-atom")
    gazette.reset_requests()
    result = crawl(settings, "gazette-atom", "gazette-climate")
    assert result.returncode == 0, result.stderr[-2000:]
    assert robots_requests(gazette.paths_requested()) == 0
    gaps = start_gaps(gazette)
    assert len(gaps) >= 3
    assert min(gaps) >= 0.3 - CLOCK_SLACK


def test_cache_fetches_once_for_concurrent_askers_and_not_after_a_failure(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/robots.db")
    cache = RobotsCache(store, max_age=timedelta(hours=1))
    fetches: list[str] = []
    answers = iter([None, b"User-agent: *\nDisallow: /private/\n"])

    async def fetch() -> bytes | None:
        fetches.append("fetch")
        await asyncio.sleep(0)  # let the other askers arrive while this one is out
        return next(answers)

    async def scenario() -> list[bytes | None]:
        origin = "https://news.example"
        failed = await cache.body(origin, fetch)  # a 5xx or network error: not kept
        together = await asyncio.gather(*(cache.body(origin, fetch) for _ in range(5)))
        return [failed, *together]

    results = asyncio.run(scenario())
    assert results[0] is None
    assert set(results[1:]) == {b"User-agent: *\nDisallow: /private/\n"}
    assert len(fetches) == 2  # the failure, then one fetch for five askers at once
    stored = store.robots_txt("https://news.example")
    assert stored is not None and stored[0].startswith(b"User-agent")
    store.close()


def test_a_stale_copy_is_fetched_again(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/robots.db")
    old = datetime.now(UTC) - timedelta(hours=2)
    store.save_robots_txt("https://news.example", b"User-agent: *\nDisallow: /\n", old)
    cache = RobotsCache(store, max_age=timedelta(hours=1))

    async def fetch() -> bytes | None:
        return b"User-agent: *\nAllow: /\n"

    body = asyncio.run(cache.body("https://news.example", fetch))
    assert body == b"User-agent: *\nAllow: /\n"
    stored = store.robots_txt("https://news.example")
    assert stored is not None and stored[0] == body and stored[1] > old
    store.close()
