"""The full-text search objects that live beside the models, not in them.

SQLite keeps an FTS5 external-content table ``articles_fts`` (plus its shadow tables
``articles_fts_data``, ``_idx``, ``_docsize``, ``_config``) in step with ``articles`` through
three triggers; PostgreSQL has the generated column ``articles.search_vector``, its GIN
index and the text search configuration ``newsmon_search`` (see crawler.store.search).

SQLAlchemy's models cannot describe them, so Alembic's autogenerate must not see them — it
would propose dropping them (:func:`include_name`) — and a batch migration that rebuilds
``articles`` on SQLite drops the triggers with the old table without a word: such a
migration calls :func:`restore_fts_triggers` after it. :func:`missing_search_objects` is
checked after every upgrade, inside its transaction, so a migration that forgets cannot
commit; and when a SQLite database at the head lacks one (dropped by hand, say), opening
it puts it back (:func:`repair_fts`), as newsmon always did.

The statements here are the current ones, as the latest migration that touched them left
them (the table's declaration: 0003, which quotes its content table ``content="articles"``
as Datasette and sqlite-utils look for it); a migration that changes them changes them here
too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

if TYPE_CHECKING:  # Alembic loads only where a migration runs (see crawler.store.schema)
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

FTS_TABLE = "articles_fts"
PG_CONFIG = "newsmon_search"
PG_COLUMN, PG_INDEX = "search_vector", "ix_articles_search_vector"

FTS_TABLE_DDL = """
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, body, content="articles", content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
)"""
FTS_TRIGGERS = {
    "articles_fts_insert": """
CREATE TRIGGER IF NOT EXISTS articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
    "articles_fts_delete": """
CREATE TRIGGER IF NOT EXISTS articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
END""",
    # Only a change of the indexed columns reindexes: last_seen_at moves on every fetch.
    "articles_fts_update": """
CREATE TRIGGER IF NOT EXISTS articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
}


def include_name(
    name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
) -> bool:
    """Alembic's name filter: leave the search objects out of autogenerate's comparison."""
    if type_ == "table":
        return not (name or "").startswith(FTS_TABLE)
    if type_ == "column":
        return not (parent_names.get("table_name") == "articles" and name == PG_COLUMN)
    if type_ == "index":
        return name != PG_INDEX
    return True


def restore_fts_triggers() -> None:
    """Recreate the FTS triggers a batch rebuild of ``articles`` dropped (SQLite; elsewhere
    nothing). The rebuild copies every row with its id, title and body, so the index itself
    is still right: only the triggers are missing."""
    from alembic import op

    if op.get_bind().dialect.name != "sqlite":
        return
    for ddl in FTS_TRIGGERS.values():
        op.execute(ddl)


def repair_fts(conn: Connection) -> None:
    """Make the missing FTS objects of a SQLite database at the head revision (someone
    dropped a trigger, say) and reindex: rows may have changed while one was missing."""
    conn.exec_driver_sql(FTS_TABLE_DDL)
    for ddl in FTS_TRIGGERS.values():
        conn.exec_driver_sql(ddl)
    conn.exec_driver_sql("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


def missing_search_objects(conn: Connection) -> list[str]:
    """The names of search objects this backend should have but has not."""
    if conn.dialect.name == "sqlite":
        wanted = {FTS_TABLE, *FTS_TRIGGERS}
        like = text("SELECT name FROM sqlite_master WHERE name LIKE :prefix")
        found = set(conn.execute(like, {"prefix": f"{FTS_TABLE}%"}).scalars())
        return sorted(wanted - found)
    if conn.dialect.name == "postgresql":
        checks = {
            PG_CONFIG: "SELECT count(*) FROM pg_ts_config WHERE cfgname = :name"
            " AND cfgnamespace = current_schema()::regnamespace",
            f"articles.{PG_COLUMN}": "SELECT count(*) FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'articles'"
            " AND column_name = :name",
            PG_INDEX: "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema()"
            " AND indexname = :name",
        }
        return [
            label
            for label, sql in checks.items()
            if not conn.execute(text(sql), {"name": label.rpartition(".")[2]}).scalar()
        ]
    return []
