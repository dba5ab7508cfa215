"""Alerts and metrics of the real service: a process crawling the fixture network, a
webhook receiver on 127.0.0.1 getting apprise's POSTs, ``/metrics`` read over HTTP.

The receiver must get one POST per matching new article and one per matching edit, and
none again when the service restarts and crawls the same pages again; what ``/metrics``
counts must be what ``crawl_runs`` holds.
"""

from __future__ import annotations

import socket
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from crawler.store.models import Article, ArticleFeed, ArticleVersion, CrawlRun
from crawler.store.store import Store
from tests.newssites import FixtureNetwork
from tests.service_process import ServiceProcess, runs_by_feed, wait_for
from tests.test_end_to_end import write_settings
from tests.webhook import WebhookReceiver

pytestmark = pytest.mark.slow

HERALD_FEEDS = ("herald-ukraine", "herald-russia", "herald-rss")
SECRET = "hook-pass-5e1f"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_alerts(settings: Path, receiver: WebhookReceiver, metrics_port: int) -> None:
    feeds = ", ".join(f'"{f}"' for f in HERALD_FEEDS)
    hook = receiver.url("/herald").replace("json://", f"json://desk:{SECRET}@")
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        f'[service]\nmetrics = "127.0.0.1:{metrics_port}"\n\n{text}\n'
        f'[[alerts]]\nname = "herald"\nfeeds = [{feeds}]\nevents = ["new", "edited"]\n'
        f'notify = ["{hook}"]\n\n'
        f'[[alerts]]\nname = "nothing"\nsearch = "xylophone"\n'
        f'notify = ["{receiver.url("/none")}"]\n',
        encoding="utf-8",
    )


def expected_posts(store: Store) -> Counter[str]:
    """The titles the receiver should have, from the database: each herald article as it was
    first stored, each later version as an edit."""
    with store.reading() as session:
        herald = select(ArticleFeed.article_id).where(ArticleFeed.feed.in_(HERALD_FEEDS))
        rows = session.execute(
            select(ArticleVersion.version, ArticleVersion.title).where(
                ArticleVersion.article_id.in_(herald)
            )
        )
        return Counter(
            f"[herald] {'new' if version == 1 else 'edited'}: {title}" for version, title in rows
        )


def all_ran(store: Store, feeds: int) -> bool:
    runs = runs_by_feed(store)
    return len(runs) == feeds and all(n >= 1 for n in runs.values())


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode("utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_alerts_are_sent_once_per_match_and_metrics_match_the_runs(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    news_network.herald.slow_delay = 0.2
    receiver = WebhookReceiver()
    port = free_port()
    settings = write_settings(tmp_path, news_network, every="1h")
    with_alerts(settings, receiver, port)
    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    feeds = len(news_network.feed_specs())
    service = ServiceProcess(settings)
    try:
        # The first crawl: every herald article is new, and each is one POST.
        wait_for("a run of every feed", lambda: all_ran(store, feeds), service=service)
        first = expected_posts(store)
        assert first and all(title.startswith("[herald] new: ") for title in first)
        wait_for(
            "a POST per new herald article",
            lambda: Counter(p.title for p in receiver.received("/herald")) == first,
            service=service,
        )
        # /metrics counts what crawl_runs holds, feed by feed.
        metrics = scrape(port)
        with store.reading() as session:
            runs = session.execute(
                select(
                    CrawlRun.feed,
                    CrawlRun.outcome,
                    CrawlRun.pages_fetched,
                    CrawlRun.not_modified,
                    CrawlRun.articles_new,
                    CrawlRun.versions_new,
                    CrawlRun.errors,
                )
            ).all()
            stored = session.scalar(select(func.count()).select_from(Article))
        assert runs
        for feed, outcome, pages, not_modified, new, versions, errors in runs:
            one = (("feed", feed),)
            assert metrics[("newsmon_feed_runs_total", (("feed", feed), ("outcome", outcome)))] == 1
            assert metrics[("newsmon_feed_requests_total", one)] == pages
            assert metrics[("newsmon_feed_not_modified_total", one)] == not_modified
            assert metrics[("newsmon_feed_articles_new_total", one)] == new
            assert metrics[("newsmon_feed_versions_new_total", one)] == versions
            assert metrics[("newsmon_feed_errors_total", one)] == errors
            # A feed whose articles another feed was downloading at that moment saved none
            # itself (crawler.crawl.in_flight): it has no save timings at all.
            assert metrics.get(("newsmon_article_save_seconds_count", one), 0) >= new
        new_total = sum(
            v for (name, _), v in metrics.items() if name == "newsmon_feed_articles_new_total"
        )
        assert new_total == stored
        assert service.terminate() == 0

        # The sites change (new articles, one herald article edited); a restarted service
        # crawls every few seconds, so it crawls the same pages again and again.
        news_network.advance()
        settings.write_text(
            settings.read_text(encoding="utf-8").replace('every = "1h"', 'every = "2s"'),
            encoding="utf-8",
        )
        before = sum(runs_by_feed(store).values())
        service = ServiceProcess(settings, log_name="service-2.log")
        wait_for(
            "three more runs of every feed",
            lambda: sum(runs_by_feed(store).values()) >= before + 3 * feeds,
            service=service,
        )
        second = expected_posts(store)
        edits = [t for t in second if t.startswith("[herald] edited: ")]
        assert len(edits) == 1 and len(second) > len(first)
        wait_for(
            "a POST per new article and one for the edit",
            lambda: Counter(p.title for p in receiver.received("/herald")) == second,
            service=service,
        )
        assert service.terminate() == 0

        # Restarted again: more runs of the same pages, not one POST more.
        before = sum(runs_by_feed(store).values())
        service = ServiceProcess(settings, log_name="service-3.log")
        wait_for(
            "two more runs of every feed",
            lambda: sum(runs_by_feed(store).values()) >= before + 2 * feeds,
            service=service,
        )
        assert service.terminate() == 0
        assert Counter(p.title for p in receiver.received("/herald")) == second
        assert len(receiver.posts) == sum(second.values())  # none failed, none twice
        assert receiver.received("/none") == []  # the alert nothing matched sent nothing
        logs = "".join((tmp_path / n).read_text() for n in ("service.log", "service-2.log"))
        assert SECRET not in logs + service.log
    finally:
        service.close()
        store.close()
        receiver.close()


def test_metrics_address_in_use_is_one_line_and_exit_1(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        receiver = WebhookReceiver()
        try:
            settings = write_settings(tmp_path, news_network, every="1h")
            with_alerts(settings, receiver, port)
            service = ServiceProcess(settings)
            assert service.wait(60) == 1
            lines = [line for line in service.log.splitlines() if line.startswith("newsmon:")]
            assert lines == [
                f"newsmon: cannot serve metrics on 127.0.0.1:{port} ([service] metrics):"
                " Address already in use"
            ], service.log
        finally:
            receiver.close()
