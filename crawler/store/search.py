"""Full-text search over article titles and bodies, one interface on SQLite and PostgreSQL.

- SQLite: an FTS5 *external-content* table ``articles_fts(title, body)`` over ``articles``,
  kept in step by triggers, tokenised by ``unicode61 remove_diacritics 2`` (accents and case
  do not matter) and ranked by ``bm25`` with the title weighted above the body.
- PostgreSQL: a stored generated ``tsvector`` column ``articles.search_vector`` (title
  weight A, body weight B) under the text search configuration ``newsmon_search`` — the
  ``simple`` dictionary behind ``unaccent``, so it matches what SQLite does: no stemming,
  no stop words, accents folded — with a GIN index, ranked by ``ts_rank_cd``.

User text is never query syntax. :func:`parse_query` splits it into terms (white-space
separated) and phrases (between double quotes); each one is handed to the engine as a
string to tokenise, never as operators: FTS5 gets every term as a "double-quoted string",
PostgreSQL gets ``phraseto_tsquery`` of each as a bound parameter, joined with ``&&``. So
``AND OR NOT NEAR`` are plain words, ``* ( ) - "`` are separators, and an empty or
punctuation-only query matches nothing.

The objects are created idempotently by :func:`install_search`, which ``Store.open`` calls
after ``create_all``; it also restores FTS triggers that a table rebuild (say, an Alembic
batch migration) dropped, and reindexes when it had to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    Float,
    Select,
    Subquery,
    bindparam,
    column,
    func,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

__all__ = [
    "SearchQuery",
    "install_search",
    "parse_query",
    "ranked_matches",
    "search",
    "top_matches",
]

TITLE_WEIGHT, BODY_WEIGHT = 5.0, 1.0  # bm25 column weights (SQLite)
PG_WEIGHTS = "{0.1, 0.2, 0.2, 1.0}"  # ts_rank_cd weights for D, C, B (body), A (title)
PG_CONFIG = "newsmon_search"
MAX_UNITS = 32  # terms and phrases per query; more is a pasted article, not a search
# SQLite ranks at most this many of the newest matches. FTS5 computes bm25 for every
# matching row before it can sort (no top-k pruning): a word found in a quarter of a
# million articles costs ~200 ms to rank in full, the newest 20,000 of them ~15 ms. A
# news monitor asks about recent reporting, so the window keeps the results that matter;
# a query with fewer matches is ranked over all of them.
SQLITE_RANK_WINDOW = 20_000

_WORD = re.compile(r"[^\W_]+")
_QUOTES = re.compile(r"[\"“”„«»]")  # straight and typographic double quotes
# Control characters separate words; PostgreSQL would refuse a NUL in a parameter.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# For ts_rank_cd: divide by 1 + log(document length), so a long article does not win on
# length alone (bm25 does the same on SQLite through its length normalisation).
_PG_NORMALIZATION = 1
_SEARCH_LOCK_KEY = 0x6E65_7773_6D6F_6E32 & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class SearchQuery:
    """What the user asked for: each unit is one term or one phrase, all must match."""

    units: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not self.units


def parse_query(text: str) -> SearchQuery:
    """Terms and "quoted phrases" of the user's text; anything without a word is dropped.

    An unmatched quote opens no phrase: it separates like a space.
    """
    pieces = _QUOTES.split(_CONTROL.sub(" ", text))
    units: list[str] = []
    closed = len(pieces) % 2 == 1  # an odd count of quotes leaves the last one unmatched
    for index, piece in enumerate(pieces):
        quoted = index % 2 == 1 and (closed or index < len(pieces) - 1)
        candidates = [piece] if quoted else piece.split()
        for candidate in candidates:
            words = _WORD.findall(candidate)
            if words:
                # A unit goes to the engine as typed, as text to tokenise — never as syntax —
                # so "e-mail" or "3.5" split exactly as they did when the articles were
                # indexed. Words (not punctuation) decide only whether it is kept.
                units.append(" ".join(candidate.split()))
    return SearchQuery(tuple(dict.fromkeys(units))[:MAX_UNITS])


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression: each unit a double-quoted string, implicitly ANDed."""
    return " ".join('"' + unit.replace('"', '""') + '"' for unit in query.units)


def _pg_tsquery(query: SearchQuery) -> ColumnElement[Any]:
    config = text(f"'{PG_CONFIG}'::regconfig")
    parts = [
        func.phraseto_tsquery(config, bindparam(f"search_unit_{i}", unit))
        for i, unit in enumerate(query.units)
    ]
    combined: ColumnElement[Any] = parts[0]
    for part in parts[1:]:
        combined = combined.op("&&")(part)
    return combined


