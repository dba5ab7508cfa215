"""The web app over HTTP: the JSON API, the Atom feed, the token, bad parameters.

Most tests go through Starlette's test client on a SQLite file of known articles (and one
on PostgreSQL); the command's own tests run ``newsmon web`` as a process and talk to it
over loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import feedparser
import pytest

from crawler.store.queries import ArticleFilter, query_articles
from crawler.store.store import Store
from tests.web_fixtures import TOKEN, client, fill, web_process


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('web')}/news.db"
    fill(url)
    return url


def api(url: str, path: str) -> Any:
    with client(url) as c:
        response = c.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def test_search_api_matches_the_query_engine_with_facet_counts(sqlite_url: str) -> None:
    result = api(sqlite_url, "/api/articles?q=harbour")
    assert result["total"] == 30
    assert len(result["articles"]) == 25 and result["pages"] == 2
    assert all("Harbour" in a["title"] for a in result["articles"])
    with Store.open(sqlite_url) as store, store.reading() as session:
        engine = query_articles(session, ArticleFilter(search="harbour", limit=25))
    assert [a["id"] for a in result["articles"]] == [r["id"] for r in engine]
    facets = {name: {v["value"]: v["count"] for v in values}
              for name, values in result["facets"].items()}  # fmt: skip
    assert facets["site"] == {"herald.example": 30}
    assert facets["tag"] == {"weather": 30, "port": 10}
    assert facets["feed"] == {"herald-rss": 30}
    assert facets["author"] == {"Ann Lee": 30, "Bo Chen": 15}
    assert facets["language"] == {"de": 15, "en": 15}


def test_filters_and_pages(sqlite_url: str) -> None:
    page1 = api(sqlite_url, "/api/articles?q=harbour")
    page2 = api(sqlite_url, "/api/articles?q=harbour&page=2")
    ids1, ids2 = {a["id"] for a in page1["articles"]}, {a["id"] for a in page2["articles"]}
    assert len(ids2) == 5 and not ids1 & ids2
    assert api(sqlite_url, "/api/articles?author=Bo+Chen")["total"] == 15
    assert api(sqlite_url, "/api/articles?author=Bo")["total"] == 0  # whole names only
    assert api(sqlite_url, "/api/articles?language=de&tag=port")["total"] == 5
    assert api(sqlite_url, "/api/articles?feed=courier-world")["total"] == 10
    edited = api(sqlite_url, "/api/articles?edited=1")
    assert [a["title"] for a in edited["articles"]] == ["Harbour story number 0, updated"]
    dated = api(sqlite_url, "/api/articles?site=courier.example&since=2024-05-03&until=2024-05-05")
    assert sorted(a["title"] for a in dated["articles"]) == [
        "Grain deal talks, day 2",
        "Grain deal talks, day 3",
    ]


def test_article_api_has_versions_and_a_diff(sqlite_url: str) -> None:
    listing = api(sqlite_url, "/api/articles?edited=1")
    article = api(sqlite_url, f"/api/articles/{listing['articles'][0]['id']}")
    assert [v["version"] for v in article["versions_list"]] == [1, 2]
    diff = article["diff"]
    assert (diff["from"], diff["to"], diff["title_changed"]) == (1, 2, True)
    assert ["+", "0, updated"] in diff["title"]
    added = [s["text"] for h in diff["hunks"] for s in h["segments"] if s["op"] == "+"]
    assert "long" in added


def test_feeds_api_shows_health_and_the_idle_badge(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/news.db"
    fill(url)
    with Store.open(url) as store:
        for name in ("herald-rss", "gazette-quiet"):
            store.start_run(name)  # both have run; only the herald found articles lately
    feeds = {f["name"]: f for f in api(url, "/api/feeds")["feeds"]}
    assert feeds["gazette-quiet"]["idle"] and not feeds["herald-rss"]["idle"]
    assert not feeds["courier-world"]["idle"]  # never run: not idle, just new
    assert feeds["courier-world"]["health"] == "never run"
    assert feeds["herald-rss"]["per_day"][-1]["count"] == 30  # all collected today
    assert len(feeds["herald-rss"]["per_day"]) == 14
    with client(url) as c:
        page = c.get("/feeds").text
    row = page.split('id="feed-gazette-quiet"')[1].split("</tr>")[0]
    assert 'class="badge idle"' in row


def test_trends_api_counts_per_day(sqlite_url: str) -> None:
    trend = api(sqlite_url, "/api/trends?by=tag&since=2024-05-01&until=2024-05-12&q=grain")
    series = {s["key"]: s for s in trend["series"]}
    assert series["weather"]["total"] == 30 and series["grain"]["total"] == 10
    days = series["grain"]["days"]
    assert [d["day"] for d in days][::10] == ["2024-05-01", "2024-05-11"] and len(days) == 11
    assert [d["count"] for d in days] == [1] * 10 + [0]
    assert sum(d["count"] for d in trend["search"]["days"]) == 10


def test_atom_feed_reads_back_with_the_search_results(sqlite_url: str) -> None:
    with client(sqlite_url) as c:
        response = c.get("/feeds.atom?q=harbour&tag=port")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    with Store.open(sqlite_url) as store, store.reading() as session:
        expected = query_articles(session, ArticleFilter(search="harbour", tag="port", limit=50))
    assert len(expected) == 10
    assert [e.link for e in parsed.entries] == [r["url"] for r in expected]
    assert all("port" in {t.term for t in e.tags} for e in parsed.entries)
    assert parsed.feed.title == "newsmon: q harbour; tag port"


HOSTILE = [
    "/articles?q=%00",
    "/articles?q=a%0d%0aSet-Cookie:x",
    "/articles?page=0",
    "/articles?page=-1",
    "/articles?page=1e3",
    "/articles?page=99999999999999999999",
    "/articles?page=%EF%BC%91",  # a full-width digit one
    "/articles?since=yesterday",
    "/articles?since=99999-01-01",
    "/articles?since=9999999999d",
    "/articles?since=2024-05-02&until=2024-05-01",
    "/articles?edited=maybe",
    "/articles?bogus=1",
    "/articles?tag=a&tag=b",
    "/articles?q=" + "x" * 600,
    "/articles?site=" + "s" * 300,
    "/articles/abc",
    "/articles/0",
    "/articles/99999999999",
    "/articles/1?from=7&to=1",
    "/articles/1?from=x",
    "/trends?by=author",
    "/trends?top=0",
    "/trends?since=2000-01-01",
    "/api/articles?collapse=%ff",
    "/api/trends?until=0001-01-01",
    "/feeds.atom?page=2",
    "/feeds?x=1",
]


@pytest.mark.parametrize("path", HOSTILE)
def test_hostile_query_strings_get_a_400_with_one_short_line(sqlite_url: str, path: str) -> None:
    with client(sqlite_url) as c:
        response = c.get(path)
    assert response.status_code == 400, response.text[:300]
    if path.startswith(("/api/", "/feeds.atom")):
        message = response.json()["error"]
    else:
        message = response.text.split('id="error-message">')[1].split("</p>")[0]
    assert message and "\n" not in message and len(message) < 200, message
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "path", ["/articles?q=%ff%fe", "/articles?q=%22%22%22", "/articles?q=NEAR(a*", "/nope"]
)
def test_odd_but_harmless_requests_are_answered(sqlite_url: str, path: str) -> None:
    with client(sqlite_url) as c:
        response = c.get(path)
    assert response.status_code in (200, 404), response.text[:300]


def test_unknown_feed_and_article_are_404(sqlite_url: str) -> None:
    with client(sqlite_url) as c:
        assert c.get("/feeds/nope").status_code == 404
        assert c.get("/api/articles/999").json() == {"error": "no stored article has id 999"}


def test_token_is_required_when_set(sqlite_url: str) -> None:
    with client(sqlite_url, token=TOKEN) as c:
        assert c.get("/api/articles").status_code == 401
        assert c.get("/feeds.atom").status_code == 401
        bad = {"Authorization": "Bearer not-the-token-at-all"}
        assert c.get("/api/articles", headers=bad).status_code == 401
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert c.get("/api/articles", headers=good).status_code == 200
        page = c.get("/articles?q=grain", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Farticles%3Fq%3Dgrain"
        wrong = c.post("/login", data={"token": "guess", "next": "/feeds"})
        assert wrong.status_code == 401 and "newsmon_session" not in wrong.cookies
        assert c.get("/feeds", follow_redirects=False).status_code == 303
        right = c.post(
            "/login", data={"token": TOKEN, "next": "/articles?q=grain"}, follow_redirects=False
        )
        assert right.status_code == 303 and right.headers["location"] == "/articles?q=grain"
        assert TOKEN not in right.headers["set-cookie"]
        assert "httponly" in right.headers["set-cookie"].lower()
        assert c.get("/articles?q=grain").status_code == 200  # the cookie now
        offsite = c.post(
            "/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False
        )
        assert offsite.headers["location"] == "/"


def test_pages_forbid_scripts_and_framing(sqlite_url: str) -> None:
    with client(sqlite_url) as c:
        response = c.get("/")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "<script" not in response.text


def test_the_store_refuses_writes(sqlite_url: str) -> None:
    from sqlalchemy import text

    store = Store.open(sqlite_url, create=False, read_only=True)
    try:
        with pytest.raises(Exception, match=r"readonly|read-only"), store.reading() as session:
            session.execute(text("UPDATE articles SET title = 'x'"))
    finally:
        store.close()


@pytest.mark.postgres
def test_on_postgresql(pg_url: str) -> None:
    from sqlalchemy import text

    fill(pg_url)
    result = api(pg_url, "/api/articles?q=harbour&language=de")
    assert result["total"] == 15
    facets = {v["value"]: v["count"] for v in result["facets"]["author"]}
    assert facets == {"Ann Lee": 15}
    trend = api(pg_url, "/api/trends?by=site&since=2024-05-01&until=2024-05-12")
    assert {s["key"]: s["total"] for s in trend["series"]} == {
        "herald.example": 30,
        "courier.example": 10,
    }
    edited = api(pg_url, "/api/articles?edited=1")["articles"][0]
    assert api(pg_url, f"/api/articles/{edited['id']}")["diff"]["title_changed"]
    with client(pg_url) as c:
        assert len(feedparser.parse(c.get("/feeds.atom?q=grain").content).entries) == 10
    store = Store.open(pg_url, create=False, read_only=True)
    try:
        with pytest.raises(Exception, match="read-only"), store.reading() as session:
            session.execute(text("UPDATE articles SET title = 'x'"))
    finally:
        store.close()


# -- the command ---------------------------------------------------------------------------


def settings_file(tmp_path: Path, url: str, extra: str = "") -> Path:
    from tests.web_fixtures import FEEDS_TOML

    path = tmp_path / "settings.toml"
    path.write_text(f'[database]\nurl = "{url}"\n{extra}\n{FEEDS_TOML}', encoding="utf-8")
    return path


def newsmon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_off_loopback_without_a_token_it_refuses_to_start(tmp_path: Path, sqlite_url: str) -> None:
    settings = settings_file(tmp_path, sqlite_url)
    result = newsmon("web", "--host", "0.0.0.0", "--port", "0", "--settings", str(settings))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "[web] token" in lines[0] and "0.0.0.0" in lines[0], lines
    short = newsmon("web", "--host", "0.0.0.0", "--settings", str(settings),
                    env={"NEWSMON_WEB_TOKEN": "short"})  # fmt: skip
    assert short.returncode == 2 and "NEWSMON_WEB_TOKEN must be at least 16" in short.stderr


def test_the_command_serves_until_sigterm(tmp_path: Path, sqlite_url: str) -> None:
    settings = settings_file(tmp_path, sqlite_url)
    with web_process(settings) as (process, base):
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(base + "api/articles?q=grain", timeout=10) as response:
            assert json.load(response)["total"] == 10
        process.terminate()
        assert process.wait(timeout=20) == 0


def test_the_command_off_loopback_asks_for_the_token(tmp_path: Path, sqlite_url: str) -> None:
    settings = settings_file(tmp_path, sqlite_url, f'[web]\ntoken = "{TOKEN}"\n')
    with web_process(settings, "--host", "0.0.0.0") as (_process, base):
        url = base.replace("0.0.0.0", "127.0.0.1") + "api/overview"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 401
        refused.value.close()
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["total"] == 40


def test_the_app_reads_while_a_writer_holds_the_lock_and_writes_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    """As tests/test_read_only.py does for the read commands: a writer in the middle of a
    transaction does not hold the app up, and the app changes nothing in the database."""
    import sqlite3
    import time

    database = sqlite_url.removeprefix("sqlite:///")

    def contents() -> list[str]:
        with sqlite3.connect(database) as connection:
            return list(connection.iterdump())

    before = contents()
    settings = settings_file(tmp_path, sqlite_url)
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE articles SET title = 'uncommitted' WHERE id = 1")
    try:
        with web_process(settings) as (_process, base):
            paths = ["", "feeds", "feeds/herald-rss", "articles?q=harbour&tag=port",
                     "articles/1?from=1&to=2", "trends?q=grain", "api/articles?q=grain",
                     "feeds.atom?q=harbour", "login"]  # fmt: skip
            for path in paths:
                started = time.monotonic()
                with urllib.request.urlopen(base + path, timeout=30) as response:
                    body = response.read().decode()
                # A reader queued for the lock would wait out the 15 s busy timeout.
                assert time.monotonic() - started < 10, path
                assert response.status == 200, path
                assert "uncommitted" not in body, path
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert contents() == before
