"""The store on a real SQLite file and a real PostgreSQL: dedup, versions, UTC, runs."""

from __future__ import annotations

import threading
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select, text

from crawler.article import Article as Parsed
from crawler.store.feed_status import feed_status
from crawler.store.models import (
    Article,
    ArticleFeed,
    ArticleTag,
    ArticleUrl,
    ArticleVersion,
    CrawlRun,
)
from crawler.store.queries import (
    ArticleFilter,
    find_article,
    iter_export,
    query_articles,
)
from crawler.store.store import RunCounts, Store
from tests.factories import make_article

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


FLOOD = make_article(
    "https://news.example/2024/03/01/river-flood.html",
    canonical_url="https://news.example/2024/03/01/river-flood.html",
    title="River floods the old town",
    authors=("Ana Lima",),
    published_at=datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2))),
    tags=("floods", "weather"),
    body="The river rose overnight.\n\nShops on the quay were closed by noon.",
    summary="The river rose overnight.",
    lead_image_url="https://news.example/img/flood.jpg",
    published_source="json-ld",
    published_precision="second",
)


def parsed(**overrides: Any) -> Parsed:
    return replace(FLOOD, **overrides)


@pytest.fixture
def store(db_url: str):
    s = Store.open(db_url)
    yield s
    s.close()


def count(store: Store, model: type) -> int:
    with store.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_new_article_is_stored_with_utc_dates(store: Store) -> None:
    result = store.save_article(parsed(), feed="a", feed_tags=["Local"], fetched_at=T0)
    assert result.outcome == "new" and result.version == 1
    with store.reading() as session:
        article = session.get(Article, result.article_id)
        assert article is not None
        # 09:30 at +02:00 is 07:30 UTC, and it comes back aware on every backend.
        assert article.published_at == datetime(2024, 3, 1, 7, 30, tzinfo=UTC)
        assert article.published_at.tzinfo is not None
        assert article.site == "news.example"
        assert article.authors == ["Ana Lima"]
        tags = set(session.scalars(select(ArticleTag.tag)))
        assert tags == {"floods", "weather", "local"}


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"):
        store.save_article(parsed(published_at=datetime(2024, 3, 1, 9, 30)), feed="a")


def test_same_content_same_url_is_unchanged(store: Store) -> None:
    store.save_article(parsed(), feed="a", fetched_at=T0)
    again = store.save_article(parsed(), feed="a", fetched_at=T0 + timedelta(hours=1))
    assert again.outcome == "unchanged"
    assert count(store, Article) == 1
    assert count(store, ArticleVersion) == 1


def test_whitespace_and_case_changes_are_not_a_version(store: Store) -> None:
    store.save_article(parsed(), feed="a", fetched_at=T0)
    body = "The  river rose OVERNIGHT.\n\n\nShops on the quay were closed by noon."
    again = store.save_article(parsed(body=body), feed="a", fetched_at=T0 + timedelta(hours=1))
    assert again.outcome == "unchanged"


def test_changed_body_is_a_new_version_of_the_same_article(store: Store) -> None:
    first = store.save_article(parsed(), feed="a", fetched_at=T0)
    edited = parsed(body="The river rose overnight.\n\nShops stayed closed until Monday.")
    second = store.save_article(edited, feed="a", fetched_at=T0 + timedelta(hours=2))
    assert second.outcome == "version" and second.version == 2
    assert second.article_id == first.article_id
    with store.reading() as session:
        article = session.get(Article, first.article_id)
        assert article is not None and article.version_count == 2
        assert "Monday" in article.body
        versions = [v.body for v in article.versions]
        assert "noon" in versions[0] and "Monday" in versions[1]
        # The first publication date stays; the edit does not re-date the article.
        assert article.published_at == datetime(2024, 3, 1, 7, 30, tzinfo=UTC)


def test_tracking_variant_of_a_stored_url_is_the_same_article(store: Store) -> None:
    first = store.save_article(parsed(), feed="a", fetched_at=T0)
    second = store.save_article(
        parsed(canonical_url=None, url="https://www.news.example/2024/03/01/river-flood.html"),
        feed="b",
        feed_tags=["rivers"],
        fetched_at=T0,
    )
    assert second.article_id == first.article_id
    with store.reading() as session:
        feeds = set(session.scalars(select(ArticleFeed.feed)))
        assert feeds == {"a", "b"}
        assert "rivers" in set(session.scalars(select(ArticleTag.tag)))


