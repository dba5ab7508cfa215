"""Bounds against a hostile host: memory, run time, shutdown time.

Real processes on loopback: ``newsmon crawl`` against ``tests/hostilesite.py``'s pages just
under ``max_page_bytes`` (peak memory of the whole process tree, measured from /proc) and
its slowloris pages (a byte every 50 ms, forever), and the real service stopped with
SIGTERM while such pages are in flight.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.crawl.budget import HOST_FACTOR, PROCESS_FACTOR, ResponseBudget
from crawler.crawl.processes import cpu_count
from crawler.store.models import CrawlRun, PageState
from crawler.store.store import Store
from crawler.urls import url_key
from tests.hostilesite import MAX_PAGE_BYTES, REDIRECT_LOOP, HostileSite
from tests.process_memory import TreePeak
from tests.service_process import ServiceProcess, wait_for

CRAWL = {
    "user_agent": "newsmon-tests/0.1 (+https://example.invalid/contact)",
    "download_delay": 0,
    "concurrent_requests_per_host": 4,
    "retries": 0,
}
SLOW_PAGES = 6


@pytest.fixture
def site() -> Iterator[HostileSite]:
    with HostileSite() as hostile:
        yield hostile


def write_settings(tmp_path: Path, feeds: dict[str, str], **crawl: object) -> Path:
    values = {**CRAWL, **crawl}
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in values.items())
    blocks = "".join(
        f'[[feeds]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"\n\n'
        for name, url in feeds.items()
    )
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n\n[crawl]\n{table}\n\n'
        f'[defaults]\nschedule = {{ every = "1h", jitter = "0s" }}\n\n{blocks}',
        encoding="utf-8",
    )
    return path


def crawl_command(settings: Path) -> list[str]:
    return [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings)]


def runs(tmp_path: Path, feed: str) -> list[CrawlRun]:
    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    try:
        with store.reading() as session:
            found = list(session.scalars(select(CrawlRun).where(CrawlRun.feed == feed)))
            session.expunge_all()
            return found
    finally:
        store.close()


def has_validators(tmp_path: Path, url: str) -> bool:
    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    try:
        with store.reading() as session:
            rows = session.scalars(select(PageState).where(PageState.url_key == url_key(url)))
            return rows.first() is not None
    finally:
        store.close()


# -- the response budget ----------------------------------------------------------------------


def test_budget_holds_requests_back_at_the_host_cap_and_lets_them_go_as_bodies_are_freed() -> None:
    page = 1_000

    async def scenario() -> list[str]:
        budget = ResponseBudget(page)
        events: list[str] = []
        held = [await budget.admit("a") for _ in range(HOST_FACTOR)]
        for account in held:
            budget.add(account, page)  # a full page each: host a is at its cap
        other_host = await asyncio.wait_for(budget.admit("b"), 1)  # b is not held back
        budget.add(other_host, page)

        async def next_of_a() -> None:
            await budget.admit("a")
            events.append("admitted")

        waiting = asyncio.ensure_future(next_of_a())
        await asyncio.sleep(0.05)
        events.append(f"held {budget.held_by('a')}")
        budget.resize(held[0], page // 2)  # the body shrank (decompressed smaller): room
        await asyncio.wait_for(waiting, 1)
        budget.release(held[0])
        budget.release(held[0])  # twice is once
        events.append(f"held {budget.held_by('a')}")
        return events

    assert asyncio.run(scenario()) == [f"held {HOST_FACTOR * page}", "admitted", f"held {3 * page}"]


def test_budget_caps_the_process_across_hosts() -> None:
    page = 1_000

    async def scenario() -> bool:
        budget = ResponseBudget(page)
        for host in range(PROCESS_FACTOR):
            budget.add(await budget.admit(f"host-{host}"), page)
        try:
            await asyncio.wait_for(budget.admit("one-more"), 0.2)
        except TimeoutError:
            return True
        return False

    assert asyncio.run(scenario()), "a new host was admitted beyond the process cap"


def test_every_hostile_page_gives_its_response_memory_back(
    tmp_path: Path, site: HostileSite
) -> None:
    """Stored, skipped, too large, a bomb, a redirect loop, binary, empty: each path ends
    with the page's bytes given back, none left for the crawl's close to find."""
    settings = write_settings(
        tmp_path, {"hostile-rss": site.url("/rss.xml")}, timeout=5, max_page_bytes=MAX_PAGE_BYTES
    )
    result = subprocess.run(
        [*crawl_command(settings), "--log-level", "DEBUG"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "hostile-rss: partial" in result.stdout, result.stdout
    assert site.count("/a/gzip-bomb") == 1 and site.count(REDIRECT_LOOP[0]) >= 2
    assert "response accounts open" not in result.stderr


# -- run time ---------------------------------------------------------------------------------


def test_a_slowloris_feed_is_stopped_at_max_run_time(tmp_path: Path, site: HostileSite) -> None:
    feed_url = site.url(f"/feeds/slow-{SLOW_PAGES}.xml")
    settings = write_settings(
        tmp_path, {"slowloris": feed_url}, timeout=60, retries=2, max_run_time="2s"
    )
    started = time.monotonic()
    result = subprocess.run(crawl_command(settings), capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]  # partial is not a failure
    assert "slowloris: partial in 2." in result.stdout, result.stdout
    assert result.stdout.rstrip().endswith("— stopped after max_run_time 2s"), result.stdout
    assert elapsed < 30  # far from the 60 s timeout of each page (start-up included)
    (run,) = runs(tmp_path, "slowloris")
    assert (run.outcome, run.error) == ("partial", "stopped after max_run_time 2s")
    assert run.errors == 0  # the pages cut short are not errors of the site
    assert site.count("/slow/") == CRAWL["concurrent_requests_per_host"]  # they were in flight
    # The next run must fetch the feed again, not be told 304 and miss the pages.
    assert not has_validators(tmp_path, feed_url)


def test_a_trickled_page_is_cut_off_after_timeout(tmp_path: Path, site: HostileSite) -> None:
    settings = write_settings(
        tmp_path,
        {"slowloris": site.url(f"/feeds/slow-{SLOW_PAGES}.xml")},
        timeout=1,
        max_run_time="1h",
    )
    result = subprocess.run(crawl_command(settings), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = runs(tmp_path, "slowloris")
    assert run.outcome == "partial" and run.error is not None
    assert run.error.endswith(": timed out"), run.error
    assert run.errors == SLOW_PAGES
    assert site.count("/slow/") == SLOW_PAGES
    # Two rounds of 4 + 2 pages at one second each, however long the server trickles.
    assert run.finished_at is not None
    assert (run.finished_at - run.started_at).total_seconds() < 2 * 1 + 3


# -- memory -----------------------------------------------------------------------------------

MAX_PAGE = 10_000_000
FEEDS_OF_ONE_HOST = 4  # separate crawls: only the runner's budget sees all of them
PAGES_PER_FEED = 20
CONCURRENCY = 2
# While a page is parsed (in a thread first, then in a parser process), its decoded text
# and trees cost up to this many times its size (measured about 4-5 on these pages).
PARSE_COST = 5


def crawl_peak(tmp_path: Path, page_bytes: int) -> TreePeak:
    tmp_path.mkdir()
    with HostileSite(big_page_bytes=page_bytes) as big:
        feeds = {
            f"big-{n}": big.url(f"/feeds/big-{PAGES_PER_FEED}-{n * PAGES_PER_FEED}.xml")
            for n in range(FEEDS_OF_ONE_HOST)
        }
        settings = write_settings(
            tmp_path,
            feeds,
            timeout=60,
            max_page_bytes=MAX_PAGE,
            concurrent_requests_per_host=CONCURRENCY,
        )
        peak = TreePeak(crawl_command(settings), tmp_path).run(timeout=300)
    assert peak.returncode == 0, peak.stderr[-3000:]
    assert peak.stdout.count(f"new {PAGES_PER_FEED},") == FEEDS_OF_ONE_HOST, peak.stdout
    return peak


@pytest.mark.slow
def test_memory_of_a_host_serving_pages_just_under_max_page_bytes_stays_bounded(
    tmp_path: Path,
) -> None:
    small = crawl_peak(tmp_path / "small", 5_000)  # the same crawl, the same processes
    large = crawl_peak(tmp_path / "large", MAX_PAGE - 1_000)
    # What the budget lets one host hold (crawler.crawl.budget): its cap, plus the requests
    # on the wire. Each body is held once and copied once more on its way (the download
    # buffer, the pickle to a parser process); and one page per CPU is being parsed.
    held = HOST_FACTOR * MAX_PAGE + CONCURRENCY * MAX_PAGE
    bound = small.total + 2 * held + 2 * cpu_count() * PARSE_COST * MAX_PAGE
    print(
        f"peak RSS of the process tree: {large.total / 1e6:.0f} MB with pages of 10 MB,"
        f" {small.total / 1e6:.0f} MB with pages of 5 KB; bound {bound / 1e6:.0f} MB"
    )
    assert large.total < bound, (large.own, large.children)


# -- shutdown ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_with_slow_requests_in_flight_stops_the_service_within_30_s(
    tmp_path: Path, site: HostileSite
) -> None:
    feed_url = site.url(f"/feeds/slow-{SLOW_PAGES}.xml")
    settings = write_settings(
        tmp_path, {"slowloris": feed_url}, timeout=600, retries=10, max_run_time="1d"
    )
    service = ServiceProcess(settings)
    try:
        wait_for(
            "slow pages in flight",
            lambda: site.count("/slow/") >= CRAWL["concurrent_requests_per_host"],
            service=service,
        )
        started = time.monotonic()
        code = service.terminate(timeout=30)  # raises TimeoutExpired past 30 s
        elapsed = time.monotonic() - started
    finally:
        service.close()
    assert code == 0, service.log[-3000:]
    assert elapsed < 30
    (run,) = runs(tmp_path, "slowloris")
    assert run.outcome == "interrupted", service.log[-3000:]
    assert run.finished_at is not None
    assert not has_validators(tmp_path, feed_url)
    print(f"stopped in {elapsed:.1f} s with {site.count('/slow/')} slow pages in flight")


def test_the_systemd_unit_allows_more_than_the_service_takes_to_stop() -> None:
    from crawler.crawl.runner import STOP_GRACE_SECONDS

    unit = (Path(__file__).resolve().parents[1] / "deploy" / "newsmon.service").read_text()
    (line,) = [line for line in unit.splitlines() if line.startswith("TimeoutStopSec=")]
    allowed = float(line.removeprefix("TimeoutStopSec="))
    # The grace, then closing the parser processes and the database: 10 s of slack.
    assert STOP_GRACE_SECONDS + 10 <= allowed <= 30
