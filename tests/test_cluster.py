"""Distributed mode with real processes on the real PostgreSQL: one or two schedulers
(``scheduler.py``), several ``newsmon worker`` processes, the fixture news network.

What must hold across the cluster: every article stored once; per-host concurrency and
spacing measured at the server across all workers; a worker killed in the middle of a job
has its feed run again on another worker; a killed leader is replaced by the standby, and
no feed runs twice at once.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.cluster.listing import WorkerRow, live_workers
from crawler.store.models import Article, CrawlRun, FeedState
from crawler.store.store import Store
from tests.newssites import FixtureNetwork
from tests.service_process import ROOT, ServiceProcess, only_feeds_enabled, wait_for
from tests.test_end_to_end import expected_all, find, write_settings

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# The fixture server notes a request when its handler starts; network scheduling can make
# two starts look a few milliseconds closer than the client spaced them.
CLOCK_SLACK = 0.03
STALLED_AFTER = 3.0  # seconds without a heartbeat before a worker counts as dead


class WorkerProcess(ServiceProcess):
    """``python -m crawler worker`` with stderr collected to a file."""

    def __init__(self, settings: Path, name: str, concurrency: int = 1) -> None:
        command = ["-m", "crawler", "worker", "--settings", str(settings),
                   "--concurrency", str(concurrency)]  # fmt: skip
        super().__init__(settings, f"{name}.log", command, cwd=ROOT)


def distributed(settings: Path, tmp_path: Path, pg_url: str) -> Path:
    """The test's settings.toml moved to ``pg_url`` in distributed mode."""
    text = settings.read_text(encoding="utf-8").replace(
        f'url = "sqlite:///{tmp_path}/news.db"', f'url = "{pg_url}"'
    )
    text = (
        '[cluster]\nmode = "distributed"\n'
        f'stalled_after = "{STALLED_AFTER:.0f}s"\npoll_interval = 0.2\n' + text
    )
    settings.write_text(text, encoding="utf-8")
    return settings


def cluster_settings(
    tmp_path: Path, network: FixtureNetwork, pg_url: str, every: str = "1h", **crawl: object
) -> Path:
    return distributed(write_settings(tmp_path, network, every=every, **crawl), tmp_path, pg_url)


@pytest.fixture
def cluster() -> Iterator[list[ServiceProcess | WorkerProcess]]:
    """The processes a test starts, killed at its end whatever happened."""
    started: list[ServiceProcess | WorkerProcess] = []
    yield started
    for process in started:
        process.close()


def finished_runs(store: Store) -> list[CrawlRun]:
    with store.reading() as session:
        rows = session.scalars(select(CrawlRun).order_by(CrawlRun.started_at))
        return [run for run in rows if run.outcome not in ("running",)]


def assert_stored_once(store: Store, network: FixtureNetwork, site: str | None = None) -> None:
    """As many articles as the network has (or ``site`` has), each found at its URL."""
    expected = [e for e in expected_all(network) if site is None or e.site == site]
    with store.reading() as session:
        count = session.scalar(select(func.count()).select_from(Article))
    assert count == len(expected)
    for exp in expected:
        find(store, network, exp)


def runs_in_worker_logs(workers: list[WorkerProcess]) -> dict[str, list[int]]:
    """feed → the index of the worker each finished run was logged by."""
    found: dict[str, list[int]] = {}
    for index, worker in enumerate(workers):
        for line in worker.log.splitlines():
            if " run " in line and (": ok in " in line or ": partial in " in line):
                feed = line.split(" run ", 1)[1].split(":", 1)[0]
                found.setdefault(feed, []).append(index)
    return found


