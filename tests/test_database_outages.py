"""Nothing is lost when the database fails mid-crawl: real faults, real processes.

* SQLite on a small tmpfs that a ballast file fills while ``newsmon crawl`` runs (once the
  site has served some article pages): the writer waits the outage out and, once the
  ballast is deleted, stores the rest; or, when the disk stays full longer than the
  outage's patience, the run ends ``partial`` without saving the feed's validators, and
  the next run fetches what is missing. Either way every article ends up stored once.
* The real PostgreSQL: the crawl's backends are terminated (``pg_terminate_backend``)
  several times mid-crawl; every article is stored, none twice. The server itself is
  never restarted: other test sessions share it.
* The logs of those processes hold neither the database password nor page text, and an
  error repeated for every article is one line with a count.

Mounting the tmpfs needs root (CI runs as root): without it these tests skip with the
reason, or fail under NEWSMON_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import errno
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.gensite import GeneratedSite, StoryInfo
from tests.conftest import REQUIRE_SERVICES
from tests.service_process import ROOT, ServiceProcess, wait_for

pytestmark = pytest.mark.slow

ARTICLES = 120
FEED = "gen-politics-rss"
FILL_AFTER = 30  # article pages served before the disk fills up
CRAWL = {
    "user_agent": "newsmon-tests/0.1 (+https://example.invalid/contact)",
    "download_delay": 0,
    "concurrent_requests_per_host": 4,
    "timeout": 10,
    "retries": 0,
}


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def tmpfs() -> Iterator[Path]:
    """A 16 MB tmpfs of its own, unmounted afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="newsmon-tmpfs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        directory.rmdir()
        reason = (mounted.stderr.strip() or "mount refused").splitlines()[0]
        message = f"cannot mount a tmpfs to fill ({reason}); run as root"
        if REQUIRE_SERVICES:
            pytest.fail(message + " or unset NEWSMON_REQUIRE_SERVICES")
        pytest.skip(message)
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)
        directory.rmdir()


@pytest.fixture
def site() -> Iterator[GeneratedSite]:
    with GeneratedSite(ARTICLES, sections=1, feed_items=ARTICLES, words=(300, 600)) as served:
        yield served


class DiskFiller:
    """Fills the file system of ``directory`` with a ballast file when ``site`` is about to
    serve its ``after``-th article page (in the server's thread, before it answers)."""

    def __init__(self, site: GeneratedSite, directory: Path, after: int) -> None:
        self.ballast = directory / "ballast"
        self.after = after
        self.filled = threading.Event()
        self.served = 0
        self._lock = threading.Lock()
        article_paths = {story.path for story in site.stories}
        serve = site._serve

        def serve_and_fill(handler: Any, head_only: bool) -> None:
            if handler.path in article_paths:
                with self._lock:
                    self.served += 1
                    if self.served == self.after:
                        self.fill()
            serve(handler, head_only)

        site._serve = serve_and_fill  # type: ignore[method-assign]

    def fill(self) -> None:
        chunk = b"\0" * 65536
        with open(self.ballast, "wb", buffering=0) as out:
            try:
                while True:
                    out.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
        self.filled.set()

    def free(self) -> None:
        self.ballast.unlink(missing_ok=True)


# -- helpers ----------------------------------------------------------------------------


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
        self.log = log
        self._stderr = open(log, "w", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            cwd=ROOT,
        )

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


def log_has(log: Path, needle: str) -> Callable[[], bool]:
    return lambda: log.exists() and needle in log.read_text(encoding="utf-8")


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


# -- SQLite on a full disk --------------------------------------------------------------


