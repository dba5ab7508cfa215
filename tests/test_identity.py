"""One row per publisher's copy: identity is per site, twins share a cluster.

Within a site the content hash still merges the same story under several URLs; on another
site the same text is that site's own article (its URL, title, time, authors and tags), in
the syndication cluster of its twins. Runs on SQLite and PostgreSQL (``db_url``).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from crawler.article import Article as Parsed
from crawler.store.models import Article, ArticleSignature, ArticleUrl
from crawler.store.queries import ArticleFilter, article_detail, query_articles
from crawler.store.store import Store
from crawler.urls import url_key
from tests.factories import make_article
from tests.test_syndication import HERALD

T0 = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)
HERALD_URL = "https://herald.example/2024/03/04/dock-strike.html"
COURIER_URL = "https://courier.example/world/dock-strike-48213"
BRIEF = "Dock workers in Valmera went on strike on Monday, the union said."


def herald(**overrides: Any) -> Parsed:
    article = make_article(
        HERALD_URL,
        title="Valmera dock workers strike over night-shift pay",
        body=HERALD,
        authors=("Lena Sørvik",),
        published_at=T0,
        tags=("valmera",),
    )
    return replace(article, **overrides)


def courier(**overrides: Any) -> Parsed:
    """The courier's copy: its own headline, byline, time and tags, the same body."""
    article = make_article(
        COURIER_URL,
        title="Dock strike halts Valmera port",
        body=HERALD,
        authors=("Pieter Janssens",),
        published_at=T0 + timedelta(hours=2),
        tags=("ports",),
    )
    return replace(article, **overrides)


@pytest.fixture
def store(db_url: str):
    s = Store.open(db_url)
    yield s
    s.close()


def rows(store: Store) -> dict[int, Article]:
    with store.reading() as session:
        return {a.id: a for a in session.scalars(select(Article))}


def owner_of(store: Store, url: str) -> int | None:
    with store.reading() as session:
        return session.scalar(
            select(ArticleUrl.article_id).where(ArticleUrl.url_key == url_key(url))
        )


def test_the_same_text_on_another_site_is_another_article_in_one_cluster(store: Store) -> None:
    # Title and body identical: one content hash, which used to make them one article.
    first = store.save_article(herald(), feed="herald-rss", fetched_at=T0)
    second = store.save_article(
        courier(title=herald().title), feed="courier-sitemap", fetched_at=T0
    )
    assert (first.outcome, second.outcome) == ("new", "new")
    stored = rows(store)
    assert len(stored) == 2
    h, c = stored[first.article_id], stored[second.article_id]
    assert (h.site, c.site) == ("herald.example", "courier.example")
    assert h.content_hash == c.content_hash
    assert h.cluster_id == c.cluster_id == first.article_id
    assert (h.url, c.url) == (HERALD_URL, COURIER_URL)
    assert (h.authors, c.authors) == (["Lena Sørvik"], ["Pieter Janssens"])
    assert c.published_at == T0 + timedelta(hours=2)
    assert owner_of(store, COURIER_URL) == second.article_id


def test_within_a_site_the_content_hash_still_merges_urls(store: Store) -> None:
    first = store.save_article(herald(), feed="a", fetched_at=T0)
    mirror = herald(url="https://herald.example/amp/dock-strike")
    again = store.save_article(mirror, feed="b", fetched_at=T0)
    assert (again.outcome, again.article_id) == ("duplicate", first.article_id)
    # The courier's copy does not merge into the herald's, nor the herald's mirror into it.
    other = store.save_article(courier(title=herald().title), feed="c", fetched_at=T0)
    assert other.outcome == "new" and other.article_id != first.article_id
    assert owner_of(store, "https://herald.example/amp/dock-strike") == first.article_id
    assert len(rows(store)) == 2