def test_three_workers_crawl_every_feed_once_politely(
    tmp_path: Path,
    news_network: FixtureNetwork,
    pg_url: str,
    cluster: list[ServiceProcess | WorkerProcess],
) -> None:
    news_network.herald.slow_delay = 0.2
    # One request per host at a time: two workers on one host at once would show as two
    # in flight.
    settings = cluster_settings(
        tmp_path, news_network, pg_url, download_delay=0.2, concurrent_requests_per_host=1
    )
    feeds = [spec.name for _, spec in news_network.feed_specs()]
    workers = [WorkerProcess(settings, f"worker{i}") for i in range(3)]
    cluster.extend(workers)
    scheduler = ServiceProcess(settings, "scheduler.log")
    cluster.append(scheduler)
    wait_for("the scheduler to lead", lambda: "leading the cluster" in scheduler.log, 60, scheduler)

    def three_listed() -> list[WorkerRow] | None:
        listed = [w for w in live_workers(pg_url, 30) or [] if w.pid is not None]
        return listed if len(listed) == 3 else None

    listed = wait_for("three live workers", three_listed)
    assert sorted(w.pid for w in listed if w.pid) == sorted(w.process.pid for w in workers)
    store = Store.open(pg_url)
    try:
        # The fixture sites serve from this process: while they count and time requests,
        # it looks at the database only now and then, with one light query, so that its
        # own work does not hold up the servers' threads and skew their clocks.
        with store.reading() as session:
            finished = select(func.count(func.distinct(CrawlRun.feed))).where(
                CrawlRun.outcome != "running"
            )
            deadline = time.monotonic() + 120
            while session.scalar(finished) < len(feeds):
                assert time.monotonic() < deadline, "timed out waiting for every feed to run"
                assert scheduler.alive(), scheduler.log[-3000:]
                time.sleep(0.5)
                session.rollback()  # a fresh snapshot for the next look
        runs = finished_runs(store)
        assert sorted(r.feed for r in runs) == sorted(feeds)  # each feed once
        # herald-russia lists a page that answers 500: its run is partial, the rest ok.
        outcomes = {r.feed: r.outcome for r in runs}
        assert outcomes.pop("herald-russia") == "partial"
        assert set(outcomes.values()) == {"ok"}, [(r.feed, r.outcome, r.error) for r in runs]
        # Run by the workers, each run by one of them; and the cluster shared the work.
        by_worker = runs_in_worker_logs(workers)
        assert sorted(by_worker) == sorted(feeds)
        assert all(len(ran) == 1 for ran in by_worker.values()), by_worker
        assert len({ran[0] for ran in by_worker.values()}) >= 2, by_worker
        assert "crawler.crawl.runs" not in scheduler.log  # the scheduler crawls nothing
        assert_stored_once(store, news_network)
        # Politeness per host, at the server, across all workers: never two requests in
        # flight, and the delay between every two starts, also where one run of the host
        # hands over to the next (perhaps on another worker: its feed page).
        feed_pages = {
            site.url(spec.path).split(site.base_url, 1)[1]
            for site, spec in news_network.feed_specs()
        }
        for site in news_network.sites:
            requests = sorted(site.requests, key=lambda r: r.started_at)
            assert len(requests) > 3
            assert site.max_in_flight() == 1, site.name
            handovers = 0
            for a, b in itertools.pairwise(requests):
                handovers += b.path in feed_pages
                gap = b.started_at - a.started_at
                assert gap >= 0.2 - CLOCK_SLACK, (site.name, gap, a.path, b.path)
            assert handovers >= 1, site.name  # every site has two feeds or more
        for worker in workers:
            assert worker.terminate() == 0, worker.log[-3000:]
            assert "Traceback" not in worker.log
        assert scheduler.terminate() == 0, scheduler.log[-3000:]
    finally:
        store.close()


