"""settings.toml: the shipped example loads, and every kind of mistake is reported clearly."""

from __future__ import annotations

import textwrap
import tomllib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import ValidationError

from crawler.article import SiteRules
from crawler.config import (
    ListingFeed,
    RssFeed,
    Schedule,
    SitemapFeed,
    load_settings,
    parse_duration,
    parse_settings,
    resolve_settings_path,
)
from crawler.errors import SettingsError, UnknownFeedError

REPO = Path(__file__).resolve().parent.parent

RSS = """
[[feeds]]
name = "a"
kind = "rss"
url = "https://example.com/feed.xml"
"""


def write(tmp_path: Path, text: str, name: str = "settings.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """Load ``text`` from a file; return its problems without the (checked) file prefix."""
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as raised:
        load_settings(path)
    assert raised.value.path == str(path)
    lines = raised.value.problems
    assert lines, "SettingsError without problems"
    for line in lines:
        assert line.startswith(f"{path}: "), line
        assert "\n" not in line and "pydantic" not in line and "http://errors" not in line
    return [line.removeprefix(f"{path}: ") for line in lines]


# --- the shipped example -----------------------------------------------------------------


def test_shipped_settings_load_with_all_kinds_and_defaults_applied() -> None:
    settings = load_settings(REPO / "settings.toml")

    assert settings.source_path == REPO / "settings.toml"
    assert settings.database.url == f"sqlite:///{REPO / 'data' / 'news.db'}"
    assert {feed.kind for feed in settings.feeds} == {"listing", "rss", "sitemap"}
    assert len({feed.name for feed in settings.feeds}) == len(settings.feeds)
    assert settings.crawl.download_delay >= 1
    assert settings.crawl.obey_robots_txt
    # bbc-world sets only a timezone, aljazeera only a schedule: the rest comes from [defaults].
    assert settings.feed("bbc-world").schedule == settings.defaults.schedule
    assert settings.feed("aljazeera").timezone == settings.defaults.timezone
    for feed in settings.feeds:
        assert feed.url.startswith("https://")
        assert isinstance(feed.schedule.trigger(feed.timezone), IntervalTrigger | CronTrigger)
        if feed.schedule.every is not None:
            assert feed.schedule.every >= timedelta(minutes=15), feed.name


def test_empty_file_gives_defaults_and_no_feeds(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""))

    assert settings.feeds == () and settings.sites == ()
    assert settings.crawl.revisit_window == timedelta(hours=48)
    assert settings.defaults.schedule == Schedule(
        every=timedelta(minutes=15), jitter=timedelta(seconds=30)
    )
    assert settings.defaults.timezone == "UTC"


# --- one test per kind of mistake ---------------------------------------------------------


def test_unknown_top_level_key(tmp_path: Path) -> None:
    assert problems(tmp_path, "[databse]\nurl = 'sqlite:///x.db'\n") == [
        "databse: unknown key (did you mean 'database'?)"
    ]


def test_unknown_key_in_section(tmp_path: Path) -> None:
    assert problems(tmp_path, "[crawl]\ndownload_dealy = 2\n") == [
        "crawl.download_dealy: unknown key (did you mean 'download_delay'?)"
    ]


def test_unknown_key_in_feed(tmp_path: Path) -> None:
    text = "".join(
        f'[[feeds]]\nname = "{name}"\nkind = "rss"\nurl = "https://example.com/{name}"\n'
        for name in ("a", "b")
    )
    text += '[[feeds]]\nname = "herald-ukraine"\nkind = "listing"\nurl = "https://example.com/"\n'
    text += 'shedule = { every = "15m" }\n'
    assert problems(tmp_path, text) == [
        "feeds[2] (name='herald-ukraine').shedule: unknown key (did you mean 'schedule'?)"
    ]


def test_unknown_key_in_feed_schedule(tmp_path: Path) -> None:
    assert problems(tmp_path, RSS + 'schedule = { evry = "5m" }\n') == [
        "feeds[0] (name='a').schedule.evry: unknown key (did you mean 'every'?)"
    ]


def test_key_of_another_kind_is_unknown(tmp_path: Path) -> None:
    assert problems(tmp_path, RSS + "max_pages = 3\n") == [
        "feeds[0] (name='a').max_pages: unknown key"
    ]


def test_wrong_type(tmp_path: Path) -> None:
    text = '[crawl]\nretries = "two"\nobey_robots_txt = "yes"\n' + RSS + "tags = 'world'\n"
    assert problems(tmp_path, text) == [
        "crawl.obey_robots_txt: expected true or false (got 'yes')",
        "crawl.retries: expected an integer (got 'two')",
        "feeds[0] (name='a').tags: expected an array (got 'world')",
    ]


def test_value_out_of_range(tmp_path: Path) -> None:
    text = "[crawl]\ndownload_delay = -1\n" + RSS.replace('"rss"', '"listing"') + "max_pages = 51\n"
    assert problems(tmp_path, text) == [
        "crawl.download_delay: must be from 0 to 3600 (got -1)",
        "feeds[0] (name='a').max_pages: must be from 1 to 50 (got 51)",
    ]


def test_bad_duration(tmp_path: Path) -> None:
    assert problems(tmp_path, RSS + 'schedule = { every = "15 minutes" }\n') == [
        "feeds[0] (name='a').schedule.every: invalid duration '15 minutes' "
        "(write e.g. '90s', '15m', '48h', '2d', '1h30m')"
    ]


def test_duration_as_bare_number_is_refused(tmp_path: Path) -> None:
    assert problems(tmp_path, "[crawl]\nrevisit_window = 3600\n") == [
        "crawl.revisit_window: expected a duration string such as '15m' (got 3600)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("48h", timedelta(hours=48)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 1d 2h ", timedelta(days=1, hours=2)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "m", "1.5h", "15 minutes", "30m1h", "-5m", "1w"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_bad_cron(tmp_path: Path) -> None:
    text = RSS + RSS.replace('"a"', '"b"') + 'schedule = { cron = "61 * * * *" }\n'
    [line] = problems(tmp_path, text)
    assert line.startswith("feeds[1] (name='b').schedule.cron: invalid cron '61 * * * *': ")
    assert "61" in line.split(": ", 2)[2]


def test_cron_with_wrong_field_count(tmp_path: Path) -> None:
    [line] = problems(tmp_path, RSS + 'schedule = { cron = "*/5 * *" }\n')
    assert line == "feeds[0] (name='a').schedule.cron: invalid cron '*/5 * *': " + (
        "Wrong number of fields; got 3, expected 5"
    )


def test_cron_numeric_weekday_is_refused(tmp_path: Path) -> None:
    # APScheduler 3 reads weekday 1 as Tuesday; crontab users mean Monday.
    [line] = problems(tmp_path, RSS + 'schedule = { cron = "0 7 * * 1-5" }\n')
    assert line.startswith("feeds[0] (name='a').schedule.cron: invalid cron '0 7 * * 1-5': ")
    assert "names" in line


def test_schedule_needs_exactly_one_of_every_and_cron(tmp_path: Path) -> None:
    both = RSS + 'schedule = { every = "15m", cron = "*/15 * * * *" }\n'
    neither = RSS + 'schedule = { jitter = "10s" }\n'
    expected = [
        "feeds[0] (name='a').schedule: set exactly one of 'every', 'cron' or 'adaptive = true'"
    ]
    assert problems(tmp_path, both) == expected
    assert problems(tmp_path, neither) == expected


def test_every_below_one_second(tmp_path: Path) -> None:
    assert problems(tmp_path, RSS + 'schedule = { every = "0s" }\n') == [
        "feeds[0] (name='a').schedule.every: must be from 1s to 366d (got '0s')"
    ]


def test_unknown_time_zone(tmp_path: Path) -> None:
    text = '[defaults]\ntimezone = "Europe/Londn"\n' + RSS + 'timezone = "Mars/Olympus"\n'
    hint = " (use an IANA name such as 'Europe/Kyiv')"
    assert problems(tmp_path, text) == [
        "defaults.timezone: unknown time zone 'Europe/Londn'" + hint,
        "feeds[0] (name='a').timezone: unknown time zone 'Mars/Olympus'" + hint,
    ]


def test_duplicate_feed_names(tmp_path: Path) -> None:
    text = RSS + RSS.replace('"a"', '"b"') + RSS
    assert problems(tmp_path, text) == [
        "feeds[2] (name='a').name: duplicate feed name 'a', also at feeds[0]"
    ]


def test_unknown_kind(tmp_path: Path) -> None:
    assert problems(tmp_path, RSS.replace('"rss"', '"atom"')) == [
        "feeds[0] (name='a').kind: unknown kind 'atom' (expected listing, rss or sitemap)"
    ]


def test_missing_kind(tmp_path: Path) -> None:
    assert problems(tmp_path, RSS.replace('kind = "rss"\n', "")) == [
        "feeds[0] (name='a').kind: required key missing (expected listing, rss or sitemap)"
    ]


def test_missing_url(tmp_path: Path) -> None:
    text = '[[feeds]]\nname = "a"\nkind = "sitemap"\n'
    assert problems(tmp_path, text) == ["feeds[0] (name='a').url: required key missing"]


@pytest.mark.parametrize("url", ["ftp://example.com/feed", "example.com/feed", "https://"])
def test_bad_url(tmp_path: Path, url: str) -> None:
    text = RSS.replace("https://example.com/feed.xml", url)
    assert problems(tmp_path, text) == [
        f"feeds[0] (name='a').url: must be an absolute http:// or https:// URL (got {url!r})"
    ]


def test_bad_feed_name(tmp_path: Path) -> None:
    assert problems(tmp_path, RSS.replace('"a"', '"BBC World"')) == [
        "feeds[0] (name='BBC World').name: must be 1-64 lowercase letters, digits, '-' or '_' "
        "(got 'BBC World')"
    ]


def test_invalid_regex_in_deny(tmp_path: Path) -> None:
    [line] = problems(tmp_path, RSS + "deny = ['/video/', '(unclosed']\n")
    assert line.startswith(
        "feeds[0] (name='a').deny[1]: invalid regular expression '(unclosed': missing )"
    )


def test_invalid_css_selector(tmp_path: Path) -> None:
    text = RSS.replace('"rss"', '"listing"') + "article_links = 'div.card a['\n"
    text += '[[sites]]\ndomain = "example.com"\nremove = ["aside", "p::nonsense"]\n'
    assert problems(tmp_path, text) == [
        "feeds[0] (name='a').article_links: invalid CSS selector 'div.card a[': "
        "Expected ident or '*', got <EOF at 11>",
        "sites[0] (domain='example.com').remove[1]: invalid CSS selector 'p::nonsense': "
        "The pseudo-element ::nonsense is unknown",
    ]


def test_parsel_pseudo_elements_are_valid_selectors(tmp_path: Path) -> None:
    text = '[[sites]]\ndomain = "example.com"\npublished = "time::attr(datetime)"\n'
    text += 'title = "h1::text"\n'
    rules = load_settings(write(tmp_path, text)).site_rules("example.com")
    assert rules == SiteRules(
        domain="example.com", title="h1::text", published="time::attr(datetime)"
    )


def test_bad_site_domain_and_duplicate_sites(tmp_path: Path) -> None:
    text = '[[sites]]\ndomain = "https://example.com/"\n'
    text += '[[sites]]\ndomain = "www.news.org"\n[[sites]]\ndomain = "News.org"\n'
    assert problems(tmp_path, text) == [
        "sites[0] (domain='https://example.com/').domain: must be a host name such as "
        "'example.com' (got 'https://example.com/')",
        "sites[2] (domain='News.org').domain: duplicate domain 'News.org', also at sites[1]",
    ]


def test_bad_database_scheme_does_not_echo_password(tmp_path: Path) -> None:
    [line] = problems(tmp_path, '[database]\nurl = "mysql://newsmon:s3cret@db/news"\n')
    assert line.startswith("database.url: unsupported database URL ('mysql')")
    assert "s3cret" not in line


def test_toml_syntax_error_has_line_number(tmp_path: Path) -> None:
    text = '[crawl]\nretries = 2\ntimeout = \n[defaults]\ntimezone = "UTC"\n'
    assert problems(tmp_path, text) == ["line 3, column 11: Invalid value"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(SettingsError) as raised:
        load_settings(str(path))
    assert raised.value.problems == [f"{path}: cannot read: No such file or directory"]


def test_source_path_is_not_a_settings_key(tmp_path: Path) -> None:
    assert problems(tmp_path, 'source_path = "/etc/other.toml"\n') == ["source_path: unknown key"]


def test_many_problems_are_all_reported(tmp_path: Path) -> None:
    text = """
        colour = "blue"
        [crawl]
        timeout = 0
        [[feeds]]
        name = "a"
        kind = "rss"
        url = "https://example.com/a"
        timezone = "Nowhere/City"
        [[feeds]]
        name = "b"
        kind = "podcast"
        url = "https://example.com/b"
        [[feeds]]
        name = "a"
        kind = "sitemap"
        url = "https://example.com/c"
        max_age = "forever"
    """
    found = problems(tmp_path, text)
    assert set(found) == {
        "crawl.timeout: must be from 0.1 to 600 (got 0)",
        "feeds[0] (name='a').timezone: unknown time zone 'Nowhere/City' "
        "(use an IANA name such as 'Europe/Kyiv')",
        "feeds[1] (name='b').kind: unknown kind 'podcast' (expected listing, rss or sitemap)",
        "feeds[2] (name='a').max_age: invalid duration 'forever' "
        "(write e.g. '90s', '15m', '48h', '2d', '1h30m')",
        "colour: unknown key",
        "feeds[2] (name='a').name: duplicate feed name 'a', also at feeds[0]",
    }
    assert len(found) == 6


def test_max_articles_per_run(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "")).crawl.max_articles_per_run == 500
    text = "[crawl]\nmax_articles_per_run = 40\n"
    assert load_settings(write(tmp_path, text)).crawl.max_articles_per_run == 40
    assert problems(tmp_path, "[crawl]\nmax_articles_per_run = 0\n") == [
        "crawl.max_articles_per_run: must be from 1 to 1_000_000 (got 0)"
    ]
    assert problems(tmp_path, "[crawl]\nmax_articles_per_run = 2.5\n") == [
        "crawl.max_articles_per_run: expected an integer (got 2.5)"
    ]


# Every duration, count and size has a range: (table, key, lowest, highest, too low, too high,
# the range as the message says it), values as TOML writes them. Feed keys are checked on a
# feed of the kind that has them.
RANGES = [
    ("crawl", "robots_txt_max_age", '"0s"', '"30d"', None, '"31d"', "0s to 30d"),
    ("crawl", "download_delay", "0", "3600", "-0.5", "3600.5", "0 to 3600"),
    ("crawl", "concurrent_requests_per_host", "1", "100", "0", "101", "1 to 100"),
    ("crawl", "timeout", "0.1", "600", "0.09", "601", "0.1 to 600"),
    ("crawl", "max_page_bytes", "1_000", "1_000_000_000", "999", "1_000_000_001",
     "1000 to 1_000_000_000"),
    ("crawl", "max_articles_per_run", "1", "1_000_000", "0", "1_000_001", "1 to 1_000_000"),
    ("crawl", "revisit_window", '"0s"', '"366d"', None, '"367d"', "0s to 366d"),
    ("crawl", "retries", "0", "10", "-1", "11", "0 to 10"),
    ("crawl", "max_run_time", '"1s"', '"1d"', '"0s"', '"1d1s"', "1s to 1d"),
    ("schedule", "every", '"1s"', '"366d"', '"0s"', '"366d1s"', "1s to 366d"),
    ("schedule", "jitter", '"0s"', '"1d"', None, '"1d1s"', "0s to 1d"),
    ("listing", "max_pages", "1", "50", "0", "51", "1 to 50"),
    ("sitemap", "max_age", '"1h"', '"3660d"', '"59m"', '"3661d"', "1h to 3660d"),
]  # fmt: skip
RANGE_FIELDS = ("table", "key", "low", "high", "under", "over", "allowed")


def settings_with(table: str, key: str, value: str) -> str:
    if table == "crawl":
        return f"[crawl]\n{key} = {value}\n"
    if table == "schedule":
        other = 'every = "15m", ' if key == "jitter" else ""
        return RSS + f"schedule = {{ {other}{key} = {value} }}\n"
    return RSS.replace('"rss"', f'"{table}"') + f"{key} = {value}\n"


def where(table: str, key: str) -> str:
    return {"crawl": f"crawl.{key}", "schedule": f"feeds[0] (name='a').schedule.{key}"}.get(
        table, f"feeds[0] (name='a').{key}"
    )


@pytest.mark.parametrize(RANGE_FIELDS, RANGES)
def test_each_range_allows_its_bounds_and_names_itself_outside(
    tmp_path: Path,
    table: str,
    key: str,
    low: str,
    high: str,
    under: str | None,
    over: str,
    allowed: str,
) -> None:
    for value in (low, high):
        settings = load_settings(write(tmp_path, settings_with(table, key, value)))
        if table == "crawl":
            section: object = settings.crawl
        else:
            section = settings.feeds[0].schedule if table == "schedule" else settings.feeds[0]
        written = tomllib.loads(f"v = {value}")["v"]
        expected = parse_duration(written) if isinstance(written, str) else written
        assert getattr(section, key) == expected
    for value in (v for v in (under, over) if v is not None):
        [line] = problems(tmp_path, settings_with(table, key, value))
        assert line.startswith(f"{where(table, key)}: must be from {allowed} (got "), line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('schedule = { every = "99999999999d" }',
         "schedule.every: must be from 1s to 366d (got '99999999999d')"),
        ('schedule = { every = "15m", jitter = "999999999d" }',
         "schedule.jitter: must be from 0s to 1d (got '999999999d')"),
        (f'schedule = {{ every = "{"9" * 5000}s" }}', "schedule.every: must be from 1s to 366d"),
    ],
)  # fmt: skip
def test_durations_beyond_a_timedelta_are_range_errors(
    tmp_path: Path, text: str, expected: str
) -> None:
    [line] = problems(tmp_path, RSS + text + "\n")
    assert line.startswith(f"feeds[0] (name='a').{expected}"), line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("timeout = inf", "crawl.timeout: must be from 0.1 to 600 (got inf)"),
        ("timeout = nan", "crawl.timeout: must be from 0.1 to 600 (got nan)"),
        ("download_delay = -inf", "crawl.download_delay: must be from 0 to 3600 (got -inf)"),
        ("download_delay = 1e300", "crawl.download_delay: must be from 0 to 3600 (got 1e+300)"),
        ("max_articles_per_run = 9223372036854775808",
         "crawl.max_articles_per_run: must be from 1 to 1_000_000 "
         "(got 9_223_372_036_854_775_808)"),
        ("max_page_bytes = -9223372036854775809",
         "crawl.max_page_bytes: must be from 1000 to 1_000_000_000 "
         "(got -9_223_372_036_854_775_809)"),
        ("retries = -1", "crawl.retries: must be from 0 to 10 (got -1)"),
    ],
)  # fmt: skip
def test_infinite_huge_and_negative_numbers_are_range_errors(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert problems(tmp_path, f"[crawl]\n{text}\n") == [expected]


def test_integer_too_long_to_read_names_the_file(tmp_path: Path) -> None:
    assert problems(tmp_path, "[crawl]\nretries = 1" + "0" * 5000 + "\n") == [
        "an integer longer than 4300 digits"
    ]


@pytest.mark.parametrize("nesting", ["[" * 5000 + "]" * 5000, "{a = " * 5000 + "1" + "}" * 5000])
def test_nesting_too_deep_for_the_toml_reader_names_the_file(tmp_path: Path, nesting: str) -> None:
    assert problems(tmp_path, f"x = {nesting}\n") == ["arrays or tables nested too deeply to read"]


def test_error_names_the_file_as_given(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_settings("[crawl]\nretries = -1\n", path="conf/newsmon.toml")
    assert str(raised.value) == "conf/newsmon.toml: crawl.retries: must be from 0 to 10 (got -1)"


# --- database URLs ------------------------------------------------------------------------


def test_relative_sqlite_path_is_relative_to_the_settings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    path = write(conf, '[database]\nurl = "sqlite:///db/news.db?timeout=5"\n')
    monkeypatch.chdir(tmp_path)  # somewhere else than the settings file

    url = load_settings(path).database.url
    assert url == f"sqlite:///{conf.resolve() / 'db' / 'news.db'}?timeout=5"


def test_default_sqlite_path_is_relative_to_the_settings_file(tmp_path: Path) -> None:
    url = load_settings(write(tmp_path, "")).database.url
    assert url == f"sqlite:///{tmp_path.resolve() / 'data' / 'news.db'}"


@pytest.mark.parametrize(
    ("written", "loaded"),
    [
        ("sqlite:////srv/newsmon/news.db", "sqlite:////srv/newsmon/news.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite://", "sqlite://"),
        ("postgresql://u:p@db:5432/news", "postgresql+psycopg://u:p@db:5432/news"),
        ("postgresql+psycopg://u@db/news", "postgresql+psycopg://u@db/news"),
    ],
)
def test_database_urls_kept_or_normalised(tmp_path: Path, written: str, loaded: str) -> None:
    path = write(tmp_path, f'[database]\nurl = "{written}"\n')
    assert load_settings(path).database.url == loaded


def test_sqlite_url_with_two_slashes(tmp_path: Path) -> None:
    assert problems(tmp_path, '[database]\nurl = "sqlite://news.db"\n') == [
        "database.url: a SQLite URL needs three slashes: sqlite:///relative/path.db"
    ]


# --- defaults, schedules, feeds, sites ------------------------------------------------------


def test_feeds_inherit_defaults(tmp_path: Path) -> None:
    text = """
        [defaults]
        timezone = "Europe/Kyiv"
        schedule = { every = "20m", jitter = "1m" }
        [[feeds]]
        name = "plain"
        kind = "rss"
        url = "https://example.com/rss"
        [[feeds]]
        name = "own-interval"
        kind = "sitemap"
        url = "https://example.com/sitemap.xml"
        schedule = { cron = "*/30 6-22 * * mon-fri" }
        timezone = "UTC"
        [[feeds]]
        name = "no-jitter"
        kind = "rss"
        url = "https://example.com/other"
        schedule = { every = "1h", jitter = "0s" }
    """
    settings = load_settings(write(tmp_path, text))
    plain, own, no_jitter = settings.feeds

    assert plain.schedule == settings.defaults.schedule and plain.timezone == "Europe/Kyiv"
    assert own.schedule == Schedule(cron="*/30 6-22 * * mon-fri", jitter=timedelta(minutes=1))
    assert own.timezone == "UTC"
    assert no_jitter.schedule.jitter == timedelta(0)


def test_feed_kinds_and_their_fields(tmp_path: Path) -> None:
    text = """
        [[feeds]]
        name = "tag-page"
        kind = "listing"
        url = "https://example.com/tag/world"
        tags = [" World ", "POLITICS", "world", ""]
        article_links = "article h2 a"
        next_page = "a[rel=next]"
        max_pages = 3
        [[feeds]]
        name = "news-map"
        kind = "sitemap"
        url = "https://example.com/news.xml"
        max_age = "2d"
        enabled = false
        [[feeds]]
        name = "rss"
        kind = "rss"
        url = "https://example.com/rss"
    """
    settings = load_settings(write(tmp_path, text))
    listing, sitemap, rss = settings.feeds

    assert isinstance(listing, ListingFeed) and isinstance(sitemap, SitemapFeed)
    assert isinstance(rss, RssFeed)
    assert listing.tags == ("world", "politics")
    assert (listing.article_links, listing.next_page, listing.max_pages) == (
        "article h2 a",
        "a[rel=next]",
        3,
    )
    assert sitemap.max_age == timedelta(days=2)
    assert settings.enabled_feeds() == (listing, rss)


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, RSS))
    with pytest.raises(ValidationError):
        settings.feeds[0].url = "https://elsewhere.example/"


def test_feed_lookup(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, RSS + RSS.replace('"a"', '"b"')))

    assert settings.feed("b").name == "b"
    with pytest.raises(UnknownFeedError) as raised:
        settings.feed("x")
    assert str(raised.value) == "unknown feed 'x' (settings.toml defines: a, b)"


def test_interval_trigger() -> None:
    schedule = Schedule(every=timedelta(minutes=15), jitter=timedelta(seconds=30))
    trigger = schedule.trigger("Europe/London")

    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(minutes=15)
    assert trigger.jitter == 30
    assert str(trigger.timezone) == "Europe/London"


def test_cron_trigger_runs_in_the_feed_time_zone() -> None:
    trigger = Schedule(cron="0 7 * * mon-fri").trigger("Europe/Kyiv")
    kyiv = ZoneInfo("Europe/Kyiv")

    assert isinstance(trigger, CronTrigger)
    assert trigger.jitter is None
    saturday = datetime(2024, 5, 11, 12, 0, tzinfo=kyiv)
    assert trigger.get_next_fire_time(None, saturday) == datetime(2024, 5, 13, 7, 0, tzinfo=kyiv)


def test_url_allowed() -> None:
    def feed(allow: tuple[str, ...] = (), deny: tuple[str, ...] = ()) -> RssFeed:
        return RssFeed(name="a", url="https://example.com/", allow=allow, deny=deny)

    anything = feed()
    allow_only = feed(allow=(r"/\d{4}/", r"/story/"))
    deny_only = feed(deny=("/video/",))
    both = feed(allow=(r"/\d{4}/",), deny=("/live/",))

    assert anything.url_allowed("https://example.com/whatever")
    assert allow_only.url_allowed("https://example.com/2024/may/x")
    assert allow_only.url_allowed("https://example.com/story/x")
    assert not allow_only.url_allowed("https://example.com/about")
    assert deny_only.url_allowed("https://example.com/2024/x")
    assert not deny_only.url_allowed("https://example.com/video/x")
    assert both.url_allowed("https://example.com/2024/x")
    assert not both.url_allowed("https://example.com/live/2024/x")
    assert not both.url_allowed("https://example.com/about")


def test_site_rules_lookup(tmp_path: Path) -> None:
    text = """
        [[sites]]
        domain = "www.example.com"
        title = "h1.headline"
        [[sites]]
        domain = "news.example.com"
        body = "div.story"
        remove = [".ad", "aside"]
    """
    settings = load_settings(write(tmp_path, text))
    general = SiteRules(domain="www.example.com", title="h1.headline")
    news = SiteRules(domain="news.example.com", body="div.story", remove=(".ad", "aside"))

    assert settings.site_rules("example.com") == general
    assert settings.site_rules("WWW.Example.com") == general
    assert settings.site_rules("blog.example.com") == general
    assert settings.site_rules("news.example.com") == news  # the most specific wins
    assert settings.site_rules("www.news.example.com") == news
    assert settings.site_rules("example.com:8080") == general  # as crawler.urls.site_of gives it
    assert settings.site_rules("notexample.com") is None
    assert settings.site_rules("example.org") is None


# --- where the settings file is ------------------------------------------------------------


def test_resolve_settings_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSMON_SETTINGS", raising=False)
    assert resolve_settings_path(None) == Path("settings.toml")

    monkeypatch.setenv("NEWSMON_SETTINGS", "/etc/newsmon/settings.toml")
    assert resolve_settings_path(None) == Path("/etc/newsmon/settings.toml")
    assert resolve_settings_path("mine.toml") == Path("mine.toml")  # the command line wins