def test_a_full_disk_is_waited_out_and_every_article_stored_once(
    tmpfs: Path, tmp_path: Path, site: GeneratedSite
) -> None:
    database = tmpfs / "news.db"
    settings = write_settings(tmp_path, f"sqlite:///{database}", site)
    filler = DiskFiller(site, tmpfs, FILL_AFTER)
    log = tmp_path / "crawl.log"
    process = Background(["crawler", "crawl", "--settings", str(settings), FEED], log)
    try:
        wait_for("the disk to fill up", filler.filled.is_set, timeout=120)
        wait_for("the writer to meet the full disk", log_has(log, "database unavailable"))
        # The crawl goes on fetching; its articles wait for the writer, which waits.
        wait_for("every article page served", lambda: filler.served == ARTICLES)
        stalled = sqlite_counts(database)["articles"]
        assert stalled < ARTICLES
        assert process.process.poll() is None, "the crawl ended while its articles waited"
        filler.free()
        code, _ = process.finish()
    finally:
        process.close()
    logs = log.read_text(encoding="utf-8")
    assert code == 0, logs[-3000:]
    counts = sqlite_counts(database)
    assert_every_article_once(counts, site)
    assert counts["runs"] == [("ok", None)], counts["runs"]
    assert counts["page_states"] == 1  # a clean run: the feed's validators are kept
    # The whole outage: one line when it began, one when it ended (with its count).
    full = lines_with(logs, "database or disk is full")
    assert len(full) == 2, full
    assert re.search(r"available again after .* (\d+) failed attempts: database or disk", full[1])
    assert_no_page_text(logs, site.stories)

    # A second crawl (the service after a restart does the same) finds nothing missing.
    again = crawl(settings, FEED)
    assert again.returncode == 0, again.stderr[-3000:]
    counts = sqlite_counts(database)
    assert_every_article_once(counts, site)
    assert counts["runs"][-1] == ("ok", None)


def test_a_disk_full_beyond_patience_keeps_the_validators_and_the_next_run_stores_the_rest(
    tmpfs: Path, tmp_path: Path, site: GeneratedSite
) -> None:
    database = tmpfs / "news.db"
    settings = write_settings(tmp_path, f"sqlite:///{database}", site)
    filler = DiskFiller(site, tmpfs, FILL_AFTER)
    log = tmp_path / "run.log"
    # The run, with an outage patience of one second instead of minutes.
    process = Background(["tests.test_database_outages", str(settings), FEED, "1.0"], log)
    try:
        wait_for("the disk to fill up", filler.filled.is_set, timeout=120)
        wait_for("the writer to give up", log_has(log, "database still unavailable"))
        filler.free()  # the run's own records still have to be written
        code, stdout = process.finish()
    finally:
        process.close()
    logs = log.read_text(encoding="utf-8")
    assert code == 0, logs[-3000:]
    outcome = json.loads(stdout)
    counts = sqlite_counts(database)
    missing = ARTICLES - counts["articles"]
    assert missing > 0, "the disk was full for longer than the patience: some must be missing"
    assert outcome["outcome"] == "partial"
    assert counts["runs"] == [("partial", outcome["error"])]
    assert f"{missing} article(s) not stored, fetched again next run" in outcome["error"]
    assert "database or disk is full" in outcome["error"]
    # The feed's validators were not saved: a 304 next run would hide the missing ones.
    assert counts["page_states"] == 0
    # Each article not stored is counted, not logged: the outage began, was given up and
    # ended; the run's first article not stored, the run's count of them, the run's line.
    full = lines_with(logs, "database or disk is full")
    assert len(full) <= 6 < missing, full
    assert any(f"{missing} article(s) not stored" in line for line in full), full
    assert_no_page_text(logs, site.stories)

    again = crawl(settings, FEED)
    assert again.returncode == 0, again.stderr[-3000:]
    counts = sqlite_counts(database)
    assert_every_article_once(counts, site)
    assert counts["runs"][-1] == ("ok", None)
    assert counts["page_states"] == 1


