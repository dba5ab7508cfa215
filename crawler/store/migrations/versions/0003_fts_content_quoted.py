"""The full-text table names its content table as Datasette and sqlite-utils look for it.

Revision ID: 0003_fts_content_quoted
Revises: 0002_image_credit

SQLite only. ``articles_fts`` was declared ``content='articles'``; Datasette and
sqlite-utils find the full-text table of ``articles`` by matching its CREATE statement
against ``content="articles"`` or ``content=[articles]`` (sqlite-utils'
``Table.detect_fts``), so with single quotes they found none and ``?_search=`` returned
every row. FTS5 reads either spelling the same, but SQLite keeps the statement as written
and a virtual table cannot be altered: the table is dropped and made again with
``content="articles"``, its triggers with it, and the index rebuilt from ``articles``.
The downgrade does the same with the old declaration. The statements are copied here, not
imported: this revision stays what it is when search_objects changes again.
"""

from __future__ import annotations

from alembic import op

revision = "0003_fts_content_quoted"
down_revision = "0002_image_credit"
branch_labels = None
depends_on = None

_DECLARATION = """
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, content={content}, content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
)"""
_TRIGGERS = (
    """
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
    """
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
END""",
    """
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
)


def upgrade() -> None:
    _recreate_fts('"articles"')


def downgrade() -> None:
    _recreate_fts("'articles'")


def _recreate_fts(content: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL's search column has nothing to do with this
    for trigger in ("articles_fts_insert", "articles_fts_delete", "articles_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS articles_fts")
    op.execute(_DECLARATION.format(content=content))
    for ddl in _TRIGGERS:
        op.execute(ddl)
    op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
