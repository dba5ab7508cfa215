"""What the service says and decides at start, and when a reload is rejected: the real
service in a subprocess, on feeds whose host refuses connections (nothing leaves 127.0.0.1).
"""

from __future__ import annotations

import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.config import PLACEHOLDER_USER_AGENT_WARNING
from crawler.store.models import FeedState
from crawler.store.store import RunCounts, Store
from tests.service_process import ServiceProcess, runs_by_feed, wait_for

pytestmark = pytest.mark.slow

# Every line of the text log: "2026-12-02T14:35:28 WARNING crawler.service: ..."
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) +\S+: ")


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def feed_toml(name: str, url: str, schedule: str, enabled: bool = True) -> str:
    return f'\n[[feeds]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"\nschedule = {schedule}\n' + (
        "" if enabled else "enabled = false\n"
    )


def open_store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path}/news.db")


def next_run_of(store: Store, feed: str) -> datetime | None:
    with store.reading() as session:
        state = session.get(FeedState, feed)
        assert state is not None
        return state.next_run_at


def test_start_with_no_enabled_feed_warns_and_clears_a_disabled_feeds_next_run(
    tmp_path: Path,
) -> None:
    settings = tmp_path / "settings.toml"
    url = f"http://127.0.0.1:{closed_port()}/rss.xml"
    settings.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n'
        + feed_toml("parked", url, '{ every = "1h" }', enabled=False),
        encoding="utf-8",
    )
    with open_store(tmp_path) as store:
        store.sync_feeds([("parked", "rss", url)])
        store.set_next_run("parked", datetime.now(UTC) + timedelta(hours=1))
    service = ServiceProcess(settings)
    try:
        wait_for("the start", lambda: "service started: 0 feeds" in service.log, service=service)
        with open_store(tmp_path) as store:
            assert next_run_of(store, "parked") is None
        assert service.terminate() == 0
    finally:
        service.close()
    lines = service.log.splitlines()
    assert [line for line in lines if "no enabled feeds" in line] == [
        next(line for line in lines if "no enabled feeds" in line)
    ]
    assert "WARNING crawler.service: no enabled feeds in " in service.log
    # The shipped user agent is left as is: said once, in one line.
    assert sum(PLACEHOLDER_USER_AGENT_WARNING in line for line in lines) == 1
    assert all(LOG_LINE.match(line) for line in lines), service.log


def test_start_reruns_a_cut_short_feed_unless_it_backs_off_and_logs_every_next_run(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/rss.xml"
    settings = tmp_path / "settings.toml"
    good = (
        f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n\n[crawl]\n'
        'user_agent = "newsmon-test/1 (+mailto:ops@example.org)"\nretries = 0\ntimeout = 5\n'
        + feed_toml("yearly", url, '{ cron = "0 0 1 1 *", jitter = "0s" }')
        + feed_toml("failing", url, '{ every = "1h", jitter = "0s" }')
        + feed_toml("cut-short", url, '{ every = "1h", jitter = "0s" }')
    )
    settings.write_text(good, encoding="utf-8")
    with open_store(tmp_path) as store:
        store.sync_feeds([(name, "rss", url) for name in ("yearly", "failing", "cut-short")])
        for _ in range(2):  # two failures in a row: the next attempt waits 2 intervals
            store.finish_run(store.start_run("failing"), RunCounts(), "failed", "refused")
        store.start_run("failing")  # then a crash cut short a run of each
        store.start_run("cut-short")
    service = ServiceProcess(settings)
    store = open_store(tmp_path)
    try:
        wait_for("the start", lambda: "service started: 3 feeds" in service.log, service=service)
        wait_for(
            "the cut-short feed to run again",
            lambda: runs_by_feed(store).get("cut-short", 0) >= 1,
            service=service,
        )
        log = service.log
        about_failing = [line for line in log.splitlines() if "feed failing:" in line]
        assert len(about_failing) == 2, log  # the decision, and its next run
        assert (
            "cut its last run short, but it is backing off after repeated failures"
            in (about_failing[0])
        )
        assert (
            "feed cut-short: a previous process cut its last run short: running it again now" in log
        )
        assert (
            "running them again" not in log
            and "backing off after repeated failures; next" not in log
        )
        year = datetime.now(UTC).year + 1
        assert f"feed yearly: next run at {year}-01-01T00:00:00+00:00" in log
        assert next_run_of(store, "yearly") == datetime(year, 1, 1, tzinfo=UTC)
        retry_at = next_run_of(store, "failing")
        assert retry_at is not None and retry_at > datetime.now(UTC) + timedelta(hours=1)
        assert f"feed failing: next run at {retry_at.isoformat(timespec='seconds')}" in log
        assert runs_by_feed(store).get("failing") == 2  # no new attempt
        assert PLACEHOLDER_USER_AGENT_WARNING not in log

        # A rejected reload: one line per problem, each with the log prefix.
        broken = good.replace('kind = "rss"', 'kind = "rsss"', 1).replace(
            "retries = 0", "retries = -1"
        )
        settings.write_text(broken, encoding="utf-8")
        service.hangup()
        wait_for(
            "both problems",
            lambda: service.log.count("reload rejected, keeping the running settings: ") >= 2,
            service=service,
        )
        assert service.terminate() == 0
    finally:
        service.close()
        store.close()
    rejected = [line for line in service.log.splitlines() if "reload rejected" in line]
    assert len(rejected) == 2 and all(" ERROR   crawler.service: " in line for line in rejected)
    assert any("crawl.retries" in line for line in rejected)
    assert any("feeds[0]" in line and "rsss" in line for line in rejected)
    assert all(LOG_LINE.match(line) for line in service.log.splitlines()), service.log
