"""One service per database: a lock that the operating system or the database server
releases by itself when the holder dies, so a crash never leaves a stale lock behind.

SQLite: an exclusive ``flock`` on ``<database>.lock`` next to the file. PostgreSQL: a
session-level advisory lock held on a dedicated connection.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

from crawler.errors import ServiceLockedError

_ADVISORY_NAMESPACE = "newsmon-service"


class ServiceLock:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._file: Any = None
        self._connection: Connection | None = None

    def acquire(self) -> None:
        url = make_url(self.database_url)
        shown = url.render_as_string(hide_password=True)
        if url.get_backend_name() == "sqlite":
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
                    f"another newsmon service (pid {holder}) is already running against {shown};"
                    " stop it first, or point this one at another database"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            self._file = handle
            return
        engine = create_engine(url, pool_size=1, max_overflow=0)
        connection = engine.connect()
        key = zlib.crc32(f"{_ADVISORY_NAMESPACE}:{url.database}".encode()) & 0x7FFFFFFF
        got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        connection.commit()
        if not got:
            connection.close()
            engine.dispose()
            raise ServiceLockedError(
                f"another newsmon service is already running against {shown};"
                " stop it first, or point this one at another database"
            )
        self._connection = connection

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._connection is not None:
            engine = self._connection.engine
            self._connection.close()
            engine.dispose()
            self._connection = None

    def __enter__(self) -> ServiceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
