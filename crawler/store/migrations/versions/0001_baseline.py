"""Baseline: the schema newsmon made before it had migrations.

Revision ID: 0001_baseline
Revises: (none)

Exactly what ``Store.open`` of that newsmon left in a new database: ``create_all`` of its
models, then the full-text search objects (SQLite: FTS5 table and triggers; PostgreSQL:
``unaccent``, the ``newsmon_search`` configuration, the generated ``search_vector`` and its
GIN index). tests/test_schema.py compares the result with a database that code made.

Every step creates only what is missing, as that code did on each start: a database it
made is brought to this revision unchanged, and one last opened by an earlier development
version gets what it lacked (tables added later, ``articles.cluster_id``, the search
objects). This file is frozen: later changes are later revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)

_INDEXES = [
    ("ix_articles_site", "articles", ["site"]),
    ("ix_articles_published_at", "articles", ["published_at"]),
    ("ix_articles_content_hash", "articles", ["content_hash"]),
    ("ix_articles_first_seen_at", "articles", ["first_seen_at"]),
    ("ix_articles_cluster_id", "articles", ["cluster_id"]),
    ("ix_article_versions_content_hash", "article_versions", ["content_hash"]),
    ("ix_lsh_bands_article_id", "lsh_bands", ["article_id"]),
    ("ix_article_urls_article_id", "article_urls", ["article_id"]),
    ("ix_article_feeds_feed", "article_feeds", ["feed"]),
    ("ix_article_tags_tag", "article_tags", ["tag"]),
    ("ix_site_paragraphs_site_count", "site_paragraphs", ["site", "article_count"]),
    ("ix_crawl_runs_feed_started", "crawl_runs", ["feed", "started_at"]),
]


def _article_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE")


def upgrade() -> None:
    _create_tables()
    _add_cluster_id_to_old_articles()
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, if_not_exists=True)
    if op.get_bind().dialect.name == "sqlite":
        _create_sqlite_search()
    elif op.get_bind().dialect.name == "postgresql":
        for statement in _PG_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("articles_fts_insert", "articles_fts_delete", "articles_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    elif dialect == "postgresql":
        # The unaccent extension stays: other schemas of the database may use it.
        op.execute("DROP INDEX IF EXISTS ix_articles_search_vector")
        op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS newsmon_search")
    for _name, table, _columns in reversed(_INDEXES):
        op.drop_index(_name, table_name=table)
    for table in (
        "crawl_runs",
        "robots_txt",
        "page_states",
        "feeds",
        "site_paragraph_stats",
        "site_paragraphs",
        "article_tags",
        "article_feeds",
        "article_urls",
        "lsh_bands",
        "article_signatures",
        "article_versions",
        "articles",
    ):
        op.drop_table(table)


def _create_tables() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("site", sa.String(255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("published_at", _UTC, nullable=True),
        sa.Column("published_source", sa.String(16), nullable=True),
        sa.Column("published_precision", sa.String(8), nullable=True),
        sa.Column("modified_at", _UTC, nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("lead_image_url", sa.Text(), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen_at", _UTC, nullable=False),
        sa.Column("last_seen_at", _UTC, nullable=False),
        sa.Column("last_fetched_at", _UTC, nullable=False),
        sa.Column("version_count", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )
    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("modified_at", _UTC, nullable=True),
        sa.Column("fetched_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "version"),
        _article_fk(),
        if_not_exists=True,
    )
    op.create_table(
        "article_signatures",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("shingle_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("article_id"),
        _article_fk(),
        if_not_exists=True,
    )
    op.create_table(
        "lsh_bands",
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("band", "bucket", "article_id"),
        _article_fk(),
        if_not_exists=True,
    )
    op.create_table(
        "article_urls",
        sa.Column("url_key", sa.String(2048), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("url_key"),
        _article_fk(),
        if_not_exists=True,
    )
    op.create_table(
        "article_feeds",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(64), nullable=False),
        sa.Column("first_seen_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("article_id", "feed"),
        _article_fk(),
        if_not_exists=True,
    )
    op.create_table(
        "article_tags",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "tag"),
        _article_fk(),
        if_not_exists=True,
    )
    op.create_table(
        "site_paragraphs",
        sa.Column("site", sa.String(255), nullable=False),
        sa.Column("paragraph_key", sa.String(40), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("first_article_seq", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", _UTC, nullable=False),
        sa.Column("last_seen_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("site", "paragraph_key"),
        if_not_exists=True,
    )
    op.create_table(
        "site_paragraph_stats",
        sa.Column("site", sa.String(255), nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("site"),
        if_not_exists=True,
    )
    op.create_table(
        "feeds",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("body_hash", sa.String(64), nullable=True),
        sa.Column("last_run_at", _UTC, nullable=True),
        sa.Column("last_finished_at", _UTC, nullable=True),
        sa.Column("last_success_at", _UTC, nullable=True),
        sa.Column("last_outcome", sa.String(16), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("next_run_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("name"),
        if_not_exists=True,
    )
    op.create_table(
        "page_states",
        sa.Column("url_key", sa.String(2048), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("body_hash", sa.String(64), nullable=True),
        sa.Column("fetched_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("url_key"),
        if_not_exists=True,
    )
    op.create_table(
        "robots_txt",
        sa.Column("origin", sa.String(512), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("fetched_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("origin"),
        if_not_exists=True,
    )
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed", sa.String(64), nullable=False),
        sa.Column("started_at", _UTC, nullable=False),
        sa.Column("finished_at", _UTC, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("pages_fetched", sa.Integer(), nullable=False),
        sa.Column("not_modified", sa.Integer(), nullable=False),
        sa.Column("articles_found", sa.Integer(), nullable=False),
        sa.Column("articles_new", sa.Integer(), nullable=False),
        sa.Column("versions_new", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        if_not_exists=True,
    )


def _add_cluster_id_to_old_articles() -> None:
    # Articles stored before clusters existed: each becomes its own cluster, and joins
    # others when a new version of it, or a new copy, is saved.
    columns = sa.inspect(op.get_bind()).get_columns("articles")
    if any(column["name"] == "cluster_id" for column in columns):
        return
    op.add_column("articles", sa.Column("cluster_id", sa.Integer(), nullable=True))
    op.execute("UPDATE articles SET cluster_id = id")


_FTS_TABLE = """
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(
    title, body, content='articles', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
)"""
_FTS_TRIGGERS = {
    "articles_fts_insert": """
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
    "articles_fts_delete": """
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
END""",
    # Only a change of the indexed columns reindexes: last_seen_at moves on every fetch.
    "articles_fts_update": """
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN
    INSERT INTO articles_fts(articles_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
END""",
}


def _create_sqlite_search() -> None:
    bind = op.get_bind()
    existing = set(
        bind.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE name LIKE 'articles_fts%'"
        ).scalars()
    )
    missing = [name for name in ("articles_fts", *_FTS_TRIGGERS) if name not in existing]
    if not missing:
        return
    op.execute(_FTS_TABLE)
    for name, ddl in _FTS_TRIGGERS.items():
        if name in missing:
            op.execute(ddl)
    # Rows may have been stored while the table or a trigger was missing.
    op.execute("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


_PG_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
        WHERE c.cfgname = 'newsmon_search' AND n.nspname = current_schema()
    ) THEN
        CREATE TEXT SEARCH CONFIGURATION newsmon_search (COPY = pg_catalog.simple);
        ALTER TEXT SEARCH CONFIGURATION newsmon_search
            ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
    END IF;
END
$$""",
    """
ALTER TABLE articles ADD COLUMN IF NOT EXISTS search_vector tsvector
GENERATED ALWAYS AS (
    setweight(to_tsvector('newsmon_search'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('newsmon_search'::regconfig, coalesce(body, '')), 'B')
) STORED""",
    "CREATE INDEX IF NOT EXISTS ix_articles_search_vector ON articles USING gin (search_vector)",
]
