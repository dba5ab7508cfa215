"""Politeness measured at the server: per-host concurrency and spacing across feeds,
robots.txt Crawl-delay, retries with back-off on 5xx and none on 4xx."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from crawler.crawl.politeness import HostGuard
from tests.newssites import FixtureSite
from tests.test_end_to_end import crawl, write_settings

HERALD_FEEDS = ("herald-ukraine", "herald-russia", "herald-rss")
# The fixture server notes a request when its handler starts; network scheduling can make
# two starts look a few milliseconds closer than the client spaced them.
CLOCK_SLACK = 0.03


def start_gaps(site: FixtureSite) -> list[float]:
    starts = sorted(r.started_at for r in site.requests)
    return [b - a for a, b in itertools.pairwise(starts)]


def test_three_feeds_of_one_host_share_its_budget(tmp_path: Path, news_network) -> None:
    news_network.herald.slow_delay = 0.2
    settings = write_settings(
        tmp_path, news_network, download_delay=0.25, concurrent_requests_per_host=1
    )
    result = crawl(settings, *HERALD_FEEDS)
    assert "herald-ukraine: ok" in result.stdout, result.stderr[-2000:]
    herald = news_network.herald
    assert len(herald.requests) > 10
    assert herald.max_in_flight() == 1
    assert min(start_gaps(herald)) >= 0.25 - CLOCK_SLACK


def test_concurrency_limit_allows_parallel_requests_up_to_it(tmp_path: Path, news_network) -> None:
    # Every article page slow, not only one: three feeds listing the same slow page now
    # download it once (crawler.crawl.in_flight), so distinct pages must overlap.
    news_network.herald.article_delay = 0.3
    settings = write_settings(tmp_path, news_network, concurrent_requests_per_host=2)
    crawl(settings, *HERALD_FEEDS)
    assert news_network.herald.max_in_flight() == 2


def test_robots_crawl_delay_is_obeyed(tmp_path: Path, news_network) -> None:
    news_network.gazette.crawl_delay = 0.3
    settings = write_settings(tmp_path, news_network)
    result = crawl(settings, "gazette-atom", "gazette-climate")
    assert result.returncode == 0, result.stderr[-2000:]
    gaps = start_gaps(news_network.gazette)
    assert len(gaps) >= 5
    # robots.txt itself is the first request; every later one waits the Crawl-delay.
    assert min(gaps[1:]) >= 0.3 - CLOCK_SLACK


def test_server_errors_are_retried_with_backoff_and_client_errors_are_not(
    tmp_path: Path, news_network
) -> None:
    settings = write_settings(tmp_path, news_network, retries=2)
    result = crawl(settings, "herald-russia")
    assert result.returncode == 0, result.stderr[-2000:]
    herald = news_network.herald
    broken = sorted(r.started_at for r in herald.requests if r.path == "/news/broken")
    missing = [r for r in herald.requests if r.path == "/news/missing"]
    assert len(broken) == 3  # the first try and two retries
    assert len(missing) == 1  # a 404 will not get better
    first_wait, second_wait = broken[1] - broken[0], broken[2] - broken[1]
    assert first_wait >= 0.8 * 1.0 - CLOCK_SLACK  # base 1 s, jitter ±20 %
    assert second_wait >= 0.8 * 2.0 - CLOCK_SLACK  # doubled


def test_host_guard_spacing_unit() -> None:
    async def scenario() -> list[float]:
        guard = HostGuard(concurrency=2, delay=0.05)
        loop = asyncio.get_running_loop()
        starts: list[float] = []

        async def request() -> None:
            token = await guard.acquire("news.example")
            starts.append(loop.time())
            await asyncio.sleep(0.01)
            guard.release(token)

        await asyncio.gather(*(request() for _ in range(5)))
        return starts

    starts = asyncio.run(scenario())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 5 and min(gaps) >= 0.05 - 0.005


@pytest.mark.parametrize("delay", [0.0])
def test_host_guard_limits_concurrency_unit(delay: float) -> None:
    async def scenario() -> int:
        guard = HostGuard(concurrency=3, delay=delay)
        active = peak = 0

        async def request() -> None:
            nonlocal active, peak
            token = await guard.acquire("news.example")
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.01)
            active -= 1
            guard.release(token)

        await asyncio.gather(*(request() for _ in range(10)))
        return peak

    assert asyncio.run(scenario()) == 3


def test_host_guard_spaces_from_when_the_request_left_unit() -> None:
    """A request that waited after taking its slot (Scrapy's downloader queue on a busy
    machine) moves the next start: the spacing counts from when it was sent."""

    async def scenario() -> tuple[float, float]:
        guard = HostGuard(concurrency=1, delay=0.2)
        loop = asyncio.get_running_loop()
        first = await guard.acquire("news.example")
        await asyncio.sleep(0.15)  # queued between the slot and the wire
        guard.sent(first)
        sent_at = loop.time()
        guard.release(first)
        await guard.acquire("news.example")
        return sent_at, loop.time()

    sent_at, second_start = asyncio.run(scenario())
    assert second_start - sent_at >= 0.2 - 0.005


def test_host_guard_spaces_from_when_the_response_came_back_unit() -> None:
    """A request the reactor held after the handler reaches the server late; its response
    is the one moment known to follow, so the next request waits the delay from there."""

    async def scenario() -> tuple[float, float]:
        guard = HostGuard(concurrency=1, delay=0.2)
        loop = asyncio.get_running_loop()
        first = await guard.acquire("news.example")
        guard.sent(first)
        await asyncio.sleep(0.15)  # on the wire, then the response
        guard.release(first)
        answered_at = loop.time()
        await guard.acquire("news.example")
        return answered_at, loop.time()

    answered_at, second_start = asyncio.run(scenario())
    assert second_start - answered_at >= 0.2 - 0.005
