"""Versions: what counts as a change, the history of an article, and its word-level diffs."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from crawler.article import Article as Parsed
from crawler.cli import main
from crawler.dedup import _VOLATILE, content_hash, content_text
from crawler.store.history import diff_versions, load_versions, render_diff, version_infos
from crawler.store.models import Article
from crawler.store.queries import ArticleFilter, query_articles
from crawler.store.store import Store
from crawler.textnorm import normalize_text
from tests.factories import make_article

T0 = datetime(2024, 6, 10, 7, 0, tzinfo=UTC)
TITLE = "Fire at Orla textile mill forces evacuation"
BODY = (
    "A fire broke out at the Orla textile mill on Monday morning. Updated 3 minutes ago\n\n"
    "Firefighters said 5 workers were treated for smoke inhalation and the building was"
    " evacuated shortly after eight.\n\n"
    "The cause of the fire is not yet known. 376 comments"
)


MILL_FIRE = make_article(
    "https://orla-news.example/2024/06/10/mill-fire.html",
    title=TITLE,
    authors=("Ines Varga",),
    published_at=T0 - timedelta(hours=1),
    tags=("orla",),
    body=BODY,
)


def parsed(**overrides: Any) -> Parsed:
    return replace(MILL_FIRE, **overrides)


# -- what counts as a change ------------------------------------------------------------------


def test_volatile_phrases_and_punctuation_do_not_change_the_hash() -> None:
    same = [
        BODY.replace("Updated 3 minutes ago", "Updated 2 hours ago"),
        BODY.replace("376 comments", "1,204 Comments"),
        BODY.replace("376 comments", "Comments (12)"),
        BODY.replace("Updated 3 minutes ago", "updated: 1 hour ago") + " 4 min read",
        BODY.replace("Monday morning.", "Monday morning!").replace("eight.", "eight…"),
        BODY.replace("smoke inhalation", "smoke-inhalation"),
    ]
    for body in same:
        assert content_hash(TITLE, body) == content_hash(TITLE, BODY), body


def test_real_changes_do_change_the_hash() -> None:
    changed = [
        BODY.replace("5 workers", "7 workers"),
        BODY.replace("not yet known", "known"),
        BODY + "\n\nCorrection: the mill is in Orla, not Orlova.",
        BODY.replace("eight", "nine"),
    ]
    for body in changed:
        assert content_hash(TITLE, body) != content_hash(TITLE, BODY), body
    assert content_hash(TITLE + " again", BODY) != content_hash(TITLE, BODY)
    assert content_text("It cost $5, not €5.") == "it cost $5 not €5"  # symbols stay


WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9).filter(
    lambda w: w not in {"ago", "read", "comments", "comment"}
)


@given(st.lists(WORDS, min_size=3, max_size=30), st.data())
def test_any_word_change_is_a_new_hash(words: list[str], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(words) - 1))
    new_word = data.draw(WORDS.filter(lambda w: w != words[index]))
    edited = [*words[:index], new_word, *words[index + 1 :]]
    assert content_hash("t", " ".join(words)) != content_hash("t", " ".join(edited))


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.sampled_from(["people", "km", "votes"]))
def test_a_number_in_a_sentence_is_never_volatile(a: int, b: int, unit: str) -> None:
    one = content_hash("t", f"Officials said {a} {unit} were counted.")
    two = content_hash("t", f"Officials said {b} {unit} were counted.")
    assert (one == two) == (a == b)


# The volatile-phrase pattern as first written: a plain alternation, easy to read and slow
# on long bodies. The store's pattern is factored for speed; it must drop exactly the same.
_C = r"\d+(?:[.,]\d+)*\s?[km]?"
_U = (
    r"(?:seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w|months?|"
    r"years?|yrs?|y)"
)
PLAIN_VOLATILE = re.compile(
    rf"(?:\b(?:updated|posted|published|edited)\s*:?\s*)?\b(?:{_C}|an?|one)\s*{_U}\s+ago\b"
    rf"|\b{_C}\s*(?:comments?|replies|reactions|shares|likes|views|reads|responses)\b"
    rf"|\b(?:comments?|replies|responses)\s*(?::|\()\s*{_C}\s*\)?"
    rf"|\b{_C}\s*min(?:ute)?s?\s+read\b"
)
VOLATILE_TOKENS = st.sampled_from(
    ["5", "1,204", "1.2k", "12m", "a", "an", "one", "updated", "posted:", "edited", "minutes",
     "min", "m", "s", "h", "ago", "read", "comments", "comment", "(", ")", ":", "replies",
     "shares", "views", "reads", "the", "x"]
)  # fmt: skip


@given(st.lists(VOLATILE_TOKENS, min_size=1, max_size=10), st.sampled_from([" ", ""]))
def test_volatile_phrases_are_dropped_as_the_plain_pattern_drops_them(
    tokens: list[str], sep: str
) -> None:
    text = sep.join(tokens)
    assert _VOLATILE.sub(" ", text) == PLAIN_VOLATILE.sub(" ", text)


@given(st.text())
def test_normalised_white_space_is_what_the_regex_would_give(text: str) -> None:
    expected = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
    assert normalize_text(text) == expected


# -- versions in the store --------------------------------------------------------------------


@pytest.fixture
def store(db_url: str):
    s = Store.open(db_url)
    yield s
    s.close()


def test_edit_headline_change_volatile_change_and_revert(store: Store) -> None:
    first = store.save_article(parsed(), feed="a", fetched_at=T0)
    assert first.outcome == "new"
    volatile = parsed(
        body=BODY.replace("376 comments", "412 comments").replace("3 minutes", "9 minutes")
    )
    assert (
        store.save_article(volatile, feed="a", fetched_at=T0 + timedelta(minutes=10)).outcome
        == "unchanged"
    )
    edited = parsed(body=BODY.replace("5 workers", "7 workers"))
    assert store.save_article(edited, feed="a", fetched_at=T0 + timedelta(hours=1)).version == 2
    retitled = replace(edited, title="Fire at Orla mill: seven treated, cause unknown")
    assert store.save_article(retitled, feed="a", fetched_at=T0 + timedelta(hours=2)).version == 3
    reverted = store.save_article(parsed(), feed="a", fetched_at=T0 + timedelta(hours=3))
    assert reverted.outcome == "version" and reverted.version == 4  # back to v1's text
    with store.reading() as session:
        article = session.get(Article, first.article_id)
        assert article is not None and article.version_count == 4 and article.title == TITLE
        versions = load_versions(session, article)
    assert [v.fetched_at for v in versions] == [T0 + timedelta(hours=h) for h in range(4)]
    summaries = [i.summary() for i in version_infos(versions)]
    assert summaries == ["first seen", "+1 -1 words", "headline", "reverts to v1"]
    diff = diff_versions(versions[0], versions[2])
    assert diff.title_changed and (diff.words_added, diff.words_removed) == (1, 1)
    text = render_diff(diff)
    lines = text.splitlines()
    assert lines[1] == (
        "headline: Fire at Orla [-textile mill forces evacuation-]"
        "{+mill: seven treated, cause unknown+}"
    )
    assert "Firefighters said [-5-]{+7+} workers were treated" in text
    assert text.index("headline:") < text.index("[-5-]")  # headline changes first


def test_a_hash_from_an_older_normalisation_is_refreshed_not_versioned(store: Store) -> None:
    saved = store.save_article(parsed(), feed="a", fetched_at=T0)
    old_style = hashlib.sha256(
        (normalize_text(TITLE) + "\n" + normalize_text(BODY)).encode("utf-8")
    ).hexdigest()
    with store.writing() as session:
        session.execute(
            update(Article).where(Article.id == saved.article_id).values(content_hash=old_style)
        )
    again = store.save_article(parsed(), feed="a", fetched_at=T0 + timedelta(hours=1))
    assert again.outcome == "unchanged" and again.version == 1
    with store.reading() as session:
        article = session.get(Article, saved.article_id)
        assert article is not None and article.content_hash == content_hash(TITLE, BODY)


def test_query_edited_finds_articles_changed_after_publication(store: Store) -> None:
    edited = store.save_article(parsed(), feed="a", fetched_at=T0)
    store.save_article(
        parsed(title=TITLE + " (updated)"), feed="a", fetched_at=T0 + timedelta(hours=1)
    )
    store.save_article(
        parsed(url="https://orla-news.example/other", title="Market day", body="Stalls opened."),
        feed="a", fetched_at=T0,
    )  # fmt: skip
    with store.reading() as session:
        rows = query_articles(session, ArticleFilter(edited=True))
    assert [(r["id"], r["versions"]) for r in rows] == [(edited.article_id, 2)]


# -- the history command ----------------------------------------------------------------------


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    db = tmp_path / "news.db"
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{db}"\n\n[[feeds]]\nname = "a"\nkind = "rss"\n'
        'url = "https://orla-news.example/rss"\n',
        encoding="utf-8",
    )
    s = Store.open(f"sqlite:///{db}")
    s.save_article(parsed(), feed="a", fetched_at=T0)
    s.save_article(parsed(body=BODY.replace("5 workers", "7 workers")), feed="a",
                   fetched_at=T0 + timedelta(hours=1))  # fmt: skip
    s.save_article(parsed(title="Orla mill fire: seven treated", body=BODY.replace("5", "7")),
                   feed="a", fetched_at=T0 + timedelta(hours=2))  # fmt: skip
    s.close()
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_history_lists_versions_and_diffs_first_against_latest(settings_path: Path, capsys) -> None:
    url = "https://orla-news.example/2024/06/10/mill-fire.html?utm_medium=social"
    code, out, _ = run_cli(capsys, "history", "--settings", str(settings_path), url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "article 1: Orla mill fire: seven treated (orla-news.example), 3 versions"
    assert lines[1].split() == ["v", "fetched", "(UTC)", "words", "change", "headline"]
    assert lines[2].split()[:5] == ["1", "2024-06-10", "07:00", "44", "first"]
    assert "headline" in lines[4] and "Orla mill fire: seven treated" in lines[4]
    assert "v1 (2024-06-10 07:00) -> v3 (2024-06-10 09:00): headline changed" in out
    assert (
        "headline: [-Fire at-] Orla [-textile-] mill [-forces evacuation-]"
        "{+fire: seven treated+}\n" in out
    )
    assert "Firefighters said [-5-]{+7+} workers" in out


def test_history_json_and_any_two_versions(settings_path: Path, capsys) -> None:
    code, out, _ = run_cli(
        capsys, "history", "--settings", str(settings_path), "1", "--diff", "1", "2",
        "--format", "json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert [v["change"] for v in data["versions"]] == ["first seen", "+1 -1 words", "headline"]
    assert data["diff"]["from"] == 1 and data["diff"]["to"] == 2
    assert not data["diff"]["title_changed"]
    changes = [seg for hunk in data["diff"]["body"] for seg in hunk if seg[0] != "="]
    assert changes == [["-", "5"], ["+", "7"]]


def test_history_errors_are_one_line(settings_path: Path, capsys) -> None:
    code, _, err = run_cli(
        capsys, "history", "--settings", str(settings_path), "1", "--diff", "1", "9"
    )
    assert code == 2  # a usage error: --diff names a version that is not there
    assert err == "newsmon: article 1 has versions 1 to 3, not 9: pick two of them for --diff\n"
    code, _, err = run_cli(capsys, "history", "--settings", str(settings_path), "77")
    assert code == 1 and err == "newsmon: no stored article matches '77'\n"


def test_query_edited_on_the_command_line(settings_path: Path, capsys) -> None:
    code, out, _ = run_cli(capsys, "query", "--settings", str(settings_path), "--edited",
                           "--format", "json")  # fmt: skip
    assert code == 0 and [r["versions"] for r in json.loads(out)] == [3]


def test_every_new_command_has_help_with_an_example(capsys) -> None:
    for command in ("history", "stats"):
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        assert "example: newsmon " + command in capsys.readouterr().out
