"""Polling that adapts to each feed and obeys the server (issue 13, part 1).

Pure parts first (server hints, interval maths, the schedule keys), then real crawls
(``newsmon crawl`` subprocesses) against a fixture site on 127.0.0.1, then the service
itself with adaptive schedules on sites that keep publishing. Intervals are asserted from
the fixture server's own request log.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.config import load_settings
from crawler.errors import SettingsError
from crawler.extract.poll_hints import feed_hints, header_hints, retry_after, strongest
from crawler.polling import RunSample, is_idle, plan_next, rate_interval
from crawler.store.models import ArticleFeed, CrawlRun, FeedState, HostPause
from crawler.store.store import Store
from tests.pollsite import PollSite, http_date
from tests.service_process import ServiceProcess, wait_for

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)


# -- server hints -----------------------------------------------------------------------


def test_feed_hints_read_ttl_and_the_syndication_module() -> None:
    body = (
        b'<rss xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><ttl>45</ttl>'
        b"<sy:updatePeriod>daily</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>"
    )
    assert feed_hints(body) == [
        (timedelta(minutes=45), "<ttl> 45 min"),
        (timedelta(hours=6), "sy:updatePeriod daily ×4"),
    ]
    assert strongest(feed_hints(body)) == (timedelta(hours=6), "sy:updatePeriod daily ×4")
    assert feed_hints(b"<rss><channel><ttl>0</ttl><sy:updatePeriod>often</sy:updatePeriod>") == []


def test_header_hints_read_max_age_and_expires() -> None:
    assert header_hints("public, max-age=300", None, None, NOW) == [
        (timedelta(seconds=300), "Cache-Control max-age=300")
    ]
    assert header_hints("no-cache, max-age=300", None, None, NOW) == []
    expires = http_date(NOW + timedelta(minutes=20))
    assert header_hints(None, expires, http_date(NOW), NOW) == [
        (timedelta(minutes=20), f"Expires {expires}")
    ]
    # max-age wins over Expires; an Expires in the past or unreadable says nothing.
    assert header_hints("max-age=60", expires, None, NOW)[0][0] == timedelta(seconds=60)
    assert header_hints(None, http_date(NOW - S), None, NOW) == []
    assert header_hints(None, "soon", None, NOW) == []


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after("120", NOW) == NOW + timedelta(seconds=120)
    assert retry_after(http_date(NOW + timedelta(hours=1)), NOW) == NOW + timedelta(hours=1)
    assert retry_after("later", NOW) is None
    assert retry_after(None, NOW) is None


# -- interval maths ---------------------------------------------------------------------


def runs(*new: int, gap: timedelta = timedelta(minutes=10)) -> list[RunSample]:
    start = NOW - gap * len(new)
    return [RunSample(start + gap * i, 20, n) for i, n in enumerate(new)]


def test_the_interval_follows_the_rate_within_the_bounds() -> None:
    low, high = timedelta(minutes=5), timedelta(hours=6)
    # 12 new in 2 h: one every 10 minutes.
    assert rate_interval(runs(*[1] * 12), NOW, low, high).interval == timedelta(minutes=10)
    # A wire service: far more than the minimum allows.
    assert rate_interval(runs(*[50] * 12), NOW, low, high).interval == low
    # Nothing new at all in the window: the maximum.
    quiet = rate_interval(runs(0, 0, 0), NOW, low, high)
    assert quiet.interval == high and "nothing new" in quiet.reason
    assert rate_interval([], NOW, low, high).interval == low


def test_a_run_with_nothing_new_stretches_the_interval_step_by_step() -> None:
    low, high = timedelta(minutes=5), timedelta(hours=6)
    samples = runs(*[6] * 11, 0)  # busy, then one run with nothing new
    plan = rate_interval(samples, NOW, low, high, previous=timedelta(minutes=5))
    assert plan.interval == timedelta(minutes=7.5)
    assert "nothing new" in plan.reason


def test_the_server_hint_is_a_floor() -> None:
    from crawler.config_schedule import Schedule

    schedule = Schedule(adaptive=True, min=timedelta(minutes=5), max=timedelta(hours=6))
    busy = runs(*[50] * 12)
    hint = (timedelta(minutes=30), "<ttl> 30 min")
    plan = plan_next(schedule, busy, NOW, hint=hint)
    assert plan.interval == timedelta(minutes=30) and plan.reason.startswith("server hint: <ttl>")
    # A hint shorter than the rate's interval changes nothing.
    assert plan_next(schedule, busy, NOW, hint=(S, "x")).interval == timedelta(minutes=5)


def test_idle_is_far_longer_than_the_usual_interval() -> None:
    usual = timedelta(minutes=10)
    assert is_idle(NOW - timedelta(hours=2), None, usual, NOW)
    assert not is_idle(NOW - timedelta(minutes=90), None, usual, NOW)
    assert is_idle(None, NOW - timedelta(hours=3), usual, NOW)  # never found anything
    assert not is_idle(None, None, usual, NOW)


# -- settings ---------------------------------------------------------------------------


FEED = """
[[feeds]]
name = "a"
kind = "rss"
url = "https://example.com/feed.xml"
"""


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SettingsError) as raised:
        load(tmp_path, text)
    return [line.split(": ", 1)[1] for line in raised.value.problems]


def test_adaptive_schedule_keys_in_defaults_and_feeds(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        '[defaults]\nschedule = { adaptive = true, min = "2m", max = "3h" }\n'
        + FEED
        + FEED.replace('"a"', '"b"')
        + 'schedule = { every = "10m" }\n'
        + FEED.replace('"a"', '"c"')
        + "schedule = { adaptive = true }\n"
        + '[crawl]\nretry_after_cap = "2h"\nrevisit_min_interval = "30m"\nrevisit_share = 0.25\n',
    )
    a, b, c = settings.feeds  # type: ignore[attr-defined]
    assert a.schedule.adaptive and a.schedule.lowest == timedelta(minutes=2)
    assert a.schedule.highest == timedelta(hours=3)
    assert not b.schedule.adaptive and b.schedule.every == timedelta(minutes=10)
    assert (c.schedule.lowest, c.schedule.highest) == (timedelta(minutes=5), timedelta(hours=6))
    crawl = settings.crawl  # type: ignore[attr-defined]
    assert crawl.retry_after_cap == timedelta(hours=2)
    assert crawl.revisit_min_interval == timedelta(minutes=30)
    assert crawl.revisit_share == 0.25


def test_adaptive_schedule_problems_name_file_feed_and_key(tmp_path: Path) -> None:
    assert problems(tmp_path, FEED + 'schedule = { adaptive = true, minn = "1m" }\n') == [
        "feeds[0] (name='a').schedule.minn: unknown key (did you mean 'min'?)"
    ]
    assert problems(
        tmp_path, FEED + 'schedule = { adaptive = true, min = "2h", max = "1h" }\n'
    ) == ["feeds[0] (name='a').schedule: 'min' is longer than 'max'"]
    assert problems(tmp_path, FEED + 'schedule = { every = "1h", max = "2h" }\n') == [
        "feeds[0] (name='a').schedule: 'min' and 'max' bound an adaptive schedule:"
        " set 'adaptive = true'"
    ]
    shown = problems(tmp_path, "[crawl]\nrevisit_share = 1.5\n")
    assert len(shown) == 1 and shown[0].startswith("crawl.revisit_share:")


# -- crawls -----------------------------------------------------------------------------


def settings_file(
    tmp_path: Path, feeds: list[tuple[str, str]], extra: str = "", concurrency: int = 4
) -> Path:
    blocks = "".join(
        f'\n[[feeds]]\nname = "{name}"\nkind = "rss"\nurl = "{url}"\n' for name, url in feeds
    )
    path = tmp_path / "settings.toml"
    path.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path}/news.db"

[crawl]
download_delay = 0
concurrent_requests_per_host = {concurrency}
timeout = 10
retries = 1
obey_robots_txt = false
allow_private_networks = true
{extra}

[defaults]
schedule = {{ adaptive = true, min = "1s", max = "6s" }}
{blocks}
""",
        encoding="utf-8",
    )
    return path