def test_a_killed_workers_feed_runs_again_on_another_worker(
    tmp_path: Path,
    news_network: FixtureNetwork,
    pg_url: str,
    cluster: list[ServiceProcess | WorkerProcess],
) -> None:
    herald = news_network.herald
    herald.slow_delay = 60.0  # herald-russia's run hangs on /news/slow …
    settings = cluster_settings(tmp_path, news_network, pg_url)
    only_feeds_enabled(settings, ("herald-russia",))
    workers = [WorkerProcess(settings, f"worker{i}") for i in range(2)]
    cluster.extend(workers)
    scheduler = ServiceProcess(settings, "scheduler.log")
    cluster.append(scheduler)
    store: Store | None = None
    try:

        def runner_of_russia() -> int | None:
            if not herald.in_flight():
                return None
            for row in live_workers(pg_url, STALLED_AFTER) or []:
                if "herald-russia" in row.running:
                    return row.pid
            return None

        pid = wait_for("a worker held on the slow page", runner_of_russia, 90, scheduler)
        (victim,) = [w for w in workers if w.process.pid == pid]
        (survivor,) = [w for w in workers if w is not victim]
        herald.slow_delay = 0.1  # … until the worker running it is killed
        os.kill(pid, signal.SIGKILL)
        killed_at = datetime.now(UTC)
        victim.process.wait(30)
        store = Store.open(pg_url)
        done = wait_for(
            "herald-russia to finish on the other worker",
            lambda: [r for r in finished_runs(store) if r.outcome != "interrupted"],
            60,
            scheduler,
        )
        rerun_after = done[0].started_at.replace(tzinfo=UTC) - killed_at
        print(f"killed worker's feed ran again after {rerun_after.total_seconds():.1f} s")
        assert rerun_after < timedelta(seconds=STALLED_AFTER + 10)
        runs = finished_runs(store)
        assert [(r.feed, r.outcome) for r in runs] == [
            ("herald-russia", "interrupted"),
            ("herald-russia", "partial"),  # its /news/broken answers 500
        ]
        assert "run herald-russia: partial" in survivor.log
        assert "stopped beating in the middle of job" in scheduler.log
        # Nothing lost, nothing twice: herald-russia's articles stored once each.
        russia = [a for a in herald.expected_articles() if "herald-russia" in a.feeds]
        with store.reading() as session:
            assert session.scalar(select(func.count()).select_from(Article)) == len(russia)
        for article in russia:
            find(store, news_network, article)
        assert survivor.terminate() == 0, survivor.log[-3000:]
        assert scheduler.terminate() == 0, scheduler.log[-3000:]
    finally:
        if store is not None:
            store.close()


def test_the_standby_takes_over_when_the_leader_is_killed(
    tmp_path: Path,
    news_network: FixtureNetwork,
    pg_url: str,
    cluster: list[ServiceProcess | WorkerProcess],
) -> None:
    settings = cluster_settings(tmp_path, news_network, pg_url, every="2s")
    only_feeds_enabled(settings, ("gazette-atom", "courier-sitemap"))
    worker = WorkerProcess(settings, "worker", concurrency=2)
    cluster.append(worker)
    leader = ServiceProcess(settings, "leader.log")
    cluster.append(leader)
    wait_for("the first leader", lambda: "leading the cluster" in leader.log, 60, leader)
    standby = ServiceProcess(settings, "standby.log")
    cluster.append(standby)
    store = Store.open(pg_url)
    try:
        wait_for("the standby to wait", lambda: "standby:" in standby.log, 60, standby)
        wait_for("runs under the first leader", lambda: len(finished_runs(store)) >= 2, 60, leader)
        leader.process.kill()
        killed = time.monotonic()
        leader.process.wait(30)
        wait_for("the standby to lead", lambda: "leading the cluster" in standby.log, 30, standby)
        took_over = time.monotonic() - killed
        print(f"standby took over after {took_over:.1f} s")
        assert took_over < 10
        before = len(finished_runs(store))
        wait_for(
            "runs under the new leader",
            lambda: len(finished_runs(store)) >= before + 2,
            60,
            standby,
        )
        # No feed ran twice at once: each feed's runs follow one another.
        by_feed: dict[str, list[CrawlRun]] = {}
        for run in finished_runs(store):
            by_feed.setdefault(run.feed, []).append(run)
        assert set(by_feed) == {"gazette-atom", "courier-sitemap"}
        for feed, runs in by_feed.items():
            for a, b in itertools.pairwise(runs):
                assert a.finished_at is not None
                assert a.finished_at <= b.started_at, (feed, a.started_at, b.started_at)
        assert worker.terminate() == 0, worker.log[-3000:]
        assert standby.terminate() == 0, standby.log[-3000:]
        assert "Traceback" not in worker.log + standby.log
    finally:
        store.close()


