"""The schema's version: what revision a database is at, and bringing it to this newsmon's.

The schema is built and changed only by the Alembic migrations in
``crawler/store/migrations`` (configured here in code; there is no alembic.ini). Alembic
records the revision in the table ``alembic_version``. A database made before newsmon had
migrations has the tables but no version: it is at the baseline revision, which only
creates what such a database lacks, so upgrading it records the baseline and goes on.

:func:`ensure_schema` runs on every :meth:`Store.open <crawler.store.store.Store.open>`:

* at this newsmon's head revision: nothing to do (one read, no lock) — unless a SQLite
  database lacks a full-text trigger (dropped by hand, say): it is put back and the
  articles reindexed;
* an empty database: migrated from nothing to the head;
* behind: upgraded when auto-upgrade is on (``[database] auto_upgrade``; by default on for
  SQLite, off for PostgreSQL, where an upgrade is something to plan), else refused with
  :class:`~crawler.errors.SchemaOutdatedError` naming ``newsmon db upgrade``;
* at a revision this newsmon does not know (a newer newsmon migrated it): refused.

Every upgrade runs in one write transaction — BEGIN IMMEDIATE on SQLite, a
transaction-scoped advisory lock on PostgreSQL — so two processes opening a new or old
database at once take turns, the second finding the work done. SQLite's foreign keys are
off meanwhile (a batch rebuild drops and recreates tables that others refer to; with them
on, dropping ``articles`` would delete every row that cascades from it) and checked before
the commit, and so are the full-text search objects a rebuild may have dropped.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from crawler.errors import SchemaOutdatedError, StoreError, first_line
from crawler.store.database import shown_url
from crawler.store.migrations.search_objects import missing_search_objects, repair_fts

if TYPE_CHECKING:  # Alembic is imported where a revision is looked up or run: a process
    # that only writes articles (the writer process) never loads it (some 80 ms).
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"
VERSION_TABLE = "alembic_version"
# A database with any of these tables was made by newsmon, with or without a version.
_NEWSMON_TABLES = frozenset({"articles", "feeds", "crawl_runs"})
# An arbitrary constant: the advisory lock id that serialises schema changes (the same one
# newsmon took to create its tables before it had migrations).
_SCHEMA_LOCK_KEY = 0x6E65_7773


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code; migrations run on ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The revision this newsmon's models are at."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package ships its migrations
        raise StoreError(f"no migrations found in {MIGRATIONS}")
    return head


@functools.cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands. ``revision`` is None for an empty database; a database made
    before versions is at the baseline with ``recorded`` False."""

    revision: str | None
    recorded: bool
    head: str

    @property
    def is_current(self) -> bool:
        return self.recorded and self.revision == self.head

    @property
    def is_empty(self) -> bool:
        return self.revision is None

    @property
    def is_unknown(self) -> bool:
        """Migrated by a newsmon newer than this one (or by something else entirely)."""
        return self.revision is not None and self.revision not in _known_revisions()

    @property
    def is_behind(self) -> bool:
        return not (self.is_current or self.is_empty or self.is_unknown)

    def describe(self) -> str:
        """The revision as people read it."""
        if self.revision is None:
            return "no schema (an empty database)"
        if not self.recorded:
            return f"{self.revision} (made before schema versions, not recorded yet)"
        return self.revision


