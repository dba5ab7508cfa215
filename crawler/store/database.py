"""The database a store works on: an engine set up for a long-running writer, and its sessions.

:class:`Database` is what the parts of the store share (:class:`~crawler.store.store.Store`'s
feed and run records, :class:`~crawler.store.saving.ArticleSaver`,
:class:`~crawler.store.linking.ArticleLinks`): each ``reading()`` or ``writing()`` is one
short transaction, so worker threads may share one.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker


def create_db_engine(url: str) -> Engine:
    """An engine with the settings each backend needs for a long-running writer.

    Its errors never carry the statement's parameters (``hide_parameters``): those are
    article bodies, and an error's message ends up in logs and in ``newsmon status``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _configure_sqlite(engine: Engine) -> None:
    # WAL lets the CLI read while the service writes; busy_timeout absorbs short write
    # contention. pysqlite's own transaction handling is switched off so that write
    # transactions can start with BEGIN IMMEDIATE (SQLAlchemy's documented recipe): a
    # deferred read-then-write transaction would otherwise fail with "database is locked".
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_read_only(engine: Engine) -> None:
    """From now on every connection of ``engine`` refuses writes, whatever runs on it:
    SQLite's ``PRAGMA query_only``, PostgreSQL's read-only transactions. Connections already
    pooled (the schema check's) are dropped, so none escapes."""

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("PRAGMA query_only=ON")
        else:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_connection.commit()  # psycopg opened a transaction for the SET
        cursor.close()

    engine.dispose()


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, waiting for the lock it needs. Switching a new file needs
    an exclusive lock, and SQLite answers "database is locked" at once, without its busy
    handler, while another process is switching the same new file (two processes creating
    one database); once the file is in WAL mode the pragma needs no such lock."""
    deadline = time.monotonic() + 15.0  # as long as busy_timeout below waits for a writer
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Database:
    """An engine and its sessions. Thread-safe: every session is its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        write_engine = (
            engine.execution_options(sqlite_immediate=True) if self.dialect == "sqlite" else engine
        )
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session in a transaction that commits when the block ends (on SQLite it takes
        the write lock at once: see :func:`create_db_engine`)."""
        with self._write.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()


def is_missing_sqlite_file(url: str) -> bool:
    """Whether ``url`` names a SQLite file that does not exist (opening would create it)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return False
    return not database.startswith("file:") and not Path(database).exists()


def shown_url(url: str | URL) -> str:
    """The database URL as it may be shown (logs, errors, check-config): without its
    password, also none given as a ``?password=`` parameter. An unparsable URL is shown as
    given: it holds no password we could tell apart."""
    try:
        parsed = make_url(url)
    except Exception:  # any parse failure: there is nothing to hide that we can find
        return str(url)
    secret = [key for key in parsed.query if "password" in key.lower()]
    if secret:
        parsed = parsed.update_query_dict(dict.fromkeys(secret, "***"))
    return parsed.render_as_string(hide_password=True)


# SQLite's primary result codes that pass: busy/locked (another writer), I/O error,
# disk full, cannot open (the file's directory unmounted or out of inodes).
_SQLITE_PASSING_CODES = {5, 6, 10, 13, 14}
_SQLITE_PASSING_MESSAGES = (
    "database is locked",
    "database table is locked",
    "database or disk is full",
    "disk i/o error",
    "unable to open database file",
)


def is_unavailable(exc: BaseException) -> bool:
    """The database refused for a reason that passes: a lost connection, a server that
    shuts down or restarts, a lock held elsewhere, a full disk, an exhausted pool.
    Not for errors a retry cannot fix (a constraint, a missing table, bad data)."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _SQLITE_PASSING_CODES:
            return True
        return str(orig).strip().lower().startswith(_SQLITE_PASSING_MESSAGES)
    # PostgreSQL's OperationalErrors are connection failures, shutdowns (57P..), disk
    # full (53...), lock and statement timeouts, serialisation failures: all of them pass.
    return True