def test_sigterm_hands_an_unfinished_feed_back_to_the_queue(
    tmp_path: Path,
    news_network: FixtureNetwork,
    pg_url: str,
    cluster: list[ServiceProcess | WorkerProcess],
) -> None:
    herald = news_network.herald
    herald.slow_delay = 60.0  # herald-russia's run hangs on /news/slow past the grace
    settings = cluster_settings(tmp_path, news_network, pg_url, timeout=60)
    only_feeds_enabled(settings, ("herald-russia",))
    first = WorkerProcess(settings, "first")
    cluster.append(first)
    scheduler = ServiceProcess(settings, "scheduler.log")
    cluster.append(scheduler)
    store = Store.open(pg_url)
    try:
        wait_for(
            "the worker held on the slow page",
            lambda: (
                herald.in_flight()
                and "herald-russia"
                in "".join(",".join(w.running) for w in live_workers(pg_url, STALLED_AFTER) or [])
            ),
            90,
            first,
        )
        second = WorkerProcess(settings, "second")
        cluster.append(second)
        wait_for("a second worker", lambda: len(live_workers(pg_url, STALLED_AFTER) or []) == 2)
        herald.slow_delay = 0.1
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(40) == 0, first.log[-3000:]
        assert "herald-russia: handed back to the queue" in first.log
        wait_for(
            "herald-russia to finish on the second worker",
            lambda: "run herald-russia: partial" in second.log,
            60,
            second,
        )
        runs = finished_runs(store)
        assert [r.outcome for r in runs] == ["interrupted", "partial"]
        assert "stopped beating" not in scheduler.log  # handed back, not found dead
        russia = [a for a in herald.expected_articles() if "herald-russia" in a.feeds]
        with store.reading() as session:
            assert session.scalar(select(func.count()).select_from(Article)) == len(russia)
        assert second.terminate() == 0, second.log[-3000:]
        assert scheduler.terminate() == 0, scheduler.log[-3000:]
    finally:
        store.close()


def test_adaptive_schedules_and_retry_after_hold_across_the_cluster(
    tmp_path: Path, pg_url: str, cluster: list[ServiceProcess | WorkerProcess]
) -> None:
    """Workers make the runs, the leader plans them: the server's hint a worker read
    (Cache-Control max-age=3) spaces the leader's adaptive plan, and a Retry-After one
    worker met holds the host on the other worker too."""
    from tests.pollsite import PollSite
    from tests.test_adaptive import gaps, settings_file

    with (
        PollSite(name="cached", published=1, publish_per_fetch=1, cache_control="max-age=3")
        as cached,
        PollSite(name="busyhost", published=1, publish_per_fetch=1) as throttled,
    ):  # fmt: skip
        feeds = [("cached", cached.url("/feed.xml")), ("throttled", throttled.url("/feed.xml"))]
        settings = distributed(settings_file(tmp_path, feeds), tmp_path, pg_url)
        workers = [WorkerProcess(settings, f"worker{i}", concurrency=2) for i in range(2)]
        cluster.extend(workers)
        leader = ServiceProcess(settings, "leader.log")
        cluster.append(leader)
        wait_for("runs of the busy host", lambda: len(throttled.feed_times()) >= 3, 60, leader)
        throttled.throttle(503, "6", prefix="/feed.xml")
        wait_for("the throttled answer", lambda: throttled.count("/feed.xml") >= 4, 30, leader)
        held_from = throttled.feed_times()[3]
        wait_for("a run after the pause", lambda: len(throttled.feed_times()) >= 5, 30, leader)
        wait_for("planned runs", lambda: len(cached.feed_times()) >= 8, 60, leader)
        assert leader.terminate() == 0, leader.log[-3000:]
        for worker in workers:
            assert worker.terminate() == 0, worker.log[-3000:]
    times = cached.feed_times()
    print("cached (max-age=3) intervals in distributed mode:", gaps(times))
    # The first runs are planned before any worker has read the hint (and queue behind the
    # run before them, which still holds the host); from the fourth on the leader plans
    # every 3 s, not the 1 s minimum. Each run starts when a worker takes its job, so a gap
    # at the server varies by the queue's latency, which does not add up over runs.
    later = gaps(times[3:])
    assert min(later) > 2.0 and (times[-1] - times[3]) / len(later) >= 2.7, gaps(times)
    with Store.open(pg_url) as store, store.reading() as session:
        state = session.get(FeedState, "cached")
        assert state is not None and state.poll_interval is not None
        assert state.poll_interval >= 3.0 and "Cache-Control max-age=3" in str(
            state.next_run_reason
        ), (state.poll_interval, state.next_run_reason)
    # No request to the paused host from either worker until its Retry-After (6 s) ends.
    assert throttled.feed_times()[4] - held_from >= 6 - CLOCK_SLACK, throttled.feed_times()
    assert "Traceback" not in leader.log + "".join(w.log for w in workers)
