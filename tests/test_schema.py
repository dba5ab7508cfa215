"""The versioned schema: migrations build what the models say, old databases keep their rows.

The old database is ``tests/legacy/news-3b7fdb1.db``: two crawls of the fixture news network
by newsmon as it was before its schema had versions (``tests/legacy/make_legacy_db.py``
made it with that code). The baseline tests prove that the baseline revision builds exactly
that schema, on SQLite from the file itself and on PostgreSQL from the committed snapshot of
what the same code made there, so upgrading the file is upgrading a real old database.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from crawler.article import Article as Parsed
from crawler.cli import main
from crawler.config import DatabaseConfig
from crawler.errors import SchemaOutdatedError, StoreError
from crawler.store import schema
from crawler.store.migrations.search_objects import include_name, missing_search_objects
from crawler.store.models import Article, Base
from crawler.store.schema import (
    BASELINE,
    NOT_CREATED,
    downgrade_schema,
    head_revision,
    read_state,
    upgrade_schema,
)
from crawler.store.search import search
from crawler.store.store import Store, create_db_engine
from tests.factories import make_article
from tests.legacy.snapshot import postgresql_schema, sqlite_schema

LEGACY = Path(__file__).resolve().parent / "legacy"
OLD_DB = LEGACY / "news-3b7fdb1.db"
OLD_PG_SCHEMA = LEGACY / "postgresql-3b7fdb1.json"
HEAD = head_revision()
# Parents before children, so the rows can be copied in this order.
TABLES = (
    "articles",
    "article_versions",
    "article_signatures",
    "lsh_bands",
    "article_urls",
    "article_feeds",
    "article_tags",
    "site_paragraphs",
    "site_paragraph_stats",
    "feeds",
    "page_states",
    "robots_txt",
    "crawl_runs",
)
DROPPED = {"feeds": {"etag", "last_modified", "body_hash"}}
ADDED = {
    "articles": {"lead_image_caption", "lead_image_credit"},
    # 0008: adaptive polling's state of each feed, and what a run was held back by
    "feeds": {"poll_interval", "poll_hint", "poll_hint_reason", "next_run_reason", "last_new_at"},
    "crawl_runs": {"retry_after"},
}
# Columns added with a server default: every old row gets it.
DEFAULTED = {"crawl_runs": {"rechecks": 0}}
# 0004 keys conditional-GET state by feed; an old row cannot say whose it was, so it goes
# (each feed fetches its pages once unconditionally).
EMPTIED = {"page_states"}
EDITED_TITLE = "Russian Central Bank Trims Key Rate, Signals Pause in Easing"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # main() points the log at the stderr pytest captured for the test that called it; a log
    # line written outside main() must not go to such a stream, closed by now.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers[:] = [h for h in handlers if type(h) is not logging.StreamHandler]
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def old_sqlite(tmp_path: Path) -> str:
    """A copy of the old database (never the committed file itself)."""
    shutil.copyfile(OLD_DB, tmp_path / "news.db")
    return f"sqlite:///{tmp_path}/news.db"


def read_rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every newsmon table, in key order, with comparable values."""
    meta = MetaData()
    meta.reflect(engine, only=list(TABLES))
    with engine.connect() as conn:
        return {
            name: [
                {key: _comparable(value) for key, value in row._mapping.items()}
                for row in conn.execute(
                    select(meta.tables[name]).order_by(*meta.tables[name].primary_key.columns)
                )
            ]
            for name in TABLES
        }


def _comparable(value: Any) -> Any:
    if isinstance(value, datetime):  # SQLite gives naive UTC, PostgreSQL aware
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return bytes(value) if isinstance(value, memoryview) else value


def old_rows() -> dict[str, list[dict[str, Any]]]:
    engine = create_engine(f"sqlite:///file:{OLD_DB}?mode=ro&uri=true")
    try:
        return read_rows(engine)
    finally:
        engine.dispose()


def assert_every_row_kept(before: dict[str, list[dict[str, Any]]], engine: Engine) -> None:
    after = read_rows(engine)
    for table in TABLES:
        assert before[table], f"the old database has no {table} rows: nothing is proven"
        if table in EMPTIED:
            assert after[table] == [], table
            continue
        assert len(after[table]) == len(before[table]), table
        for old, new in zip(before[table], after[table], strict=True):
            for column in DROPPED.get(table, set()):
                assert old.pop(column) is None  # never written: dropping it loses nothing
                assert column not in new
            for column in ADDED.get(table, set()):
                assert new.pop(column) is None
            for column, default in DEFAULTED.get(table, {}).items():
                assert new.pop(column) == default
            new.pop("search_vector", None)  # PostgreSQL's generated column
            assert new == old, table


