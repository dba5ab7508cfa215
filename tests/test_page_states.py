"""Conditional-GET state is per feed: two feeds of one URL each read the page for themselves.

Before, the validators were kept per URL: the second feed of a URL sent the first one's,
got a 304, found nothing, and its tags were never given to the page's articles.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from crawler.store.models import ArticleFeed, ArticleTag, PageState
from crawler.store.store import Store
from tests.newssites import FixtureNetwork

RSS_PATH = "/rss/world.xml"


def write_settings(tmp_path: Path, network: FixtureNetwork) -> Path:
    feeds = "".join(
        f'\n[[feeds]]\nname = "{name}"\nkind = "rss"\nurl = "{network.herald.url(RSS_PATH)}"\n'
        f"tags = {json.dumps([tag])}\n"
        for name, tag in (("world-a", "alpha"), ("world-b", "beta"))
    )
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/news.db"\n\n'
        '[crawl]\nuser_agent = "newsmon-tests/0.1 (+https://example.invalid/contact)"\n'
        'download_delay = 0\ntimeout = 10\nretries = 0\nrevisit_window = "1s"\n'
        f'\n[defaults]\nschedule = {{ every = "1h", jitter = "0s" }}\n{feeds}',
        encoding="utf-8",
    )
    return path


def crawl(settings: Path, feed: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings), feed],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def feed_page_statuses(network: FixtureNetwork, since: int) -> list[int]:
    return [r.status for r in network.herald.requests[since:] if r.path == RSS_PATH]


def test_two_feeds_of_one_url_each_get_the_page_and_give_their_tags(
    tmp_path: Path, news_network: FixtureNetwork
) -> None:
    settings = write_settings(tmp_path, news_network)
    in_rss = [e for e in news_network.herald.expected_articles() if "herald-rss" in e.feeds]
    assert in_rss, "the fixture feed lists no articles: nothing is proven"

    statuses: dict[str, list[int]] = {}
    for feed in ("world-a", "world-b", "world-b", "world-a"):
        since = len(news_network.herald.requests)
        crawl(settings, feed)
        statuses.setdefault(feed, []).extend(feed_page_statuses(news_network, since))
    # Each feed's first run reads the page whole, its second one is answered 304.
    assert statuses == {"world-a": [200, 304], "world-b": [200, 304]}

    store = Store.open(f"sqlite:///{tmp_path}/news.db")
    try:
        with store.reading() as session:
            linked = {
                feed: set(
                    session.scalars(select(ArticleFeed.article_id).where(ArticleFeed.feed == feed))
                )
                for feed in ("world-a", "world-b")
            }
            tagged = {
                tag: set(
                    session.scalars(select(ArticleTag.article_id).where(ArticleTag.tag == tag))
                )
                for tag in ("alpha", "beta")
            }
            pages = session.execute(select(PageState.feed, PageState.url_key)).all()
    finally:
        store.close()
    assert len(linked["world-a"]) == len(in_rss)
    assert linked["world-b"] == linked["world-a"]
    assert tagged == {"alpha": linked["world-a"], "beta": linked["world-a"]}
    assert sorted(feed for feed, _ in pages) == ["world-a", "world-b"]
