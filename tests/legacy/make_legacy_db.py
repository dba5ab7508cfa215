"""Regenerate the files beside this script with newsmon as it was before schema versions.

    .venv/bin/python tests/legacy/make_legacy_db.py

* ``news-3b7fdb1.db`` — a SQLite database filled by the product path of commit 3b7fdb1 (the
  last commit whose ``Store.open`` made the schema itself): two ``newsmon crawl`` runs of
  the fixture news network, the second after the sites changed, so every table has rows
  (versions, clusters, learned boilerplate, robots.txt, page validators, runs).
* ``postgresql-3b7fdb1.json`` — the snapshot (:mod:`tests.legacy.snapshot`) of the schema
  that the same code made on an empty PostgreSQL database.

The old code is taken from git (``git archive``) into a temporary folder and run there, so
this script needs the repository's history, PostgreSQL (``NEWSMON_TEST_PG``, default
127.0.0.1:5432, user postgres) and the project's environment (its dependencies did not
change in ways that matter to that code). Review the diff before committing.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from tests.legacy.snapshot import postgresql_schema  # noqa: E402

OLD_COMMIT = "3b7fdb1"
SQLITE_FILE = HERE / f"news-{OLD_COMMIT}.db"
PG_SNAPSHOT_FILE = HERE / f"postgresql-{OLD_COMMIT}.json"
PG_ADMIN_URL = os.environ.get(
    "NEWSMON_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# Runs inside the old checkout: its crawler package, its fixture sites, its crawl command.
_OLD_CODE = """
import sys
from pathlib import Path

import crawler
from crawler.store.store import Store
from tests.newssites import FixtureNetwork
from tests.test_end_to_end import crawl, write_settings

assert Path(crawler.__file__).resolve().is_relative_to(Path.cwd().resolve()), crawler.__file__
out, pg_url = Path(sys.argv[1]), sys.argv[2]
with FixtureNetwork(slow_delay=1.0) as network:
    settings = write_settings(out, network)
    for state in (1, 2):
        if state == 2:
            network.advance()
        result = crawl(settings)
        print(result.stdout, result.stderr, sep="\\n")
        if result.returncode != 0:
            sys.exit(f"crawl of state {state} failed")
Store.open(pg_url).close()
"""


def _one_row_a_line(snapshot: dict[str, list[list[object]]]) -> str:
    """JSON with one catalog row a line, so that a change of schema reads as a short diff."""
    sections = []
    for name, rows in snapshot.items():
        body = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in rows)
        sections.append(f" {json.dumps(name)}: [\n{body}\n ]")
    return "{\n" + ",\n".join(sections) + "\n}\n"


def main() -> None:
    admin = create_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    database = f"newsmon_legacy_{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp:
        old, out = Path(tmp) / "old", Path(tmp) / "out"
        old.mkdir()
        out.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", OLD_COMMIT],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(old, filter="data")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        pg_url = make_url(PG_ADMIN_URL).set(database=database)
        try:
            subprocess.run(
                [sys.executable, "-c", _OLD_CODE, str(out), pg_url.render_as_string(False)],
                cwd=old,
                check=True,
            )
            engine = create_engine(pg_url)
            with engine.connect() as conn:
                snapshot = postgresql_schema(conn)
            engine.dispose()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        # One self-contained file: fold the write-ahead log back in.
        db = sqlite3.connect(out / "news.db")
        db.execute("PRAGMA journal_mode=DELETE")
        db.execute("VACUUM")
        db.close()
        shutil.copyfile(out / "news.db", SQLITE_FILE)
    PG_SNAPSHOT_FILE.write_text(_one_row_a_line(snapshot), encoding="utf-8")
    print(f"wrote {SQLITE_FILE.name} and {PG_SNAPSHOT_FILE.name}")


if __name__ == "__main__":
    main()
