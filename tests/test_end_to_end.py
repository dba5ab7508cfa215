"""The whole product path: settings → crawl of the fixture news network → database.

``newsmon crawl`` runs in a subprocess (a Twisted reactor starts once per process), the
assertions read the SQLite file it wrote and the fixture servers' request logs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from crawler.store.models import Article, ArticleFeed, ArticleTag, ArticleUrl, ArticleVersion
from crawler.store.store import Store
from crawler.textnorm import normalize_text
from crawler.urls import normalize_url, url_key
from tests.newssites import ExpectedArticle, FixtureNetwork

NON_ARTICLE_MARKERS = ("/video/", "/live/", "/author/", "/private/", "/tags/", "/tag/", "/topic/")


CRAWL_DEFAULTS: dict[str, object] = {
    "user_agent": "newsmon-tests/0.1 (+https://example.invalid/contact)",
    "download_delay": 0,
    "concurrent_requests_per_host": 8,
    "timeout": 10,
    "retries": 0,
    # The second crawl follows the first within seconds: its re-checks of young articles
    # must not wait the default 10 minutes.
    "revisit_min_interval": "0s",
}


def write_settings(
    tmp_path: Path, network: FixtureNetwork, *, every: str = "1h", **crawl_settings: object
) -> Path:
    """settings.toml for the fixture network: every feed runs ``every`` (no jitter);
    other keyword arguments override [crawl] keys."""
    values = {**CRAWL_DEFAULTS, **crawl_settings}
    crawl_table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in values.items())
    path = tmp_path / "settings.toml"
    path.write_text(
        f"""
[database]
url = "sqlite:///{tmp_path}/news.db"

[crawl]
{crawl_table}

