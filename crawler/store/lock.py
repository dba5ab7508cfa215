"""One service per database: a lock that the operating system or the database server
releases by itself when the holder dies, so a crash never leaves a stale lock behind.

SQLite: an exclusive ``flock`` on ``<database>.lock`` next to the file. PostgreSQL: a
session-level advisory lock held on a dedicated connection. That lock dies with its
connection too — a database restart, a terminated backend — while the service lives on, so
the service calls :meth:`ServiceLock.verify` every few seconds: it takes the lock again on
a new connection, or says why the service must stop.
"""

from __future__ import annotations

import enum
import fcntl
import logging
import os
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from crawler.errors import ServiceLockedError, StoreError, first_line
from crawler.store.database import shown_url

log = logging.getLogger("crawler.store.lock")

_ADVISORY_NAMESPACE = "newsmon-service"
# A database restart takes seconds; a failover can take a minute. Past this, the service
# stops rather than crawl on without the lock (a supervisor starts it again).
REGAIN_WITHIN_SECONDS = 60.0
# libpq settings for the lock connection, so that no check or reconnect hangs on a dead
# network for longer than a few seconds (the defaults wait for minutes).
_LIBPQ_TIMEOUTS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
_HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = 0 AND objid = CAST(:k AS bigint)::oid"
    " AND objsubid = 1)"
)


class LockCheck(enum.Enum):
    HELD = "held"  # still held on the same connection
    REGAINED = "regained"  # was lost, is held again on a new connection
    RETRYING = "retrying"  # was lost, the database does not answer yet


def advisory_key(database_url: str) -> int:
    """The PostgreSQL advisory lock key of the service on this database."""
    database = make_url(database_url).database
    return zlib.crc32(f"{_ADVISORY_NAMESPACE}:{database}".encode()) & 0x7FFFFFFF


def lock_application_name(pid: int | None = None) -> str:
    """How the lock connection of service ``pid`` shows in ``pg_stat_activity``."""
    return f"newsmon service lock (pid {os.getpid() if pid is None else pid})"


class ServiceLock:
    def __init__(self, database_url: str, regain_within: float = REGAIN_WITHIN_SECONDS) -> None:
        self.database_url = database_url
        self.regain_within = regain_within
        self._file: Any = None
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._lost_at: float | None = None  # monotonic time the lock was found lost
        self._lost_because = ""
        self._has_warned = False
        # verify() runs in a worker thread; release() must not close the connection under it.
        self._mutex = threading.Lock()

    @property
    def is_watched(self) -> bool:
        """True when the lock can vanish under a living service and must be verified."""
        return self._engine is not None

    @property
    def _shown(self) -> str:
        return shown_url(self.database_url)

    def acquire(self) -> None:
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite":
            self._lock_file(url)
            return
        engine = _lock_engine(url)
        try:
            connection = _connect_and_lock(engine, advisory_key(self.database_url))
        except BaseException:
            engine.dispose()
            raise
        if connection is None:
            engine.dispose()
            raise ServiceLockedError(
                f"another newsmon service is already running against {self._shown};"
                " stop it first, or point this one at another database"
            )
        self._engine = engine
        self._connection = connection

    def verify(self) -> LockCheck:
        """Check the PostgreSQL lock is still ours; take it again if it is gone and free.

        Blocking (run it in a thread). Raises :class:`ServiceLockedError` when another
        service took the lock meanwhile, :class:`StoreError` when the database stayed
        unreachable for ``regain_within`` seconds: either way the service must stop.
        """
        with self._mutex:
            engine = self._engine
            if engine is None:
                return LockCheck.HELD
            key = advisory_key(self.database_url)
            if self._connection is not None:
                problem = _lock_problem(self._connection, key)
                if problem is None:
                    return LockCheck.HELD
                _close_quietly(self._connection)
                self._connection = None
                self._lost_at = time.monotonic()
                self._lost_because = problem
                self._has_warned = False
            try:
                connection = _connect_and_lock(engine, key)
            except SQLAlchemyError as exc:
                return self._retry_or_give_up(first_line(exc))
            if connection is None:
                raise ServiceLockedError(
                    f"the service lock on {self._shown} was lost ({self._lost_because})"
                    " and another newsmon service holds it now: this one stops crawling"
                )
            self._connection = connection
            self._lost_at = None
            log.info(
                "service lock on %s was lost (%s) and is held again on a new connection",
                self._shown,
                self._lost_because,
            )
            return LockCheck.REGAINED

    def _retry_or_give_up(self, problem: str) -> LockCheck:
        assert self._lost_at is not None
        waited = time.monotonic() - self._lost_at
        if waited >= self.regain_within:
            raise StoreError(
                f"the service lock on {self._shown} was lost ({self._lost_because}) and the"
                f" database stayed unreachable for {waited:.0f} s ({problem}): stopping"
            )
        if not self._has_warned:  # one warning per loss, not one per retry
            self._has_warned = True
            log.warning(
                "service lock on %s lost (%s); the database does not answer (%s):"
                " retrying for up to %.0f s",
                self._shown,
                self._lost_because,
                problem,
                self.regain_within,
            )
        return LockCheck.RETRYING

    def release(self) -> None:
        with self._mutex:
            if self._file is not None:
                fcntl.flock(self._file, fcntl.LOCK_UN)
                self._file.close()
                self._file = None
            if self._connection is not None:
                _close_quietly(self._connection)
                self._connection = None
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def __enter__(self) -> ServiceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _lock_file(self, url: URL) -> None:
        database = url.database or ""
        if not database or database == ":memory:":
            return
        path = Path(database + ".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115  (held until release)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ServiceLockedError(
                f"another newsmon service (pid {holder}) is already running against"
                f" {self._shown}; stop it first, or point this one at another database"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle


def _lock_engine(url: URL) -> Engine:
    # AUTOCOMMIT: the session lock outlives transactions, and the connection must never
    # sit idle in one between checks.
    connect_args = _LIBPQ_TIMEOUTS if url.get_driver_name() in ("psycopg", "psycopg2") else {}
    return create_engine(
        url,
        pool_size=1,
        max_overflow=0,
        isolation_level="AUTOCOMMIT",
        connect_args=dict(connect_args),
    )


def _connect_and_lock(engine: Engine, key: int) -> Connection | None:
    """A new connection holding the lock, or None when another session holds it."""
    connection = engine.connect()
    try:
        connection.execute(
            text("SELECT set_config('application_name', :name, false)"),
            {"name": lock_application_name()},
        )
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
    except BaseException:
        _close_quietly(connection)  # the pool has one slot: never leave it taken
        raise
    if not got:
        connection.close()
        return None
    return connection


def _lock_problem(connection: Connection, key: int) -> str | None:
    """None while this connection holds the lock; otherwise what went wrong."""
    try:
        held = connection.execute(_HOLDS_LOCK, {"k": key}).scalar()
    except SQLAlchemyError as exc:
        return f"connection to the database lost: {first_line(exc)}"
    return None if held else "no longer held by its connection"


def _close_quietly(connection: Connection) -> None:
    try:
        connection.invalidate()  # never hand a broken connection back to the pool
        connection.close()
    except SQLAlchemyError:
        pass