def read_state(conn: Connection) -> SchemaState:
    """The database's revision, read without taking a write lock."""
    tables = set(inspect(conn).get_table_names())
    head = head_revision()
    if VERSION_TABLE in tables:
        versions = sorted(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
        if versions:
            return SchemaState(",".join(versions), recorded=True, head=head)
    if tables & _NEWSMON_TABLES:
        return SchemaState(BASELINE, recorded=False, head=head)
    return SchemaState(None, recorded=False, head=head)


def resolve_auto_upgrade(setting: bool | None, dialect: str) -> bool:
    """``[database] auto_upgrade``; unset means on for SQLite, off for PostgreSQL."""
    return setting if setting is not None else dialect == "sqlite"


# What a read-only command says about a database that has nothing of newsmon's yet.
NOT_CREATED = "check [database] url in settings.toml; `newsmon run` or `newsmon crawl` creates it"


def ensure_schema(engine: Engine, auto_upgrade: bool | None = None, *, create: bool = True) -> None:
    """Make sure the database is at this newsmon's head revision (see the module doc);
    ``create=False``: an empty database is an error instead of getting the schema."""
    with engine.connect() as conn:
        state = read_state(conn)
        # One cheap read on SQLite; PostgreSQL's objects are never rebuilt away.
        repair = (
            state.is_current
            and conn.dialect.name == "sqlite"
            and bool(missing_search_objects(conn))
        )
    if state.is_empty and not create:
        raise StoreError(f"database {shown_url(engine.url)} has no newsmon tables: {NOT_CREATED}")
    if repair:
        _repair_search(engine)
    if state.is_current:
        return
    refuse_unknown(engine, state)
    if state.is_behind and not resolve_auto_upgrade(auto_upgrade, engine.dialect.name):
        raise SchemaOutdatedError(
            f"database {shown_url(engine.url)} is at revision {state.revision}, this newsmon"
            f" needs {state.head}: run `newsmon db upgrade`"
        )
    before, after = upgrade_schema(engine)
    if before.is_empty:
        log.info("database %s: schema created at %s", shown_url(engine.url), after.revision)
    elif not before.is_current:
        log.info(
            "database %s: schema upgraded from %s to %s",
            shown_url(engine.url),
            before.describe(),
            after.revision,
        )


def refuse_unknown(engine: Engine, state: SchemaState) -> None:
    if state.is_unknown:
        raise StoreError(
            f"database {shown_url(engine.url)} is at revision {state.revision}, which this newsmon"
            f" does not know (its newest is {state.head}): a newer newsmon migrated it;"
            " run that one, or restore a backup"
        )


def upgrade_schema(engine: Engine, revision: str = "head") -> tuple[SchemaState, SchemaState]:
    """Apply the migrations the database lacks, up to ``revision`` (tests stop earlier);
    the states before and after."""
    with _schema_transaction(engine) as conn:
        before = read_state(conn)  # again: another process may have done it meanwhile
        refuse_unknown(engine, before)
        if before.is_current and revision == "head":
            return before, before
        from alembic import command

        command.upgrade(alembic_config(conn), revision)
        after = read_state(conn)
        missing = missing_search_objects(conn)
        if missing:
            raise StoreError(
                f"upgrading database {shown_url(engine.url)} to {after.revision} would leave"
                f" full-text search without {', '.join(missing)}; nothing was changed"
            )
    return before, after


def downgrade_schema(engine: Engine, revision: str) -> None:
    """Migrate back to ``revision`` (``"base"``: nothing), for tests and developers; newsmon
    itself only goes forward. An older database is what it was, but data in dropped
    columns is gone."""
    from alembic import command

    with _schema_transaction(engine) as conn:
        command.downgrade(alembic_config(conn), revision)


def _repair_search(engine: Engine) -> None:
    with _schema_transaction(engine) as conn:
        missing = missing_search_objects(conn)
        if missing:
            log.warning(
                "database %s lacked %s: restored, articles reindexed for search",
                shown_url(engine.url),
                ", ".join(missing),
            )
            repair_fts(conn)


@contextmanager
def _schema_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction that other processes changing the schema wait for."""
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            with conn.begin():
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                yield conn
            return
        # PRAGMA foreign_keys is a no-op inside a transaction: set it on the raw
        # connection before SQLAlchemy begins one.
        _sqlite_pragma(conn, "foreign_keys=OFF")
        try:
            with conn.execution_options(sqlite_immediate=True).begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise StoreError(
                        f"upgrading database {shown_url(engine.url)} would break"
                        f" {len(broken)} foreign keys (first in table {broken[0][0]});"
                        " nothing was changed"
                    )
        finally:
            _sqlite_pragma(conn, "foreign_keys=ON")


def _sqlite_pragma(conn: Connection, pragma: str) -> None:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


# -- newsmon db ----------------------------------------------------------------------------


def upgrade_report(engine: Engine) -> str:
    """``newsmon db upgrade``: upgrade, and say from which revision to which."""
    with database_errors(shown_url(engine.url)):
        before, after = upgrade_schema(engine)
    where = f"database {shown_url(engine.url)}"
    if before.is_current:
        return f"{where} is at revision {after.revision}, the head: nothing to do"
    return f"{where} upgraded: {before.describe()} -> {after.revision}"


def current_report(engine: Engine) -> tuple[str, bool]:
    """``newsmon db current``: the revision, and whether it is this newsmon's head."""
    with database_errors(shown_url(engine.url)), engine.connect() as conn:
        state = read_state(conn)
    refuse_unknown(engine, state)
    where = f"database {shown_url(engine.url)}"
    if state.is_current:
        return f"{where}: revision {state.revision} (head)", True
    if state.is_empty:
        return f"{where}: {state.describe()}; `newsmon db upgrade` creates {state.head}", False
    return (
        f"{where}: revision {state.describe()}, behind this newsmon's head {state.head}:"
        " run `newsmon db upgrade`",
        False,
    )


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a driver's or the file system's error into one line naming the database."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot open database {shown_url(url)}: {first_line(exc)}") from exc