def test_a_service_stopped_on_a_full_disk_stops_at_once_and_after_a_restart_stores_all(
    tmpfs: Path, tmp_path: Path, site: GeneratedSite
) -> None:
    database = tmpfs / "news.db"
    settings = write_settings(tmp_path, f"sqlite:///{database}", site)
    filler = DiskFiller(site, tmpfs, FILL_AFTER)
    service = ServiceProcess(settings)
    try:
        wait_for("the disk to fill up", filler.filled.is_set, timeout=120, service=service)
        wait_for("the writer to meet the full disk", lambda: "database unavailable" in service.log)
        # SIGTERM while articles wait for the disk: the stop does not wait out the outage.
        assert service.terminate(timeout=60) == 0, service.log[-3000:]
    finally:
        service.close()
    first_log = service.log
    assert "service stopped" in first_log
    stored = sqlite_counts(database)
    assert stored["articles"] < ARTICLES
    assert stored["page_states"] == 0  # no validators: the next run fetches the feed whole
    filler.free()

    # Restarted with space again: the interrupted run is run again at once.
    service = ServiceProcess(settings, log_name="service-2.log")
    try:

        def finished_run() -> bool:
            return any(outcome == "ok" for outcome, _ in sqlite_counts(database)["runs"])

        wait_for("the rerun after the restart", finished_run, timeout=180, service=service)
        assert service.terminate() == 0
    finally:
        service.close()
    counts = sqlite_counts(database)
    assert_every_article_once(counts, site)
    assert counts["page_states"] == 1
    logs = first_log + service.log
    assert len(lines_with(logs, "database or disk is full")) <= 6
    assert_no_page_text(logs, site.stories)


# -- PostgreSQL: the crawl's connections terminated mid-crawl ----------------------------


class BackendTerminator:
    """Terminates every other backend of the crawl's database when ``site`` is about to
    serve the article pages numbered in ``at``."""

    def __init__(self, site: GeneratedSite, url: str, at: tuple[int, ...]) -> None:
        self.engine = create_engine(url, poolclass=NullPool)
        self.terminated: list[int] = []
        self._at = set(at)
        self._served = 0
        self._lock = threading.Lock()
        article_paths = {story.path for story in site.stories}
        serve = site._serve

        def serve_and_terminate(handler: Any, head_only: bool) -> None:
            if handler.path in article_paths:
                with self._lock:
                    self._served += 1
                    if self._served in self._at:
                        self.terminate()
            serve(handler, head_only)

        site._serve = serve_and_terminate  # type: ignore[method-assign]

    def terminate(self) -> None:
        with self.engine.connect() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM"
                    " pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        self.terminated.append(int(killed))


def test_postgresql_backends_terminated_mid_crawl_lose_nothing_and_no_password_is_logged(
    pg_url: str, tmp_path: Path, site: GeneratedSite
) -> None:
    # The fixture's URL carries a password (with trust auth, any password connects).
    url, password = pg_url, make_url(pg_url).password
    assert password, "the PostgreSQL fixture URL must carry a password for this test"
    settings = write_settings(tmp_path, url, site, sitemap=True)
    terminator = BackendTerminator(site, url, at=(20, 50, 80))
    try:
        first = crawl(settings, FEED)
    finally:
        terminator.engine.dispose()
    assert first.returncode == 0, first.stderr[-3000:]
    # The crawl's connections were there to terminate (later ones may find none open).
    assert len(terminator.terminated) == 3 and terminator.terminated[0] >= 1, terminator.terminated
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            counts = counts_of(lambda sql: list(connection.execute(text(sql))))
        assert_every_article_once(counts, site)
        assert counts["runs"] == [("ok", None)], counts["runs"]

        # The service, on the same database, runs the sitemap feed (never run before).
        service = ServiceProcess(settings)
        try:

            def sitemap_ran() -> bool:
                with engine.connect() as connection:
                    return bool(
                        connection.execute(
                            text(
                                "SELECT count(*) FROM crawl_runs WHERE feed = 'gen-news-sitemap'"
                                " AND outcome IN ('ok', 'partial')"
                            )
                        ).scalar_one()
                    )

            wait_for("the service's run of the sitemap", sitemap_ran, service=service)
            assert service.terminate() == 0
        finally:
            service.close()
        status = subprocess.run(
            [sys.executable, "-m", "crawler", "status", "--settings", str(settings)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        assert status.returncode == 0, status.stderr
        with engine.connect() as connection:
            counts = counts_of(lambda sql: list(connection.execute(text(sql))))
        assert_every_article_once(counts, site)
    finally:
        engine.dispose()
    outputs = {
        "crawl stdout": first.stdout,
        "crawl stderr": first.stderr,
        "service log": service.log,
        "status stdout": status.stdout,
        "status stderr": status.stderr,
    }
    assert "service started" in service.log
    for name, output in outputs.items():
        assert password not in output, f"the database password is in the {name}"
        assert_no_page_text(output, site.stories)


# -- the run with a short outage patience, in its own process -----------------------------


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
