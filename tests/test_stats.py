"""Article counts by day, tag, site and feed, and the text chart ``newsmon stats`` prints."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.article import Article as Parsed
from crawler.cli import main
from crawler.store.stats import Count, article_counts, render_chart, total_articles
from crawler.store.store import Store
from tests.factories import make_article

T0 = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)

# (site, published_at, feed, tags); a None date is dated by first_seen_at (= T0 below).
ROWS = [
    ("herald.example", T0 - timedelta(days=3), "herald-rss", ("politics",)),
    ("herald.example", T0 - timedelta(days=3, hours=2), "herald-rss", ("politics", "economy")),
    ("courier.example", T0 - timedelta(days=1), "courier-sitemap", ("economy",)),
    # 23:30 at UTC-5 on 30 June is 04:30 UTC on 1 July: days are UTC days.
    ("www.courier.example", datetime(2024, 6, 30, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
     "courier-sitemap", ("economy",)),
    ("gazette.example", None, "herald-rss", ()),
]  # fmt: skip


def parsed(n: int) -> Parsed:
    site, published_at, _, tags = ROWS[n]
    return make_article(
        f"https://{site}/story-{n}",
        title=f"Story {n}",
        body=f"Body of story {n}.",
        published_at=published_at,
        tags=tags,
    )


def fill(store: Store) -> None:
    for n, row in enumerate(ROWS):
        store.save_article(parsed(n), feed=row[2], fetched_at=T0)


@pytest.fixture
def store(db_url: str):
    s = Store.open(db_url)
    fill(s)
    yield s
    s.close()


def counts(store: Store, by: str, **kwargs: object) -> list[tuple[str, int]]:
    with store.reading() as session:
        return [(c.key, c.count) for c in article_counts(session, by, **kwargs)]  # type: ignore[arg-type]


def test_by_day_fills_empty_days_in_utc(store: Store) -> None:
    assert counts(store, "day") == [
        ("2024-06-28", 2),
        ("2024-06-29", 0),
        ("2024-06-30", 1),
        ("2024-07-01", 2),  # the 23:30 UTC-5 story and the undated one, first seen today
    ]
    assert counts(store, "day", limit=2) == [("2024-06-30", 1), ("2024-07-01", 2)]
    assert counts(store, "day", since=T0 - timedelta(days=2)) == [
        ("2024-06-30", 1),
        ("2024-07-01", 2),
    ]


def test_by_tag_site_and_feed_largest_first(store: Store) -> None:
    assert counts(store, "tag") == [("economy", 3), ("politics", 2)]
    assert counts(store, "site") == [
        ("courier.example", 2),  # www. is not part of the site
        ("herald.example", 2),
        ("gazette.example", 1),
    ]
    assert counts(store, "feed") == [("herald-rss", 3), ("courier-sitemap", 2)]
    assert counts(store, "feed", limit=1) == [("herald-rss", 3)]
    assert counts(store, "tag", since=T0 - timedelta(days=2)) == [("economy", 2)]
    with store.reading() as session:
        assert total_articles(session) == 5
        assert total_articles(session, since=T0 - timedelta(days=2)) == 3


def test_empty_database_counts_nothing(db_url: str) -> None:
    s = Store.open(db_url)
    with s.reading() as session:
        assert article_counts(session, "day") == [] and total_articles(session) == 0
    s.close()


def test_chart_bars_scale_to_the_largest_count() -> None:
    chart = render_chart([Count("a", 8), Count("bb", 4), Count("c", 1), Count("d", 0)], width=8)
    assert chart.splitlines() == [
        "a   ████████  8",
        "bb  ████      4",
        "c   █         1",
        "d             0",
    ]
    small = render_chart([Count("x", 1000), Count("y", 1)], width=10).splitlines()
    assert small[1] == "y  ▏" + " " * 9 + "     1"  # any count above zero shows
    assert render_chart([]) == "(no articles)\n"


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    db = tmp_path / "news.db"
    path = tmp_path / "settings.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    s = Store.open(f"sqlite:///{db}")
    fill(s)
    s.close()
    return path


def test_stats_command_text_and_json(settings_path: Path, capsys) -> None:
    assert main(["stats", "--settings", str(settings_path), "--by", "site"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "5 articles, by site:"
    assert lines[1].startswith("courier.example  ████") and lines[1].endswith("  2")
    assert len(lines) == 4
    assert main(["stats", "--settings", str(settings_path), "--format", "json", "--since",
                 "2024-06-30"]) == 0  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["by"] == "day" and data["total"] == 3
    assert data["since"] == "2024-06-30T00:00:00Z"
    assert data["counts"] == [
        {"key": "2024-06-30", "count": 1},
        {"key": "2024-07-01", "count": 2},
    ]


def test_stats_errors_are_one_line(settings_path: Path, capsys) -> None:
    assert main(["stats", "--settings", str(settings_path), "--since", "last week"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("newsmon: --since 'last week'") and len(err.splitlines()) == 1
    assert main(["stats", "--settings", str(settings_path), "--by", "author"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("newsmon: argument --by: invalid choice: 'author'")
    assert len(err.splitlines()) == 1


def test_stats_headline_counts_what_the_chart_shows(settings_path: Path, capsys) -> None:
    s = str(settings_path)
    assert main(["stats", "--settings", s, "--by", "day", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # The last two days hold 1 + 2 of the 5 articles.
    assert lines[0] == "3 of 5 articles shown, by day:"
    assert sum(int(line.split()[-1]) for line in lines[1:]) == 3
    assert main(["stats", "--settings", s, "--by", "tag"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # economy 3 + politics 2, one article in both, one article without tags.
    assert lines[0] == "4 of 5 articles shown, by tag:" and len(lines) == 3
    assert main(["stats", "--settings", s, "--by", "day", "--format", "json", "--limit", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["total"], data["shown"]) == (5, 2)
    assert main(["stats", "--settings", s, "--by", "feed"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "5 articles, by feed:"