def differences(engine: Engine, filtered: bool = True) -> list[Any]:
    """What autogenerate would change to make the database match the models."""
    opts: dict[str, Any] = {"compare_type": True}
    if filtered:
        opts["include_name"] = include_name
    with engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata))


def settings_file(tmp_path: Path, url: str, auto_upgrade: bool | None = None) -> Path:
    path = tmp_path / "settings.toml"
    line = "" if auto_upgrade is None else f"auto_upgrade = {str(auto_upgrade).lower()}\n"
    path.write_text(
        f'[database]\nurl = "{url}"\n{line}\n'
        '[[feeds]]\nname = "herald-rss"\nkind = "rss"\nurl = "http://127.0.0.1:9/rss.xml"\n',
        encoding="utf-8",
    )
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def parsed(title: str, body: str) -> Parsed:
    url = f"https://herald.example/2026/11/20/{title.lower().replace(' ', '-')}.html"
    return make_article(url, title=title, body=body, published_at=T0)


# -- the baseline is the schema of before versions ----------------------------------------------


def test_the_baseline_builds_on_sqlite_exactly_the_schema_of_before_versions(
    tmp_path: Path,
) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path}/new.db")
    old = create_engine(f"sqlite:///file:{OLD_DB}?mode=ro&uri=true")
    try:
        upgrade_schema(engine, BASELINE)
        with engine.connect() as new_conn, old.connect() as old_conn:
            built, made_then = sqlite_schema(new_conn), sqlite_schema(old_conn)
    finally:
        engine.dispose()
        old.dispose()
    # Every table, index, trigger and the FTS5 table, by its normalised CREATE statement.
    assert {row[1] for row in made_then} >= {*TABLES, "articles_fts", "articles_fts_update"}
    assert built == made_then


@pytest.mark.postgres
def test_the_baseline_builds_on_postgresql_exactly_the_schema_of_before_versions(
    pg_url: str,
) -> None:
    engine = create_db_engine(pg_url)
    try:
        upgrade_schema(engine, BASELINE)
        with engine.connect() as conn:
            built = postgresql_schema(conn)
    finally:
        engine.dispose()
    made_then = json.loads(OLD_PG_SCHEMA.read_text(encoding="utf-8"))
    assert any(row[2] == "search_vector" for row in made_then["columns"])
    assert any(row[0] == "newsmon_search" for row in made_then["text_search"])
    assert built == made_then


# -- the models and the migrations agree --------------------------------------------------------


