"""Nothing is lost when PostgreSQL drops the crawl's connections, and no password is logged.

The real PostgreSQL: the crawl's backends are terminated (``pg_terminate_backend``)
several times mid-crawl; every article is stored, none twice. The server itself is never
restarted: other test sessions share it. Every line that the crawl, the service and
``newsmon status`` print is searched for the database password (the fixture's URL carries
one) and for page text.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.gensite import GeneratedSite
from tests.outage_runs import (
    FEED,
    assert_every_article_once,
    assert_no_page_text,
    counts_of,
    crawl,
    generated_site,
    write_settings,
)
from tests.service_process import ROOT, ServiceProcess, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def site() -> Iterator[GeneratedSite]:
    with generated_site() as served:
        yield served


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
