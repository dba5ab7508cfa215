"""Read commands read: they never wait for the service's write lock, nor take one.

SQLite in WAL mode lets readers see the last committed state while a writer holds its
lock; a read command that opened a write (``BEGIN IMMEDIATE``) transaction instead would
wait up to the busy timeout (15 s) and then fail with "database is locked".
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.store.store import Store
from tests.factories import make_article

BUSY_TIMEOUT = 15.0  # crawler.store.database sets PRAGMA busy_timeout=15000


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    database = tmp_path / "news.db"
    with Store.open(f"sqlite:///{database}") as store:
        for n in (1, 2):
            article = make_article(
                f"https://herald.example/2024/05/0{n}/story.html",
                title=f"Harbour story {n}",
                body=f"The harbour reopened on day {n}.",
            )
            store.save_article(article, feed="herald-rss")
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{database}"\n\n'
        '[[feeds]]\nname = "herald-rss"\nkind = "rss"\nurl = "https://herald.example/rss.xml"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def write_lock_held(settings_path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection in the middle of a write transaction, as the service's writer is."""
    connection = sqlite3.connect(settings_path.parent / "news.db", isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("UPDATE articles SET title = 'uncommitted' WHERE id = 1")
    yield connection
    connection.execute("ROLLBACK")
    connection.close()


@pytest.mark.parametrize(
    "args",
    [
        ["query", "--format", "json"],
        ["query", "--search", "harbour", "--format", "json"],
        ["show", "1", "--format", "json"],
        ["status", "--format", "json"],
        ["stats", "--format", "json"],
        ["export"],
        ["db", "current"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_read_commands_do_not_wait_for_a_writer(
    settings_path: Path, write_lock_held: sqlite3.Connection, args: list[str]
) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "crawler", *args, "--settings", str(settings_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "locked" not in result.stderr
    # A reader that queued for the lock would wait out the whole busy timeout and then fail
    # with "database is locked" (caught above); starting the interpreter and importing
    # newsmon takes a few seconds at most.
    assert elapsed < BUSY_TIMEOUT, f"{args} took {elapsed:.1f} s while a writer held the lock"
    assert "uncommitted" not in result.stdout  # readers see the last committed state


def test_query_sees_what_the_writer_committed(
    settings_path: Path, write_lock_held: sqlite3.Connection
) -> None:
    write_lock_held.execute("COMMIT")
    write_lock_held.execute("BEGIN IMMEDIATE")  # the fixture rolls this one back
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler",
            "query",
            "--format",
            "json",
            "--settings",
            str(settings_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "uncommitted" in {row["title"] for row in json.loads(result.stdout)}