def crawl(settings: Path, *feeds: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings), *feeds]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_retry_after_pauses_the_host_across_processes_and_is_no_failure(tmp_path: Path) -> None:
    with PollSite(published=3) as site:
        settings = settings_file(tmp_path, [("one", site.url("/feed.xml"))])
        site.throttle(429, "120")
        done = crawl(settings)
        assert done.returncode == 0, done.stderr
        assert "answered 429 with Retry-After" in done.stderr
        assert done.stderr.count("with Retry-After: no request to it until") == 1  # said once
        assert site.count("/feed.xml") == 1 and site.count("/a/") == 0  # not retried
        with Store.open(f"sqlite:///{tmp_path}/news.db") as store, store.reading() as session:
            pause = session.scalars(select(HostPause)).one()
            assert pause.host == site.base_url.removeprefix("http://")
            assert pause.status == 429
            assert timedelta(seconds=110) < pause.until - pause.paused_at <= timedelta(seconds=121)
            run = session.scalars(select(CrawlRun)).one()
            assert run.outcome == "paused" and run.retry_after == pause.until
            state = session.get(FeedState, "one")
            assert state is not None and state.consecutive_failures == 0
        # A new process keeps the pause: no request at all reaches the host.
        seen = len(site.requests)
        again = crawl(settings)
        assert again.returncode == 0, again.stderr
        assert len(site.requests) == seen
        status = subprocess.run(
            [sys.executable, "-m", "crawler", "status", "--settings", str(settings)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert f"host {pause.host}: paused until" in status.stdout, status.stdout


def test_retry_after_on_an_article_holds_every_request_to_the_host(tmp_path: Path) -> None:
    with PollSite(published=5) as site:
        settings = settings_file(tmp_path, [("one", site.url("/feed.xml"))], concurrency=1)
        site.throttle(503, "60", prefix="/a/")
        done = crawl(settings)
        assert done.returncode == 0, done.stderr
        assert site.count("/a/") == 1  # the first article's 503; the other four wait
        with Store.open(f"sqlite:///{tmp_path}/news.db") as store, store.reading() as session:
            run = session.scalars(select(CrawlRun)).one()
            assert run.retry_after is not None and run.errors == 0
            state = session.get(FeedState, "one")
            assert state is not None and state.consecutive_failures == 0
        # The feed's validators were not saved: once the pause ends, its articles are fetched.
        with Store.open(f"sqlite:///{tmp_path}/news.db") as store:
            assert store.page_validators("one", site.url("/feed.xml")) is None


def test_retry_after_is_bounded_by_the_cap(tmp_path: Path) -> None:
    with PollSite(published=1) as site:
        settings = settings_file(
            tmp_path, [("one", site.url("/feed.xml"))], 'retry_after_cap = "30s"'
        )
        site.throttle(503, http_date(datetime.now(UTC) + timedelta(days=2)))
        assert crawl(settings).returncode == 0
        with Store.open(f"sqlite:///{tmp_path}/news.db") as store, store.reading() as session:
            pause = session.scalars(select(HostPause)).one()
            assert pause.status == 503
            assert pause.until - pause.paused_at <= timedelta(seconds=31)


def test_two_feeds_finding_one_new_article_at_once_download_it_once(tmp_path: Path) -> None:
    with PollSite(name="wire", published=4) as site:
        feed = site.url("/feed.xml")
        settings = settings_file(tmp_path, [("first", feed), ("second", feed)])
        done = crawl(settings)
        assert done.returncode == 0, done.stderr
        assert site.count("/feed.xml") == 2  # each feed reads its own copy of the feed
        for index in range(1, 5):
            assert site.count(f"/a/{index}.html") == 1, site.requests
        with Store.open(f"sqlite:///{tmp_path}/news.db") as store, store.reading() as session:
            links = {(f.feed, f.article_id) for f in session.scalars(select(ArticleFeed))}
        assert len(links) == 8  # both feeds have all four articles


def test_rechecks_are_conditional_and_spaced_by_revisit_min_interval(tmp_path: Path) -> None:
    # The site publishes an article at each feed request, so the feed changes every run.
    with PollSite(published=1, publish_per_fetch=1) as site:
        settings = settings_file(
            tmp_path,
            [("one", site.url("/feed.xml"))],
            'revisit_window = "1h"\nrevisit_min_interval = "10s"\nrevisit_share = 1.0',
        )
        assert crawl(settings).returncode == 0
        first = {s.path: s.at for s in site.seen("/a/")}
        assert sorted(first) == ["/a/1.html", "/a/2.html"]
        assert crawl(settings).returncode == 0
        assert site.feed_times()[1] - max(first.values()) < 10  # within revisit_min_interval
        # Sooner than revisit_min_interval: only the new article, no re-check.
        assert [s.path for s in site.seen("/a/")][2:] == ["/a/3.html"]
        # The configured spacing itself, measured on the server's clock.
        wait_for(
            "revisit_min_interval to pass",
            lambda: time.monotonic() - max(first.values()) > 10.2,
            30,
        )
        assert crawl(settings).returncode == 0
        rechecks = [s for s in site.seen("/a/")[3:] if s.if_none_match is not None]
        assert {r.path for r in rechecks} >= {"/a/1.html", "/a/2.html"}, site.seen("/a/")
        assert all(r.status == 304 for r in rechecks)
        for r in rechecks:
            earlier = [s.at for s in site.seen(r.path) if s.at < r.at]
            assert r.at - max(earlier) >= 10.0
        with Store.open(f"sqlite:///{tmp_path}/news.db") as store, store.reading() as session:
            last = session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
            assert last is not None and last.rechecks == len(rechecks)
            assert last.not_modified == len(rechecks)


def test_rechecks_take_at_most_their_share_of_a_hosts_requests(tmp_path: Path) -> None:
    with PollSite(published=5, publish_per_fetch=1) as site:
        settings = settings_file(
            tmp_path,
            [("one", site.url("/feed.xml"))],
            'revisit_window = "1h"\nrevisit_min_interval = "0s"\nrevisit_share = 0.5',
        )
        assert crawl(settings).returncode == 0
        before = len(site.requests)
        assert crawl(settings).returncode == 0
        second = site.requests[before:]
        rechecks = [s for s in second if s.if_none_match is not None]
        assert rechecks, "nothing re-checked"
        assert len(rechecks) / len(second) <= 0.5, second
        assert len(rechecks) < 6  # the rest wait for a later run


# -- the service ------------------------------------------------------------------------


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 2) for a, b in itertools.pairwise(times)]


