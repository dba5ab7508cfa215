"""Test support for the database-outage tests: a generated site, runs of ours in
subprocesses, and what the database holds afterwards.

``python -m tests.outage_runs SETTINGS FEED PATIENCE`` runs one feed as ``newsmon crawl``
does, with the writer's outage patience set to PATIENCE seconds, and prints how it ended.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.gensite import GeneratedSite, StoryInfo
from tests.service_process import ROOT

ARTICLES = 120
FEED = "gen-politics-rss"
CRAWL = {
    "user_agent": "newsmon-tests/0.1 (+https://example.invalid/contact)",
    "download_delay": 0,
    "concurrent_requests_per_host": 4,
    "timeout": 10,
    "retries": 0,
}


def generated_site() -> GeneratedSite:
    """A site of ARTICLES stories, all in one RSS feed (FEED)."""
    return GeneratedSite(ARTICLES, sections=1, feed_items=ARTICLES, words=(300, 600))


def write_settings(
    directory: Path, url: str, site: GeneratedSite, *, sitemap: bool = False
) -> Path:
    crawl = "\n".join(f"{key} = {json.dumps(value)}" for key, value in CRAWL.items())
    path = directory / "settings.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n\n[crawl]\n{crawl}\n\n'
        '[defaults]\nschedule = { every = "1h", jitter = "0s" }\ntimezone = "UTC"\n\n'
        f"{site.feeds_toml(listings=False, rss=True, sitemap=sitemap)}",
        encoding="utf-8",
    )
    return path


class Background:
    """A command of ours in a subprocess, stderr to ``log``, stdout kept."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log_path = log
        self._stderr = open(log, "w", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=ROOT,
        )

    @property
    def log(self) -> str:
        self._stderr.flush()
        return self.log_path.read_text(encoding="utf-8")

    def alive(self) -> bool:
        return self.process.poll() is None

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        try:
            stdout, _ = self.process.communicate(timeout=timeout)
        finally:
            self.close()
        return self.process.returncode, stdout

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
        self._stderr.close()


def crawl(settings: Path, *feeds: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--settings", str(settings), *feeds],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def sqlite_counts(database: Path) -> dict[str, Any]:
    """What is stored, read with plain sqlite3 (no write, so it works on a full disk)."""
    with sqlite3.connect(database, timeout=30) as connection:
        return counts_of(lambda sql: list(connection.execute(sql)))


def counts_of(query: Callable[[str], list[Any]]) -> dict[str, Any]:
    return {
        "articles": query("SELECT count(*) FROM articles")[0][0],
        "versions": query("SELECT count(*) FROM article_versions")[0][0],
        "urls": {row[0] for row in query("SELECT url FROM articles")},
        "page_states": query("SELECT count(*) FROM page_states")[0][0],
        "runs": [
            (row[0], row[1]) for row in query("SELECT outcome, error FROM crawl_runs ORDER BY id")
        ],
    }


def expected_urls(site: GeneratedSite) -> set[str]:
    return {site.url(story.path) for story in site.stories}


def assert_every_article_once(counts: dict[str, Any], site: GeneratedSite) -> None:
    assert counts["urls"] == expected_urls(site)
    # Once each: one article row and one version per story, however often it was saved.
    assert (counts["articles"], counts["versions"]) == (ARTICLES, ARTICLES)


def assert_no_page_text(logs: str, stories: list[StoryInfo]) -> None:
    for story in stories:
        for paragraph in story.paragraphs[:2]:
            assert paragraph[:60] not in logs, f"page text of {story.path} in a log line"


def lines_with(logs: str, needle: str) -> list[str]:
    return [line for line in logs.splitlines() if needle in line]


def run_with_patience(settings_path: str, feed_name: str, patience: float) -> dict[str, Any]:
    """One run of the feed as ``newsmon crawl`` makes it, with the writer's outage patience
    set to ``patience`` seconds."""
    from crawler.config import load_settings
    from crawler.crawl.runner import FeedRunner, run_in_reactor
    from crawler.crawl.workers import ArticleWorkers
    from crawler.logs import configure_logging
    from crawler.store.store import Store

    configure_logging()
    settings = load_settings(Path(settings_path))
    store = Store.open(settings.database.url)
    store.sync_feeds((f.name, f.kind, f.url) for f in settings.feeds)
    runner = FeedRunner(settings, store)
    runner.article_workers.close()  # unused: replaced by one with the short patience
    runner.article_workers = ArticleWorkers(outage_patience=patience)

    async def main() -> Any:
        try:
            return await runner.run_feed(settings.feed(feed_name))
        finally:
            await runner.stop()

    outcome = run_in_reactor(main)
    store.close()
    return {"outcome": outcome.outcome, "error": outcome.error}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(json.dumps(run_with_patience(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