def test_same_content_under_another_url_is_a_duplicate(store: Store) -> None:
    first = store.save_article(parsed(), feed="a", fetched_at=T0)
    mirror = parsed(url="https://news.example/amp/river-flood", canonical_url=None)
    second = store.save_article(mirror, feed="b", fetched_at=T0)
    assert second.outcome == "duplicate" and second.article_id == first.article_id
    assert count(store, Article) == 1
    with store.reading() as session:
        assert (
            find_article(session, "https://news.example/amp/river-flood?utm_source=x") is not None
        )


def test_link_known_records_feed_and_tags_without_a_new_article(store: Store) -> None:
    result = store.save_article(parsed(), feed="a", fetched_at=T0)
    store.link_known([(result.article_id, parsed().url)], feed="b", tags=("russia",), seen_at=T0)
    with store.reading() as session:
        assert set(session.scalars(select(ArticleFeed.feed))) == {"a", "b"}
        assert "russia" in set(session.scalars(select(ArticleTag.tag)))
    assert count(store, Article) == 1


def test_concurrent_saves_of_one_url_store_it_once(store: Store) -> None:
    errors: list[BaseException] = []

    def save() -> None:
        try:
            store.save_article(parsed(), feed="a", fetched_at=T0)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(store, Article) == 1
    assert count(store, ArticleUrl) == 1


def test_runs_and_feed_status(store: Store) -> None:
    store.sync_feeds(
        [("a", "rss", "https://news.example/rss"), ("b", "listing", "https://x.example/")]
    )
    run_id = store.start_run("a", T0)
    store.save_article(parsed(), feed="a", fetched_at=datetime.now(UTC))
    store.finish_run(run_id, RunCounts(pages_fetched=3, articles_found=2, articles_new=1), "ok")
    failed = store.start_run("b", T0)
    store.finish_run(failed, RunCounts(errors=1), "failed", "https://x.example/: HTTP 500")
    with store.reading() as session:
        rows = {
            r.name: r for r in feed_status(session, [("a", "rss", True), ("b", "listing", True)])
        }
        assert rows["a"].last_outcome == "ok" and rows["a"].articles_new == 1
        assert rows["a"].articles_24h == 1 and rows["a"].consecutive_failures == 0
        assert rows["b"].last_outcome == "failed" and rows["b"].consecutive_failures == 1
        assert rows["b"].last_error == "https://x.example/: HTTP 500"
        run = session.get(CrawlRun, run_id)
        assert run is not None and run.pages_fetched == 3


def test_every_run_counter_reaches_its_column(store: Store) -> None:
    names = [f.name for f in fields(RunCounts)]
    counts = RunCounts(**{name: 10 + n for n, name in enumerate(names)})
    run_id = store.start_run("a", T0)
    store.finish_run(run_id, counts, "ok")
    with store.reading() as session:
        run = session.get(CrawlRun, run_id)
        assert run is not None
        assert {name: getattr(run, name) for name in names} == {
            name: 10 + n for n, name in enumerate(names)
        }


def test_interrupted_runs_are_closed(store: Store) -> None:
    store.start_run("a", T0)
    assert store.close_interrupted_runs() == {"a"}
    with store.reading() as session:
        assert session.scalars(select(CrawlRun.outcome)).one() == "interrupted"