def test_the_migrated_schema_is_what_the_models_say(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        with store.engine.connect() as conn:
            assert read_state(conn).is_current
            assert missing_search_objects(conn) == []
        assert differences(store.engine) == []
        # Unfiltered, autogenerate would drop the search objects the models cannot describe.
        dropped = {
            (d[1] if d[0] in ("remove_table", "remove_index") else d[3]).name
            for d in differences(store.engine, filtered=False)
            if d[0] in ("remove_table", "remove_index", "remove_column")
        }
        assert dropped == (
            {"articles_fts", "articles_fts_config", "articles_fts_data", "articles_fts_docsize",
             "articles_fts_idx"}
            if store.dialect == "sqlite"
            else {"search_vector", "ix_articles_search_vector"}
        )  # fmt: skip
        # The comparison sees a difference when there is one.
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE articles DROP COLUMN lead_image_credit"))
        found = differences(store.engine)
        assert [(d[0], d[3].name) for d in found] == [("add_column", "lead_image_credit")]
    finally:
        store.close()


def test_an_upgraded_old_database_is_what_the_models_say(old_sqlite: str) -> None:
    store = Store.open(old_sqlite)
    try:
        assert differences(store.engine) == []
    finally:
        store.close()


def test_every_migration_goes_down_and_up_again(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        upgrade_schema(engine)
        snapshot = sqlite_schema if engine.dialect.name == "sqlite" else postgresql_schema
        with engine.connect() as conn:
            at_head = snapshot(conn)
        downgrade_schema(engine, BASELINE)
        with engine.connect() as conn:
            assert read_state(conn).revision == BASELINE
            assert missing_search_objects(conn) == []  # the rebuild of articles lost none
        downgrade_schema(engine, "base")
        with engine.connect() as conn:
            tables = set(conn.dialect.get_table_names(conn))
            assert tables <= {"alembic_version"}, tables
            assert read_state(conn).is_empty
        upgrade_schema(engine)
        with engine.connect() as conn:
            assert snapshot(conn) == at_head
    finally:
        engine.dispose()


# -- old databases keep their data --------------------------------------------------------------


def test_an_old_sqlite_database_is_upgraded_on_open_with_every_row(old_sqlite: str) -> None:
    before = old_rows()
    store = Store.open(old_sqlite)  # SQLite: auto-upgrade by default
    try:
        with store.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
        assert_every_row_kept(before, store.engine)
        assert_search_and_saving_work(store)
    finally:
        store.close()


@pytest.mark.postgres
def test_an_old_postgresql_database_is_upgraded_by_db_upgrade_with_every_row(
    pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Trust authentication ignores the password; it is there to be hidden.
    url = make_url(pg_url).set(password="s3cret").render_as_string(hide_password=False)
    engine = create_db_engine(url)
    try:
        upgrade_schema(engine, BASELINE)
        with engine.begin() as conn:  # what the old code made: no version recorded
            conn.execute(text("DROP TABLE alembic_version"))
        before = old_rows()
        copy_rows(old_rows(), engine)
    finally:
        engine.dispose()
    shown = make_url(url).render_as_string(hide_password=True)
    with pytest.raises(SchemaOutdatedError) as refused:
        Store.open(url)  # PostgreSQL: no auto-upgrade by default
    assert str(refused.value) == (
        f"database {shown} is at revision {BASELINE}, this newsmon needs {HEAD}:"
        " run `newsmon db upgrade`"
    )
    assert "s3cret" not in str(refused.value) and ":***@" in shown

    settings = settings_file(tmp_path, url)
    code, out, err = run_cli(capsys, "db", "upgrade", "--settings", str(settings))
    assert (code, err) == (0, "")
    assert out == (
        f"database {shown} upgraded: {BASELINE} (made before schema versions, not recorded"
        f" yet) -> {HEAD}\n"
    )
    store = Store.open(url)
    try:
        assert_every_row_kept(before, store.engine)
        assert_search_and_saving_work(store)
    finally:
        store.close()


def copy_rows(rows: dict[str, list[dict[str, Any]]], engine: Engine) -> None:
    """The old database's rows into a PostgreSQL database at the baseline."""
    meta = MetaData()
    meta.reflect(engine, only=list(TABLES))
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL TIME ZONE 'UTC'"))  # the rows' naive times are UTC
        for name in TABLES:
            conn.execute(insert(meta.tables[name]), rows[name])
        for name in ("articles", "article_versions", "crawl_runs"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}")
            )


def assert_search_and_saving_work(store: Store) -> None:
    """The old articles are found, and the new code saves and indexes on the old database."""
    with store.reading() as session:
        edited = session.scalars(select(Article).where(Article.title == EDITED_TITLE)).one()
        assert edited.version_count == 2 and len(edited.versions) == 2
        assert edited.id in [i for i, _ in search(session, '"central bank"')]
        old_count = session.query(Article).count()
    saved = store.save_article(
        parsed("Harbour cranes return", "Valmera harbour cranes are working again."),
        feed="herald-rss",
        fetched_at=T0,
    )
    assert saved.outcome == "new"
    with store.reading() as session:
        assert session.query(Article).count() == old_count + 1
        assert [i for i, _ in search(session, "valmera cranes")] == [saved.article_id]


# -- the full-text table is found by Datasette and sqlite-utils --------------------------------


def test_after_the_upgrade_sqlite_utils_and_datasette_find_the_full_text_table(
    old_sqlite: str,
) -> None:
    path = old_sqlite.removeprefix("sqlite:///")
    engine = create_db_engine(old_sqlite)
    try:
        upgrade_schema(engine, "0002_image_credit")
    finally:
        engine.dispose()
    # Table.detect_fts is the check Datasette makes too: content="articles" or
    # content=[articles] in the CREATE statement. The old declaration had single quotes.
    assert sqlite_utils.Database(path)["articles"].detect_fts() is None

    store = Store.open(old_sqlite)
    try:
        assert sqlite_utils.Database(path)["articles"].detect_fts() == "articles_fts"
        assert_search_and_saving_work(store)  # old articles reindexed, new ones indexed
        with store.engine.connect() as conn:
            assert missing_search_objects(conn) == []
    finally:
        store.close()
    # The search Datasette and sqlite-utils run (rowid IN ... MATCH) finds the same rows.
    db = sqlite_utils.Database(path)
    found = [row["title"] for row in db["articles"].search("kherson", columns=["title"])]
    assert found and all("Kherson" in title for title in found), found
    assert db["articles"].count > len(found)  # not every row, as before

    engine = create_db_engine(old_sqlite)
    try:
        downgrade_schema(engine, "0002_image_credit")
    finally:
        engine.dispose()
    assert sqlite_utils.Database(path)["articles"].detect_fts() is None
    store = Store.open(old_sqlite)  # and up again: the index is rebuilt once more
    try:
        with store.reading() as session:
            assert search(session, "kherson")
    finally:
        store.close()


# -- refusing and upgrading from the command line -----------------------------------------------


def _newsmon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "command", ["query", "show 1", "export", "status", "history 1", "stats", "crawl", "run"]
)
def test_a_behind_database_is_refused_when_auto_upgrade_is_off(
    old_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    settings = settings_file(tmp_path, old_sqlite, auto_upgrade=False)
    args = [*command.split(), "--settings", str(settings)]
    if command in ("crawl", "run"):  # a reactor and a service: a process of their own
        result = _newsmon(*args)
        code, out, err = result.returncode, result.stdout, result.stderr
    else:
        code, out, err = run_cli(capsys, *args)
    path = old_sqlite.removeprefix("sqlite:///")
    assert (code, out) == (1, "")
    assert err == (
        f"newsmon: database sqlite:///{path} is at revision {BASELINE}, this newsmon needs"
        f" {HEAD}: run `newsmon db upgrade`\n"
    )
    engine = create_db_engine(old_sqlite)
    try:
        with engine.connect() as conn:
            assert not read_state(conn).recorded  # nothing was written
    finally:
        engine.dispose()


def test_db_current_and_db_upgrade(
    old_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = str(settings_file(tmp_path, old_sqlite, auto_upgrade=False))
    where = f"database sqlite:///{old_sqlite.removeprefix('sqlite:///')}"
    unrecorded = f"{BASELINE} (made before schema versions, not recorded yet)"
    assert run_cli(capsys, "db", "current", "--settings", settings) == (
        1,
        f"{where}: revision {unrecorded}, behind this newsmon's head {HEAD}:"
        " run `newsmon db upgrade`\n",
        "",
    )
    assert run_cli(capsys, "db", "upgrade", "--settings", settings) == (
        0,
        f"{where} upgraded: {unrecorded} -> {HEAD}\n",
        "",
    )
    assert run_cli(capsys, "db", "current", "--settings", settings) == (
        0,
        f"{where}: revision {HEAD} (head)\n",
        "",
    )
    assert run_cli(capsys, "db", "upgrade", "--settings", settings) == (
        0,
        f"{where} is at revision {HEAD}, the head: nothing to do\n",
        "",
    )
    code, out, _ = run_cli(capsys, "query", "--settings", settings, "--format", "json")
    assert code == 0 and len(json.loads(out)) == len(old_rows()["articles"])

    # A database that records an older revision is behind too.
    engine = create_db_engine(old_sqlite)
    try:
        downgrade_schema(engine, BASELINE)
    finally:
        engine.dispose()
    assert run_cli(capsys, "db", "current", "--settings", settings)[:2] == (
        1,
        f"{where}: revision {BASELINE}, behind this newsmon's head {HEAD}:"
        " run `newsmon db upgrade`\n",
    )
    code, _, err = run_cli(capsys, "stats", "--settings", settings)
    assert (code, err) == (
        1,
        f"newsmon: {where} is at revision {BASELINE}, this newsmon needs {HEAD}:"
        " run `newsmon db upgrade`\n",
    )


def test_auto_upgrade_true_upgrades_a_behind_database(
    old_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = str(settings_file(tmp_path, old_sqlite, auto_upgrade=True))
    code, out, err = run_cli(capsys, "query", "--settings", settings, "--search", "kherson")
    assert code == 0 and "Kherson" in out
    # The service's log says what happened to the database.
    assert len(err.splitlines()) == 1
    assert err.rstrip().endswith(
        f"INFO    crawler.store.schema: database {old_sqlite}: schema upgraded from"
        f" {BASELINE} (made before schema versions, not recorded yet) to {HEAD}"
    )
    assert run_cli(capsys, "db", "current", "--settings", settings)[0] == 0


def test_an_empty_database_is_created_by_run_or_crawl_even_without_auto_upgrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/news.db"
    settings = str(settings_file(tmp_path, url, auto_upgrade=False))
    where = f"database {url}"
    code, _, err = run_cli(capsys, "db", "current", "--settings", settings)
    assert (code, err) == (1, f"newsmon: {where} does not exist: {NOT_CREATED}\n")
    assert not (tmp_path / "news.db").exists()  # reading the revision made no file
    create_db_engine(url).connect().close()  # an empty file, as a tool might leave one
    assert run_cli(capsys, "db", "current", "--settings", settings)[:2] == (
        1,
        f"{where}: no schema (an empty database); `newsmon db upgrade` creates {HEAD}\n",
    )
    code, _, err = run_cli(capsys, "query", "--settings", settings)  # read-only: no schema made
    assert (code, err) == (1, f"newsmon: {where} has no newsmon tables: {NOT_CREATED}\n")
    Store.open(DatabaseConfig(url=url, auto_upgrade=False)).close()  # what run/crawl do
    assert run_cli(capsys, "db", "current", "--settings", settings)[:2] == (
        0,
        f"{where}: revision {HEAD} (head)\n",
    )


def test_a_database_of_a_newer_newsmon_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/news.db"
    Store.open(url).close()
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    settings = str(settings_file(tmp_path, url))
    line = (
        f"newsmon: database {url} is at revision 0099_future, which this newsmon does not"
        f" know (its newest is {HEAD}): a newer newsmon migrated it; run that one, or"
        " restore a backup\n"
    )
    for args in (["query"], ["db", "current"], ["db", "upgrade"]):
        assert run_cli(capsys, *args, "--settings", settings) == (1, "", line), args
    with pytest.raises(StoreError):
        Store.open(url)


def test_two_processes_opening_a_new_database_take_turns(db_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    code = (
        "import sys, pathlib\n"
        "from crawler.store.store import Store\n"
        "print('ready', flush=True)\n"
        "while not pathlib.Path(sys.argv[2]).exists(): pass\n"
        "Store.open(sys.argv[1]).close()\n"
        "print('opened', flush=True)\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, db_url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        go.touch()  # both have imported everything: they open at the same moment
        results = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [p.returncode for p in processes] == [0, 0], [err[-2000:] for _, err in results]
    assert [out for out, _ in results] == ["opened\n", "opened\n"]
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [(HEAD,)]
    finally:
        engine.dispose()


# -- the trap: a batch rebuild of articles drops the FTS triggers -------------------------------

_REBUILD = """
import sqlalchemy as sa
from alembic import op
from crawler.store.migrations.search_objects import restore_fts_triggers

revision = "0003_rebuild"
down_revision = "{head}"


def upgrade():
    with op.batch_alter_table("articles", recreate="always") as batch:
        batch.alter_column("summary", existing_type=sa.Text(), nullable=True)
    {restore}
"""


@pytest.mark.parametrize("restores", [False, True], ids=["forgets", "restores"])
def test_a_migration_that_rebuilds_articles_must_restore_the_fts_triggers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restores: bool
) -> None:
    url = f"sqlite:///{tmp_path}/news.db"
    store = Store.open(url)
    store.save_article(parsed("Harbour strike", "The Valmera harbour strike goes on."), feed="f")
    store.close()
    migrations = tmp_path / "migrations"
    shutil.copytree(schema.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    restore = "restore_fts_triggers()" if restores else "pass"
    (migrations / "versions" / "0003_rebuild.py").write_text(
        _REBUILD.format(head=HEAD, restore=restore), encoding="utf-8"
    )
    monkeypatch.setattr(schema, "MIGRATIONS", migrations)
    monkeypatch.setattr(schema, "_scripts", schema._scripts.__wrapped__)
    monkeypatch.setattr(schema, "_known_revisions", schema._known_revisions.__wrapped__)
    engine = create_db_engine(url)
    try:
        if not restores:
            with pytest.raises(StoreError) as refused:
                upgrade_schema(engine)
            assert str(refused.value) == (
                f"upgrading database {url} to 0003_rebuild would leave full-text search"
                " without articles_fts_delete, articles_fts_insert, articles_fts_update;"
                " nothing was changed"
            )
            with engine.connect() as conn:  # rolled back whole
                assert read_state(conn).revision == HEAD
                assert missing_search_objects(conn) == []
            return
        upgrade_schema(engine)
        with engine.connect() as conn:
            assert read_state(conn).revision == "0003_rebuild"
            assert missing_search_objects(conn) == []
    finally:
        engine.dispose()
    store = Store.open(url)
    try:
        saved = store.save_article(parsed("Cranes", "Valmera cranes are back."), feed="f")
        with store.reading() as session:
            assert sorted(i for i, _ in search(session, "valmera")) == [1, saved.article_id]
    finally:
        store.close()
