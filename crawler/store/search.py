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

The objects are made by the migrations (crawler/store/migrations; the baseline revision
creates them) and kept out of autogenerate's sight by
:mod:`crawler.store.migrations.search_objects`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
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
from sqlalchemy.sql.elements import BindParameter, ColumnElement, TextClause

__all__ = [
    "SearchQuery",
    "matched_ids",
    "matching_ids",
    "parse_query",
    "ranked_matches",
    "search",
    "top_matches",
]

TITLE_WEIGHT, BODY_WEIGHT = 5.0, 1.0  # bm25 column weights (SQLite)
PG_WEIGHTS = "{0.1, 0.2, 0.2, 1.0}"  # ts_rank_cd weights for D, C, B (body), A (title)
PG_CONFIG = "newsmon_search"  # made by the migrations
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
        func.phraseto_tsquery(config, bindparam(f"search_unit_{i}", unit, unique=True))
        for i, unit in enumerate(query.units)
    ]
    combined: ColumnElement[Any] = parts[0]
    for part in parts[1:]:
        combined = combined.op("&&")(part)
    return combined


def _matches(
    dialect: str, query: SearchQuery, *, scored: bool, windowed: bool
) -> Select[*tuple[Any, ...]]:
    """``article_id`` (and ``score`` when ``scored``; higher is better) of the matches.

    ``windowed`` keeps SQLite to the newest :data:`SQLITE_RANK_WINDOW` matches, the set
    that is ranked; PostgreSQL has no window. Bind names are unique, so one statement may
    hold several searches (an alert's alternatives).
    """
    if query.is_empty:
        raise ValueError("an empty search matches nothing; check SearchQuery.is_empty first")
    if dialect == "sqlite":
        fts = table("articles_fts", column("rowid"))
        expression = fts5_match(query)
        match = _fts5_match_clause("search_match", expression)
        found = select(fts.c.rowid.label("article_id")).where(match)
        if scored:
            bm25 = -func.bm25(text("articles_fts"), TITLE_WEIGHT, BODY_WEIGHT)
            found = found.add_columns(bm25.label("score"))
        if windowed:
            # The rowid of the window's oldest match (article ids grow with time); FTS5
            # walks its doclist backwards for this without ranking anything.
            window_start = (
                select(fts.c.rowid)
                .where(_fts5_match_clause("window_match", expression))
                .order_by(fts.c.rowid.desc())
                .offset(SQLITE_RANK_WINDOW - 1)
                .limit(1)
                .scalar_subquery()
            )
            found = found.where(fts.c.rowid >= func.coalesce(window_start, 0))
        return found
    if dialect == "postgresql":
        articles = table("articles", column("id"), column("search_vector", TSVECTOR))
        tsquery = _pg_tsquery(query)
        found = select(articles.c.id.label("article_id")).where(
            articles.c.search_vector.op("@@", return_type=Boolean)(tsquery)
        )
        if scored:
            score = func.ts_rank_cd(
                text(f"'{PG_WEIGHTS}'::float4[]"),
                articles.c.search_vector,
                tsquery,
                _PG_NORMALIZATION,
                type_=Float,
            )
            found = found.add_columns(score.label("score"))
        return found
    raise ValueError(f"full-text search supports SQLite and PostgreSQL, not {dialect}")


def _fts5_match_clause(name: str, expression: str) -> TextClause:
    value: BindParameter[str] = bindparam(name, expression, unique=True)
    return text(f"articles_fts MATCH :{name}").bindparams(value)


def ranked_matches(dialect: str, query: SearchQuery, limit: int | None = None) -> Subquery:
    """(article_id, score) of every matching article, or the ``limit`` best; higher is better.

    ``query`` must not be empty. Join it to ``articles`` and filter and order as needed.
    """
    ranked = _matches(dialect, query, scored=True, windowed=True)
    if limit is not None:
        columns = ranked.selected_columns
        ranked = ranked.order_by(columns.score.desc(), columns.article_id.desc()).limit(limit)
    return ranked.subquery("search")


def matching_ids(
    dialect: str, query: SearchQuery, among: tuple[int, int] | None = None
) -> Select[*tuple[Any, ...]]:
    """The ids of every article matching ``query`` (with ids in ``among``, from..to, when
    given), unranked and unwindowed: for filtering a known set of articles (an alert's new
    ones) rather than listing the best."""
    found = _matches(dialect, query, scored=False, windowed=False)
    return (
        found if among is None else found.where(found.selected_columns.article_id.between(*among))
    )


def matched_ids(dialect: str, query: SearchQuery) -> Subquery:
    """(article_id) of every article :func:`ranked_matches` would rank — the same window on
    SQLite — without computing a score: for counting and grouping the matches."""
    return _matches(dialect, query, scored=False, windowed=True).subquery("matched")


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