def test_query_filters_and_order(store: Store) -> None:
    store.save_article(parsed(), feed="a", fetched_at=T0)
    store.save_article(
        parsed(
            url="https://other.example/b",
            canonical_url=None,
            title="Later story",
            body="Completely different text about elections.",
            tags=("politics",),
            published_at=datetime(2024, 3, 2, tzinfo=UTC),
        ),
        feed="b",
        fetched_at=T0,
    )
    with store.reading() as session:
        rows = query_articles(session, ArticleFilter())
        assert [r["title"] for r in rows] == ["Later story", "River floods the old town"]
        assert [r["title"] for r in query_articles(session, ArticleFilter(tag="Floods"))] == [
            "River floods the old town"
        ]
        assert len(query_articles(session, ArticleFilter(feed="b"))) == 1
        assert len(query_articles(session, ArticleFilter(site="other.example"))) == 1
        since = query_articles(session, ArticleFilter(since=datetime(2024, 3, 1, 12, tzinfo=UTC)))
        assert [r["title"] for r in since] == ["Later story"]
        exported = list(iter_export(session))
        assert [r["versions"] for r in exported] == [1, 1]
        assert exported[0]["published_at"] == "2024-03-01T07:30:00Z"


def test_sqlite_is_in_wal_mode(tmp_path) -> None:
    s = Store.open(f"sqlite:///{tmp_path}/x/news.db")
    with s.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    s.close()


def test_a_batch_is_one_transaction_where_a_bad_article_spoils_only_itself(store: Store) -> None:
    from crawler.errors import StoreError
    from crawler.fingerprint import fingerprint_of
    from crawler.store.saves import SaveRequest

    def request(article: Parsed, like: Parsed | None = None) -> SaveRequest:
        return SaveRequest(article, fingerprint_of(like or article), "a", ("local",), (), T0)

    good = parsed()
    other = parsed(url="https://news.example/2024/03/01/bridge.html", canonical_url=None,
                   title="Bridge reopens", body="The bridge reopened on Friday.")  # fmt: skip
    valid = parsed(url="https://news.example/2024/03/01/x.html", canonical_url=None,
                   body="Another story.")  # fmt: skip
    broken = replace(valid, title=None)  # NOT NULL: the database refuses it
    again = parsed()  # the first one, listed twice in one batch: found, not stored twice
    batch = store.save_articles(
        [request(good), request(broken, valid), request(other), request(again)]
    )
    first, failed, second, repeat = batch.results
    assert isinstance(failed, StoreError) and "database error" in str(failed)
    assert not isinstance(first, StoreError) and first.outcome == "new"
    assert not isinstance(second, StoreError) and second.outcome == "new"
    assert not isinstance(repeat, StoreError) and repeat.outcome == "unchanged"
    assert repeat.article_id == first.article_id
    assert count(store, Article) == 2 and count(store, ArticleVersion) == 2
    with store.reading() as session:
        urls = set(session.scalars(select(ArticleUrl.url)))
    assert "https://news.example/2024/03/01/x.html" not in urls


def test_lead_image_caption_and_credit_are_stored_and_follow_their_image(store: Store) -> None:
    def image(article_id: int) -> tuple[str | None, str | None, str | None]:
        with store.reading() as session:
            a = session.get(Article, article_id)
            assert a is not None
            return a.lead_image_url, a.lead_image_caption, a.lead_image_credit

    flood = "https://news.example/img/flood.jpg"
    # Stored without them, as articles saved before they were kept: a re-fetch of the same
    # image fills them in.
    first = store.save_article(parsed(), feed="a", fetched_at=T0)
    assert image(first.article_id) == (flood, None, None)
    same = parsed(lead_image_caption="The quay at noon.", lead_image_credit="Ana Lima/Reuters")
    assert store.save_article(same, feed="a", fetched_at=T0).outcome == "unchanged"
    assert image(first.article_id) == (flood, "The quay at noon.", "Ana Lima/Reuters")
    # A new version with another image brings that image's caption and credit, or none.
    edited = parsed(body="The river fell back.", lead_image_url="https://news.example/img/2.jpg")
    assert store.save_article(edited, feed="a", fetched_at=T0).outcome == "version"
    assert image(first.article_id) == ("https://news.example/img/2.jpg", None, None)
    # A version without an image keeps the last one, with its caption and credit.
    again = parsed(body="The river is back in its bed.", lead_image_url=None)
    store.save_article(
        replace(edited, lead_image_caption="Dry streets.", lead_image_credit="AFP"), feed="a"
    )
    store.save_article(again, feed="a", fetched_at=T0)
    assert image(first.article_id) == ("https://news.example/img/2.jpg", "Dry streets.", "AFP")
