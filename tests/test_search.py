"""Full-text search: the same assertions on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from crawler.article import Article as Parsed
from crawler.cli import main
from crawler.store import queries
from crawler.store.models import Article
from crawler.store.queries import ArticleFilter, query_articles
from crawler.store.search import MAX_UNITS, fts5_match, parse_query, search
from crawler.store.store import Store
from tests.factories import make_article

T0 = datetime(2024, 5, 20, 9, 0, tzinfo=UTC)

# key: (site, title, body, days after T0, tags)
ARTICLES = {
    "harbour": (
        "herald.example", "Harbour strike spreads to Valmera",
        "Dock workers in Valmera joined the action on Tuesday, walking off at dawn. The union"
        " said crane drivers would follow. Talks with the port authority are set for Friday.",
        0, ("ports",),
    ),
    "many": (
        "courier.example", "Port traffic report",
        "The strike kept ships at anchor for a second day. A strike at the rail depot added to"
        " delays, and a third strike, by customs staff, was called off late on Monday.",
        1, ("ports", "rail"),
    ),
    "once": (
        "courier.example", "Weekly shipping notes",
        "Container volumes rose four percent in April. Fuel prices eased, new cranes arrived at"
        " the eastern terminal, and the pilots' strike ended after talks.",
        2, ("shipping",),
    ),
    "accents": (
        "gazette.example", "São Paulo café owners meet Jürgen Müller",
        "Café owners from São Paulo met Jürgen Müller to taste a crème brûlée said to be the"
        " best in the country.",
        3, ("food",),
    ),
    "plain": (
        "herald.example", "Cafe culture in Sao Paulo",
        "A cafe in Sao Paulo opened its doors to writers, who may stay all day for one coffee.",
        4, ("food",),
    ),
    "phrase": (
        "ledger.example", "Rates rise again",
        "The central bank raised rates by a quarter point, its third rise this year.",
        5, ("economy",),
    ),
    "scattered": (
        "ledger.example", "Market square bank reopens",
        "The bank on the central square reopened on Monday; its rates for savers are unchanged.",
        6, ("economy",),
    ),
    "hostile": (
        "tech.example", "Outage at a newsroom",
        "Nobody could say whether the deadline was near, and whether or not the paper would"
        " print: an intern had typed drop table articles on the live server.",
        7, ("tech",),
    ),
}  # fmt: skip


def parsed(key: str, **overrides: Any) -> Parsed:
    site, title, body, days, tags = ARTICLES[key]
    article = make_article(
        f"https://{site}/{key}",
        title=title,
        body=body,
        published_at=T0 + timedelta(days=days),
        tags=tags,
    )
    return replace(article, **overrides)


@pytest.fixture
def store(db_url: str):
    s = Store.open(db_url)
    for key in ARTICLES:
        s.save_article(parsed(key), feed=f"feed-{ARTICLES[key][0]}", fetched_at=T0)
    yield s
    s.close()


def ids(store: Store) -> dict[int, str]:
    with store.reading() as session:
        return {i: u.rsplit("/", 1)[1] for i, u in session.execute(select(Article.id, Article.url))}


def found(store: Store, query: str, **filters: object) -> list[str]:
    """The keys of the matching articles, in result order."""
    names = ids(store)
    with store.reading() as session:
        rows = query_articles(session, ArticleFilter(search=query, **filters))  # type: ignore[arg-type]
    return [names[r["id"]] for r in rows]


def test_title_ranks_above_body_and_more_mentions_above_one(store: Store) -> None:
    assert found(store, "strike") == ["harbour", "many", "once"]
    with store.reading() as session:
        scores = [score for _, score in search(session, "strike")]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1] > scores[2] > 0


def test_accents_and_case_do_not_matter(store: Store) -> None:
    assert set(found(store, "SAO PAULO")) == {"accents", "plain"}
    assert set(found(store, "café")) == {"accents", "plain"}
    assert set(found(store, "cafe")) == {"accents", "plain"}
    assert found(store, "muller") == ["accents"]
    assert found(store, "Jürgen MÜLLER") == ["accents"]
    assert found(store, "creme brulee") == ["accents"]


def test_quoted_words_match_as_a_phrase(store: Store) -> None:
    assert set(found(store, "central bank rates")) == {"phrase", "scattered"}
    assert found(store, '"central bank" rates') == ["phrase"]
    assert found(store, "“central bank”") == ["phrase"]  # typographic quotes too
    assert found(store, '"bank central"') == []
    assert set(found(store, '"são paulo"')) == {"accents", "plain"}


HOSTILE = {
    # user text: what it must find, searched as plain words
    'AND OR NOT " * ( ) NEAR -': ["hostile"],
    "'; DROP TABLE articles; --": ["hostile"],
    '"near" OR "not"': ["hostile"],
    "strike' OR '1'='1": [],
    "title:strike": [],
    "NEAR(strike harbour, 2)": [],
    "{title body}: strike": [],
    '"unbalanced quote strike': [],
    "strike*": ["harbour", "many", "once"],
    "^strike": ["harbour", "many", "once"],
    "-strike": ["harbour", "many", "once"],
    "\x00strike\x01": ["harbour", "many", "once"],
    "strike " * 500: ["harbour", "many", "once"],
    "": [],
    "   ": [],
    '" * ( ) - ^ : ; %  _ \\': [],
}


def test_hostile_input_is_only_ever_words(store: Store) -> None:
    for query, expected in HOSTILE.items():
        assert found(store, query) == expected, f"search {query[:60]!r}"
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == len(ARTICLES)


@pytest.mark.parametrize(
    "window",
    [
        (10, 200, 5000),  # as shipped: candidates from a window of the best matches
        (1, 1, 5000),  # a window of `limit` rows: filters exhaust it, the exact query runs
        (10, 200, 0),  # the exact query only
    ],
    ids=["window", "fallback", "exact"],
)
def test_search_combines_with_every_filter(
    store: Store, window: tuple[int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in zip(("_WINDOW_PER_ROW", "_WINDOW_MIN", "_WINDOW_MAX"), window, strict=True):
        monkeypatch.setattr(queries, name, value)
    assert found(store, "strike", tag="rail") == ["many"]
    assert found(store, "strike", feed="feed-courier.example") == ["many", "once"]
    assert found(store, "strike", site="courier.example") == ["many", "once"]
    assert found(store, "strike", since=T0 + timedelta(days=1)) == ["many", "once"]
    assert found(store, "strike", until=T0 + timedelta(days=2)) == ["harbour", "many"]
    assert found(store, "strike", limit=1) == ["harbour"]
    assert found(store, "strike", edited=True) == []
    assert found(store, "strike", collapse=True) == ["harbour", "many", "once"]
    assert found(store, "strike", site="courier.example", limit=1) == ["many"]
    assert found(store, "strike", tag="shipping", limit=1) == ["once"]
    assert found(store, "economy OR rates", limit=1) == []
    assert found(store, "rates", limit=1, collapse=True) == ["phrase"]


def test_the_index_follows_new_versions_and_deletes(store: Store) -> None:
    edited = parsed("many", body=ARTICLES["many"][2].replace("strike", "walkout"))
    assert (
        store.save_article(edited, feed="f", fetched_at=T0 + timedelta(days=1)).outcome == "version"
    )
    assert found(store, "strike") == ["harbour", "once"]
    assert found(store, "walkout") == ["many"]
    with store.writing() as session:
        session.delete(session.scalars(select(Article).where(Article.url.endswith("/once"))).one())
    assert found(store, "strike") == ["harbour"]


def test_parse_query_units() -> None:
    assert parse_query('dock "port authority" strike').units == (
        "dock",
        "port authority",
        "strike",
    )
    assert parse_query('a "b c').units == ("a", "b", "c")  # an unmatched quote only separates
    assert parse_query("* ( ) - \" '").is_empty
    assert len(parse_query(" ".join(f"w{i}" for i in range(100))).units) == MAX_UNITS
    # Every unit reaches FTS5 as one double-quoted string, never as syntax.
    assert fts5_match(parse_query('NEAR(a b) "x y" OR')) == '"NEAR(a" "b)" "x y" "OR"'


def test_sqlite_restores_a_dropped_trigger_and_reindexes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/news.db"
    s = Store.open(url)
    with s.engine.begin() as conn:
        conn.execute(text("DROP TRIGGER articles_fts_insert"))  # as a table rebuild would
    s.save_article(parsed("harbour"), feed="f", fetched_at=T0)
    with s.reading() as session:
        assert search(session, "valmera") == []
    s.close()
    s = Store.open(url)
    with s.reading() as session:
        assert [i for i, _ in search(session, "valmera")] == [1]
    s.close()


# -- the command line -------------------------------------------------------------------------


def test_query_search_on_the_command_line(tmp_path: Path, capsys) -> None:
    db = tmp_path / "news.db"
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[database]\nurl = "sqlite:///{db}"\n', encoding="utf-8")
    s = Store.open(f"sqlite:///{db}")
    for key in ARTICLES:
        s.save_article(parsed(key), feed="f", fetched_at=T0)
    s.close()
    assert (
        main(["query", "--settings", str(settings), "--search", "strike", "--format", "json"]) == 0
    )
    rows = json.loads(capsys.readouterr().out)
    assert [r["title"] for r in rows] == [
        "Harbour strike spreads to Valmera",
        "Port traffic report",
        "Weekly shipping notes",
    ]
    assert rows[0]["score"] > rows[1]["score"] > rows[2]["score"]
    assert main(["query", "--settings", str(settings), "--search", "' OR 1=1; --"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "(no articles match)"
    assert main(["query", "--settings", str(settings), "--search", '"São Paulo"', "--site",
                 "gazette.example"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "São Paulo café owners" in out and "Cafe culture" not in out


def test_sqlite_ranks_only_the_newest_matches_of_a_very_common_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Store.open(f"sqlite:///{tmp_path}/news.db")
    try:
        for key in ARTICLES:
            s.save_article(parsed(key), feed="f", fetched_at=T0)
        names = ids(s)
        # "strike" is in three articles; "harbour" (stored first) ranks best with it in its
        # title. With a window of two, only the two newest matches are ranked.
        assert [names[i] for i, _ in _search(s, "strike")] == ["harbour", "many", "once"]
        monkeypatch.setattr("crawler.store.search.SQLITE_RANK_WINDOW", 2)
        assert sorted(names[i] for i, _ in _search(s, "strike")) == ["many", "once"]
        # A query with fewer matches than the window is ranked over all of them.
        assert [names[i] for i, _ in _search(s, "valmera")] == ["harbour"]
    finally:
        s.close()


def _search(store: Store, query: str) -> list[tuple[int, float]]:
    with store.reading() as session:
        return search(session, query)
