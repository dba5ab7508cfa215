"""Alerts from ``newsmon crawl``: sent once after the crawl, a failing target never fails
the crawl, and ``newsmon status`` shows it with its password hidden."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from crawler.store.models import AlertDelivery
from crawler.store.queries import ArticleFilter, query_articles
from crawler.store.store import Store
from tests.newssites import FixtureNetwork
from tests.test_end_to_end import crawl, write_settings
from tests.webhook import WebhookReceiver

SECRET = "s3cret-hook-pw"


def add_alert(settings: Path, notify: str, search: str = "kherson") -> None:
    with settings.open("a", encoding="utf-8") as file:
        file.write(f'\n[[alerts]]\nname = "kherson"\nsearch = "{search}"\nnotify = ["{notify}"]\n')


def test_crawl_sends_each_match_once_and_a_failing_target_shows_in_status(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    news_network.herald.slow_delay = 0.2
    with WebhookReceiver() as receiver:
        settings = write_settings(tmp_path, news_network)
        hook = receiver.url().replace("json://", f"json://desk:{SECRET}@")
        add_alert(settings, hook)
        receiver.fail_next(1000)  # the target is down
        first = crawl(settings)
        assert first.returncode == 0, first.stderr[-2000:]  # alerts never fail a crawl
        assert receiver.posts and receiver.received() == []
        assert "alert kherson: json://desk:****@" in first.stderr
        status = subprocess.run(
            [sys.executable, "-m", "crawler", "status", "--settings", str(settings)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        (line,) = [ln for ln in status.stdout.splitlines() if ln.startswith("alert ")]
        assert line.startswith(f"alert kherson → json://desk:****@127.0.0.1:{receiver.port}/hook:")
        assert "failing (" in line and "500" in line and "next try" in line
        assert SECRET not in first.stdout + first.stderr + status.stdout + status.stderr

        with Store.open(f"sqlite:///{tmp_path}/news.db") as store, store.reading() as session:
            rows = list(session.scalars(select(AlertDelivery)))
            matching = query_articles(session, ArticleFilter(search="kherson", limit=None))
        # One waiting message per matching article, each tried once, none sent.
        assert sorted(r.article_id for r in rows) == sorted(a["id"] for a in matching)
        assert all(r.status == "pending" and r.attempts == 1 for r in rows)


def test_crawl_sends_once_and_a_re_crawl_sends_nothing(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    news_network.herald.slow_delay = 0.2
    with WebhookReceiver() as receiver:
        settings = write_settings(tmp_path, news_network)
        add_alert(settings, receiver.url())
        assert crawl(settings).returncode == 0
        with Store.open(f"sqlite:///{tmp_path}/news.db") as store, store.reading() as session:
            matching = query_articles(session, ArticleFilter(search="kherson", limit=None))
        assert matching
        titles = sorted(p.title for p in receiver.received())
        assert titles == sorted(f"[kherson] new: {a['title']}" for a in matching)
        assert crawl(settings).returncode == 0
        assert len(receiver.posts) == len(matching)
        listed = subprocess.run(
            [sys.executable, "-m", "crawler", "alerts", "list", "--format", "json",
             "--settings", str(settings)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        (row,) = json.loads(listed.stdout)
        assert (row["alert"], row["target"]) == ("kherson", receiver.url())
        assert (row["sent"], row["waiting"], row["given_up"]) == (len(matching), 0, 0)