[defaults]
schedule = {{ every = "{every}", jitter = "0s" }}
timezone = "America/New_York"
{network.feeds_toml()}
""",
        encoding="utf-8",
    )
    return path


def crawl(settings: Path, *feeds: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings), *feeds],
        capture_output=True,
        text=True,
        timeout=180,
    )


def stored_by_key(store: Store) -> dict[str, Article]:
    with store.reading() as session:
        rows = session.execute(select(ArticleUrl.url_key, Article).join(Article))
        return {key: article for key, article in rows}


def find(store: Store, network: FixtureNetwork, expected: ExpectedArticle) -> Article:
    site = getattr(network, expected.site)
    key = url_key(normalize_url(site.url(expected.path)) or "")
    articles = stored_by_key(store)
    assert key in articles, f"{expected.site}{expected.path} was not stored"
    return articles[key]


def expected_all(network: FixtureNetwork) -> list[ExpectedArticle]:
    return [e for site in network.sites for e in site.expected_articles()]


@pytest.fixture
def crawled(tmp_path: Path, news_network: FixtureNetwork):
    news_network.herald.slow_delay = 1.0
    settings = write_settings(tmp_path, news_network)
    first = crawl(settings)
    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    yield news_network, settings, first, store
    store.close()


def test_first_crawl_stores_every_article_once_with_right_fields(crawled) -> None:
    network, _settings, result, store = crawled
    assert result.returncode == 0, result.stderr[-3000:]
    expected = expected_all(network)
    with store.reading() as session:
        articles = list(session.scalars(select(Article)))
        # Every article once: as many rows as distinct expected articles, no more.
        assert len(articles) == len(expected), [a.url for a in articles]
        for article in articles:
            assert not any(m in article.url for m in NON_ARTICLE_MARKERS), article.url
        for exp in expected:
            article = find(store, network, exp)
            assert article.title == exp.title
            assert article.published_at == datetime.fromisoformat(exp.published_at), exp.path
            assert tuple(article.authors) == exp.authors
            assert article.version_count == 1
            assert article.lead_image_caption == exp.image_caption, exp.path
            # herald prints its credits in parentheses, and the parser keeps them.
            credits = (exp.image_credit, f"({exp.image_credit})") if exp.image_credit else (None,)
            assert article.lead_image_credit in credits, exp.path
            for paragraph in exp.body_paragraphs:
                assert normalize_text(paragraph) in normalize_text(article.body), (
                    exp.path,
                    paragraph,
                )
            for chrome in exp.chrome:
                assert normalize_text(chrome) not in normalize_text(article.body), (
                    exp.path,
                    chrome,
                )
            tags = set(
                session.scalars(select(ArticleTag.tag).where(ArticleTag.article_id == article.id))
            )
            assert set(exp.page_tags) <= tags, (exp.path, tags)
            feeds = set(
                session.scalars(
                    select(ArticleFeed.feed).where(ArticleFeed.article_id == article.id)
                )
            )
            assert feeds == set(exp.feeds), (exp.path, feeds)


def test_short_wire_copy_beside_a_rail_is_stored(crawled) -> None:
    """No declared type, 614 characters of story, a rail of longer headline links: stored."""
    network, _settings, _result, store = crawled
    (wire,) = [e for e in expected_all(network) if e.is_short_wire_copy]
    article = find(store, network, wire)
    assert article.title == wire.title
    assert article.published_at == datetime.fromisoformat(wire.published_at)
    assert normalize_text(article.body) == normalize_text("\n\n".join(wire.body_paragraphs))


def test_a_wire_story_two_sites_run_is_two_rows_in_one_cluster(crawled) -> None:
    """Same body, own headline, time, byline and URL on each site; the courier's copy names
    the herald's page as canonical. Each site's copy is its own article, found by its site,
    and each lists the other as "also published at"."""
    network, settings, result, store = crawled
    assert result.returncode == 0, result.stderr[-3000:]
    copies = [e for e in expected_all(network) if e.syndication == "danube-wire"]
    assert len(copies) == 2
    rows = {exp.site: (exp, find(store, network, exp)) for exp in copies}
    assert rows["herald"][1].id != rows["courier"][1].id
    with store.reading() as session:
        stored = session.scalars(
            select(Article).where(Article.id.in_([a.id for _, a in rows.values()]))
        ).all()
        assert len(stored) == 2 and len({a.cluster_id for a in stored}) == 1
    for name, (exp, article) in rows.items():
        site = network.site(name)
        assert article.title == exp.title
        assert article.url == normalize_url(site.url(exp.path))
        assert article.site == urlsplit(site.base_url).netloc
        assert tuple(article.authors) == exp.authors
        assert article.published_at == datetime.fromisoformat(exp.published_at)
    herald, courier = rows["herald"][1], rows["courier"][1]
    assert courier.canonical_url == herald.url  # recorded, not taken as the courier's URL

    def cli(*args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "crawler", *args, "--settings", str(settings),
             "--format", "json"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        return json.loads(done.stdout)

    found = cli("query", "--site", herald.site, "--search", "Danube barges")
    assert [(r["id"], r["title"]) for r in found] == [(herald.id, herald.title)]
    found = cli("query", "--site", courier.site, "--search", "Danube barges")
    assert [(r["id"], r["title"]) for r in found] == [(courier.id, courier.title)]
    twin = cli("show", str(herald.id))["also_published_at"]
    assert [(c["id"], c["url"], c["title"]) for c in twin] == [
        (courier.id, courier.url, courier.title)
    ]
    assert [c["id"] for c in cli("show", str(courier.id))["also_published_at"]] == [herald.id]


def test_first_crawl_respects_robots_and_reports_broken_pages(crawled) -> None:
    network, _settings, result, _store = crawled
    herald_paths = network.herald.paths_requested()
    assert not any(p.startswith("/private/") for p in herald_paths)
    # Pages linked but broken were tried once each and named in the output, with their feed.
    assert "/news/missing" in " ".join(herald_paths) and "/news/broken" in " ".join(herald_paths)
    summary = result.stdout
    assert "herald-russia: partial" in summary, summary
    assert "HTTP 404" in result.stderr and "HTTP 500" in result.stderr
    assert "feed herald-russia" in result.stderr


def test_second_crawl_finds_new_articles_and_versions_the_edited_one(crawled) -> None:
    network, settings, _first, store = crawled
    network.advance()
    second = crawl(settings)
    assert second.returncode == 0, second.stderr[-3000:]
    expected = expected_all(network)
    with store.reading() as session:
        assert len(list(session.scalars(select(Article)))) == len(expected)
    edited = [e for e in expected if e.edited_in_state2]
    assert len(edited) == 1
    for exp in expected:
        article = find(store, network, exp)
        assert article.title == exp.title
        # Only the real edit is a version; the comment count changing on every request is not.
        assert article.version_count == (2 if exp.edited_in_state2 else 1), exp.path
    with store.reading() as session:
        article_id = find(store, network, edited[0]).id
        versions = session.scalars(
            select(ArticleVersion)
            .where(ArticleVersion.article_id == article_id)
            .order_by(ArticleVersion.version)
        ).all()
        assert [v.version for v in versions] == [1, 2]
        assert versions[1].title == edited[0].title != versions[0].title


def test_recrawl_is_conditional_and_skips_known_articles(tmp_path: Path, news_network) -> None:
    # A revisit window of one second: by the second crawl no article is young enough to be
    # re-checked, so only the feeds' own pages are requested, conditionally.
    settings = write_settings(tmp_path, news_network, revisit_window="1s")
    first = crawl(settings)
    assert first.returncode == 0, first.stderr[-3000:]
    before = {site.name: len(site.requests) for site in news_network.sites}
    again = crawl(settings)
    assert again.returncode == 0, again.stderr[-3000:]
    article_paths = {e.path for site in news_network.sites for e in site.expected_articles()}
    for site in news_network.sites:
        new_requests = site.requests[before[site.name] :]
        assert not [r.path for r in new_requests if r.path.split("?")[0] in article_paths], (
            site.name
        )
    # herald-russia links a page that answers 500: its listing is read again (no validators
    # saved) so that page is retried; every other feed page is answered 304.
    retried = {"/tags/russia", "/news/broken", "/news/missing"}
    for site in news_network.sites:
        feed_pages = [
            r
            for r in site.requests[before[site.name] :]
            if r.path != "/robots.txt" and r.path.split("?")[0] not in retried
        ]
        assert feed_pages and all(r.status == 304 for r in feed_pages), [
            (r.path, r.status) for r in feed_pages
        ]
