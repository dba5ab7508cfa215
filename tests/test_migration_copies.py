"""Revision 0007: what the old one-article rule merged across sites is split per site.

A database is built at revision 0004 and given the rows the old code left for a wire story
that the herald published first and the courier ran word for word: one article (the
herald's) with the courier's URLs, the courier's feed and tags, two versions (the edit
after the courier's copy was seen), and an aggregator's redirect URL. The upgrade must give
the courier its own article, in the herald's cluster, and leave the redirect alone. On
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, column, insert, select, table
from sqlalchemy.orm import Session

from crawler.minhash import signature_of
from crawler.store.models import (
    Article,
    ArticleFeed,
    ArticleSignature,
    ArticleTag,
    ArticleUrl,
    ArticleVersion,
    LshBand,
)
from crawler.store.queries import article_detail
from crawler.store.schema import head_revision, read_state, upgrade_schema
from crawler.store.search import search
from crawler.store.store import Store, create_db_engine
from crawler.urls import url_key
from tests.factories import make_article
from tests.test_schema import differences
from tests.test_syndication import HERALD, WIRE, body

T0 = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)
BEFORE = "0004_page_states_per_feed"
HERALD_URL = "https://herald.example/2024/03/04/dock-strike.html"
COURIER_URLS = (
    "https://courier.example/world/dock-strike-48213",
    "https://courier.example/world/dock-strike-48213?page=1",
)
REDIRECT = "https://news.aggregator.example/rss/articles/CBMiX2h0dHBz"
EDITED = body(*WIRE, "Updated with the port authority's statement.")


def url_row(article_id: int, url: str, seen: datetime) -> ArticleUrl:
    return ArticleUrl(url_key=url_key(url), url=url, article_id=article_id, first_seen_at=seen)


def old_merge(engine: Engine) -> None:
    """The rows the old code stored: the courier's copy merged into the herald's article."""
    signature = signature_of(EDITED)
    assert signature is not None
    with Session(engine) as session, session.begin():
        # The feeds table as this revision had it: the model has columns of later ones.
        feeds = table(
            "feeds", column("name"), column("kind"), column("url"), column("consecutive_failures")
        )
        session.execute(insert(feeds), [
            {"name": "herald-rss", "kind": "rss", "url": "https://herald.example/rss.xml",
             "consecutive_failures": 0},
            {"name": "courier-sitemap", "kind": "sitemap",
             "url": "https://courier.example/sitemap-news.xml", "consecutive_failures": 0},
            {"name": "aggregator", "kind": "rss", "url": "https://news.aggregator.example/rss",
             "consecutive_failures": 0},
        ])  # fmt: skip
        wire = Article(
            url=HERALD_URL, canonical_url=HERALD_URL, site="herald.example",
            title="Valmera dock workers strike", authors=["Lena Sørvik"], body=EDITED,
            published_at=T0, published_source="json-ld", published_precision="second",
            content_hash="b" * 64, first_seen_at=T0, last_seen_at=T0 + timedelta(hours=5),
            last_fetched_at=T0 + timedelta(hours=4), version_count=2, language="en",
        )  # fmt: skip
        # The courier's own article on another story: the courier is a publisher here.
        other = Article(
            url="https://courier.example/economy/factory-orders", site="courier.example",
            title="Factory orders fall", authors=[], body="Orders fell.", content_hash="c" * 64,
            first_seen_at=T0, last_seen_at=T0, last_fetched_at=T0, version_count=1,
        )  # fmt: skip
        session.add_all([wire, other])
        session.flush()
        wire.cluster_id, other.cluster_id = wire.id, other.id
        session.add_all([
            ArticleVersion(article_id=wire.id, version=1, content_hash="a" * 64,
                           title="Valmera dock workers strike", body=HERALD, fetched_at=T0),
            ArticleVersion(article_id=wire.id, version=2, content_hash="b" * 64,
                           title="Valmera dock workers strike", body=EDITED,
                           fetched_at=T0 + timedelta(hours=4)),
            ArticleVersion(article_id=other.id, version=1, content_hash="c" * 64,
                           title="Factory orders fall", body="Orders fell.", fetched_at=T0),
            url_row(wire.id, HERALD_URL, T0),
            url_row(wire.id, REDIRECT, T0 + timedelta(hours=3)),
            url_row(wire.id, COURIER_URLS[1], T0 + timedelta(hours=2)),
            url_row(wire.id, COURIER_URLS[0], T0 + timedelta(hours=2)),
            url_row(other.id, other.url, T0),
            ArticleFeed(article_id=wire.id, feed="herald-rss", first_seen_at=T0),
            ArticleFeed(article_id=wire.id, feed="courier-sitemap",
                        first_seen_at=T0 + timedelta(hours=2)),
            ArticleFeed(article_id=wire.id, feed="aggregator",
                        first_seen_at=T0 + timedelta(hours=3)),
            ArticleTag(article_id=wire.id, tag="valmera"),
            ArticleSignature(article_id=wire.id, signature=signature.to_bytes(),
                             shingle_count=signature.shingle_count),
            *(LshBand(band=b, bucket=h, article_id=wire.id) for b, h in signature.bands()),
        ])  # fmt: skip


def test_a_cross_site_merge_is_split_into_per_site_copies(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        upgrade_schema(engine, BEFORE)
        old_merge(engine)
        upgrade_schema(engine)
        with engine.connect() as conn:
            assert read_state(conn).revision == head_revision()
        assert differences(engine) == []
    finally:
        engine.dispose()

    store = Store.open(db_url)
    try:
        with store.reading() as session:
            articles = {a.site + a.url.removeprefix("https://"): a
                        for a in session.scalars(select(Article))}  # fmt: skip
            assert len(articles) == 3
            herald = articles["herald.example" + HERALD_URL.removeprefix("https://")]
            courier = articles["courier.example" + COURIER_URLS[0].removeprefix("https://")]
            assert courier.id > herald.id
            assert (courier.site, courier.url) == ("courier.example", COURIER_URLS[0])
            assert courier.canonical_url is None  # the herald's canonical is the herald's page
            # What nothing else tells of the copy is the original's.
            assert (courier.title, courier.body, courier.authors, courier.published_at) == (
                herald.title, herald.body, herald.authors, herald.published_at,
            )  # fmt: skip
            assert courier.content_hash == herald.content_hash
            assert courier.first_seen_at == T0 + timedelta(hours=2)
            assert courier.cluster_id == herald.cluster_id == herald.id
            # Versions from the one current when the copy was seen: v1 (v2 came later).
            history = [(v.version, v.content_hash, v.fetched_at) for v in courier.versions]
            assert history == [
                (1, "a" * 64, T0 + timedelta(hours=2)),
                (2, "b" * 64, T0 + timedelta(hours=4)),
            ]
            assert courier.version_count == 2 and herald.version_count == 2
            owners = dict(session.execute(select(ArticleUrl.url, ArticleUrl.article_id)).all())
            assert owners[COURIER_URLS[0]] == owners[COURIER_URLS[1]] == courier.id
            assert owners[HERALD_URL] == owners[REDIRECT] == herald.id  # a redirect stays

            def feeds_of(article: Article) -> set[str]:
                query = select(ArticleFeed.feed).where(ArticleFeed.article_id == article.id)
                return set(session.scalars(query))

            assert feeds_of(courier) == {"courier-sitemap"}
            assert feeds_of(herald) == {"herald-rss", "aggregator"}
            assert {t.tag for t in courier.tags} == {"valmera"}
            sig = session.get(ArticleSignature, courier.id)
            assert sig is not None and sig.signature == signature_of(EDITED).to_bytes()  # type: ignore[union-attr]
            detail = article_detail(session, herald)
            assert [c["url"] for c in detail["also_published_at"]] == [COURIER_URLS[0]]
            found = {i for i, _ in search(session, "valmera dock")}
            assert {herald.id, courier.id} <= found
        # A new fetch of the courier's page is the courier's article, unchanged.
        with store.reading() as session:
            courier_id = session.scalar(
                select(ArticleUrl.article_id).where(ArticleUrl.url == COURIER_URLS[0])
            )
        saved = store.save_article(
            make_article(COURIER_URLS[0], title="Valmera dock workers strike", body=EDITED),
            feed="courier-sitemap",
            fetched_at=T0 + timedelta(hours=6),
        )
        assert (saved.article_id, saved.outcome) == (courier_id, "unchanged")
    finally:
        store.close()


def test_an_article_on_one_site_is_left_as_it_was(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        upgrade_schema(engine, BEFORE)
        with Session(engine) as session, session.begin():
            lone = Article(
                url=HERALD_URL, site="herald.example", title="t", authors=[], body="b",
                content_hash="d" * 64, first_seen_at=T0, last_seen_at=T0, last_fetched_at=T0,
                version_count=1,
            )  # fmt: skip
            session.add(lone)
            session.flush()
            session.add_all([url_row(lone.id, HERALD_URL, T0), url_row(lone.id, REDIRECT, T0)])
            lone_id = lone.id
        upgrade_schema(engine)
        with Session(engine) as session:
            assert [(a.id, a.cluster_id) for a in session.scalars(select(Article))] == [
                (lone_id, None)
            ]
            assert session.query(ArticleUrl).count() == 2
    finally:
        engine.dispose()
