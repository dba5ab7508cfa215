"""Near-copies across sites: signatures, LSH bands in SQL, clusters, and what users see.

The fixture texts are invented for these tests: one wire story about a dock strike, run by
several sites with their own chrome, trimmed or re-headlined; two independent reports of
the same strike (same names and places, their own prose); unrelated articles that end with
the same stock "about us" paragraph.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from crawler.article import Article as Parsed
from crawler.cli import main
from crawler.config import DatabaseConfig
from crawler.minhash import BANDS, confirm, shares_story, signature_of
from crawler.store import queries
from crawler.store.clusters import WINDOW
from crawler.store.models import Article, ArticleSignature, LshBand
from crawler.store.queries import ArticleFilter, query_articles
from crawler.store.schema import BASELINE, downgrade_schema
from crawler.store.store import Store
from tests.factories import make_article

T0 = datetime(2024, 3, 4, 6, 0, tzinfo=UTC)

WIRE = [
    "VALMERA, March 4 (Wirepress) - Dock workers at the port of Valmera walked off the job on"
    " Monday, halting container traffic at the country's second-busiest harbour as talks over"
    " night-shift pay collapsed for the third time this year.",
    "The strike, called by the Harbour Workers' Union at dawn, left at least fourteen cargo ships"
    " waiting at anchor outside the breakwater by midday, according to the port authority's own"
    " vessel tracker.",
    "Union leader Marta Oyelaran told reporters at the main gate that members would stay out until"
    ' the operator restored the night allowance it cut in January. "We have asked politely for'
    ' eight months," she said. "Now the cranes will do the asking."',
    "Idris Kallberg, chief executive of the Valmera Port Authority, called the stoppage unlawful"
    " and said the company would seek an injunction from the regional labour court on Tuesday. He"
    " said the allowance had been replaced by a productivity bonus that most crane operators"
    " earned.",
    "Exporters of fruit and frozen fish, who depend on refrigerated containers leaving the port"
    " within days, warned of losses. The regional chamber of commerce estimated that each day of"
    " the strike would cost local firms about 3 million crowns.",
    "The transport ministry said it was monitoring the situation and urged both sides to return to"
    " mediation. A previous walkout in 2021 lasted nine days and ended with a two-year wage"
    " agreement that expired in December.",
    "Shipping lines including Nordel and Baltanic said they were diverting some calls to the"
    " smaller port of Ostrava Bay, about 200 kilometres to the north, where capacity is limited.",
]
LOCAL_REPORT = [
    "Fourteen ships sat idle off Valmera on Monday after the Harbour Workers' Union began an"
    " open-ended strike at first light, the biggest stoppage on the waterfront since 2021.",
    "Marta Oyelaran, who has led the union for six years, spoke from the back of a lorry at the"
    ' main gate. "We have asked politely for eight months," she told a crowd of several hundred'
    " dockers, most of them from the night crews whose extra pay was scrapped in January.",
    "Across town, Idris Kallberg of the Valmera Port Authority described the walkout as illegal."
    " His lawyers will ask the labour court for an injunction on Tuesday, he said, insisting that"
    " a new bonus scheme leaves crane drivers better off than before.",
    "Shopkeepers on Harbour Street said the mood was calm. A fishmonger near the gate, who asked"
    " not to be named, said she supported the strikers but worried about her own deliveries if"
    " the dispute drags on into next week.",
    "The port handled a record volume of containers last year, and the authority had promised"
    " to share the gains with staff. Union members say that promise has not been kept, and"
    " several told this newspaper they were ready to stay out for weeks.",
]
BUSINESS_REPORT = [
    "Valmera's exporters are counting the cost of a dock strike that began on Monday, with fruit"
    " growers and fish processors the first to feel the squeeze as refrigerated boxes pile up on"
    " the quay.",
    "The regional chamber of commerce put the daily loss to local firms at about 3 million crowns,"
    " a figure that could rise sharply if the Harbour Workers' Union keeps its members out beyond"
    " the weekend.",
    "Carriers are already adjusting. Nordel and Baltanic have moved some calls to Ostrava Bay,"
    " though the northern port lacks the cranes and storage to absorb more than a fraction of"
    " Valmera's traffic.",
    "Analysts at Hallgren Securities said the port operator's shares fell four percent in early"
    " trading. Idris Kallberg, the chief executive, has bet on an injunction; union leader Marta"
    " Oyelaran says members will not return until the night allowance is restored.",
    "Freight forwarders advised clients to expect delays of at least a week on routes through"
    " Valmera and to book space on rail services to the interior where possible.",
]
STOCK = (
    "About the Valmera Courier: The Valmera Courier is an independent newspaper founded in 1921"
    " and owned by the Courier Trust. Our journalists cover the city, the harbour and the region"
    " seven days a week. Subscribers pay for our reporting; to subscribe, or to contact the"
    " newsroom, write to the desk or call the office on weekdays between nine and five."
)
UNRELATED = [
    [
        "The city library on Mill Lane reopened on Saturday after an eighteen-month renovation that"
        " added a reading garden, a children's wing and a small cinema in the old coal cellar.",
        "Head librarian Ruth Abernethy said more than two thousand people came through the doors on"
        " the first day. The building's Victorian facade was cleaned and the roof replaced, but the"
        " oak reading room was left exactly as it was, down to the green lamps on every desk.",
    ],
    [
        "Valmera Athletic have appointed Jonas Ferreira as head coach on a two-year contract, the"
        " club announced on Thursday, ending a month-long search after the departure of his"
        " predecessor in April.",
        "Ferreira, 44, previously managed second-division sides in the south and is known for a"
        " pressing style. He will take his first training session on Monday and said he wanted to"
        " give more minutes to players from the club's academy.",
    ],
    [
        "Repairs to the Old Bridge will close one lane to traffic for six weeks from next month,"
        " the roads department said, as engineers replace corroded steel under the eastern span."
    ],
]


def body(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


# Chrome that extraction leaves behind differs per site; the story does not.
HERALD = body(*WIRE, "Reporting by Lena Sørvik; Editing by Tom Reyes")
COURIER = body(
    *WIRE[:3], "Read more: Valmera port's record year", *WIRE[3:],
    "Follow The Courier on social media for the latest updates.",
)  # fmt: skip
GAZETTE = body("This article was provided by Wirepress.", *WIRE)
TRIBUNE = body(*WIRE[:4], WIRE[4].split(". ")[0] + ".")  # the last third cut
ARTICLES = {
    # key: (site, title, body, hours after T0)
    "herald": ("herald.example", "Valmera dock workers strike over night-shift pay", HERALD, 0),
    "courier": ("courier.example", "Dock strike halts Valmera port", COURIER, 1),
    "gazette": ("gazette.example", "Cranes fall silent as Valmera strike begins", GAZETTE, 2),
    "tribune": ("tribune.example", "Valmera port strike", TRIBUNE, 5),
    "metro": ("metro.example", "Port chaos: strike leaves 14 ships stranded", HERALD, 9),
    "local": ("valmera-times.example", "Fourteen ships idle as dockers walk out",
              body(*LOCAL_REPORT), 3),
    "business": ("business-daily.example", "Strike costs Valmera exporters millions",
                 body(*BUSINESS_REPORT), 4),
    "library": ("courier.example", "Library reopens with a cinema in the cellar",
                body(*UNRELATED[0], STOCK), 6),
    "coach": ("courier.example", "Athletic name Ferreira head coach",
              body(*UNRELATED[1], STOCK), 7),
    "bridge": ("courier.example", "Old Bridge lane closure", body(*UNRELATED[2], STOCK), 8),
}  # fmt: skip


def parsed(key: str, **overrides: Any) -> Parsed:
    site, title, text_, hours = ARTICLES[key]
    article = make_article(
        f"https://{site}/2024/03/04/{key}.html",
        title=title,
        body=text_,
        published_at=T0 + timedelta(hours=hours),
        tags=("valmera",),
    )
    return replace(article, **overrides)


@pytest.fixture
def store(db_url: str):
    s = Store.open(db_url)
    yield s
    s.close()


def save(store: Store, key: str, **overrides: object) -> int:
    return store.save_article(parsed(key, **overrides), feed="wire", fetched_at=T0).article_id


def clusters(store: Store, ids: dict[str, int]) -> set[frozenset[str]]:
    """The partition of the saved keys into clusters, read back from the database."""
    by_id = {v: k for k, v in ids.items()}
    groups: dict[int, set[str]] = {}
    with store.reading() as session:
        for article_id, cluster_id in session.execute(select(Article.id, Article.cluster_id)):
            groups.setdefault(cluster_id, set()).add(by_id[article_id])
    return {frozenset(g) for g in groups.values()}


def test_fixture_network_clusters_as_expected(store: Store) -> None:
    # Interleaved, as a crawl would find them.
    order = ["local", "herald", "library", "business", "courier", "coach", "gazette",
             "bridge", "tribune", "metro"]  # fmt: skip
    ids = {key: save(store, key) for key in order}
    assert clusters(store, ids) == {
        frozenset({"herald", "courier", "gazette", "tribune", "metro"}),
        frozenset({"local"}),
        frozenset({"business"}),
        frozenset({"library"}),
        frozenset({"coach"}),
        frozenset({"bridge"}),
    }
    with store.reading() as session:
        # The cluster is named after its smallest member, and every signature has 25 bands.
        herald = session.get(Article, ids["herald"])
        assert herald is not None and herald.cluster_id == ids["herald"]
        bands = session.execute(
            select(LshBand.article_id, func.count()).group_by(LshBand.article_id)
        ).all()
        assert {n for _, n in bands} == {BANDS} and len(bands) == len(order)


def test_confirmation_figures_of_the_fixture_pairs() -> None:
    sig = {key: signature_of(ARTICLES[key][2]) for key in ARTICLES}
    assert all(s is not None for s in sig.values())

    def check(a: str, b: str) -> tuple[bool, float, float]:
        sa, sb = sig[a], sig[b]
        assert sa is not None and sb is not None
        return confirm(sa, ARTICLES[a][2], sb, ARTICLES[b][2])

    for copy in ("courier", "gazette", "metro"):
        ok, jaccard, _ = check("herald", copy)
        assert ok and jaccard >= 0.85
    ok, jaccard, containment = check("herald", "tribune")
    assert ok and containment >= 0.9 and jaccard < 0.7  # trimmed: contained, not similar
    for a, b in [("herald", "local"), ("herald", "business"), ("local", "business")]:
        ok, jaccard, containment = check(a, b)
        assert not ok and jaccard < 0.15 and containment < 0.25
    for a, b in [("library", "coach"), ("library", "bridge"), ("coach", "bridge")]:
        ok, jaccard, containment = check(a, b)
        assert not ok and jaccard < 0.45 and containment < 0.75


def test_stock_paragraph_alone_never_confirms_by_containment() -> None:
    # A brief whose own text is a fifth of the stock paragraph: containment clears 0.8,
    # but the shared text is one paragraph of two, so it is not a copy of the story.
    brief = body("The Old Bridge reopened to traffic at noon on Friday, a week early.", STOCK)
    long_one = body(*UNRELATED[0], STOCK)
    sb, sl = signature_of(brief), signature_of(long_one)
    assert sb is not None and sl is not None
    ok, jaccard, containment = confirm(sb, brief, sl, long_one)
    assert containment >= 0.8 and jaccard < 0.5
    assert not ok
    assert not shares_story(brief, long_one)
    # A trimmed copy keeps several whole paragraphs of the story: that is sharing it.
    assert shares_story(TRIBUNE, HERALD)


def test_short_bodies_are_not_clustered(store: Store) -> None:
    brief = "Dock workers in Valmera went on strike on Monday, the union said."
    a = save(store, "herald", body=brief)
    b = save(store, "courier", body=brief + " More to follow.")
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(ArticleSignature)) == 0
        assert [session.get(Article, i).cluster_id for i in (a, b)] == [a, b]  # type: ignore[union-attr]


def test_copies_outside_the_window_stay_apart(store: Store) -> None:
    a = save(store, "herald")
    late = save(store, "courier", published_at=T0 + WINDOW + timedelta(hours=1))
    b = save(store, "gazette", published_at=T0 + timedelta(days=2))
    with store.reading() as session:
        cluster = {i: session.get(Article, i).cluster_id for i in (a, late, b)}  # type: ignore[union-attr]
    # The gazette copy is within three days of both, but joining both would make a cluster
    # span more than the window: it joins its best match, the herald, only.
    assert cluster == {a: a, late: late, b: a}


def test_a_full_story_merges_two_partial_copies(store: Store) -> None:
    # Each part keeps five of the seven paragraphs: J ~0.7 with the full story, so both are
    # LSH candidates of it, while the parts share three paragraphs and do not confirm.
    first_part = save(store, "tribune", body=body(*WIRE[:5]))
    second_part = save(store, "gazette", body=body(*WIRE[2:]))
    with store.reading() as session:
        before = {session.get(Article, i).cluster_id for i in (first_part, second_part)}  # type: ignore[union-attr]
    assert before == {first_part, second_part}
    full = save(store, "herald")
    with store.reading() as session:
        after = {session.get(Article, i).cluster_id for i in (first_part, second_part, full)}  # type: ignore[union-attr]
    assert after == {min(first_part, second_part)}


def test_clusters_survive_a_restart(db_url: str) -> None:
    s = Store.open(db_url)
    herald = save(s, "herald")
    s.close()
    s = Store.open(db_url)  # a new process, or another worker, sees the stored bands
    courier = save(s, "courier")
    with s.reading() as session:
        assert session.get(Article, courier).cluster_id == herald  # type: ignore[union-attr]
    s.close()


def test_a_new_version_that_becomes_a_copy_joins_the_cluster(store: Store) -> None:
    herald = save(store, "herald")
    placeholder = "Developing story. " + " ".join(["Details will follow shortly."] * 12)
    courier = save(store, "courier", body=placeholder)
    with store.reading() as session:
        assert session.get(Article, courier).cluster_id == courier  # type: ignore[union-attr]
    result = store.save_article(parsed("courier"), feed="wire", fetched_at=T0 + timedelta(hours=2))
    assert result.outcome == "version" and result.article_id == courier
    with store.reading() as session:
        assert session.get(Article, courier).cluster_id == herald  # type: ignore[union-attr]
        bands = session.scalar(
            select(func.count()).select_from(LshBand).where(LshBand.article_id == courier)
        )
        assert bands == BANDS  # the old version's bands were replaced, not added to


def test_concurrent_saves_of_copies_end_in_one_cluster(store: Store) -> None:
    keys = ["herald", "courier", "gazette", "tribune", "metro"]
    errors: list[BaseException] = []
    ids: dict[str, int] = {}

    def run(key: str) -> None:
        try:
            ids[key] = save(store, key)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert clusters(store, ids) == {frozenset(keys)}


def _in_fresh_interpreter(code: str, stdin: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], input=stdin, capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout  # fmt: skip


def test_signatures_agree_across_processes() -> None:
    code = (
        "import sys; from crawler.minhash import signature_of; "
        "sys.stdout.write(signature_of(sys.stdin.read()).to_bytes().hex())"
    )
    out = _in_fresh_interpreter(code, HERALD)
    here = signature_of(HERALD)
    assert here is not None and out == here.to_bytes().hex()


def test_a_signature_costs_no_scipy_integrate_and_leaves_the_real_one_importable() -> None:
    # datasketch's LSH imports scipy.integrate (some 40 MB in each parser process); the
    # signature never needs it, and a later import must still get the real module.
    code = (
        "import sys; from crawler.minhash import signature_of; "
        "signature_of(sys.stdin.read()); before = 'scipy.integrate' in sys.modules; "
        "import scipy.integrate, datasketch.lsh; "
        "print(before, scipy.integrate.__file__ is not None, "
        "round(datasketch.lsh.integrate(lambda x: x, 0, 1)[0], 6))"
    )
    out = _in_fresh_interpreter(code, HERALD)
    assert out.split() == ["False", "True", "0.5"]


def test_a_database_from_before_clusters_gets_the_column(db_url: str) -> None:
    s = Store.open(db_url)
    herald = save(s, "herald")
    # Back to the schema of before migrations (the baseline, without a version), then back
    # to before clusters.
    downgrade_schema(s.engine, BASELINE)
    with s.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("DROP INDEX ix_articles_cluster_id"))
        conn.execute(text("ALTER TABLE articles DROP COLUMN cluster_id"))
    s.close()
    s = Store.open(DatabaseConfig(url=db_url, auto_upgrade=True))
    with s.reading() as session:
        assert session.get(Article, herald).cluster_id == herald  # type: ignore[union-attr]
    courier = save(s, "courier")
    with s.reading() as session:
        assert session.get(Article, courier).cluster_id == herald  # type: ignore[union-attr]
    s.close()


def test_collapsed_listings_agree_whichever_way_they_are_computed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = {key: save(store, key) for key in ARTICLES}
    by_id = {v: k for k, v in ids.items()}

    def listing(limit: int | None) -> list[tuple[str, int]]:
        with store.reading() as session:
            rows = query_articles(session, ArticleFilter(collapse=True, limit=limit))
        return [(by_id[r["id"]], r["copies"]) for r in rows]

    everything = listing(None)  # no limit: always the exact query
    # Newest first, one row per story: the metro copy (9 h) stands for the wire story.
    assert everything == [
        ("metro", 4), ("bridge", 0), ("coach", 0), ("library", 0), ("business", 0), ("local", 0),
    ]  # fmt: skip
    for window in [(10, 200, 5000), (1, 1, 5000), (10, 200, 0)]:  # window, fallback, exact
        names = ("_WINDOW_PER_ROW", "_WINDOW_MIN", "_WINDOW_MAX")
        for name, value in zip(names, window, strict=True):
            monkeypatch.setattr(queries, name, value)
        assert listing(2) == everything[:2] and listing(4) == everything[:4], window


# -- what users see ---------------------------------------------------------------------------


@pytest.fixture
def settings_path(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    db = tmp_path / "news.db"
    path = tmp_path / "settings.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{db}"\n\n[[feeds]]\nname = "wire"\nkind = "rss"\n'
        'url = "https://wire.example/rss.xml"\n',
        encoding="utf-8",
    )
    s = Store.open(f"sqlite:///{db}")
    ids = {key: save(s, key) for key in ["herald", "courier", "tribune", "local"]}
    s.close()
    return path, ids


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_lists_where_else_the_story_ran(settings_path, capsys) -> None:
    path, ids = settings_path
    code, out, _ = run_cli(capsys, "show", "--settings", str(path), str(ids["courier"]))
    assert code == 0
    lines = [line for line in out.splitlines() if "also published at" in line]
    assert len(lines) == 2
    assert "herald.example 2024-03-04 06:00" in lines[0] and "tribune.example" in lines[1]
    code, out, _ = run_cli(
        capsys, "show", "--settings", str(path), str(ids["courier"]), "--format", "json"
    )
    detail = json.loads(out)
    assert [c["site"] for c in detail["also_published_at"]] == ["herald.example", "tribune.example"]
    assert detail["also_published_at"][0]["url"] == "https://herald.example/2024/03/04/herald.html"
    code, out, _ = run_cli(
        capsys, "show", "--settings", str(path), str(ids["local"]), "--format", "json"
    )
    assert json.loads(out)["also_published_at"] == []


def test_query_collapse_shows_one_row_per_story(settings_path, capsys) -> None:
    path, ids = settings_path
    code, out, _ = run_cli(
        capsys, "query", "--settings", str(path), "--collapse", "--format", "json"
    )
    assert code == 0
    rows = json.loads(out)
    # Newest first; the cluster is represented by its newest copy, the tribune's.
    # copies: the other articles of the story, as `show` lists them; none for the local one.
    assert [(r["id"], r["copies"]) for r in rows] == [(ids["tribune"], 2), (ids["local"], 0)]
    assert rows[0]["cluster_id"] == ids["herald"]
    code, out, _ = run_cli(capsys, "query", "--settings", str(path), "--collapse")
    assert code == 0
    header, *table = out.splitlines()
    assert "copies" in header.split() and len(table) == 2
    copies_at = header.index("copies")
    assert [line[copies_at:].split()[0] for line in table] == ["2", "0"]


def test_export_carries_the_cluster(settings_path, capsys) -> None:
    path, ids = settings_path
    code, out, _ = run_cli(capsys, "export", "--settings", str(path))
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert list(records[0])[-2:] == ["versions", "cluster_id"]
    assert {r["id"]: r["cluster_id"] for r in records} == {
        ids["herald"]: ids["herald"], ids["courier"]: ids["herald"],
        ids["tribune"]: ids["herald"], ids["local"]: ids["local"],
    }  # fmt: skip


def test_signatures_are_datasketchs_plain_minhash_of_the_word_3_shingles() -> None:
    # Stored signatures are compared with new ones for as long as the database lives: the
    # fast path must give exactly what a plain datasketch MinHash of the shingles gives.
    import numpy as np
    from datasketch import MinHash

    from crawler.minhash import NUM_PERM, SCHEME, SEED, signature_of, words_of

    body = " ".join(f"Word{i % 37} ünïcode-{i % 11}, and more {i}." for i in range(120))
    words = words_of(body)
    shingles = {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}
    plain = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    plain.update_batch([s.encode("utf-8") for s in shingles])
    signature = signature_of(body)
    assert signature is not None and signature.shingle_count == len(shingles)
    assert np.array_equal(signature.values, np.asarray(plain.hashvalues, dtype=np.uint32))
