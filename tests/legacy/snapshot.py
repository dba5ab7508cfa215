"""A comparable description of a database's schema: every object, as the engine keeps it.

Used to show that the baseline migration builds exactly the schema that newsmon built
before it had migrations: the snapshot of a database made by that code is committed next
to this file and compared with the snapshot of a database the baseline migration made.
Only SQLAlchemy here, so the script that regenerates the committed files can run it beside
any version of newsmon.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

# The version table is the one object the old code never made.
_VERSION_TABLE = "alembic_version"


def sqlite_schema(conn: Connection) -> list[list[Any]]:
    """Every row of sqlite_master, which holds each object's normalised CREATE statement."""
    rows = conn.execute(
        text(
            "SELECT type, name, tbl_name, sql FROM sqlite_master"
            " WHERE tbl_name != :version ORDER BY type, name"
        ),
        {"version": _VERSION_TABLE},
    )
    return [list(row) for row in rows]


_PG_QUERIES = {
    "columns": """
        SELECT table_name, ordinal_position, column_name, data_type, udt_name,
               character_maximum_length, is_nullable, column_default, is_generated,
               generation_expression
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name != :version
        ORDER BY table_name, ordinal_position""",
    "constraints": """
        SELECT rel.relname, con.conname, con.contype, pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
        WHERE rel.relnamespace = current_schema()::regnamespace AND rel.relname != :version
        ORDER BY rel.relname, con.conname""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = current_schema() AND tablename != :version
        ORDER BY tablename, indexname""",
    "sequences": """
        SELECT sequence_name, data_type FROM information_schema.sequences
        WHERE sequence_schema = current_schema() ORDER BY sequence_name""",
    "triggers": """
        SELECT rel.relname, tg.tgname, pg_get_triggerdef(tg.oid)
        FROM pg_trigger tg JOIN pg_class rel ON rel.oid = tg.tgrelid
        WHERE NOT tg.tgisinternal AND rel.relnamespace = current_schema()::regnamespace
        ORDER BY rel.relname, tg.tgname""",
    "text_search": """
        SELECT c.cfgname, t.alias, string_agg(d.dictname, ',' ORDER BY m.mapseqno)
        FROM pg_ts_config c
        JOIN pg_ts_config_map m ON m.mapcfg = c.oid
        JOIN pg_ts_dict d ON d.oid = m.mapdict
        JOIN LATERAL ts_token_type(c.cfgparser) t ON t.tokid = m.maptokentype
        WHERE c.cfgnamespace = current_schema()::regnamespace
        GROUP BY c.cfgname, t.alias ORDER BY c.cfgname, t.alias""",
    "extensions": "SELECT extname FROM pg_extension ORDER BY extname",
}


def postgresql_schema(conn: Connection) -> dict[str, list[list[Any]]]:
    """Columns (with generated expressions), constraints, indexes, sequences, triggers, text
    search configurations and extensions of the current schema, from the catalogs."""
    return {
        name: [list(row) for row in conn.execute(text(sql), {"version": _VERSION_TABLE})]
        for name, sql in _PG_QUERIES.items()
    }
