"""Nothing is lost when SQLite's disk fills up mid-crawl: real faults, real processes.

SQLite on a small tmpfs that a ballast file fills while a crawl runs (once the site has
served some article pages): the writer waits the outage out and, once the ballast is
deleted, stores the rest; when the disk stays full longer than the outage's patience, the
run ends ``partial`` without saving the feed's validators and the next run fetches what
is missing; a service stopped meanwhile stops at once and, restarted, stores the rest.
Every article ends up stored once, the logs hold no page text, and an error repeated for
every article is a line with a count. (PostgreSQL: tests/test_postgres_outages.py.)

Mounting the tmpfs needs root (CI runs as root): without it these tests skip with the
reason, or fail under NEWSMON_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import errno
import json
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.gensite import GeneratedSite
from tests.conftest import REQUIRE_SERVICES
from tests.outage_runs import (
    ARTICLES,
    FEED,
    Background,
    assert_every_article_once,
    assert_no_page_text,
    crawl,
    generated_site,
    lines_with,
    sqlite_counts,
    write_settings,
)
from tests.service_process import ServiceProcess, wait_for

pytestmark = pytest.mark.slow

FILL_AFTER = 30  # article pages served before the disk fills up


@pytest.fixture
def site() -> Iterator[GeneratedSite]:
    with generated_site() as served:
        yield served


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
        wait_for("the disk to fill up", filler.filled.is_set, timeout=120, service=process)
        wait_for(
            "the writer to meet the full disk",
            lambda: "database unavailable" in process.log,
            service=process,
        )
        # The crawl goes on fetching; its articles wait for the writer, which waits.
        wait_for("every article page served", lambda: filler.served == ARTICLES, service=process)
        stalled = sqlite_counts(database)["articles"]
        assert stalled < ARTICLES
        assert process.alive(), "the crawl ended while its articles waited"
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
    process = Background(["tests.outage_runs", str(settings), FEED, "1.0"], log)
    try:
        wait_for("the disk to fill up", filler.filled.is_set, timeout=120, service=process)
        wait_for(
            "the writer to give up",
            lambda: "database still unavailable" in process.log,
            service=process,
        )
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
    # Each thing the full disk kept from being saved says so once (the outage, one article
    # and the count of the rest, validators, the run, its next run's plan), never per article.
    full = lines_with(logs, "database or disk is full")
    assert len(full) <= 7, "\n".join(full)
    assert "Traceback" not in logs
    assert_no_page_text(logs, site.stories)
