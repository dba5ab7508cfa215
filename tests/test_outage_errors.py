"""What counts as an unavailable database, and what the logs may say about items and errors.

The faults themselves, in real processes, are in tests/test_database_outages.py; these
check the pieces on real SQLite errors and Scrapy's real log formatting.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.log import logformatter_adapter
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from crawler.config import Settings
from crawler.crawl.feedrun import ArticlePage, FeedRun
from crawler.crawl.log_formatter import UrlOnlyLogFormatter
from crawler.crawl.outage import Outage, log_failure, unavailable_reason
from crawler.extract.discovery import Candidate
from crawler.store.database import create_db_engine, is_unavailable
from crawler.store.store import Store

SECRET_URL = "postgresql+psycopg://newsmon:hunter2-secret@db.example/news"
BODY = "<html><body><p>A paragraph of the page that must stay out of logs.</p></body></html>"


def _error_of(engine_url: str, statement: str, **params: object) -> SQLAlchemyError:
    engine = create_db_engine(engine_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement), params)
    except SQLAlchemyError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError(f"{statement} did not fail")


def test_a_locked_sqlite_database_is_unavailable_a_missing_table_is_not(tmp_path: Path) -> None:
    path = tmp_path / "news.db"
    with Store.open(f"sqlite:///{path}"):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held by another connection
    try:
        locked = _locked_error(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert is_unavailable(locked)
    assert unavailable_reason(locked) == "database is locked"
    missing = _error_of(f"sqlite:///{path}", "INSERT INTO no_such_table VALUES (1)")
    assert not is_unavailable(missing)
    assert unavailable_reason(missing) is None


def _locked_error(path: Path) -> SQLAlchemyError:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM feeds"))
    except SQLAlchemyError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError("the write went through despite the lock")


def test_database_errors_carry_no_statement_parameters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/news.db"
    with Store.open(url):
        pass
    statement = "INSERT INTO robots_txt (origin, body, fetched_at) VALUES (:o, :b, :f)"
    values = {"o": "https://a.example", "b": BODY.encode(), "f": datetime.now(UTC)}
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(text(statement), values)
    engine.dispose()
    duplicate = _error_of(url, statement, **values)
    assert "UNIQUE" in str(duplicate)
    assert "must stay out of logs" not in str(duplicate)
    assert "a.example" not in str(duplicate)


def _page() -> ArticlePage:
    url = "https://news.example/a/1"
    return ArticlePage(
        body=BODY.encode(),
        url=url,
        requested_url=url,
        charset="utf-8",
        candidate=Candidate(url=url),
        fetched_at=datetime.now(UTC),
    )


def _run() -> FeedRun:
    settings = Settings.model_validate(
        {
            "database": {"url": SECRET_URL},
            "feeds": [{"name": "wire", "kind": "rss", "url": "https://news.example/feed"}],
        }
    )
    return FeedRun(feed=settings.feeds[0], settings=settings, store=None)  # type: ignore[arg-type]


def test_items_and_runs_show_only_their_url_or_feed() -> None:
    page, run = _page(), _run()
    assert repr(page) == "<ArticlePage https://news.example/a/1>"
    assert repr(run) == "<FeedRun wire>"
    # Scrapy's dropped-item line, as Scrapy's scraper logs it, with our LOG_FORMATTER.
    formatter = UrlOnlyLogFormatter()
    for entry in (
        formatter.dropped(page, DropItem("not stored: x"), None, None),  # type: ignore[arg-type]
        formatter.item_error(page, ValueError("bad\nsecond line"), None, None),  # type: ignore[arg-type]
        formatter.scraped(page, None, None),  # type: ignore[arg-type]
    ):
        _, message, args = logformatter_adapter(entry)  # type: ignore[arg-type]
        line = message % args
        assert "https://news.example/a/1" in line
        assert "must stay out of logs" not in line and "hunter2" not in line
        assert "\n" not in line
    dropped_level, *_ = logformatter_adapter(formatter.dropped(page, DropItem("x"), None, None))  # type: ignore[arg-type]
    assert dropped_level == logging.DEBUG


def test_articles_not_stored_keep_the_validators_and_are_logged_once_per_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = _run()
    assert run.may_save_validators
    with caplog.at_level(logging.WARNING, logger="crawler.feed"):
        for n in range(50):
            run.not_stored(f"https://news.example/a/{n}", "database unavailable: disk full")
        run.not_stored("https://news.example/b", "the writer process died")
    assert not run.may_save_validators
    assert run.counts.errors == 51
    assert len(caplog.records) == 2  # one per reason, not one per article
    assert run.error == (
        "51 article(s) not stored, fetched again next run:"
        " database unavailable: disk full ×50; the writer process died ×1"
    )


def test_an_outage_is_one_line_when_it_starts_and_one_with_the_count_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage("saving articles", patience=60)
    with caplog.at_level(logging.INFO, logger="crawler.crawl.outage"):
        delays = [outage.failed("database or disk is full", waiting=10) for _ in range(40)]
        outage.ended()
    assert all(d is not None and 0 < d <= 15 for d in delays)
    assert delays[0] < delays[1] < delays[2]  # exponential back-off, capped
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "40 failed attempts: database or disk is full ×40" in lines[1]


def test_an_outage_past_its_patience_is_given_up_once() -> None:
    outage = Outage("saving articles", patience=0)
    assert outage.failed("database is locked", waiting=3) is None
    assert outage.gave_up
    assert outage.failed("database is locked", waiting=3) is None
    assert outage.attempts == 2


def test_an_error_nobody_expected_keeps_the_validators_unsaved(tmp_path: Path) -> None:
    """Scrapy's own signals for a callback or an item that raised reach the run."""
    from scrapy import signals
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_reactor_settings
    from twisted.python.failure import Failure

    from crawler.crawl.context import CrawlContext, FeedCrawler
    from crawler.crawl.pipeline import StorePipeline
    from crawler.crawl.politeness import HostGuard
    from crawler.crawl.spider import FeedSpider
    from crawler.crawl.workers import ArticleWorkers

    run = _run()
    workers = ArticleWorkers(processes=1)
    context = CrawlContext(run, workers, HostGuard(1, 0))
    settings = {"TELNETCONSOLE_ENABLED": False, **get_reactor_settings()}
    crawler = FeedCrawler(FeedSpider, settings, context)
    crawler._apply_settings()
    spider = FeedSpider.from_crawler(crawler)
    pipeline = StorePipeline.from_crawler(crawler)  # held, as Scrapy holds it (weak signals)
    response = HtmlResponse("https://news.example/feed", body=b"<html></html>")
    try:
        raise ValueError("unexpected\nmore")
    except ValueError:
        failure = Failure()
    crawler.signals.send_catch_log(
        signal=signals.spider_error, failure=failure, response=response, spider=spider
    )
    assert not run.may_save_validators
    assert run.problems == ["https://news.example/feed: internal error: unexpected"]
    crawler.signals.send_catch_log(
        signal=signals.item_error, item=_page(), response=response, spider=spider, failure=failure
    )
    assert run.unsaved == {"ValueError: unexpected": 1}
    assert pipeline.run is run
    workers.close()


def test_a_failure_is_one_line_for_the_operator_and_a_traceback_only_when_debugging(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = _error_of(f"sqlite:///{tmp_path / 'news.db'}", "SELECT * FROM no_such_table")
    logger = logging.getLogger("crawler.test_failures")
    with caplog.at_level(logging.INFO, logger="crawler.test_failures"):
        log_failure(logger, "feed wire: run failed", missing)
        log_failure(logger, "alerts: pass failed", ValueError("bad target\nsecond line"))
    assert [(r.levelno, r.getMessage(), r.exc_info) for r in caplog.records] == [
        (
            logging.ERROR,
            "feed wire: run failed: database error: no such table: no_such_table",
            None,
        ),
        (logging.ERROR, "alerts: pass failed: ValueError: bad target", None),
    ]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="crawler.test_failures"):
        log_failure(logger, "worker failed", RuntimeError("boom"))
    assert [r.levelno for r in caplog.records] == [logging.ERROR, logging.DEBUG]
    assert caplog.records[1].exc_info is not None