def test_exact_copies_too_short_for_a_signature_join_the_cluster(store: Store) -> None:
    a = store.save_article(herald(body=BRIEF), feed="a", fetched_at=T0)
    b = store.save_article(courier(title=herald().title, body=BRIEF), feed="b", fetched_at=T0)
    # Another site's brief with its own headline is no exact copy, and too short to compare.
    c = store.save_article(
        courier(url="https://gazette.example/brief", body=BRIEF), feed="c", fetched_at=T0
    )
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(ArticleSignature)) == 0
    stored = rows(store)
    assert stored[a.article_id].cluster_id == stored[b.article_id].cluster_id == a.article_id
    assert stored[c.article_id].cluster_id == c.article_id


def test_a_canonical_link_to_the_origin_is_recorded_not_claimed(store: Store) -> None:
    # Syndication partners often point rel=canonical at the origin. Saved first, the
    # partner's copy must not take the origin's URL: the origin's page is its own article.
    copy = store.save_article(
        courier(canonical_url=HERALD_URL), feed="courier-sitemap", fetched_at=T0
    )
    assert owner_of(store, HERALD_URL) is None
    origin = store.save_article(herald(), feed="herald-rss", fetched_at=T0 + timedelta(hours=3))
    assert origin.outcome == "new" and origin.article_id != copy.article_id
    stored = rows(store)
    h, c = stored[origin.article_id], stored[copy.article_id]
    assert c.canonical_url == HERALD_URL and c.url == COURIER_URL
    assert h.title == "Valmera dock workers strike over night-shift pay"
    assert c.title == "Dock strike halts Valmera port"
    assert h.cluster_id == c.cluster_id == copy.article_id  # the smallest id names it
    assert owner_of(store, HERALD_URL) == origin.article_id


def test_a_partner_copy_saved_after_the_origin_is_no_version_of_it(store: Store) -> None:
    origin = store.save_article(herald(), feed="herald-rss", fetched_at=T0)
    copy = store.save_article(courier(canonical_url=HERALD_URL), feed="c", fetched_at=T0)
    assert copy.outcome == "new" and copy.article_id != origin.article_id
    stored = rows(store)
    assert stored[origin.article_id].version_count == 1
    assert stored[origin.article_id].title == "Valmera dock workers strike over night-shift pay"
    # Saved again, each copy is found by its own URL and is unchanged.
    again = store.save_article(courier(canonical_url=HERALD_URL), feed="c", fetched_at=T0)
    assert (again.outcome, again.article_id) == ("unchanged", copy.article_id)


def test_each_copy_is_found_by_its_site_and_lists_its_twin(store: Store) -> None:
    first = store.save_article(herald(), feed="herald-rss", fetched_at=T0)
    second = store.save_article(courier(), feed="courier-sitemap", fetched_at=T0)
    with store.reading() as session:
        found = query_articles(session, ArticleFilter(site="herald.example"))
        assert [r["id"] for r in found] == [first.article_id]
        found = query_articles(session, ArticleFilter(site="courier.example"))
        assert [(r["id"], r["title"]) for r in found] == [
            (second.article_id, "Dock strike halts Valmera port")
        ]
        origin = session.get(Article, first.article_id)
        assert origin is not None
        detail = article_detail(session, origin)
        assert [(c["id"], c["site"], c["url"]) for c in detail["also_published_at"]] == [
            (second.article_id, "courier.example", COURIER_URL)
        ]


def test_concurrent_saves_of_one_copy_store_it_once_per_site(store: Store) -> None:
    # Six writers, three URLs of the herald and three of the courier, all one text.
    urls = [f"https://{site}/dock-strike-{n}" for site in ("herald.example", "courier.example")
            for n in range(3)]  # fmt: skip
    errors: list[BaseException] = []

    def save(url: str) -> None:
        try:
            store.save_article(herald(url=url), feed="a", fetched_at=T0)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(u,)) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stored = rows(store)
    assert sorted(a.site for a in stored.values()) == ["courier.example", "herald.example"]
    assert len({a.cluster_id for a in stored.values()}) == 1
    for url in urls:
        site = url.split("/")[2]
        owner = owner_of(store, url)
        assert owner is not None and stored[owner].site == site