@pytest.mark.slow
def test_the_service_adapts_intervals_and_obeys_hints_and_retry_after(tmp_path: Path) -> None:
    with (
        PollSite(name="busy", published=1, publish_per_fetch=1) as busy,
        PollSite(
            name="cached", published=1, publish_per_fetch=1, cache_control="max-age=3"
        ) as cached,
        PollSite(name="ttl", published=1, ttl_minutes=1, update_period=("hourly", 120)) as ttl,
        PollSite(name="busyhost", published=2) as throttled,
    ):
        throttled.throttle(503, http_date(datetime.now(UTC) + timedelta(seconds=40)))
        settings = settings_file(
            tmp_path,
            [
                ("busy", busy.url("/feed.xml")),
                ("cached", cached.url("/feed.xml")),
                ("ttl", ttl.url("/feed.xml")),
                ("throttled", throttled.url("/feed.xml")),
            ],
        )
        service = ServiceProcess(settings)
        try:
            wait_for("a busy stretch", lambda: len(busy.feed_times()) >= 7, 60, service)
            busy.publish_per_fetch = 0  # the site goes quiet
            quiet_from = len(busy.feed_times())
            wait_for(
                "the interval to reach max", lambda: len(busy.feed_times()) >= quiet_from + 6, 90,
                service,
            )  # fmt: skip
            status = subprocess.run(
                [sys.executable, "-m", "crawler", "status", "--settings", str(settings),
                 "--format", "json"],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert service.terminate() == 0, service.log[-3000:]
        finally:
            service.close()
        times = busy.feed_times()
        busy_gaps, quiet_gaps = gaps(times[:quiet_from]), gaps(times[quiet_from - 1 :])
        print("adaptive intervals while busy:", busy_gaps)
        print("adaptive intervals after publishing stopped:", quiet_gaps)
        print("cached (max-age=3) intervals:", gaps(cached.feed_times()))
        # Never below min; near it while every run finds something new.
        assert all(g >= 0.95 for g in busy_gaps + quiet_gaps), times
        assert max(busy_gaps[1:]) < 3.0, busy_gaps
        # Once quiet, the interval grows run by run up to max (6 s), never past it (plus the
        # time a run takes).
        assert quiet_gaps[-1] >= 5.0 and max(quiet_gaps) < 8.0, quiet_gaps
        assert quiet_gaps[-1] > quiet_gaps[0] + 2, quiet_gaps
        # The server hint is a floor: Cache-Control max-age=3 although it keeps publishing.
        assert all(g >= 2.95 for g in gaps(cached.feed_times())), cached.feed_times()
        # <ttl>1</ttl>: one minute, longer than the whole test.
        assert ttl.count("/feed.xml") == 1
        # Retry-After (a date): the host is left alone until then.
        assert throttled.count("/feed.xml") == 1 and throttled.count("/a/") == 0
        rows = {r["name"]: r for r in json.loads(status.stdout)}
        assert rows["busy"]["next_run_reason"].startswith("adaptive:"), rows["busy"]
        assert "Cache-Control max-age=3" in rows["cached"]["next_run_reason"], rows["cached"]
        assert "<ttl> 1 min" in rows["ttl"]["next_run_reason"], rows["ttl"]
        assert rows["throttled"]["next_run_reason"].startswith("Retry-After:"), rows["throttled"]
        assert rows["throttled"]["consecutive_failures"] == 0
        assert not any(r["idle"] for r in rows.values())
        with Store.open(f"sqlite:///{tmp_path}/news.db") as store, store.reading() as session:
            state = session.get(FeedState, "ttl")
            assert state is not None and state.poll_interval == 60.0


# -- status -----------------------------------------------------------------------------


def test_status_shows_why_and_marks_a_feed_idle_after_ten_usual_intervals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler.cli import main
    from crawler.store.store import RunCounts, utcnow
    from tests.test_cli import SETTINGS  # herald-rss every 15m (enabled), courier off

    settings = tmp_path / "settings.toml"
    settings.write_text(SETTINGS, encoding="utf-8")
    now = utcnow()
    with Store.open(f"sqlite:///{tmp_path}/news.db") as store:
        store.sync_feeds([("herald-rss", "rss", "https://herald.example/rss.xml")])
        run = store.start_run("herald-rss", now - timedelta(hours=5))
        store.finish_run(run, RunCounts(articles_found=3, articles_new=1), "ok")
        store.save_plan("herald-rss", now + timedelta(minutes=15), "every 15m")
        with store.writing() as session:
            state = session.get(FeedState, "herald-rss")
            assert state is not None
            state.last_new_at = now - timedelta(minutes=140)  # under 10 × 15m: not idle yet
    assert main(["status", "--settings", str(settings), "--format", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["herald-rss"]["next_run_reason"] == "every 15m"
    assert rows["herald-rss"]["idle"] is False
    with Store.open(f"sqlite:///{tmp_path}/news.db") as store, store.writing() as session:
        state = session.get(FeedState, "herald-rss")
        assert state is not None
        state.last_new_at = now - timedelta(minutes=160)  # over 10 × 15m
    assert main(["status", "--settings", str(settings)]) == 0
    table = capsys.readouterr().out
    assert "herald-rss (idle)" in table and "every 15m" in table and " why " in table
    assert "courier-economy (off)" in table and "courier-economy (off) (idle)" not in table


def test_the_rate_counts_articles_new_to_the_feed_even_when_another_feed_stored_them(
    tmp_path: Path,
) -> None:
    from crawler.store.store import RunCounts, utcnow
    from tests.factories import make_article

    with Store.open(f"sqlite:///{tmp_path}/news.db") as store:
        store.sync_feeds(
            [("a", "rss", "https://a.example/rss"), ("b", "rss", "https://b.example/")]
        )
        since = utcnow() - timedelta(minutes=1)
        first = store.start_run("b")
        store.finish_run(first, RunCounts(articles_found=1), "ok")
        run = store.start_run("b")
        article = make_article("https://a.example/1", title="One", body="A body of words. " * 20)
        saved = store.save_article(article, feed="a")  # feed a stored it first
        store.link_known(
            [(saved.article_id, "https://a.example/1")], feed="b", tags=(), seen_at=utcnow()
        )
        store.finish_run(run, RunCounts(articles_found=1), "ok")
        runs = store.past_runs("b", since)
    assert [r.articles_new for r in runs] == [0, 1]