def ranked_matches(dialect: str, query: SearchQuery, limit: int | None = None) -> Subquery:
    """(article_id, score) of every matching article, or the ``limit`` best; higher is better.

    ``query`` must not be empty. Join it to ``articles`` and filter and order as needed.
    """
    if query.is_empty:
        raise ValueError("an empty search matches nothing; check SearchQuery.is_empty first")
    ranked: Select[*tuple[Any, ...]]
    if dialect == "sqlite":
        fts = table("articles_fts", column("rowid"))
        bm25 = -func.bm25(text("articles_fts"), TITLE_WEIGHT, BODY_WEIGHT)
        expression = fts5_match(query)
        match = text("articles_fts MATCH :search_match").bindparams(search_match=expression)
        # The rowid of the window's oldest match (article ids grow with time); FTS5 walks
        # its doclist backwards for this without ranking anything.
        window_start = (
            select(fts.c.rowid)
            .where(text("articles_fts MATCH :window_match").bindparams(window_match=expression))
            .order_by(fts.c.rowid.desc())
            .offset(SQLITE_RANK_WINDOW - 1)
            .limit(1)
            .scalar_subquery()
        )
        ranked = select(fts.c.rowid.label("article_id"), bm25.label("score")).where(
            match, fts.c.rowid >= func.coalesce(window_start, 0)
        )
    elif dialect == "postgresql":
        articles = table("articles", column("id"), column("search_vector", TSVECTOR))
        tsquery = _pg_tsquery(query)
        score = func.ts_rank_cd(
            text(f"'{PG_WEIGHTS}'::float4[]"),
            articles.c.search_vector,
            tsquery,
            _PG_NORMALIZATION,
            type_=Float,
        )
        ranked = select(articles.c.id.label("article_id"), score.label("score")).where(
            articles.c.search_vector.op("@@", return_type=Boolean)(tsquery)
        )
    else:
        raise ValueError(f"full-text search supports SQLite and PostgreSQL, not {dialect}")
    if limit is not None:
        columns = ranked.selected_columns
        ranked = ranked.order_by(columns.score.desc(), columns.article_id.desc()).limit(limit)
    return ranked.subquery("search")


def top_matches(session: Session, query: SearchQuery, limit: int) -> list[tuple[int, float]]:
    """(article_id, score) of the ``limit`` best matches, best first, from the index alone."""
    if query.is_empty:
        return []
    matches = ranked_matches(session.get_bind().dialect.name, query, limit)
    rows = session.execute(
        select(matches.c.article_id, matches.c.score).order_by(
            matches.c.score.desc(), matches.c.article_id.desc()
        )
    )
    return [(int(article_id), float(score)) for article_id, score in rows]


def search(session: Session, text_: str, limit: int = 50) -> list[tuple[int, float]]:
    """(article_id, score) of the best matches for the user's text, best first."""
    return top_matches(session, parse_query(text_), limit)


# -- schema -----------------------------------------------------------------------------------

_FTS_TABLE = """
CREATE VIRTUAL TABLE articles_fts USING fts5(
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

_PG_SETUP = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    f"""
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
        WHERE c.cfgname = '{PG_CONFIG}' AND n.nspname = current_schema()
    ) THEN
        CREATE TEXT SEARCH CONFIGURATION {PG_CONFIG} (COPY = pg_catalog.simple);
        ALTER TEXT SEARCH CONFIGURATION {PG_CONFIG}
            ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
    END IF;
END
$$""",
    f"""
ALTER TABLE articles ADD COLUMN IF NOT EXISTS search_vector tsvector
GENERATED ALWAYS AS (
    setweight(to_tsvector('{PG_CONFIG}'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('{PG_CONFIG}'::regconfig, coalesce(body, '')), 'B')
) STORED""",
    "CREATE INDEX IF NOT EXISTS ix_articles_search_vector ON articles USING gin (search_vector)",
]


_PG_INSTALLED = f"""
SELECT EXISTS (SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
               WHERE c.cfgname = '{PG_CONFIG}' AND n.nspname = current_schema())
   AND EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'articles'
                 AND column_name = 'search_vector')
   AND to_regclass('ix_articles_search_vector') IS NOT NULL
"""


def install_search(engine: Engine) -> None:
    """Create the search objects of this backend if they are missing (idempotent).

    Checks the catalog first and changes nothing when all is in place: every ``Store.open``
    calls this, and DDL would take locks that make a reader wait for the running service.
    """
    if engine.dialect.name == "sqlite":
        _install_sqlite(engine)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            if conn.execute(text(_PG_INSTALLED)).scalar():
                return
        with engine.begin() as conn:
            # Two processes starting together must not both create the configuration.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEARCH_LOCK_KEY})
            for statement in _PG_SETUP:
                conn.execute(text(statement))


def _fts_objects(conn: Connection) -> set[str]:
    names = conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'articles_fts%'"))
    return set(names.scalars())


def _install_sqlite(engine: Engine) -> None:
    with engine.connect() as conn:
        if _fts_objects(conn) >= {"articles_fts", *_FTS_TRIGGERS}:
            return
    with engine.execution_options(sqlite_immediate=True).begin() as conn:
        existing = _fts_objects(conn)
        stale = False
        if "articles_fts" not in existing:
            conn.execute(text(_FTS_TABLE))
            stale = True
        for name, ddl in _FTS_TRIGGERS.items():
            if name not in existing:
                conn.execute(text(ddl))
                stale = True  # rows may have changed while the trigger was missing
        if stale:
            conn.execute(text("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')"))
